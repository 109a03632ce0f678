import dataclasses
import threading

import pytest
import torch
import torch.nn.functional as F

from lenet_core.datasets import TensorData, load_mnist
from lenet_core.model import new_model
from lenet_core.training import (
    LIMITS,
    PRESETS,
    EpochEvent,
    PausedEvent,
    StepEvent,
    StoppedEvent,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    _base_grid,
    augment_batch,
)

FAST = TrainConfig(epochs=3, batch_size=32, lr=0.05, device="cpu", seed=0)


@pytest.fixture(scope="module")
def data(mnist_dir):
    return load_mnist(mnist_dir)


def test_short_run_learns(data):
    trainer = Trainer(new_model(0), FAST.replace(epochs=6), data.train, data.test)
    before = trainer.evaluate(data.test)
    events = list(trainer.run())
    steps = [e for e in events if isinstance(e, StepEvent)]
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert events[-1] == StoppedEvent("finished", "6 epochs done")
    assert len(epochs) == 6 and len(steps) == 6 * 19  # ceil(600 / 32) batches per epoch
    assert epochs[-1].train_loss < epochs[0].train_loss
    assert epochs[-1].test_loss < before.loss
    assert epochs[-1].test_accuracy > 0.8 > before.accuracy
    assert steps[-1].samples_seen == 6 * 600 and steps[-1].samples_per_second > 0
    assert [s.batch for s in steps[:19]] == list(range(1, 20))
    assert trainer.history.step_loss == [s.loss for s in steps]


def test_same_seed_same_run(data):
    def final_weights(seed):
        trainer = Trainer(new_model(seed), FAST.replace(epochs=1, seed=seed), data.train)
        trainer.fit()
        return trainer.net.fc3.weight.detach().clone()

    assert torch.equal(final_weights(1), final_weights(1))
    assert not torch.equal(final_weights(1), final_weights(2))


def test_tutorial_preset_is_the_tutorials_optimizer(data):
    config = PRESETS["tutorial"]
    trainer = Trainer(new_model(0), config, data.train)
    assert isinstance(trainer.optimizer, torch.optim.SGD)
    group = trainer.optimizer.param_groups[0]
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.01, 0.0, 0.0)
    assert not config.augment and config.lr_schedule == "constant"
    # one step is exactly: weight <- weight - lr * grad
    net = trainer.net
    before = net.fc3.bias.detach().clone()
    x, y = data.train.inputs(slice(0, 64)), data.train.labels[:64]
    trainer.train_step(x, y)
    reference = new_model(0)
    loss = F.cross_entropy(reference(x), y)
    loss.backward()
    torch.testing.assert_close(net.fc3.bias.detach(), before - 0.01 * reference.fc3.bias.grad)


def test_steps_run_in_training_mode_after_an_evaluation(data):
    trainer = Trainer(new_model(0), FAST, data.train, data.test)
    trainer.evaluate(data.test)
    assert not trainer.net.training
    modes: list[bool] = []
    hook = trainer.net.register_forward_pre_hook(lambda module, args: modes.append(module.training))
    trainer.step()
    trainer.step()
    hook.remove()
    assert modes == [True, True] and all(module.training for module in trainer.net.modules())


def test_stop_and_pause_from_another_thread(data):
    trainer = Trainer(new_model(0), FAST.replace(epochs=50), data.train, data.test)
    seen = []
    for event in trainer.run():
        seen.append(event)
        if len(seen) == 5:
            trainer.pause()
            threading.Timer(0.2, trainer.resume).start()
        if isinstance(event, PausedEvent):
            threading.Timer(0.1, trainer.stop).start()
    assert any(isinstance(e, PausedEvent) for e in seen)
    assert seen[-1].reason == "stopped"
    assert trainer.epoch < 50
    # a stopped run can go on where it stopped
    step = trainer.step_count
    trainer.resume()
    assert isinstance(next(trainer.run()), StepEvent) and trainer.step_count == step + 1


DIVERGING = FAST.replace(lr=10.0, momentum=0.99, lr_schedule="constant")  # blows up within ten steps


def test_diverging_run_restores_the_weights_it_started_from(data):
    trainer = Trainer(new_model(0), DIVERGING, data.train)
    started = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    final = trainer.fit()
    assert final.reason == "diverged"
    assert "lower learning rate" in final.message and "the start of this run (step 0) were restored" in final.message
    for name, value in trainer.net.state_dict().items():  # not the last weights, whose loss was NaN
        assert torch.equal(value, started[name]), name
    assert not trainer.optimizer.state  # the momentum that blew up is forgotten
    with torch.inference_mode():
        assert torch.isfinite(trainer.net.eval()(data.train.inputs(slice(0, 64)))).all()
    with pytest.raises(TrainingDiverged):
        trainer.train_step(torch.full((2, 1, 32, 32), float("nan")), torch.tensor([0, 1]))


def test_divergence_after_an_epoch_goes_back_to_that_epochs_end(data):
    trainer = Trainer(new_model(0), FAST.replace(epochs=2), data.train)
    assert trainer.fit().reason == "finished"
    after_epoch_2 = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    trainer.step()
    trainer.step()  # the weights move on from the epoch's end...
    assert not torch.equal(trainer.net.fc3.weight, after_epoch_2["fc3.weight"])
    nan = torch.full_like(data.train.inputs(), float("nan"))
    trainer.train_data = TensorData(nan, data.train.labels)  # ...then a batch makes the loss NaN
    with pytest.raises(TrainingDiverged, match="the end of epoch 2 were restored"):
        trainer.step()
    for name, value in trainer.net.state_dict().items():
        assert torch.equal(value, after_epoch_2[name]), name


def test_augmentation_grid_equals_affine_grid_and_keeps_background():
    theta = torch.tensor([[[0.9, -0.2, 0.1], [0.3, 1.1, -0.05]]])
    expected = F.affine_grid(theta, [1, 1, 32, 32], align_corners=False)
    mine = torch.einsum("pk,njk->npj", _base_grid(32, 32, torch.device("cpu")), theta).view(1, 32, 32, 2)
    torch.testing.assert_close(mine, expected)

    background = -0.1307 / 0.3081
    blank = torch.full((8, 1, 32, 32), background)
    torch.testing.assert_close(augment_batch(blank, torch.Generator().manual_seed(0)), blank)
    x = torch.randn(8, 1, 32, 32)
    out = augment_batch(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and not torch.equal(out, x)


def test_config_validation_names_every_problem():
    with pytest.raises(ValueError) as info:
        TrainConfig(optimizer="rmsprop", lr=-1, batch_size=0, momentum=1.0)
    message = str(info.value)
    for fragment in ("optimizer must be one of sgd, adam", "lr must be", "batch_size", "momentum"):
        assert fragment in message
    assert TrainConfig.from_dict({**TrainConfig().to_dict(), "unknown": 1}) == TrainConfig()
    for field, value in (("batch_size", 64.5), ("batch_size", "64"), ("seed", True), ("lr", float("nan"))):
        with pytest.raises(ValueError, match=field):
            TrainConfig(**{field: value})


@pytest.mark.parametrize(
    ("saved", "expected", "note"),
    [
        ({"lr": 1e9}, {"lr": 100.0}, "lr 1e+09 is outside 1e-06 to 100: using 100"),
        ({"lr": 1e-7}, {"lr": 1e-6}, "lr 1e-07"),
        ({"momentum": 0.995}, {"momentum": 0.995}, None),
        ({"momentum": 1.5}, {"momentum": 0.999}, "momentum 1.5"),
        ({"batch_size": 100_000}, {"batch_size": 4096}, "batch_size 100000 is outside 1 to 4096: using 4096"),
        ({"batch_size": 64.0}, {"batch_size": 64}, None),  # a float that is a whole number is that number
        ({"epochs": 2**31}, {"epochs": 1000}, "epochs 2147483648"),
        ({"seed": 2**63}, {"seed": 2**31 - 1}, "seed 9223372036854775808"),
        ({"seed": -5, "lr": 0}, {"seed": 0, "lr": 1e-6}, "seed -5"),
    ],
)
def test_saved_configs_are_clamped_into_the_limits_with_a_note(saved, expected, note):
    config, notes = TrainConfig.from_saved({**TrainConfig().to_dict(), **saved})
    assert {k: getattr(config, k) for k in expected} == expected
    assert type(config.batch_size) is int and type(config.lr) is float
    if note is None:
        assert notes == []
    else:
        assert any(n.startswith(note) for n in notes), notes
    for name, (low, high) in LIMITS.items():
        assert low <= getattr(config, name) <= high


@pytest.mark.parametrize(
    "saved",
    [{"batch_size": "64"}, {"seed": 2.5}, {"optimizer": "rmsprop"}, {"lr": float("nan")}, {"augment": 1}, {"lr": True}],
)
def test_saved_configs_of_the_wrong_type_are_refused_naming_the_field(saved):
    field = next(iter(saved))
    with pytest.raises(ValueError, match=field):
        TrainConfig.from_saved({**TrainConfig().to_dict(), **saved})
    with pytest.raises(ValueError, match="mapping"):
        TrainConfig.from_saved([1, 2])


def test_state_dict_round_trip(data):
    trainer = Trainer(new_model(0), FAST.replace(epochs=1), data.train, data.test)
    trainer.fit()
    other = Trainer(new_model(0), FAST.replace(epochs=1), data.train, data.test)
    other.load_state_dict(trainer.state_dict())
    assert (other.step_count, other.epoch, other.samples_seen) == (19, 1, 600)
    assert other.history == trainer.history
    assert other.lr == trainer.lr


def test_adam_and_cuda_unavailable(data):
    trainer = Trainer(new_model(0), FAST.replace(optimizer="adam", lr=1e-3, epochs=1), data.train)
    assert isinstance(trainer.optimizer, torch.optim.Adam)
    assert trainer.fit().reason == "finished"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            Trainer(new_model(0), FAST.replace(device="cuda"), data.train)


def test_events_are_plain_data():
    for cls in (StepEvent, EpochEvent, StoppedEvent, PausedEvent):
        assert dataclasses.is_dataclass(cls)


def test_stop_before_a_run_ends_that_run_and_only_that_one(data):
    trainer = Trainer(new_model(0), FAST.replace(epochs=2), data.train)
    trainer.stop()  # e.g. Pause pressed just after Start, before the worker began
    assert list(trainer.run()) == [StoppedEvent("stopped", "stopped at step 0")]
    assert trainer.fit().reason == "finished"  # the request was used up


def test_teach_samples_the_users_other_digits_and_stops_when_asked(data):
    """A teaching step costs the same with 10 or 10,000 saved digits: it samples them."""
    trainer = Trainer(new_model(0), FAST, data.train)
    many = TensorData(data.train.images[:500].repeat(20, 1, 1, 1), data.train.labels[:500].repeat(20))  # 10,000
    batches: list[int] = []
    hook = trainer.net.register_forward_pre_hook(lambda module, args: batches.append(len(args[0])))
    image, label = data.test.inputs(slice(0, 1)), data.test.labels[:1]
    trainer.teach(image, label, also=many, max_steps=4, min_steps=4)
    training_batches = [n for n in batches if n > 1]  # the checks of the new example run on it alone
    assert training_batches == [1 + 64 + 128] * 4
    batches.clear()
    trainer.stop()  # the window closing while a teach runs
    assert trainer.teach(image, label, also=many) == (0, False)
    hook.remove()
    assert batches == []
