"""A dismissable line above the plots for errors, divergence and offers: visible, never modal."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton

from . import theme


class MessageBanner(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QPushButton()
        self.action_button.clicked.connect(self._run_action)
        self.details_button = QPushButton("Details…")
        self.details_button.setToolTip("Show the technical details of this error")
        self.details_button.clicked.connect(self._show_details)
        close = QPushButton("Dismiss")
        close.setToolTip("Hide this message")
        close.clicked.connect(self.hide)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(self.details_button)
        layout.addWidget(close)
        self._details = ""
        self._action = None
        self._kind = "error"
        self.hide()

    def show_message(self, text: str, kind: str = "error", details: str = "", action=None) -> None:
        """``kind``: "error", "warning" or "info"; ``action``: optional (button text, callable)
        offered next to the message."""
        self._kind = kind
        self.apply_theme()
        self.text.setText(text)
        self._details = details
        self.details_button.setVisible(bool(details))
        self._action = action
        self.action_button.setVisible(action is not None)
        if action is not None:
            self.action_button.setText(action[0])
        self.show()

    def apply_theme(self) -> None:
        background, border = theme.BANNER_COLOURS[theme.current().name][self._kind]
        self.setStyleSheet(f"#banner {{ background: {background}; border: 1px solid {border}; border-radius: 4px; }}")

    def _run_action(self) -> None:
        action, self._action = self._action, None
        self.hide()
        if action is not None:
            action[1]()

    def _show_details(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "Error details", self.text.text(), parent=self)
        box.setDetailedText(self._details)
        box.exec()
