"""Reading a window's training network from a test, on the GUI thread."""

from __future__ import annotations

from nn.network import Network


def own_network(trainer) -> Network:
    """The trainer's network with buffers of its own. The worker's thread may be using the
    trainer's network at the same moment (a map refresh once training stops), and a network's
    forward pass writes into buffers it keeps per batch size."""
    net = trainer.net
    return Network(net.layer_sizes, net.activation, params=net.params, dtype=net.dtype)
