import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from lenet_core.checkpoint import load_checkpoint, save_model
from lenet_core.cli import main
from lenet_core.model import new_model


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_dir):
    out = tmp_path_factory.mktemp("ckpt") / "m.pt"
    code = main(
        [
            "train",
            "--data-dir",
            str(mnist_dir),
            "--epochs",
            "3",
            "--batch-size",
            "32",
            "--no-augment",
            "--pen-digits",
            "none",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def test_train_then_evaluate(capsys, mnist_dir, trained, tmp_path):
    code, out, _ = run(
        capsys,
        "train",
        "--data-dir",
        str(mnist_dir),
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--no-augment",
        "--seed",
        "3",
        "--pen-digits",
        "none",
        "--out",
        str(tmp_path / "x.pt"),
    )
    assert code == 0
    assert "600 training images (train-images-idx3-ubyte.gz), 200 test images" in out
    assert re.search(r"^epoch 1/1  loss \d+\.\d{4}  test loss \d+\.\d{4}  accuracy \d\.\d{4}  ", out, re.M)
    assert "augment=False" in out and "seed=3" in out
    assert load_checkpoint(tmp_path / "x.pt").trainer["step_count"] == 10  # resumable: optimizer state and history

    code, _, _ = run(
        capsys,
        "train",
        "--data-dir",
        str(mnist_dir),
        "--epochs",
        "1",
        "--weights-only",
        "--pen-digits",
        "none",
        "--out",
        str(tmp_path / "w.pt"),
    )
    weights_only = load_checkpoint(tmp_path / "w.pt")
    assert code == 0 and weights_only.trainer is None and weights_only.config.epochs == 1
    assert weights_only.metadata["train_images"] == 600 and weights_only.metadata["epochs_done"] == 1
    assert (tmp_path / "w.pt").stat().st_size < 0.7 * (tmp_path / "x.pt").stat().st_size
    assert (tmp_path / "w.pt").stat().st_mode & 0o777 == 0o644

    code, out, _ = run(capsys, "evaluate", "--data-dir", str(mnist_dir), "--checkpoint", str(trained))
    assert code == 0
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(r"accuracy: [01]\.\d{4}", last)
    assert float(last.split()[1]) > 0.5


def test_data_dir_from_environment(capsys, mnist_dir, trained, monkeypatch):
    monkeypatch.setenv("LENET_DATA_DIR", str(mnist_dir))
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(trained))
    assert code == 0 and out.strip().splitlines()[-1].startswith("accuracy: ")
    monkeypatch.delenv("LENET_DATA_DIR")
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(trained))
    assert code == 1 and "pass --data-dir DIR or set LENET_DATA_DIR" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--data-dir", "{tmp}/absent"], "absent: no such folder"),
        (["train", "--data-dir", "{tmp}"], "no MNIST files found"),
        (["train", "--data-dir", "{mnist}", "--lr", "-1"], "lr must be between 1e-06 and 100, not -1"),
        (["evaluate", "--data-dir", "{mnist}", "--checkpoint", "{tmp}/none.pt"], "none.pt: no such file"),
        (
            ["evaluate", "--data-dir", "{mnist}", "--checkpoint", "{mnist}/t10k-labels-idx1-ubyte.gz"],
            "not a readable checkpoint",
        ),
        (["predict", "--checkpoint", "{tmp}/none.pt", "x.png"], "none.pt: no such file"),
    ],
)
def test_user_errors_are_one_line_without_traceback(capsys, tmp_path, mnist_dir, args, message):
    args = [a.format(tmp=tmp_path, mnist=mnist_dir) for a in args]
    code, _, err = run(capsys, *args)
    assert code == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_corrupt_data_file_is_reported(capsys, tmp_path, mnist_dir, trained):
    import shutil

    shutil.copytree(mnist_dir, tmp_path / "d")
    (tmp_path / "d" / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip")
    code, _, err = run(capsys, "evaluate", "--data-dir", str(tmp_path / "d"), "--checkpoint", str(trained))
    assert code == 1 and err.startswith("error: t10k-images-idx3-ubyte.gz: ")


def test_diverged_training_exits_non_zero_and_saves_nothing(capsys, tmp_path, mnist_dir):
    out = tmp_path / "d.pt"
    code, _, err = run(
        capsys,
        "train",
        "--data-dir",
        str(mnist_dir),
        "--lr",
        "10",
        "--momentum",
        "0.99",
        "--batch-size",
        "32",
        "--lr-schedule",
        "constant",
        "--epochs",
        "2",
        "--pen-digits",
        "none",
        "--out",
        str(out),
    )
    assert code == 3 and "diverged" in err and "lower learning rate" in err
    assert not out.exists()


def test_predict_images(capsys, tmp_path):
    ckpt = tmp_path / "m.pt"
    save_model(ckpt, new_model(0))
    canvas = np.zeros((280, 280), np.uint8)
    canvas[60:220, 130:150] = 255
    Image.fromarray(canvas).save(tmp_path / "one.png")
    Image.fromarray(255 - canvas).convert("RGB").save(tmp_path / "one-dark-on-light.png")
    Image.fromarray(np.zeros((50, 80), np.uint8)).save(tmp_path / "blank.png")
    (tmp_path / "notes.png").write_text("not an image")
    code, out, err = run(
        capsys,
        "predict",
        "--checkpoint",
        str(ckpt),
        *(str(tmp_path / n) for n in ("one.png", "one-dark-on-light.png", "blank.png", "notes.png")),
    )
    lines = out.strip().splitlines()
    assert re.fullmatch(r".*one\.png: \d \(p=[01]\.\d{3}\)", lines[0])
    assert lines[0].split(": ")[1] == lines[1].split(": ")[1]  # inverted image, same answer
    assert lines[2].endswith("blank.png: no digit (the image is blank)")
    assert "notes.png: not an image" in err
    assert code == 1


def test_module_entry_point_and_usage_errors(mnist_dir):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lenet_core",
            "evaluate",
            "--data-dir",
            str(mnist_dir),
            "--checkpoint",
            "/nonexistent.pt",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "lenet_core", "train", "--optimizer", "rmsprop"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_import_lenet_core_does_not_import_qt():
    code = (
        "import sys, lenet_core, lenet_core.cli; "
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_train_on_mnist_and_pen_digits_then_evaluate_on_held_out_writers(capsys, mnist_dir, pen_file, tmp_path):
    out = tmp_path / "pen.pt"
    code, text, _ = run(
        capsys,
        "train",
        "--data-dir",
        str(mnist_dir),
        "--pen-digits",
        str(pen_file),
        "--pen-writers",
        "1-2",
        "--pen-variants",
        "3",
        "--epochs",
        "1",
        "--out",
        str(out),
    )
    assert code == 0
    assert "pen digits: 40 digits by 2 writers (pen.tra), 3 drawings each: 120 images" in text
    saved = load_checkpoint(out)
    assert saved.metadata["train_images"] == 600 + 120 and saved.metadata["pen_digits"] == "pen.tra"
    code, text, _ = run(
        capsys, "evaluate", "--checkpoint", str(out), "--pen-digits", str(pen_file), "--pen-writers", "3"
    )
    assert code == 0
    assert "pen digits: 20 digits by 1 writers" in text and re.search(r"^pen accuracy: \d\.\d{4}$", text, re.M)
    assert "test:" not in text  # no MNIST folder given: the pen digits only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pen-digits", "{tmp}/absent.tra"], "absent.tra"),
        (["--pen-writers", "9-3"], "writers must look like 25-30"),
        (["--pen-writers", "7-9"], "no pen digits of writers 7-9 in pen.tra"),
        (["--pen-variants", "0"], "--pen-variants must be at least 1"),
    ],
)
def test_pen_digit_options_are_checked(capsys, mnist_dir, pen_file, tmp_path, args, message):
    argv = ["train", "--data-dir", str(mnist_dir), "--pen-digits", str(pen_file), "--out", str(tmp_path / "x.pt")]
    argv += [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, _, err = run(capsys, *argv)
    assert code == 1 and message in err and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.pt").exists()
