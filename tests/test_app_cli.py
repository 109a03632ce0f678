"""lenet-trainer as a desktop program: its options (without a display for --help/--version), icon, desktop entry."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import textwrap

import pytest

from app.__main__ import parser
from app.desktop import APP_ID, ICON, desktop_entry, install_desktop_entry


def run_main(*args: str) -> subprocess.CompletedProcess:
    """app.__main__.main(args) in a fresh Python, reporting whether Qt or torch got imported."""
    code = textwrap.dedent(
        f"""
        import sys
        from app.__main__ import main
        try:
            main({list(args)!r})
        except SystemExit as exit:
            print("EXIT", exit.code, "PySide6" in sys.modules, "torch" in sys.modules)
        """
    )
    env = {"QT_QPA_PLATFORM": "no-such-platform", "PATH": "/usr/bin:/bin"}  # Qt would fail to start if it tried
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_and_version_exit_without_qt_or_torch(option):
    done = run_main(option)
    assert done.stdout.strip().splitlines()[-1] == "EXIT 0 False False", done.stderr
    assert ("usage: lenet-trainer" in done.stdout) if option == "--help" else done.stdout.startswith("lenet-trainer ")
    if option == "--help":
        for documented in ("--data-dir", "--checkpoint", "--language", "--install-desktop-entry", "--version"):
            assert documented in done.stdout


def test_bad_options_are_refused_by_name(tmp_path):
    done = run_main("--language", "fr")
    assert "EXIT 2 False False" in done.stdout and "invalid choice: 'fr'" in done.stderr
    done = run_main("--checkpoint", str(tmp_path / "missing.pt"))
    assert "EXIT 2" in done.stdout and "no such file" in done.stderr and "missing.pt" in done.stderr


def test_options_parse():
    args = parser().parse_args(["--data-dir", "/data/mnist", "--language", "ko"])
    assert args.data_dir == "/data/mnist" and args.language == "ko" and args.checkpoint is None


def test_language_and_checkpoint_from_the_command_line(qtbot, make_window, tmp_path):
    from app.main_window import apply_options
    from lenet_core.checkpoint import Checkpoint, save_checkpoint
    from lenet_core.model import new_model

    window = make_window(data_dir=None)
    saved = tmp_path / "other.pt"
    weights = new_model(seed=7).state_dict()
    save_checkpoint(saved, Checkpoint(model=weights))
    apply_options(window, checkpoint=str(saved), language="ko")
    assert all(v.equal(window.net.state_dict()[k]) for k, v in weights.items())
    assert window._translator is not None  # the tutorial speaks Korean now
    assert window.settings.value("ui/language") == "en"  # for this run only: the menu's choice stays
    window.set_language("en")


def test_the_icon_loads_and_draws(qtbot):
    from PySide6.QtGui import QIcon

    icon = QIcon(str(ICON))
    assert not icon.isNull()
    image = icon.pixmap(64, 64).toImage()
    assert image.width() == 64 and image.pixelColor(32, 32).alpha() == 255  # drawn, not an empty pixmap


def test_the_desktop_entry_follows_the_spec(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    entry, icon = install_desktop_entry()
    assert entry == tmp_path / "share" / "applications" / f"{APP_ID}.desktop"
    assert icon == tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    assert icon.read_bytes() == ICON.read_bytes()
    parsed = configparser.ConfigParser(interpolation=None, strict=True)
    parsed.optionxform = str  # keys are case-sensitive
    parsed.read_string(entry.read_text(encoding="utf-8"))
    assert parsed.sections() == ["Desktop Entry"]
    keys = parsed["Desktop Entry"]
    # Required for Type=Application (Desktop Entry Specification 1.5): Type, Name, Exec; Icon names the installed one.
    assert keys["Type"] == "Application" and keys["Name"] and keys["Icon"] == APP_ID and keys["Terminal"] == "false"
    assert keys["Exec"].split()[0].strip('"')  # the launcher: the installed script, or this Python with -m app
    assert all(c.endswith(";") for c in (keys["Categories"], keys["Keywords"]))
    assert not list(tmp_path.rglob("*.part"))  # nothing half-written left behind
    if shutil.which("desktop-file-validate"):  # freedesktop's own checker, where installed (desktop-file-utils)
        checked = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
        assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout
    install_desktop_entry()  # again: replaces, does not fail


def test_exec_arguments_are_quoted_when_they_need_it():
    text = desktop_entry('"/opt/my apps/python3" -m app')
    assert 'Exec="/opt/my apps/python3" -m app' in text

    from app.desktop import _quoted

    assert _quoted("/usr/bin/lenet-trainer") == "/usr/bin/lenet-trainer"
    assert _quoted("/home/a b/$x") == '"/home/a b/\\$x"'
