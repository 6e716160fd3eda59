"""The main window's menu bar: File, View (one entry per dock, the layout, the theme), Training, Help."""

from __future__ import annotations

from PyQt6.QtGui import QAction, QActionGroup, QKeySequence
from PyQt6.QtWidgets import QMessageBox

from nn import __version__

from . import theme
from .guide import dock_tip, open_guide

MNIST_ATTRIBUTION = "MNIST database, Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0)."
SHORTCUTS = (
    "<table cellpadding=3>"
    "<tr><td><b>Space</b></td><td>start / pause / resume</td></tr>"
    "<tr><td><b>S</b></td><td>one training step</td></tr>"
    "<tr><td><b>Ctrl+R</b></td><td>reset: new network from the fields</td></tr>"
    "<tr><td><b>Ctrl+S</b>, <b>Ctrl+Shift+S</b></td><td>save model, save session</td></tr>"
    "<tr><td><b>Ctrl+O</b>, <b>Ctrl+Shift+O</b></td><td>open session, open model</td></tr>"
    "<tr><td><b>Ctrl+D</b></td><td>open a dataset (a folder of MNIST-format files)</td></tr>"
    "<tr><td><b>Arrows</b>, <b>Enter</b>, <b>P</b></td><td>in the mistakes gallery: move, show, pin</td></tr>"
    "<tr><td><b>F1</b></td><td>the guide to the panels</td></tr>"
    "<tr><td><b>Ctrl+Q</b></td><td>quit</td></tr></table>")


def make_action(window, text: str, slot, shortcut: str | None = None, tip: str = "") -> QAction:
    """An action of ``window``; its tooltip and status tip are ``tip``, else its text."""
    action = QAction(text, window)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    action.setToolTip(tip or text.replace("&", "").rstrip("…"))
    action.setStatusTip(action.toolTip())
    action.triggered.connect(slot)
    return action


def build_menus(w) -> None:
    """The menu bar of the main window ``w`` (its files, exports, docks, controls and theme)."""

    def act(*args) -> QAction:
        return make_action(w, *args)

    file_menu = w.menuBar().addMenu("&File")
    w.save_model_action = act("Save &model…", lambda: w.files.ask_save("model"), "Ctrl+S",
                              "Save the network's parameters (.npz) to evaluate or inspect later")
    w.save_session_action = act("Save &session…", lambda: w.files.ask_save("session"), "Ctrl+Shift+S",
                                "Save the whole run (parameters, optimiser, history) to resume later")
    w.open_session_action = act("&Open session…", lambda: w.files.ask_open("session"), "Ctrl+O",
                                "Continue a saved session")
    w.open_model_action = act("Open mo&del…", lambda: w.files.ask_open("model"), "Ctrl+Shift+O",
                              "Load a saved model to inspect it (training can continue from it)")
    w.recent_menu = w.files.recent_menu = file_menu.addMenu("Open &recent")
    w.files.update_recent_menu()
    for a in (w.open_session_action, w.open_model_action):
        file_menu.insertAction(w.recent_menu.menuAction(), a)
    file_menu.addSeparator()
    w.datasets.add_actions(file_menu, act)
    w.import_runs_action = act("&Import runs…", w.runs_import.ask, None,
                               "Add the runs of a sweep file (python -m nn sweep … --out SWEEP.npz) to the Runs panel")
    file_menu.addAction(w.import_runs_action)
    file_menu.addSeparator()
    file_menu.addActions([w.save_session_action, w.save_model_action])
    file_menu.addSeparator()
    w.exports.add_actions(file_menu.addMenu("&Export"), act)
    file_menu.addSeparator()
    file_menu.addAction(act("&Quit", w.close, "Ctrl+Q", "Quit Softmax Visualizer (Ctrl+Q)"))

    view = w.menuBar().addMenu("&View")
    view.setToolTipsVisible(True)
    for name, dock in w.docks.items():
        dock.setToolTip(dock_tip(name, dock.toolTip()))  # the title says what it is, and what to try
        dock.toggleViewAction().setToolTip(dock.toolTip())
        view.addAction(dock.toggleViewAction())
    view.addSeparator()
    view.addAction(act("Restore default &layout", w.restore_default_layout, None,
                       "Put every panel back where it started"))
    w.restore_settings_action = act("Restore default &settings", w.restore_default_settings, None,
                                    "Forget what earlier launches left: the fast preset in the fields, "
                                    "the system theme, the default layout and size")
    view.addAction(w.restore_settings_action)
    theme_menu = view.addMenu("&Theme")
    theme_menu.setToolTipsVisible(True)
    group = QActionGroup(w)
    w.theme_actions = {}
    for choice in theme.CHOICES:
        action = act(theme.LABELS[choice], lambda _=False, c=choice: w.set_theme_choice(c), None, theme.TIPS[choice])
        action.setCheckable(True)
        action.setChecked(choice == w.theme_choice)
        group.addAction(action)
        theme_menu.addAction(action)
        w.theme_actions[choice] = action

    training = w.menuBar().addMenu("&Training")
    c = w.controls
    for a in (c.toggle_action, c.step_action, c.reset_action):
        training.addAction(a)
        w.addAction(a)  # shortcuts work wherever the focus is in the window

    help_menu = w.menuBar().addMenu("&Help")
    help_menu.setToolTipsVisible(True)
    w.guide_action = act("&Guide to the panels…", lambda: open_guide(w), "F1",
                         "What each panel shows, what to look for and one experiment to try; each entry can "
                         "bring its panel into view")
    w.hints_action = act("Show &hints", w.hints_bar.set_enabled, None,
                         "Plain-language hints from the run's curves (loss rising, overfitting, dead units, ...), "
                         "each with the figure behind it and a change to try")
    w.hints_action.setCheckable(True)
    w.hints_action.setChecked(w.hints_bar.enabled)
    w.hints_bar.enabled_changed.connect(w.hints_action.setChecked)
    help_menu.addActions([w.guide_action, w.hints_action])
    help_menu.addSeparator()
    help_menu.addAction(act("&Keyboard shortcuts", lambda: QMessageBox.information(w, "Keyboard shortcuts", SHORTCUTS)))
    help_menu.addAction(act("&About", lambda: QMessageBox.about(
        w, "About Softmax Visualizer", f"<b>Softmax Visualizer</b> {__version__}<br>"
        f"Watch a from-scratch NumPy softmax network learn MNIST.<br><br>Data: {MNIST_ATTRIBUTION}")))
