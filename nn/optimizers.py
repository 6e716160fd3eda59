"""Parameter update rules. Each updates the parameters in place from gradients computed by the
network, keeps whatever state it needs, and reads its hyperparameters at every step, so the
learning rate or momentum can change between steps without restarting.
"""

from __future__ import annotations

import math

import numpy as np

OPTIMIZERS = ("gd", "sgd", "momentum", "adam")


class SGD:
    """Plain gradient descent: p -= lr * g (full batch or mini-batch, decided by the trainer)."""

    name = "sgd"

    def __init__(self, params: list[np.ndarray], lr: float):
        self.lr = float(lr)
        self.steps = 0

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        lr = float(self.lr)  # a Python float keeps float32 arrays float32 (NEP 50)
        for p, g in zip(params, grads):
            g *= lr  # the gradients are recomputed next step, so scaling them in place is free
            p -= g
        self.steps += 1

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        pass


class Momentum(SGD):
    """Classical momentum: v = mu v - lr g;  p += v."""

    name = "momentum"

    def __init__(self, params: list[np.ndarray], lr: float, momentum: float = 0.9):
        super().__init__(params, lr)
        self.momentum = float(momentum)
        self.velocities = [np.zeros_like(p) for p in params]

    def step(self, params, grads) -> None:
        lr, mu = float(self.lr), float(self.momentum)
        for p, g, v in zip(params, grads, self.velocities):
            v *= mu
            g *= lr
            v -= g
            p += v
        self.steps += 1

    def state(self) -> dict[str, np.ndarray]:
        return {f"velocity_{i}": v for i, v in enumerate(self.velocities)}

    def load_state(self, state) -> None:
        for i, v in enumerate(self.velocities):
            v[...] = state[f"velocity_{i}"]


class Adam(SGD):
    """Adam (Kingma & Ba) with the bias correction folded into the step size."""

    name = "adam"

    def __init__(self, params, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(params, lr)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.first_moments = [np.zeros_like(p) for p in params]
        self.second_moments = [np.zeros_like(p) for p in params]
        self._scratch = [np.empty_like(p) for p in params]

    def step(self, params, grads) -> None:
        self.steps += 1
        b1, b2 = self.beta1, self.beta2
        step_size = float(self.lr) * math.sqrt(1 - b2 ** self.steps) / (1 - b1 ** self.steps)
        for p, g, m, v, tmp in zip(params, grads, self.first_moments, self.second_moments, self._scratch):
            m *= b1
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp

    def state(self) -> dict[str, np.ndarray]:
        state = {f"first_moment_{i}": m for i, m in enumerate(self.first_moments)}
        state.update({f"second_moment_{i}": v for i, v in enumerate(self.second_moments)})
        return state

    def load_state(self, state) -> None:
        for i, (m, v) in enumerate(zip(self.first_moments, self.second_moments)):
            m[...] = state[f"first_moment_{i}"]
            v[...] = state[f"second_moment_{i}"]


def make_optimizer(name: str, params: list[np.ndarray], lr: float, momentum: float = 0.9) -> SGD:
    if name in ("gd", "sgd"):
        return SGD(params, lr)
    if name == "momentum":
        return Momentum(params, lr, momentum)
    if name == "adam":
        return Adam(params, lr)
    raise ValueError(f"unknown optimiser {name!r}; choose one of {', '.join(OPTIMIZERS)}")
