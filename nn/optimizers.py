"""Parameter update rules. Each updates the parameters in place from gradients computed by the
network, keeps whatever state it needs, and reads its hyperparameters at every step, so the
learning rate or momentum can change between steps without restarting.
"""

from __future__ import annotations

import math

import numpy as np

from .fast.fused import GradientTarget
from .fast.storage import flat_arrays, flat_span

OPTIMIZERS = ("gd", "sgd", "momentum", "adam")
ADAM_CHUNK = 32768  # elements: five float32 chunks of this size fit in a 1 MB L2 cache


def whole(params: list[np.ndarray], grads: list[np.ndarray], *states: list[np.ndarray]):
    """Pairs of (params, grads, *states) to update together: one pair of flat buffers when all
    of them lie back to back in one buffer each (the network's own layout), else one per array."""
    spans = [flat_span(arrays) for arrays in (params, grads, *states)]
    if all(span is not None for span in spans):
        return [tuple(spans)]
    return list(zip(params, grads, *states))


def zeros_like_all(params: list[np.ndarray]) -> list[np.ndarray]:
    """Zeroed state arrays shaped like ``params``, back to back in one buffer."""
    return flat_arrays([p.shape for p in params], params[0].dtype if params else np.float32)[1]


class SGD:
    """Plain gradient descent: p -= lr * g (full batch or mini-batch, decided by the trainer)."""

    name = "sgd"
    # After a step, last_updates() gives arrays whose norms are the step's update norms.
    keeps_updates = True

    def __init__(self, params: list[np.ndarray], lr: float):
        self.lr = float(lr)
        self.steps = 0
        self._last_updates: list[np.ndarray] | None = None
        self._grouping: dict[tuple[int, ...], tuple[tuple, list]] = {}

    def _groups(self, *arrays: list[np.ndarray]):
        """:func:`whole` for these lists of arrays, remembered: working out the flat spans costs
        more than a small layer's update, and the same arrays come back at every step."""
        key = tuple(id(a) for group in arrays for a in group)
        cached = self._grouping.get(key)
        if cached is None:
            if len(self._grouping) >= 4:
                self._grouping.clear()
            # (the arrays are kept with their spans, so their ids cannot be reused meanwhile)
            cached = self._grouping[key] = (arrays, whole(*arrays))
        return cached[1]

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """One update from the gradients ``grads`` (which it may overwrite)."""
        lr = float(self.lr)  # a Python float keeps float32 arrays float32 (NEP 50)
        for p, g in self._groups(params, grads):
            g *= lr  # the gradients are recomputed next step, so scaling them in place is free
            p -= g
        self.steps += 1
        self._last_updates = grads

    def gradient_target(self, params: list[np.ndarray]) -> GradientTarget | None:
        """Where backprop can write the gradient so that it becomes this step's update (for
        ``Network.loss_and_gradients``'s ``target``); :meth:`finish_step` then completes the
        step. None: this optimiser needs the gradient itself (use :meth:`step`).

        Plain descent, ``p = p - lr g``, is ``p = 1 p + (-lr) g``: backprop adds straight onto
        the parameters."""
        return GradientTarget(params, 1.0, -float(self.lr))

    def finish_step(self, params: list[np.ndarray]) -> None:
        """Complete a step whose gradient went to :meth:`gradient_target`."""
        self.steps += 1
        self._last_updates = None  # the update was never stored on its own

    def last_updates(self) -> list[np.ndarray] | None:
        """Arrays, one per parameter, equal to the last step's change of it up to sign (so their
        norms measure the update without a copy of the parameters), or None if not kept."""
        return self._last_updates  # after step() they hold lr * gradient

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def normalized_state(self, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``state`` as :meth:`state` names it today (older files may name it differently)."""
        return state

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        pass


class Momentum(SGD):
    """Classical momentum: v = mu v - lr g;  p += v."""

    name = "momentum"

    def __init__(self, params: list[np.ndarray], lr: float, momentum: float = 0.9):
        super().__init__(params, lr)
        self.momentum = float(momentum)
        self.velocities = zeros_like_all(params)

    def step(self, params, grads) -> None:
        lr, mu = float(self.lr), float(self.momentum)
        for p, g, v in self._groups(params, grads, self.velocities):
            v *= mu
            g *= lr
            v -= g
            p += v
        self.steps += 1

    def gradient_target(self, params):
        """v = mu v + (-lr) g happens in backprop's products (BLAS's gemm with beta = mu),
        which saves two of the three passes over every weight; ``p += v`` remains."""
        return GradientTarget(self.velocities, float(self.momentum), -float(self.lr))

    def finish_step(self, params) -> None:
        for p, v in self._groups(params, self.velocities):
            p += v
        self.steps += 1

    def last_updates(self) -> list[np.ndarray] | None:
        return self.velocities if self.steps else None  # p += v

    def state(self) -> dict[str, np.ndarray]:
        return {f"velocity_{i}": v for i, v in enumerate(self.velocities)}

    def load_state(self, state) -> None:
        for i, v in enumerate(self.velocities):
            v[...] = state[f"velocity_{i}"]


class Adam(SGD):
    """Adam (Kingma & Ba) with the bias correction folded into the step size.

    The moments are kept divided by (1 - beta): ``m' = m / (1 - b1)`` and ``v' = v / (1 - b2)``
    update as ``m' = b1 m' + g`` and ``v' = b2 v' + g^2``, and the constant factors move into the
    step size and epsilon. That is the same rule with two fewer passes over every parameter
    (ten instead of twelve), which matters: Adam's passes cost as much as a small batch's products.
    """

    name = "adam"
    keeps_updates = False  # the update is never stored whole

    def __init__(self, params, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(params, lr)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self._scaled_first = zeros_like_all(params)  # m / (1 - beta1)
        self._scaled_second = zeros_like_all(params)  # v / (1 - beta2)
        self._scratch: np.ndarray | None = None  # one chunk's worth, made at the first step

    def step(self, params, grads) -> None:
        self.steps += 1
        b1, b2 = self.beta1, self.beta2
        root = math.sqrt(1 - b2)
        # lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps), in terms of m' and v':
        step_size = float(self.lr) * math.sqrt(1 - b2 ** self.steps) / (1 - b1 ** self.steps) * (1 - b1) / root
        eps = self.eps / root
        for p, g, m, v in self._groups(params, grads, self._scaled_first, self._scaled_second):
            if p.ndim == 1 and p.size > ADAM_CHUNK:
                # Ten passes over all parameters would stream each array through the caches ten
                # times; a chunk at a time keeps the five arrays' chunks in the L2 cache.
                tmp = self._chunk_scratch(p.dtype)
                for start in range(0, p.size, ADAM_CHUNK):
                    stop = min(start + ADAM_CHUNK, p.size)
                    self._update(p[start:stop], g[start:stop], m[start:stop], v[start:stop],
                                 tmp[:stop - start], b1, b2, eps, step_size)
            else:
                self._update(p, g, m, v, np.empty_like(p), b1, b2, eps, step_size)

    def gradient_target(self, params):
        return None  # Adam's update is not linear in the gradient

    def last_updates(self) -> list[np.ndarray] | None:
        return None

    def _chunk_scratch(self, dtype) -> np.ndarray:
        if self._scratch is None or self._scratch.dtype != dtype:
            self._scratch = np.empty(ADAM_CHUNK, dtype=dtype)
        return self._scratch

    @staticmethod
    def _update(p, g, m, v, tmp, b1: float, b2: float, eps: float, step_size: float) -> None:
        m *= b1
        m += g
        v *= b2
        np.multiply(g, g, out=tmp)
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        p -= tmp

    @property
    def first_moments(self) -> list[np.ndarray]:
        return [m * (1 - self.beta1) for m in self._scaled_first]

    @property
    def second_moments(self) -> list[np.ndarray]:
        return [v * (1 - self.beta2) for v in self._scaled_second]

    def state(self) -> dict[str, np.ndarray]:
        # The scaled moments as they are, so that a resumed run continues bit for bit.
        state = {f"scaled_first_moment_{i}": m for i, m in enumerate(self._scaled_first)}
        state.update({f"scaled_second_moment_{i}": v for i, v in enumerate(self._scaled_second)})
        return state

    def normalized_state(self, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Sessions saved before the moments were scaled hold ``first_moment_i`` (m) and
        ``second_moment_i`` (v): convert those; anything else passes through."""
        converted = {}
        for name, value in state.items():
            for old, factor in (("first_moment_", 1 - self.beta1), ("second_moment_", 1 - self.beta2)):
                if name.startswith(old):
                    name, value = "scaled_" + name, np.asarray(value) / factor
                    break
            converted[name] = value
        return converted

    def load_state(self, state) -> None:
        state = self.normalized_state(state)
        for i, (m, v) in enumerate(zip(self._scaled_first, self._scaled_second)):
            m[...] = state[f"scaled_first_moment_{i}"]
            v[...] = state[f"scaled_second_moment_{i}"]


def make_optimizer(name: str, params: list[np.ndarray], lr: float, momentum: float = 0.9) -> SGD:
    if name in ("gd", "sgd"):
        return SGD(params, lr)
    if name == "momentum":
        return Momentum(params, lr, momentum)
    if name == "adam":
        return Adam(params, lr)
    raise ValueError(f"unknown optimiser {name!r}; choose one of {', '.join(OPTIMIZERS)}")
