"""One digit through the network, number by number: what the math panel and ``nn explain`` show.

Everything here is computed by ``nn.reference`` in float64 on a copy of the network's
parameters, so the numbers a person reads are the reference's own: nothing here is new math,
only the intermediate values of ``forward`` and ``backward`` picked out for one sample.
With a single sample (n = 1), a layer's bias gradient *is* its dL/dz, which is how the hidden
layers' per-unit gradients are read off ``backward``'s result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import reference


def _float64(params) -> list[np.ndarray]:
    return [np.asarray(p, dtype=np.float64) for p in params]


def _one_hot(label: int, classes: int) -> np.ndarray:
    y = np.zeros((1, classes))
    y[0, int(label)] = 1.0
    return y


@dataclass(frozen=True)
class DigitMath:
    """The output layer's forward and backward pass for one sample, and the hidden layers'
    per-unit gradients. Arrays are float64; ``hidden`` is the last hidden layer's output a (the
    input pixels when there is no hidden layer)."""

    hidden: np.ndarray  # a, (units,)
    weights: np.ndarray  # W of the output layer, (classes, units)
    bias: np.ndarray  # b, (classes,)
    logits: np.ndarray  # z = W a + b
    shifted: np.ndarray  # z - max z
    exps: np.ndarray  # e^(z - max z)
    exp_sum: float  # sum of exps
    probabilities: np.ndarray  # p = exps / exp_sum
    label: int  # the class the loss is taken against (the true class)
    predicted: int
    loss: float  # -log p_label
    dL_dz: np.ndarray  # p - y
    dL_dW: np.ndarray  # (p - y) a^T, (classes, units)
    hidden_dL_da: tuple[np.ndarray, ...]  # per hidden layer, dL/da of each unit
    hidden_dL_dz: tuple[np.ndarray, ...]  # per hidden layer, dL/dz of each unit

    def update(self, lr: float) -> np.ndarray:
        """The output weights' change in one gradient step at ``lr``: -lr dL/dW."""
        return -float(lr) * self.dL_dW


def digit_math(params, activation: str, x: np.ndarray, label: int) -> DigitMath:
    """:class:`DigitMath` of input ``x`` (features,) with true class ``label``, for a network with
    parameters ``params`` ([W1, b1, ...], W as (units out, units in))."""
    params = _float64(params)
    x = np.asarray(x, dtype=np.float64).reshape(1, -1)
    classes = params[-1].shape[0]
    y = _one_hot(label, classes)
    P, cache = reference.forward(params, x, activation)
    grads = reference.backward(params, cache, y, activation)
    inputs, _ = cache
    a = inputs[-1][0]
    W, b = params[-2], params[-1]
    z = W @ a + b
    shifted = z - z.max()
    exps = np.exp(shifted)
    p = P[0]
    n_hidden = len(params) // 2 - 1
    # dL/dz of hidden layer l is its bias gradient (n = 1); dL/da is the next layer's dL/dz times W.
    dz = [grads[2 * layer + 1] for layer in range(n_hidden)]
    da = [grads[2 * layer + 3] @ params[2 * layer + 2] for layer in range(n_hidden)]
    return DigitMath(
        hidden=a, weights=W, bias=b, logits=z, shifted=shifted, exps=exps, exp_sum=float(exps.sum()),
        probabilities=p, label=int(label), predicted=int(np.argmax(p)),
        loss=reference.cross_entropy(P, y), dL_dz=grads[-1], dL_dW=grads[-2],
        hidden_dL_da=tuple(da), hidden_dL_dz=tuple(dz))


def softmax_at_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(z / T): T > 1 flattens the output, T < 1 sharpens it (display only)."""
    if not temperature > 0:
        raise ValueError("the temperature must be positive")
    return reference.softmax(np.asarray(logits, dtype=np.float64).reshape(1, -1) / float(temperature))[0]


def one_step(params, activation: str, x: np.ndarray, label: int, lr: float) -> tuple[np.ndarray, np.ndarray]:
    """(p before, p after) one gradient step at ``lr`` on this sample alone, on a copy of the
    parameters: the probability of ``label`` rises (for a small enough step)."""
    params = _float64(params)
    x = np.asarray(x, dtype=np.float64).reshape(1, -1)
    y = _one_hot(label, params[-1].shape[0])
    before, cache = reference.forward(params, x, activation)
    grads = reference.backward(params, cache, y, activation)
    stepped = [p - float(lr) * g for p, g in zip(params, grads)]
    after, _ = reference.forward(stepped, x, activation)
    return before[0], after[0]


def input_gradient(params, activation: str, x: np.ndarray, target: int) -> np.ndarray:
    """d log p_target / d x, shaped like ``x``: where more ink (positive) or less ink (negative)
    would make the network more sure of ``target``.

    With L = -log p_target, backward gives dL/dz1 as the first bias gradient (n = 1), and the
    chain rule one step further gives dL/dx = dL/dz1 W1.
    """
    params = _float64(params)
    x = np.asarray(x, dtype=np.float64)
    y = _one_hot(target, params[-1].shape[0])
    _, cache = reference.forward(params, x.reshape(1, -1), activation)
    grads = reference.backward(params, cache, y, activation)
    return -(grads[1] @ params[0]).reshape(x.shape)


@dataclass(frozen=True)
class Nudge:
    """Inputs after each small step toward a target class, with the softmax output at each."""

    target: int
    images: tuple[np.ndarray, ...]  # the start, then after each step
    probabilities: tuple[np.ndarray, ...]

    @property
    def predictions(self) -> tuple[int, ...]:
        return tuple(int(np.argmax(p)) for p in self.probabilities)

    @property
    def change(self) -> float:
        """Mean absolute change of a pixel from the start to the last step."""
        return float(np.abs(self.images[-1] - self.images[0]).mean())


def nudge(params, activation: str, x: np.ndarray, target: int, steps: int = 8, step_size: float = 0.05) -> Nudge:
    """Move the pixels toward ``target`` in ``steps`` small steps along d log p_target / dx
    (each step changes the pixel with the largest gradient by ``step_size``; pixels stay within
    0..1, as ink does)."""
    image = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    images, probabilities = [image], []
    params = _float64(params)
    for _ in range(steps):
        probabilities.append(reference.forward(params, image.reshape(1, -1), activation)[0][0])
        gradient = input_gradient(params, activation, image, target)
        largest = float(np.abs(gradient).max())
        if largest == 0:
            break
        image = np.clip(image + step_size * gradient / largest, 0.0, 1.0)
        images.append(image)
    probabilities.append(reference.forward(params, image.reshape(1, -1), activation)[0][0])
    return Nudge(int(target), tuple(images), tuple(probabilities))


@dataclass(frozen=True)
class GradientCheck:
    """Backprop against central differences on a few sampled weights of each layer."""

    layers: tuple[str, ...]
    relative_errors: tuple[float, ...]  # per layer, the worst over its sampled weights
    samples_per_layer: int

    @property
    def worst(self) -> float:
        return max(self.relative_errors, default=0.0)

    @property
    def passed(self) -> bool:
        return self.worst < 1e-5


def gradient_check(params, activation: str, x: np.ndarray, labels: np.ndarray, weights_per_layer: int = 6,
                   eps: float = 1e-6, seed: int = 0) -> GradientCheck:
    """Compare the engine's backward pass (``Network.loss_and_gradients`` on a float64 copy of
    ``params``) with central differences of ``nn.reference``'s loss, (L(w + eps) - L(w - eps)) /
    2 eps, for ``weights_per_layer`` weights of every layer on the samples ``x``. The weights are
    drawn among each layer's larger gradients: a weight whose gradient is zero (a pixel that is
    never inked) would test nothing."""
    from .network import Network

    params = [np.array(p, dtype=np.float64) for p in params]  # a copy: the check perturbs its weights
    x = np.asarray(x, dtype=np.float64).reshape(len(labels), -1)
    labels = np.asarray(labels, dtype=int)
    sizes = [params[0].shape[1]] + [w.shape[0] for w in params[0::2]]
    net = Network(sizes, activation, params, "float64")
    Y = np.eye(sizes[-1])[labels]
    net.loss_and_gradients(x, Y, labels)
    grads = net.grads
    rng = np.random.default_rng(seed)
    errors, names = [], []
    for layer in range(len(params) // 2):
        w, g = params[2 * layer], grads[2 * layer]
        magnitude = np.abs(g).reshape(-1)
        candidates = np.argsort(magnitude)[-max(weights_per_layer, magnitude.size // 10):]
        chosen = rng.choice(candidates, size=min(weights_per_layer, len(candidates)), replace=False)
        worst = 0.0
        for flat_index in chosen:
            index = np.unravel_index(flat_index, w.shape)
            original = w[index]
            w[index] = original + eps
            plus = reference.cross_entropy(reference.forward(params, x, activation)[0], Y)
            w[index] = original - eps
            minus = reference.cross_entropy(reference.forward(params, x, activation)[0], Y)
            w[index] = original
            numeric = (plus - minus) / (2 * eps)
            analytic = float(g[index])
            worst = max(worst, abs(numeric - analytic) / max(abs(numeric) + abs(analytic), 1e-8))
        errors.append(worst)
        names.append(f"W{layer + 1}")
    return GradientCheck(tuple(names), tuple(errors), min(weights_per_layer, params[0].size))


def sample_report(net, x: np.ndarray, label: int, index: int, split: str) -> dict:
    """What ``nn explain`` prints for one sample: plain values, ready for JSON."""
    math = digit_math(net.params, net.activation, x, label)
    return {
        "index": int(index),
        "split": split,
        "true_class": math.label,
        "predicted_class": math.predicted,
        "logits": [float(v) for v in math.logits],
        "probabilities": [float(v) for v in math.probabilities],
        "loss": float(math.loss),
        "dL_dz": [float(v) for v in math.dL_dz],
    }


def format_report(report: dict, class_names: list[str] | None = None) -> str:
    """The report as aligned plain text, one class per row."""
    names = class_names or [str(k) for k in range(len(report["logits"]))]
    true, predicted = report["true_class"], report["predicted_class"]
    verdict = "correct" if true == predicted else "wrong"
    lines = [
        f"{report['split']} sample {report['index']}: true class {names[true]}, predicted {names[predicted]} "
        f"({verdict})",
        f"loss = -log p_true = {report['loss']:.6g}",
        "",
        f"{'class':>8} {'logit z':>12} {'p = softmax(z)':>15} {'dL/dz = p - y':>15}",
    ]
    for k, name in enumerate(names):
        mark = " <- true" if k == true else (" <- predicted" if k == predicted else "")
        lines.append(f"{name:>8} {report['logits'][k]:>12.6g} {report['probabilities'][k]:>15.6g} "
                     f"{report['dL_dz'][k]:>15.6g}{mark}")
    return "\n".join(lines)
