"""The application's light or dark look: "System" (the platform's palette), "Light" or "Dark".

Light and Dark set the Fusion style with a palette of their own on the whole application (Fusion
draws every widget from the palette; some platform styles ignore a dark one). System puts back
the style the application started with and the platform's palette, and so follows the desktop
when it switches between light and dark. The plots follow whichever palette results: the main
window derives their theme from it (:func:`visualizer.panels.style.theme_for_palette`).
"""

from __future__ import annotations

from PyQt6.QtGui import QColor, QPalette
from PyQt6.QtWidgets import QApplication, QStyleFactory

CHOICES = ("system", "light", "dark")
LABELS = {"system": "System", "light": "Light", "dark": "Dark"}
DEFAULT = "system"

_platform_style: str | None = None  # the style replaced by Light or Dark, to put back for System


def parse_choice(value) -> str:
    """A stored choice, or :data:`DEFAULT` for anything else (settings edited by hand, old versions)."""
    text = value.strip().lower() if isinstance(value, str) else ""
    return text if text in CHOICES else DEFAULT


def dark_palette() -> QPalette:
    """A dark palette for Fusion: light text on dark greys, a blue highlight."""
    R, G = QPalette.ColorRole, QPalette.ColorGroup
    window, base, text = QColor("#2b2b2b"), QColor("#1e1e1e"), QColor("#e0e0e0")
    palette = QPalette(QColor("#3a3a3a"), window)  # derives the bevel shades from the button colour
    for role, color in ((R.Window, window), (R.WindowText, text), (R.Base, base), (R.AlternateBase, "#262626"),
                        (R.Text, text), (R.Button, "#3a3a3a"), (R.ButtonText, text), (R.BrightText, "#ff6b6b"),
                        (R.ToolTipBase, "#333333"), (R.ToolTipText, text), (R.PlaceholderText, "#8a8a8a"),
                        (R.Highlight, "#2f65ca"), (R.HighlightedText, "#ffffff"), (R.Link, "#64b5f6"),
                        (R.LinkVisited, "#b39ddb")):
        palette.setColor(role, QColor(color))
    for role in (R.WindowText, R.Text, R.ButtonText):
        palette.setColor(G.Disabled, role, QColor("#7a7a7a"))
    palette.setColor(G.Disabled, R.Highlight, QColor("#4a4a4a"))
    return palette


def light_palette() -> QPalette:
    style = QStyleFactory.create("Fusion")
    return style.standardPalette() if style is not None else QPalette()


def apply_choice(choice: str, app: QApplication | None = None) -> str:
    """Give the application the look of ``choice`` (see the module docstring); returns the choice
    applied (an unknown one is :data:`DEFAULT`). System, when nothing was changed, changes nothing."""
    global _platform_style
    app = app or QApplication.instance()
    choice = parse_choice(choice)
    if app is None:
        return choice
    if choice == "system":
        if _platform_style is not None:
            app.setStyle(_platform_style)
            _platform_style = None
            app.setPalette(QPalette())  # an empty palette: the platform's own again
        return choice
    if _platform_style is None:
        _platform_style = app.style().name()
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(dark_palette() if choice == "dark" else light_palette())
    return choice
