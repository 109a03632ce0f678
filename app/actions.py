"""Actions (menu items with shortcuts and tips) and the buttons that mirror them."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QToolButton, QWidget


def make_action(parent: QWidget, text: str, slot: Callable, shortcut=None, tip: str = "") -> QAction:
    """An action of parent's (its shortcuts work wherever parent's window is active), its tooltip naming its keys."""
    action = QAction(text, parent)
    if shortcut is not None:
        shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
        keys = [QKeySequence(s) for s in shortcuts]
        action.setShortcuts([k for i, k in enumerate(keys) if not k.isEmpty() and k not in keys[:i]])
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    action.setToolTip(f"{tip} ({keys})" if keys and tip else tip or text)
    action.setStatusTip(tip)
    action.triggered.connect(slot)
    parent.addAction(action)
    return action


def action_button(action: QAction, name: str) -> QToolButton:
    """A button that mirrors a menu action: same text, shortcut, tooltip and enabled state."""
    button = QToolButton()
    button.setObjectName(name)
    button.setDefaultAction(action)
    button.setToolButtonStyle(button.toolButtonStyle().ToolButtonTextOnly)
    button.setMinimumHeight(30)
    return button
