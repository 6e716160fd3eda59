"""Help > Guide: what each panel shows, what to look for, and one experiment to try, with a button
that brings the panel into view.

The entries follow the panel table (:mod:`visualizer.panel_table`); a panel without an entry here
still gets one, made of its table tip, so the guide always covers every panel.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
)

from .docks import CONTROLS
from .panel_table import PANELS


@dataclass(frozen=True)
class Entry:
    name: str  # the dock's name (or "loss" / "accuracy", the central curves)
    title: str
    shows: str
    look_for: str
    try_this: str


_TEXT = {
    CONTROLS[0]: (
        "The network (hidden layers, activation, optimiser, seed: they apply at Reset) and the training "
        "settings (learning rate, decay, batch size, momentum, run length: they apply live). Start, Pause, "
        "Step and Reset.",
        "A field marked • has changed but waits for Reset. A red line under a field says what is wrong with it.",
        "Press Step (S) a few times and watch every panel move by one batch; then Start (Space)."),
    "loss": (
        "The cross-entropy loss, −log p of the true class averaged over the samples: training batches (faint, "
        "noisy) and the whole test set (with points), against samples seen; epochs on the top axis.",
        "Both curves falling: learning. Test above train and rising: overfitting. A jump up after a change: "
        "the learning rate is too high (each live change is marked on the curve).",
        "Set the learning rate to 0.05 while training with Adam and watch the loss climb; set it back."),
    "accuracy": (
        "The share of digits whose largest probability is the true class: training batches and the test set.",
        "Accuracy saturates long before the loss stops falling: the network keeps growing surer of digits it "
        "already gets right.",
        "Compare the tutorial preset (full-batch, sigmoid) with fast (mini-batch Adam): the same 1000 steps "
        "buy very different accuracy."),
    "softmax": (
        "One test digit and the network's softmax output for it: a probability per class, the true class "
        "green, a wrong prediction red. Pick digits by index, ◀ ▶, or Random.",
        "Early in training the bars are nearly flat (10 % each); they sharpen as the network learns.",
        "Reset and press Step once at a time: watch the true class's bar grow from 10 %."),
    "class_probs": (
        "The mean softmax output per true class: row t is the average probability the network gives each class "
        "for the digits whose true class is t. A soft confusion matrix.",
        "Off-diagonal warmth: pairs the network hesitates between (4 and 9, 3 and 5, 7 and 1).",
        "Train the tutorial preset and find the pair that stays confused longest."),
    "confusion": (
        "Counts of true against predicted class for the test set, with each class's recall and precision.",
        "The largest off-diagonal cells are the mistakes worth looking at.",
        "Click the largest off-diagonal cell: the Mistakes tab lists exactly those digits."),
    "weights": (
        "The first layer's weights of up to 64 hidden units as images (blue negative, red positive); with no "
        "hidden layer, the 10 class templates.",
        "Random noise at first; strokes and blobs appear as units specialise.",
        "Set Hidden layers to empty (softmax regression), Reset and train: each tile becomes a blurry digit."),
    "mistakes": (
        "Every wrong test (or training) digit, most confidently wrong first, with what it was taken for.",
        "Many mistakes are digits a person would also hesitate over; some are plainly mislabelled.",
        "Click one to see its softmax output, press P to pin it, then open the Math tab to see its gradient."),
    "pins": (
        "Up to 8 digits (or drawings) whose true-class probability is tracked at every test evaluation.",
        "Easy digits reach 100 % early; hard ones wander, or fall when the learning rate is too high.",
        "Pin a confidently wrong digit from Mistakes and watch whether further training fixes it."),
    "draw": (
        "A drawing pad: your strokes become an MNIST-style input (cropped, scaled into 20x20, centred in 28x28) "
        "and the network reads it live.",
        "Off-centre, thin or huge digits still work because of the MNIST-style preprocessing; odd shapes do not.",
        "Draw a 7 with a crossbar, then without one; switch the Math tab to 'drawn digit' to see its gradient."),
    "activations": (
        "From pixels to softmax for the selected (or drawn) digit: input × weight of the most active "
        "first-layer units, every hidden layer's activations, the output.",
        "With ReLU many units are exactly 0 for a given digit: each digit uses a different subset.",
        "Compare a 1 and an 8: how many units of layer 1 does each switch on?"),
    "learning": (
        "Is it still learning? Per layer: the gradient norm, the update-to-weight ratio (log scale), the share "
        "of dead ReLU or saturated sigmoid/tanh units, and each layer's weight distribution against its start.",
        "An update ratio near 1e-3 is healthy; 1e-5 means the learning rate is too small, 1e-1 too large.",
        "Train ReLU with SGD at learning rate 1: watch the dead units climb (and the hint that follows)."),
    "pca": (
        "A 2-D map of the last hidden layer for 1,000 fixed test digits, coloured by class, mistakes ringed.",
        "Classes separate into clusters as training goes on; mistakes sit where clusters touch.",
        "Click a ringed point: the digit shows everywhere, including the Math tab."),
    "runs": (
        "Every run of this session with its settings and key figures; tick 'show' to overlay its curves.",
        "The legend names what differs between the runs shown, so a comparison reads at a glance.",
        "Reset with learning rates 0.5, 0.1 and 0.02 (three epochs each) and overlay them."),
    "math": (
        "The selected digit through the output layer, number by number: a, W, z = W a + b, z − max z, "
        "e^(z − max z), their sum, p = e / Σe and the loss −log p_true; then backward: dL/dz = p − y (the "
        "tutorial's result), dL/db, dL/dW = (p − y) aᵀ, the update −lr · dL/dW, and dL/da, dL/dz per hidden "
        "unit. Every number comes from nn.reference on a copy of the live network.",
        "dL/dz is p − 1 for the true class (negative: its score goes up) and p for every other class. For a "
        "confident, right digit it is nearly 0: the digit has almost nothing left to teach.",
        "Select a wrong digit (Mistakes) and press 'One step on this digit': from this one digit alone, p of the "
        "true class jumps, while the training network is untouched. Then press 'Gradient check'."),
    "make": (
        "What would make this digit a 7 (or any class)? The gradient of log p(target) with respect to every "
        "pixel, over the digit, and a nudge: small steps on the pixels along it, with the prediction after each.",
        "Red pixels: more ink there raises p(target); blue: less ink does. The changes that flip the network's "
        "mind are often faint to a person.",
        "Pick a 2 and make it a 7: count the steps it takes, then try the class it is most often confused with."),
}


def entries() -> list[Entry]:
    """Every panel's entry, in the order of the View menu (the controls first)."""
    result = [Entry(CONTROLS[0], CONTROLS[1], *_TEXT[CONTROLS[0]])]
    for spec in PANELS:
        shows, look_for, try_this = _TEXT.get(spec.name, (spec.tip or spec.title, "", ""))
        result.append(Entry(spec.name, spec.title, shows, look_for, try_this))
    return result


def dock_tip(name: str, tip: str) -> str:
    """A dock title's tooltip: what the panel is (``tip``) and the guide's experiment to try."""
    try_this = _TEXT.get(name, ("", "", ""))[2]
    return f"{tip}\n\nTry this: {try_this}" if try_this else tip


def entry_html(entry: Entry) -> str:
    parts = [f"<h3>{entry.title}</h3><p><b>What it shows.</b> {entry.shows}</p>"]
    if entry.look_for:
        parts.append(f"<p><b>What to look for.</b> {entry.look_for}</p>")
    if entry.try_this:
        parts.append(f"<p><b>Try this.</b> {entry.try_this}</p>")
    return "".join(parts)


def bring_into_view(window, name: str) -> None:
    """Show the panel ``name`` in ``window``: its dock shown, its tab raised (the central curves are
    always in view)."""
    dock = window.docks.get(name)
    if dock is not None:
        dock.show()
        dock.raise_()
        if dock.isFloating():
            dock.activateWindow()
    window.raise_()


class GuideDialog(QDialog):
    """The guide: the panels on the left, the chosen one's entry on the right, and a button that
    brings it into view. Not modal: the window stays usable beside it."""

    def __init__(self, window):
        super().__init__(window)
        self.window_ = window
        self.setWindowTitle("Guide to the panels")
        self.resize(760, 460)
        self.entries = entries()
        self.list = QListWidget()
        self.list.addItems([e.title for e in self.entries])
        self.list.setToolTip("The panels: choose one to read about it")
        self.list.setMaximumWidth(190)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.text.setToolTip("What the panel shows, what to look for, and one experiment to try")
        self.show_button = QPushButton("Show this panel")
        self.show_button.setToolTip("Bring this panel into view in the main window")
        self.show_button.clicked.connect(self.show_current)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        buttons.addButton(self.show_button, QDialogButtonBox.ButtonRole.ActionRole)
        content = QHBoxLayout()
        content.addWidget(self.list)
        content.addWidget(self.text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(content, 1)
        layout.addWidget(buttons)
        self.list.currentRowChanged.connect(self._show_entry)
        self.list.itemDoubleClicked.connect(lambda _: self.show_current())
        self.list.setCurrentRow(0)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)

    def select(self, name: str) -> None:
        for row, entry in enumerate(self.entries):
            if entry.name == name:
                self.list.setCurrentRow(row)
                return

    def current(self) -> Entry:
        return self.entries[max(0, self.list.currentRow())]

    def show_current(self) -> None:
        bring_into_view(self.window_, self.current().name)

    def _show_entry(self, row: int) -> None:
        if 0 <= row < len(self.entries):
            self.text.setHtml(entry_html(self.entries[row]))


def open_guide(window) -> GuideDialog:
    """Show the window's guide (one per window, kept between openings)."""
    guide = getattr(window, "guide", None)
    if guide is None:
        guide = window.guide = GuideDialog(window)
    guide.show()
    guide.raise_()
    guide.activateWindow()
    return guide
