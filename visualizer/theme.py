"""The one theme module: the colours of the light and dark looks, and switching between them.

Two things carry the look. The application's palette, chosen in View > Theme: "System" (the
platform's palette), "Light" or "Dark" (:func:`apply_choice`). Light and Dark set the Fusion
style with a palette of their own (Fusion draws every widget from the palette; some platform
styles ignore a dark one); System puts back the style the application started with and the
platform's palette, and so follows the desktop when it switches between light and dark.

And the colours drawn by the app itself (plots, status text, banners): the current
:class:`Theme`, :data:`LIGHT` or :data:`DARK`, derived from whichever palette results
(:func:`for_palette`). The main window sets it with :func:`set_current` and then calls each
panel's ``apply_theme()``; panels read :func:`current` whenever they draw. Digits stay dark ink
on white paper in both themes, and the heat maps keep their colour maps (see
:mod:`visualizer.style`).
"""

from __future__ import annotations

import dataclasses

from PyQt6.QtGui import QColor, QPalette
from PyQt6.QtWidgets import QApplication, QStyleFactory

# -- the colours -----------------------------------------------------------------------------------

# Matplotlib's tab10: blue, orange, green, red, purple, brown, pink, grey, olive, cyan.
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def _lighter(color: str, amount: float) -> str:
    """``color`` mixed with white: tab10's dark blues and browns are too dim on a dark background."""
    c = QColor(color)
    mix = [round(v + (255 - v) * amount) for v in (c.red(), c.green(), c.blue())]
    return QColor(*mix).name()


@dataclasses.dataclass(frozen=True)
class Theme:
    """The named colours of one theme. Strings are CSS colours, tuples RGB(A) for images and brushes."""

    name: str
    background: str  # plots and panels
    field: str  # inputs and check boxes on a panel (a shade off the background, so they show)
    foreground: str  # axes, tick labels, titles, text
    muted: str  # secondary text: empty states, hints
    frame: str  # thin borders: legends, thumbnails, list frames
    grid_alpha: float
    legend_fill: tuple  # RGBA behind legends and labels drawn over curves
    faint_alpha: int  # of 255, for curves that stay in the background (noisy batch curves)
    train: str  # the training-batch curves
    test: str  # the test-set curves
    event: str  # hyperparameter-change marks
    diverged: str  # a divergence, error messages
    correct: str  # the true class, a right prediction
    wrong: str  # a wrong prediction
    bar: str  # the other classes' probability bars
    waiting: str  # bars while no probabilities are known
    reference: str  # dashed reference lines, the initial weight histogram
    select: str  # a selection's frame (confusion cell, gallery digit)
    select_fill: str
    select_text: str
    warning: str  # pending changes
    error_fill: str  # behind an input that is not valid
    ring: str  # marks a wrong digit on the PCA map
    tile_gap: tuple  # RGB between weight tiles
    cell_gap: tuple  # RGB between activation cells
    cell_unused: tuple  # RGB of grid cells without a unit
    cell_mark: tuple  # RGB frame of the units whose tiles are shown
    margin_fill: tuple  # RGB behind the confusion matrix's recall / precision figures
    categorical: tuple  # ten distinct colours (tab10 order)

    @property
    def dark(self) -> bool:
        return self.name == "dark"

    @property
    def classes(self) -> tuple:
        """One colour per class (PCA map)."""
        return self.categorical

    @property
    def runs(self) -> tuple:
        """Run colours: without grey, and without red, which means "diverged" in this app."""
        return tuple(c for i, c in enumerate(self.categorical) if i not in (3, 7))

    @property
    def series(self) -> tuple:
        """Layers, pins: without the grey and olive that read as "inactive"."""
        return tuple(c for i, c in enumerate(self.categorical) if i not in (7, 8))

    def css(self) -> dict:
        """The string colours by name, for :func:`visualizer.style.themed_css` templates."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {name: value for name, value in values.items() if isinstance(value, str)}


LIGHT = Theme(
    name="light", background="#ffffff", field="#ffffff", foreground="#222222", muted="#8a8a8a", frame="#cccccc",
    grid_alpha=0.15, legend_fill=(255, 255, 255, 215), faint_alpha=70,
    train=TAB10[0], test=TAB10[1], event="#555555", diverged="#d62728", correct="#2ca02c", wrong="#d62728",
    bar="#a9bfd6", waiting="#dddddd", reference="#999999",
    select="#1565c0", select_fill="#dbe8f7", select_text="#0d3c73", warning="#b26a00", error_fill="#fff0f0",
    ring="#000000",
    tile_gap=(150, 150, 150), cell_gap=(205, 205, 205), cell_unused=(240, 240, 240), cell_mark=(0, 0, 0),
    margin_fill=(244, 244, 244), categorical=TAB10,
)

DARK = Theme(
    name="dark", background="#1e1e1e", field="#2d2d2d", foreground="#e0e0e0", muted="#9a9a9a", frame="#555555",
    grid_alpha=0.18, legend_fill=(30, 30, 30, 215), faint_alpha=50,
    train=_lighter(TAB10[0], 0.3), test=_lighter(TAB10[1], 0.3), event="#b0b0b0", diverged="#ff6b6b",
    correct="#6bc46b", wrong="#ff6b6b", bar="#4f6479", waiting="#3a3a3a", reference="#7a7a7a",
    select="#64b5f6", select_fill="#1c3552", select_text="#cfe6fb", warning="#f0a640", error_fill="#4a2626",
    ring="#ffffff",
    tile_gap=(70, 70, 70), cell_gap=(70, 70, 70), cell_unused=(45, 45, 45), cell_mark=(255, 255, 255),
    margin_fill=(48, 48, 48), categorical=tuple(_lighter(c, 0.3) for c in TAB10),
)

# The status bar's state text on the window colour (by State value): deep shades on light, light on dark.
STATE_COLOURS = {
    "light": {"loading": "#607d8b", "idle": "#607d8b", "training": "#2e7d32", "paused": "#b26a00",
              "finished": "#1565c0", "diverged": "#c62828", "no data": "#c62828"},
    "dark": {"loading": "#9fb3bd", "idle": "#9fb3bd", "training": "#81c784", "paused": "#ffb74d",
             "finished": "#64b5f6", "diverged": "#ef7070", "no data": "#ef7070"},
}
# The message banner's (background, border) per theme and kind; its text is the palette's.
BANNER_COLOURS = {
    "light": {"error": ("#fdecea", "#c62828"), "warning": ("#fff4e5", "#b26a00"), "info": ("#e8f1fb", "#1565c0")},
    "dark": {"error": ("#3d1f1f", "#ef5350"), "warning": ("#3d2f14", "#ffa726"), "info": ("#16283d", "#64b5f6")},
}

_current = LIGHT


def current() -> Theme:
    """The theme the app draws in now."""
    return _current


def set_current(new: Theme) -> None:
    """Make ``new`` the current theme (panels then need ``apply_theme()``)."""
    global _current
    _current = new


def for_palette(palette: QPalette) -> Theme:
    """:data:`DARK` for a palette whose window colour is dark, else :data:`LIGHT`."""
    return DARK if palette.color(QPalette.ColorRole.Window).lightness() < 128 else LIGHT


# -- the application's look: System, Light or Dark --------------------------------------------------

CHOICES = ("system", "light", "dark")
LABELS = {"system": "System", "light": "Light", "dark": "Dark"}
TIPS = {"system": "Follow the desktop's light or dark look", "light": "Light, whatever the desktop",
        "dark": "Dark, whatever the desktop"}
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


def follow_palette() -> bool:
    """Make the current theme the one that suits the application's palette; True if it changed."""
    new = for_palette(QApplication.palette())
    if new is _current:
        return False
    set_current(new)
    return True
