"""The network's math in one file: read it top to bottom.

A fully connected network with L layers. Samples are rows: X is (n samples, n inputs), and a
layer with weights W (units out, units in) and bias b (units out,) computes

    Z = A_prev Wᵀ + b          (n, units out)
    A = g(Z)                   g = sigmoid, tanh or ReLU in every hidden layer

starting from A_prev = X. The output layer's activation is the softmax, which turns each row's
logits z into probabilities:

    p_k = exp(z_k − max_j z_j) / Σ_j exp(z_j − max_j z_j)

(subtracting the row's own maximum changes nothing mathematically and keeps exp from
overflowing). The loss is the mean cross-entropy against the one-hot targets Y:

    L = −(1/n) Σ_i Σ_k Y_ik log P_ik

Backward. For softmax followed by cross-entropy the derivative with respect to the logits is
simply the prediction minus the target, averaged over the batch:

    dL/dZ_out = (P − Y) / n

because L = logsumexp(z) − z_true per sample, and d logsumexp(z)/dz_k = p_k. Then, for every
layer from the last to the first:

    dL/dW = dZᵀ A_prev         (units out, units in), the sum of the batch's outer products
    dL/db = Σ_rows dZ          (units out,)
    dL/dA_prev = dZ W          (n, units in), and through the hidden activation:
    dZ_prev = dL/dA_prev ⊙ g'(Z_prev)

with g' written through the activation's output A: σ' = A(1 − A), tanh' = 1 − A², and the
ReLU's derivative is 1 where A > 0, else 0.

This file is the definition. ``nn.network.Network`` computes the same numbers faster (in
preallocated buffers, with the tricks in ``nn.fast``); tests prove the two equal.
"""

from __future__ import annotations

import numpy as np

# -- hidden activations, each beside its derivative --------------------------------------------------
# The derivatives take the activation's output A = g(Z), which the forward pass keeps anyway.


def _sigmoid(Z):
    return 1.0 / (1.0 + np.exp(-Z))


def _sigmoid_derivative(A):
    return A * (1.0 - A)


def _tanh(Z):
    return np.tanh(Z)


def _tanh_derivative(A):
    return 1.0 - A * A


def _relu(Z):
    return np.maximum(Z, 0.0)


def _relu_derivative(A):
    return (A > 0).astype(A.dtype)


HIDDEN_ACTIVATIONS = {
    "sigmoid": (_sigmoid, _sigmoid_derivative),
    "tanh": (_tanh, _tanh_derivative),
    "relu": (_relu, _relu_derivative),
}


# -- the output layer ------------------------------------------------------------------------------

def softmax(Z):
    """Probabilities from logits, row by row; each row's maximum is subtracted first."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(shifted)
    return E / E.sum(axis=1, keepdims=True)


def cross_entropy(P, Y):
    """Mean over rows of −Σ_k y_k log p_k.

    A probability that rounded to 0 is read as the smallest positive number, so the loss stays
    finite (and large) instead of becoming infinite.
    """
    log_P = np.log(np.maximum(P, np.finfo(P.dtype).tiny))
    return float(-np.sum(Y * log_P) / P.shape[0])


# -- forward and backward --------------------------------------------------------------------------

def forward(params, X, activation):
    """The softmax output P (n, classes), and the cache backward needs.

    ``params`` is [W1, b1, ..., WL, bL]; ``activation`` ("sigmoid", "relu" or "tanh") is used by
    every hidden layer. The cache holds each layer's input: [X, A1, ..., A_{L-1}].
    """
    g, _ = HIDDEN_ACTIVATIONS[activation]
    n_layers = len(params) // 2
    A = X
    inputs = []
    for layer in range(n_layers):
        W, b = params[2 * layer], params[2 * layer + 1]
        inputs.append(A)
        Z = A @ W.T + b
        A = g(Z) if layer < n_layers - 1 else softmax(Z)
    return A, (inputs, A)


def backward(params, cache, Y, activation):
    """Gradients of the mean cross-entropy, [dW1, db1, ..., dWL, dbL], shaped like ``params``."""
    _, g_derivative = HIDDEN_ACTIVATIONS[activation]
    inputs, P = cache
    n = Y.shape[0]
    grads = [None] * len(params)
    dZ = (P - Y) / n  # softmax + cross-entropy: prediction minus target
    for layer in reversed(range(len(params) // 2)):
        A_prev = inputs[layer]
        grads[2 * layer] = dZ.T @ A_prev
        grads[2 * layer + 1] = dZ.sum(axis=0)
        if layer > 0:
            dA_prev = dZ @ params[2 * layer]
            dZ = dA_prev * g_derivative(A_prev)
    return grads
