"""Hints above the curves: what :func:`nn.hints.snapshot_hints` sees in the run, each with the
figure behind it and a button that makes the suggested change.

The button changes the setting through the controls (:meth:`visualizer.controls.ControlPanel.apply_changes`),
so the usual rules apply: a live field (the learning rate) applies at once, a structural one (L2,
initialisation) is marked pending until Reset. A hint can be dismissed (for the rest of the run)
and hints can be turned off altogether (remembered; Help > Show hints turns them back on). The
rules read the curves the snapshot already carries, at most once a second.
"""

from __future__ import annotations

import time

from PyQt6.QtCore import QEvent, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from nn.hints import Hint, snapshot_hints

from . import theme

INTERVAL_S = 1.0  # the rules run at most this often (the newest snapshot is never left out)
SETTING = "hints"  # QSettings key: "true" / "false"


class HintRow(QWidget):
    """One hint: its message, its action button and a dismiss button."""

    def __init__(self, hint: Hint, apply, dismiss, parent=None):
        super().__init__(parent)
        self.hint = hint
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.text = QLabel(f"<b>Hint:</b> {hint.message}")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setToolTip("What the run's curves show, with the figure behind it (nn.hints)")
        self.action_button = QPushButton(hint.action)
        self.action_button.setToolTip("Make this change in the controls: a live setting applies at once, "
                                      "a structural one when you press Reset")
        self.action_button.clicked.connect(lambda: apply(hint))
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setToolTip("Hide this hint for the rest of the run")
        self.dismiss_button.clicked.connect(lambda: dismiss(hint))
        layout.addWidget(self.text, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(self.dismiss_button)


class HintsBar(QFrame):
    apply_requested = pyqtSignal(object)  # dict of TrainConfig fields to set (Hint.changes)
    enabled_changed = pyqtSignal(bool)

    def __init__(self, enabled: bool = True, parent=None):
        super().__init__(parent)
        self.setObjectName("hints")
        self.enabled = enabled
        self.hints: tuple[Hint, ...] = ()  # the hints that apply now (dismissed ones included)
        self.rows: list[HintRow] = []
        self._dismissed: set[str] = set()
        self._run_id = None
        self._last = -float("inf")
        self._pending = None
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self._run_pending)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        layout.setSpacing(2)
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(2)
        layout.addLayout(self.rows_box)
        self.off_button = QToolButton()
        self.off_button.setText("Turn hints off")
        self.off_button.setAutoRaise(True)
        self.off_button.setToolTip("Stop showing hints (Help > Show hints brings them back)")
        self.off_button.clicked.connect(lambda: self.set_enabled(False))
        footer = QHBoxLayout()
        footer.addStretch(1)
        footer.addWidget(self.off_button)
        layout.addLayout(footer)
        self.setToolTip("Hints from the run's curves and learning signals, each with the figure behind it "
                        "and a change to try")
        self.apply_theme()
        self.hide()

    # -- API ------------------------------------------------------------------------------------
    def set_enabled(self, enabled: bool) -> None:
        if enabled == self.enabled:
            return
        self.enabled = enabled
        self.enabled_changed.emit(enabled)
        if enabled:
            self._last = -float("inf")
            if self._pending is not None:
                self._run_pending()
        self._show()

    def show_snapshot(self, snap) -> None:
        """Read the hints of ``snap`` (at most once a second; the newest snapshot always gets its turn)."""
        if snap.run_id != self._run_id:
            self._run_id, self._dismissed = snap.run_id, set()
            self._last = -float("inf")
        self._pending = snap
        if not self.enabled:
            return
        wait = self._last + INTERVAL_S - time.monotonic()
        if wait <= 0 or snap.diverged:
            self._run_pending()
        elif not self._timer.isActive():
            self._timer.start(max(1, round(wait * 1000)))

    def visible_hints(self) -> tuple[Hint, ...]:
        return tuple(h for h in self.hints if h.key not in self._dismissed) if self.enabled else ()

    def dismiss(self, hint: Hint) -> None:
        self._dismissed.add(hint.key)
        self._show()

    def apply(self, hint: Hint) -> None:
        self._dismissed.add(hint.key)  # done: it says nothing new until the next run
        self._show()
        self.apply_requested.emit(dict(hint.changes))

    def apply_theme(self) -> None:
        background, border = theme.BANNER_COLOURS[theme.current().name]["info"]
        css = f"#hints {{ background: {background}; border: 1px solid {border}; border-radius: 4px; }}"
        if css != self.styleSheet():  # (a new style sheet is itself a palette change: set it only once)
            self.setStyleSheet(css)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # after the window has chosen its theme
            QTimer.singleShot(0, self.apply_theme)

    # -- rendering ------------------------------------------------------------------------------
    def _run_pending(self) -> None:
        self._timer.stop()
        snap, self._pending = self._pending, None
        if snap is None or not self.enabled:
            self._pending = snap
            return
        self._last = time.monotonic()
        self.hints = snapshot_hints(snap)
        self._show()

    def _show(self) -> None:
        shown = self.visible_hints()
        if tuple(row.hint for row in self.rows) != shown:
            for row in self.rows:
                self.rows_box.removeWidget(row)
                row.deleteLater()
            self.rows = [HintRow(hint, self.apply, self.dismiss) for hint in shown]
            for row in self.rows:
                self.rows_box.addWidget(row)
        self.setVisible(bool(shown))


def attach_hints(window, central_layout) -> HintsBar:
    """A hints bar in ``window`` under its banner (``central_layout``'s first widget): fed every
    snapshot the window shows, its actions go to the controls, on/off remembered in the settings."""
    enabled = str(window.settings.value(SETTING, "true")).lower() != "false"
    bar = HintsBar(enabled)
    central_layout.insertWidget(1, bar)
    window.snapshot_shown.connect(bar.show_snapshot)
    bar.apply_requested.connect(window.controls.apply_changes)
    bar.enabled_changed.connect(lambda on: window.settings.setValue(SETTING, "true" if on else "false"))
    return bar
