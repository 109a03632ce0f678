"""lenet_core: the tutorial's LeNet, MNIST data, preprocessing, the training engine and checkpoints. No Qt here."""

from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, load_model, save_checkpoint, save_model
from .datasets import DatasetNotFoundError, TensorData, find_mnist, load_mnist
from .idx import IdxFormatError, read_idx, write_idx
from .inference import Prediction, default_model, predict
from .model import LeNet, new_model
from .preprocess import prepare, to_mnist
from .training import PRESETS, EpochEvent, StepEvent, StoppedEvent, TrainConfig, Trainer, TrainingDiverged

__all__ = [
    "PRESETS",
    "Checkpoint",
    "CheckpointError",
    "DatasetNotFoundError",
    "EpochEvent",
    "IdxFormatError",
    "LeNet",
    "Prediction",
    "StepEvent",
    "StoppedEvent",
    "TensorData",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "default_model",
    "find_mnist",
    "load_checkpoint",
    "load_mnist",
    "load_model",
    "new_model",
    "predict",
    "prepare",
    "read_idx",
    "save_checkpoint",
    "save_model",
    "to_mnist",
    "write_idx",
]
