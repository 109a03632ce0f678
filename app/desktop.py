"""The program as a desktop application: its icon, and a freedesktop.org desktop entry (Linux) so that it appears in
the menus and launchers with that icon. No Qt here: `lenet-trainer --install-desktop-entry` runs without a display.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from lenet_core.inference import RESOURCES

APP_ID = "lenet-trainer"  # the desktop file's and the icon's name; also Qt's desktop file name (Wayland)
ICON = RESOURCES / "icon.svg"


def data_home() -> Path:
    """XDG_DATA_HOME (~/.local/share by default), where a user's desktop entries and icons go."""
    import platformdirs

    return Path(platformdirs.user_data_dir(appname=None, appauthor=False))


def launcher() -> str:
    """The command that starts the program: the installed `lenet-trainer` (this one, if it is what runs now, e.g. from
    a virtual environment not on PATH), else this Python running `-m app`."""
    running = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if running is not None and running.name == APP_ID and running.is_file():
        return _quoted(str(running.resolve()))
    found = shutil.which(APP_ID)
    if found:
        return _quoted(str(Path(found).resolve()))
    return f"{_quoted(sys.executable)} -m app"


def _quoted(argument: str) -> str:
    """An Exec argument as the Desktop Entry Specification quotes it (only when it needs quoting)."""
    if not any(c in argument for c in " \t\n\"'\\><~|&;$*?#()`"):
        return argument
    escaped = argument.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'


def desktop_entry(exec_command: str) -> str:
    """The text of the desktop file (Desktop Entry Specification; desktop-file-validate accepts it)."""
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            "Version=1.0",
            "Name=LeNet digit trainer",
            "GenericName=Neural network trainer",
            "Comment=Draw a digit, watch a LeNet read it, and train it live",
            f"Exec={exec_command}",
            f"Icon={APP_ID}",
            "Terminal=false",
            "Categories=Education;ArtificialIntelligence;",
            "Keywords=neural network;PyTorch;MNIST;LeNet;handwriting;",
            f"StartupWMClass={APP_ID}",
            "",
        ]
    )


def install_desktop_entry(home: Path | None = None) -> tuple[Path, Path]:
    """Write the desktop file and the icon into the user's data folder; returns both paths. Raises OSError."""
    home = data_home() if home is None else Path(home)
    entry = home / "applications" / f"{APP_ID}.desktop"
    icon = home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    for path, content in ((icon, ICON.read_bytes()), (entry, desktop_entry(launcher()).encode())):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.part")  # complete or absent: a launcher never reads half a file
        partial.write_bytes(content)
        os.replace(partial, path)
    return entry, icon
