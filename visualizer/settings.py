"""What the app remembers between runs (QSettings): the last configuration and the last folder.

The window's geometry, layout and theme are stored by the modules that own them, under the keys
"geometry", "window_state" and "theme"; recent files by :mod:`visualizer.session_files`.
"""

from __future__ import annotations

import json
from pathlib import Path

from PyQt6.QtCore import QSettings


def app_settings() -> QSettings:
    """This application's own settings, never another's (no fallback to the organisation's or
    the system's)."""
    settings = QSettings()
    settings.setFallbacksEnabled(False)
    return settings


def last_folder(settings: QSettings) -> Path:
    """Where the last file was saved, opened or exported (the home folder at first)."""
    return Path(str(settings.value("last_folder", str(Path.home()))))


def remember_folder(settings: QSettings, path: str | Path) -> None:
    settings.setValue("last_folder", str(Path(path).parent))


def remembered_config(settings: QSettings):
    """The configuration the app was last closed with, or None."""
    from nn.config import TrainConfig, validate

    text = settings.value("last_config", "")
    if not text:
        return None
    try:
        return validate(TrainConfig.from_dict(json.loads(text)))
    except (ValueError, TypeError):
        return None  # settings from another version, or edited by hand: start from the preset


def remember_config(settings: QSettings, config) -> None:
    if config is not None:
        settings.setValue("last_config", json.dumps(config.to_dict()))


def remembered_smoothing(settings: QSettings, default: float) -> float:
    """The smoothing of the train curves the app was last closed with (``default`` at first)."""
    try:
        value = float(settings.value("curve_smoothing", default))
    except (TypeError, ValueError):
        return default
    return value if 0.0 <= value < 1.0 else default


def remember_smoothing(settings: QSettings, value: float) -> None:
    settings.setValue("curve_smoothing", float(value))


# forgotten by "Restore default settings"
REMEMBERED = ("last_config", "theme", "geometry", "window_state", "curve_smoothing")


def forget_settings(settings: QSettings) -> None:
    """Forget the configuration, theme, size and layout remembered from earlier launches (recent
    files and folders stay)."""
    for key in REMEMBERED:
        settings.remove(key)
    settings.sync()
