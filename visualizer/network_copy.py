"""A read-only float64 copy of the live network, for the panels that explain its math.

Snapshots carry what every panel needs (first-layer weights, one digit's activations), not every
parameter: copying all of them 12 times a second would cost training time for nothing. The math
panels ask instead, and only while they are on screen: the worker answers
:meth:`visualizer.commands.WorkerCommands.copy_network` with a :class:`NetworkCopy` taken between
two chunks of training, so the copy is consistent (never half-way through an update). Everything
the panels compute (:mod:`nn.explain`) works on this copy: training is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NetworkCopy:
    run_id: int  # the run it was taken from (a Reset starts a new one)
    step: int  # training steps done when it was taken
    activation: str  # of the hidden layers
    lr: float  # the learning rate in effect at that step (after decay)
    params: tuple[np.ndarray, ...]  # [W1, b1, ...] as float64, W (units out, units in); read-only

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (self.params[0].shape[1], *(w.shape[0] for w in self.params[0::2]))


def copy_network(trainer, previous: NetworkCopy | None = None) -> NetworkCopy:
    """A copy of ``trainer``'s network now; ``previous`` itself when nothing changed since it was
    taken (same run, same step, same learning rate), so two panels asking cost one copy."""
    lr = float(trainer.current_lr)
    if (previous is not None and previous.run_id == trainer.run_id and previous.step == trainer.step_count
            and previous.lr == lr):
        return previous
    return from_values(network_values(trainer))


def network_values(trainer) -> tuple:
    """What a copy is made of, as the network stores it (run, step, activation, learning rate,
    its parameters themselves, in their own dtype). The training process sends these (pickled
    as they are when sent: half the bytes of float64); :func:`from_values` makes the copy."""
    return (trainer.run_id, trainer.step_count, trainer.config.activation, float(trainer.current_lr),
            tuple(trainer.net.params))


def from_values(values: tuple) -> NetworkCopy:
    run_id, step, activation, lr, stored = values
    params = []
    for p in stored:
        copy = np.array(p, dtype=np.float64)  # always a new array, whatever the network's dtype
        copy.flags.writeable = False
        params.append(copy)
    return NetworkCopy(run_id, step, activation, lr, tuple(params))

