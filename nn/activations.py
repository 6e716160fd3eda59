"""Hidden-layer activations and the softmax output, in place: the kernels of ``Network``.

(``nn/reference.py`` writes the same functions plainly; these overwrite their input instead of
allocating, which the network's preallocated buffers rely on.)

Each activation works in place on a pre-allocated buffer, and its derivative is expressed through
the activation's *output* (as in scikit-learn's ``_base.py``), so backprop needs no copy of Z.
The derivatives consume that output: backprop reads each hidden layer's output for the last time
when it applies the derivative, so they use it as scratch space instead of allocating temporaries
(a fresh temporary the size of a full-batch layer costs more in page faults than the arithmetic).
"""

from __future__ import annotations

import numpy as np

from .fast.reductions import picked, row_max, row_sum


def sigmoid(z: np.ndarray) -> np.ndarray:
    # 1 / (1 + e^-z), four in-place passes; overflow of e^-z to inf correctly gives 0.
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1
    np.reciprocal(z, out=z)
    return z


def tanh(z: np.ndarray) -> np.ndarray:
    return np.tanh(z, out=z)


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0, out=z)


def sigmoid_backward(a: np.ndarray, delta: np.ndarray) -> None:
    """delta *= sigmoid'(z), with sigmoid'(z) = a (1 - a). Overwrites ``a``."""
    delta *= a
    np.subtract(1, a, out=a)
    delta *= a


def tanh_backward(a: np.ndarray, delta: np.ndarray) -> None:
    """delta *= tanh'(z), with tanh'(z) = 1 - a^2. Overwrites ``a``."""
    np.multiply(a, a, out=a)
    np.subtract(1, a, out=a)
    delta *= a


def relu_backward(a: np.ndarray, delta: np.ndarray) -> None:
    """delta *= relu'(z): zero where the unit was inactive. Overwrites ``a``.

    Multiplying by the 0/1 mask is much faster than masked assignment (``delta[a <= 0] = 0``).
    """
    np.greater(a, 0, out=a)
    delta *= a


ACTIVATIONS = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu}
DERIVATIVES = {"sigmoid": sigmoid_backward, "tanh": tanh_backward, "relu": relu_backward}


def softmax_inplace(z: np.ndarray, labels: np.ndarray | None = None) -> float | None:
    """Softmax of each row of ``z``, in place; with ``labels``, also the summed cross-entropy.

    Subtracting the *per-sample* maximum keeps every row finite (the classic tutorial subtracts
    the global maximum, which can underflow a whole row to 0/0). Cross-entropy is taken as
    log(sum(exp(z - max))) - (z_true - max), the log-sum-exp form, so it stays finite even when
    a probability rounds to 0 (where -log(p) would be inf).
    """
    z -= row_max(z)[:, None]
    true_logits = None if labels is None else picked(z, labels)
    np.exp(z, out=z)
    sums = row_sum(z)
    z /= sums[:, None]
    if labels is None:
        return None
    np.log(sums, out=sums)
    return float(sums.sum(dtype=np.float64) - true_logits.sum(dtype=np.float64))
