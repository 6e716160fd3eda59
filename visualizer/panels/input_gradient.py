"""What would make this a 7? The gradient of one class's log-probability with respect to the
input pixels, over the digit, and a nudge that follows it until the network changes its mind.

For the selected test digit (or the drawn one) and any target class, from a float64 copy of the
live network: :func:`nn.explain.input_gradient` gives d log p_target / dx (red: more ink there
makes the target more likely, blue: less ink), and :func:`nn.explain.nudge` takes small steps on
the pixels along it, showing the image and the prediction after each. How little ink it takes to
turn a 2 into a 7 for the network, while a person still sees a 2, is the lesson.
"""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtWidgets

from nn.explain import input_gradient, nudge

from .. import style, theme
from ..explain_widgets import ExplainPanel, MatrixView, caption, fmt
from ..export_menu import add_export_menu
from ..network_copy import NetworkCopy

FRAMES = 6  # nudge images shown (the start, the end and evenly between)
DEFAULT_TARGET = 7
# 12 steps of 0.1 (the largest pixel change per step): enough to turn most digits into most others,
# at about 0.7 ms a step (one forward and backward pass of nn.reference each) while training goes on
DEFAULT_STEPS, DEFAULT_STEP_SIZE = 12, 0.1

_TOOLTIP = ("What would make this a 7? Left: the digit. Middle: the gradient of log p(target) with respect to "
            "each pixel, over the digit\n(red: more ink there raises p(target), blue: less ink). Below: small "
            "steps on the pixels along it, and the prediction after each.\nComputed on a copy of the network "
            "(nn.explain.input_gradient, nn.explain.nudge): training is not touched.")


def paper_rgb(x: np.ndarray) -> np.ndarray:
    """Pixels in 0..1 as dark ink on white paper (h, w, 3)."""
    gray = np.rint(255 * (1 - np.clip(np.asarray(x, dtype=np.float64), 0, 1))).astype(np.ubyte)
    return np.repeat(gray[..., None], 3, axis=-1)


def gradient_over_digit(x: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """The gradient's diverging colours laid over the digit: where |gradient| is large its colour
    covers the ink, where it is small the digit shows through (h, w, 3)."""
    g = np.nan_to_num(np.asarray(gradient, dtype=np.float64))
    top = float(np.abs(g).max(initial=0.0))
    scaled = g / top if top > 0 else g
    alpha = np.sqrt(np.abs(scaled))[..., None]
    colour = style.diverging_rgb(scaled).astype(np.float64)
    paper = paper_rgb(x).astype(np.float64)
    return np.rint((1 - alpha) * paper + alpha * colour).astype(np.ubyte)


def frame_steps(n_images: int, flipped_at: int | None, frames: int = FRAMES) -> list[int]:
    """Which nudge images to show: the start, the end, the first that reads as the target, and
    evenly between."""
    picks = set(np.linspace(0, n_images - 1, min(frames, n_images)).round().astype(int).tolist())
    if flipped_at is not None and flipped_at not in picks:
        nearest = min((p for p in picks if p not in (0, n_images - 1)), key=lambda p: abs(p - flipped_at),
                      default=None)
        if nearest is not None:
            picks.discard(nearest)
        picks.add(flipped_at)
    return sorted(picks)


class InputGradientPanel(ExplainPanel):
    def __init__(self, dataset, parent=None):
        super().__init__(dataset, parent)
        self.setToolTip(_TOOLTIP)
        self.setMinimumSize(320, 320)
        self.image_shape = tuple(int(s) for s in dataset.test_images.shape[1:])
        self.x: np.ndarray | None = None  # the digit shown (features,)
        self.gradient: np.ndarray | None = None  # d log p_target / dx, like x
        self.result = None  # the nn.explain.Nudge shown
        self.network_shown: NetworkCopy | None = None
        self._drawing = 0  # counts renders: a drawing still to come for an older one is dropped

        header = self._header("The digit, its true class and what the network reads now")

        self.target = QtWidgets.QComboBox()
        self.target.addItems(self.class_names)
        self.target.setCurrentIndex(min(DEFAULT_TARGET, self.n_classes - 1))
        self.target.setToolTip("The class to push the digit toward: the gradient shows which pixels would make "
                               "the network more sure of it. Try the class it is most often confused with.")
        self.target.currentIndexChanged.connect(lambda _: self.refresh())
        self.steps = QtWidgets.QSpinBox()
        self.steps.setRange(1, 60)
        self.steps.setValue(DEFAULT_STEPS)
        self.steps.setKeyboardTracking(False)
        self.steps.setToolTip("How many small steps the nudge takes along the gradient")
        self.steps.valueChanged.connect(lambda _: self.refresh())
        self.step_size = QtWidgets.QDoubleSpinBox()
        self.step_size.setRange(0.01, 0.5)
        self.step_size.setSingleStep(0.01)
        self.step_size.setValue(DEFAULT_STEP_SIZE)
        self.step_size.setKeyboardTracking(False)
        self.step_size.setToolTip("How far each step moves the pixel with the largest gradient (ink is 0 to 1); "
                                  "the others move in proportion to their gradient")
        self.step_size.valueChanged.connect(lambda _: self.refresh())
        controls = QtWidgets.QHBoxLayout()
        controls.setContentsMargins(6, 0, 6, 0)
        for text, widget in (("Make it a", self.target), ("steps", self.steps), ("step size", self.step_size)):
            label = QtWidgets.QLabel(text)
            label.setToolTip(widget.toolTip())
            controls.addWidget(label)
            controls.addWidget(widget)
        controls.addStretch(1)

        body = QtWidgets.QWidget()
        style.paint_background(body)
        b = QtWidgets.QVBoxLayout(body)
        b.setContentsMargins(8, 4, 8, 8)
        b.setSpacing(3)
        images = QtWidgets.QGridLayout()
        images.setHorizontalSpacing(10)
        images.setVerticalSpacing(0)
        self.digit_view = MatrixView(self._pixel_tip, square=True, max_cell=7)
        self.digit_view.setToolTip("The digit as the network sees it")
        self.gradient_view = MatrixView(self._pixel_tip, square=True, max_cell=7)
        self.gradient_view.setToolTip("d log p(target) / d pixel over the digit: red, more ink there raises "
                                      "p(target); blue, less ink does. Hover a pixel for its value.")
        self.nudged_view = MatrixView(self._pixel_tip, square=True, max_cell=7)
        self.nudged_view.setToolTip("The digit after the last nudge step")
        self.image_captions = [caption("the digit", 8), caption("gradient over it", 8), caption("after the nudge", 8)]
        for col, (text, view) in enumerate(zip(self.image_captions, (self.digit_view, self.gradient_view,
                                                                      self.nudged_view))):
            images.addWidget(text, 0, col)
            images.addWidget(view, 1, col)
        b.addLayout(images)
        self.gradient_caption = caption()
        b.addWidget(self.gradient_caption)
        b.addWidget(caption("<b>The nudge</b>: small steps on the pixels along the gradient, and what the network "
                            "reads after each"))
        frames = QtWidgets.QGridLayout()
        frames.setHorizontalSpacing(6)
        frames.setVerticalSpacing(0)
        self.frame_views, self.frame_labels = [], []
        for k in range(FRAMES):
            view = MatrixView(self._pixel_tip, square=True, max_cell=3)
            view.setToolTip("The digit after this many nudge steps")
            label = caption("", 7.5)
            label.setWordWrap(False)  # (short lines of their own: wrapped, "%" fell to a line the row cut off)
            label.setAlignment(QtCore.Qt.AlignmentFlag.AlignHCenter)
            frames.addWidget(view, 0, k)
            frames.addWidget(label, 1, k)
            self.frame_views.append(view)
            self.frame_labels.append(label)
        b.addLayout(frames)
        self.plot_widget = style.plot_widget()
        self.plot_widget.setFixedHeight(150)
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setYRange(0, 1, padding=0.04)
        self.plot.showGrid(y=True, alpha=theme.current().grid_alpha)
        style.axis_label(self.plot, "bottom", "nudge step")
        style.axis_label(self.plot, "left", "probability", tip="The network's probability for the target class and "
                         "for the true class after each step")
        self.target_curve = self.plot.plot([], [])
        self.true_curve = self.plot.plot([], [])
        style.themed_pen(self.target_curve, "train", 2)
        style.themed_pen(self.true_curve, "correct", 2)
        self.plot_widget.setToolTip("How the network's probabilities change along the nudge")
        self.export_menu = add_export_menu(self.plot_widget, self.plot, "nudge")
        self.curves_key = caption()
        b.addWidget(self.curves_key)
        b.addWidget(self.plot_widget)
        self.summary = caption()
        b.addWidget(self.summary)
        b.addStretch(1)
        self._assemble(body, header, controls)
        self.clear()

    # -- API ------------------------------------------------------------------------------------
    def set_target(self, target: int) -> None:
        self.target.setCurrentIndex(int(target))

    def settings_key(self) -> tuple:
        return (self.target.currentIndex(), self.steps.value(), self.step_size.value())

    def clear(self) -> None:
        super().clear()
        self._drawing += 1
        self.x, self.gradient, self.result, self.network_shown = None, None, None, None
        self.title.setText("<b>What would make this a …?</b>")

    # -- rendering ------------------------------------------------------------------------------
    def _render_digit(self, network: NetworkCopy, x: np.ndarray, label: int, title: str) -> None:
        """The math now; the drawing in the next pass of the event loop. Each is about half of a
        render, and a timer or a key press due in between gets in (see rendering.py)."""
        target = self.target.currentIndex()
        x = np.asarray(x, dtype=np.float64)
        gradient = input_gradient(network.params, network.activation, x, target)
        result = nudge(network.params, network.activation, x, target, steps=self.steps.value(),
                       step_size=self.step_size.value())
        self._drawing += 1
        drawing = self._drawing
        QtCore.QTimer.singleShot(0, lambda: self._draw(drawing, network, x, gradient, result, label, title, target))

    def _draw(self, drawing: int, network: NetworkCopy, x: np.ndarray, gradient: np.ndarray, result, label: int,
              title: str, target: int) -> None:
        if drawing != self._drawing:
            return  # a newer render took over
        shape = self.image_shape
        self.network_shown, self.x, self.gradient, self.result = network, x, gradient, result
        t, names = theme.current(), self.class_names
        start = result.probabilities[0]
        predicted = int(np.argmax(start))
        self.title.setText(f"<b>{title}</b> · true <b style='color:{t.correct}'>{names[label]}</b> · read as "
                           f"<b style='color:{t.correct if predicted == label else t.wrong}'>{names[predicted]}</b> "
                           f"({start[predicted] * 100:.1f}&nbsp;%) · network at step {network.step:,}")
        self.image_captions[1].setText(f"d log p<sub>{names[target]}</sub> / dx over it")
        self.digit_view.set_image(paper_rgb(self.x.reshape(shape)))
        self.gradient_view.set_image(gradient_over_digit(self.x.reshape(shape), self.gradient.reshape(shape)))
        self.nudged_view.set_image(paper_rgb(result.images[-1].reshape(shape)))
        self.gradient_caption.setText(
            f"<span style='color:{style.css_rgb(style.DIVERGING_LUT[230])}'>■</span> red: more ink there makes "
            f"the network more sure it is a {names[target]}; "
            f"<span style='color:{style.css_rgb(style.DIVERGING_LUT[25])}'>■</span> blue: less ink does. "
            f"Largest |gradient| {fmt(np.abs(self.gradient).max(initial=0), 3)}. "
            "<span style='font-family: monospace'>nn.explain.input_gradient</span>: backward "
            "(nn.reference) one step past the first layer, dL/dx = dL/dz₁ W₁")

        predictions = result.predictions
        flipped = next((k for k, p in enumerate(predictions) if p == target), None)
        picks = frame_steps(len(result.images), flipped)
        for k, (view, text) in enumerate(zip(self.frame_views, self.frame_labels)):
            if k >= len(picks):
                view.set_image(np.zeros((0, 0, 3), dtype=np.ubyte))
                text.setText("")
                continue
            s = picks[k]
            p = result.probabilities[s]
            view.set_image(paper_rgb(result.images[s].reshape(shape)))
            colour = t.train if predictions[s] == target else t.foreground
            text.setText(f"step {s}<br><b style='color:{colour}'>{names[predictions[s]]}</b><br>"
                         f"p<sub>{names[target]}</sub>&nbsp;{p[target] * 100:.0f}&nbsp;%")
        self.curves_key.setText(
            f"<span style='color:{t.train}'>━</span> p<sub>{names[target]}</sub>, the target &nbsp; "
            f"<span style='color:{t.correct}'>━</span> p<sub>{names[label]}</sub>, the true class")
        steps = np.arange(len(result.probabilities))
        probabilities = np.asarray(result.probabilities)
        self.target_curve.setData(steps, probabilities[:, target])
        self.true_curve.setData(steps, probabilities[:, label])
        self.plot.setXRange(0, max(1, len(steps) - 1), padding=0.02)
        change = result.change
        if target == label:
            verdict = (f"It is already a {names[target]} to the network: the nudge makes it surer, p from "
                       f"{start[target] * 100:.1f} % to {probabilities[-1, target] * 100:.1f} %.")
        elif flipped is not None:
            verdict = (f"After <b>{flipped} step{'s' if flipped != 1 else ''}</b> the network reads it as a "
                       f"<b>{names[target]}</b> (p {probabilities[flipped, target] * 100:.0f} %).")
        else:
            verdict = (f"After {len(steps) - 1} steps the network still reads {names[predictions[-1]]}: "
                       f"p<sub>{names[target]}</sub> rose from {start[target] * 100:.1f} % to "
                       f"{probabilities[-1, target] * 100:.1f} %. Try more steps or a larger step size.")
        self.summary.setText(f"{verdict} The pixels changed by {change:.3f} on average (ink is 0 to 1): "
                             "how little it takes is itself a lesson. "
                             "<span style='font-family: monospace'>nn.explain.nudge</span>")

    def _pixel_tip(self, r: int, c: int) -> str:
        if self.x is None or self.gradient is None:
            return ""
        w = self.image_shape[1]
        i = r * w + c
        if i >= self.x.size:
            return ""
        name = self.class_names[self.target.currentIndex()]
        after = self.result.images[-1][i] if self.result is not None else self.x[i]
        return (f"pixel ({r}, {c}): ink {self.x[i]:.2f} → {after:.2f} after the nudge\n"
                f"d log p[{name}] / dx = {fmt(self.gradient[i])}")
