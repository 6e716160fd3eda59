"""How fast is the engine? Figures, not a test.

Runs in one process, side by side:

* W2, one epoch of MNIST on a 784-256-128-10 ReLU network (batch 128, momentum 0.9, lr 0.05,
  float32): our engine through the Trainer (what users run), the plain NumPy loop of
  ``nn.reference`` (fancy-indexed batches, ``forward``/``backward`` as written there, momentum
  by hand), PyTorch on the CPU with the same number of threads (when it can be imported), and
  scikit-learn's MLPClassifier for context. All but scikit-learn start from the same weights
  and visit the batches in the same order, so their accuracies compare.
* The tutorial preset (784-50-10 sigmoid, full-batch GD, 1000 iterations) against the same run
  as a plain loop over ``nn.reference`` in float64, with the tutorial's bookkeeping (the cost at
  every iteration, the train accuracy every 100). The two are timed in alternating blocks of
  100 iterations, so a change in machine load hits both alike.
* The achieved GFLOP/s of our W2 epoch against this machine's float32 GEMM peak. It counts the
  epoch's nominal GEMM work (all 784 inputs), so it is an effective rate: the engine skips the
  multiplications by pixels that are zero throughout a batch (about a quarter of layer 1's).
* The ``fast`` preset: seconds from creating its Trainer to the first test evaluation >= 98 %.

Each W2 contender runs ``--repeats`` times (interleaved) and its best time counts: the best run
is the one least disturbed by whatever else the machine is doing.

Run from the repository root:

    PYTHONPATH=. python benchmarks/bench_engine.py            # full (about 6 minutes)
    PYTHONPATH=. python benchmarks/bench_engine.py --quick 50 # tutorial timed over 50 iterations

The last line is machine-readable:

    RESULT engine_vs_numpy=<r> engine_vs_torch=<r or n/a> tutorial_vs_reference=<r> gflops=<x> gemm_peak=<y>

where each ratio is our time divided by theirs (below 1: we are faster).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np

from nn import reference
from nn.config import PRESETS, TrainConfig
from nn.data import load_mnist
from nn.network import initial_parameters
from nn.trainer import Trainer

W2_HIDDEN = (256, 128)
W2_BATCH, W2_LR, W2_MOMENTUM, W2_SEED = 128, 0.05, 0.9, 1
W2_CONFIG = TrainConfig(hidden=W2_HIDDEN, activation="relu", optimizer="momentum", lr=W2_LR,
                        momentum=W2_MOMENTUM, batch_size=W2_BATCH, epochs=1.0, iterations=None,
                        seed=W2_SEED, dtype="float32", init="he")
TUTORIAL_BLOCK = 100  # iterations per alternating timing block (and the tutorial's print interval)
FAST_TARGET = 0.98


# -- environment --------------------------------------------------------------------------------

def blas_threads() -> int:
    """Threads NumPy's BLAS uses (threadpoolctl ships with scikit-learn), else the CPU count."""
    try:
        from threadpoolctl import threadpool_info
        counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "blas"]
        if counts:
            return int(counts[0])
    except ImportError:
        pass
    return os.cpu_count() or 1


def import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def gemm_peak_gflops(repeats: int = 5) -> float:
    """Best float32 GEMM rate over a few large square products."""
    rng = np.random.default_rng(0)
    best = 0.0
    for n in (2048, 3072):
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        c = np.empty((n, n), dtype=np.float32)
        np.matmul(a, b, out=c)  # warm-up (threads, first touch)
        for _ in range(repeats):
            started = time.perf_counter()
            np.matmul(a, b, out=c)
            best = max(best, 2 * n ** 3 / (time.perf_counter() - started) / 1e9)
    return best


def w2_epoch_gflop(n_samples: int, layer_sizes: tuple[int, ...], batch: int) -> float:
    """GEMM work of one epoch: forward, weight gradients, and input gradients of all but layer 1."""
    pairs = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    per_sample = sum(i * o for i, o in pairs)
    forward = 2 * per_sample
    weight_grads = 2 * per_sample
    input_grads = 2 * sum(i * o for i, o in pairs[1:])
    return n_samples * (forward + weight_grads + input_grads) / 1e9


def load_seconds(repeats: int = 3) -> float:
    """Best wall time of loading the bundled MNIST from disk (files cached by the OS after the first)."""
    from sklearn.preprocessing import OneHotEncoder  # noqa: F401 - the import is start-up, not loading

    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        load_mnist()
        best = min(best, time.perf_counter() - started)
    return best


# -- W2 contenders --------------------------------------------------------------------------------
# Each returns (seconds for the epoch, test accuracy after it). Only the epoch is timed.

def w2_engine(data) -> tuple[float, float]:
    started = time.perf_counter()
    trainer = Trainer(data, W2_CONFIG)
    while not trainer.finished and trainer.can_step:
        trainer.step()
    seconds = time.perf_counter() - started
    _, accuracy, _ = trainer.net.evaluate(trainer.test_x, trainer.test_y)
    return seconds, accuracy


def w2_engine_direct(data) -> tuple[float, float]:
    """The engine without the Trainer's bookkeeping: Network + optimiser on batches gathered as
    the Trainer gathers them (nn.fast.batches), with momentum applied inside backprop's products,
    as the Trainer does between records."""
    from nn.fast.batches import BatchGatherer
    from nn.network import Network
    from nn.optimizers import make_optimizer
    y = data.train_y
    started = time.perf_counter()
    active = data.active_pixels()
    net = Network.initialized((data.n_features, *W2_HIDDEN, data.n_classes), "relu", "he", W2_SEED, "float32",
                              active_inputs=active.columns)
    optimizer = make_optimizer("momentum", net.storage.params, W2_LR, W2_MOMENTUM)
    batches = BatchGatherer(active.pixels, active.extents, data.train_Y, np.float32)
    order = w2_order(len(y))
    for start in range(0, len(y), W2_BATCH):
        x, t, idx, extents = batches.gather(order[start:start + W2_BATCH])
        target = optimizer.gradient_target(net.storage.params)
        net.loss_and_gradients(x, t, y[idx], target=target, extents=extents)
        optimizer.finish_step(net.storage.params)
    seconds = time.perf_counter() - started
    _, accuracy, _ = net.evaluate(data.test_x, data.test_y)
    return seconds, accuracy


def w2_initial_params(data) -> list[np.ndarray]:
    sizes = (data.n_features, *W2_HIDDEN, data.n_classes)
    return initial_parameters(sizes, "he", W2_SEED, np.float32)


def w2_order(n: int) -> np.ndarray:
    return np.random.default_rng(W2_SEED).permutation(n)  # the Trainer's first epoch, too


def w2_numpy(data) -> tuple[float, float]:
    """The plain NumPy loop: fancy-indexed batches, ``nn.reference``'s forward and backward."""
    X, Y = data.train_x, data.train_Y
    params = w2_initial_params(data)
    started = time.perf_counter()
    velocities = [np.zeros_like(p) for p in params]
    order = w2_order(len(X))
    lr, mu = np.float32(W2_LR), np.float32(W2_MOMENTUM)
    for start in range(0, len(X), W2_BATCH):
        idx = order[start:start + W2_BATCH]
        x, t = X[idx], Y[idx]
        P, cache = reference.forward(params, x, "relu")
        loss = reference.cross_entropy(P, t)  # noqa: F841 (tracked, as usual)
        grads = reference.backward(params, cache, t, "relu")
        for param, grad, velocity in zip(params, grads, velocities):
            velocity *= mu
            velocity -= lr * grad
            param += velocity
    seconds = time.perf_counter() - started
    P, _ = reference.forward(params, data.test_x, "relu")
    return seconds, float(np.mean(P.argmax(axis=1) == data.test_y))


def w2_torch(data, torch) -> tuple[float, float]:
    """Plain PyTorch: nn.Sequential, CrossEntropyLoss, SGD with momentum, tensors in memory."""
    nn = torch.nn
    X = torch.from_numpy(np.array(data.train_x))  # a writable copy: torch wants one
    y = torch.from_numpy(np.array(data.train_y))
    params = w2_initial_params(data)
    started = time.perf_counter()
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    with torch.no_grad():
        linears = [m for m in model if isinstance(m, nn.Linear)]
        for layer, (w, b) in zip(linears, zip(params[0::2], params[1::2])):
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))
    # torch's momentum (v = mu v + g; p -= lr v) is the same rule as ours at a constant lr.
    optimizer = torch.optim.SGD(model.parameters(), lr=W2_LR, momentum=W2_MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    order = torch.from_numpy(w2_order(len(X)))
    for start in range(0, len(X), W2_BATCH):
        idx = order[start:start + W2_BATCH]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(X[idx]), y[idx])
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - started
    with torch.no_grad():
        predicted = model(torch.from_numpy(np.array(data.test_x))).argmax(dim=1).numpy()
    return seconds, float(np.mean(predicted == data.test_y))


def w2_sklearn(data) -> tuple[float, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    model = MLPClassifier(hidden_layer_sizes=W2_HIDDEN, activation="relu", solver="sgd", alpha=0.0,
                          batch_size=W2_BATCH, learning_rate_init=W2_LR, momentum=W2_MOMENTUM,
                          nesterovs_momentum=False, max_iter=1, shuffle=True, random_state=W2_SEED)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data.train_x, data.train_y)
    seconds = time.perf_counter() - started
    return seconds, float(model.score(data.test_x, data.test_y))


# -- the tutorial's run as a plain loop over nn.reference -------------------------------------------

class ReferenceLoop:
    """Full-batch gradient descent with ``nn.reference``, float64, as the tutorial runs it: its
    initial weights (randn / sqrt(fan_in) after seed 1), the cost at every iteration and the
    train accuracy every 100."""

    def __init__(self, X: np.ndarray, Y: np.ndarray, hidden=(50,), learning_rate=0.1):
        self.X, self.Y = X, Y
        self.params = initial_parameters((X.shape[1], *hidden, Y.shape[1]), "tutorial", 1, np.float64)
        self.learning_rate = learning_rate
        self.costs = []
        self.iteration = 0

    def iterate(self, count: int, verbose: bool = False) -> None:
        for _ in range(count):
            P, cache = reference.forward(self.params, self.X, "sigmoid")
            cost = reference.cross_entropy(P, self.Y)
            grads = reference.backward(self.params, cache, self.Y, "sigmoid")
            self.params = [p - self.learning_rate * g for p, g in zip(self.params, grads)]
            if self.iteration % 100 == 0:
                accuracy = self.predict(self.X, self.Y)
                if verbose:
                    print("Cost: ", cost, "Train Accuracy:", accuracy)
            if self.iteration % 10 == 0:
                self.costs.append(cost)
            self.iteration += 1

    def predict(self, X, Y) -> float:
        P, _ = reference.forward(self.params, X, "sigmoid")
        return float((P.argmax(axis=1) == Y.argmax(axis=1)).mean() * 100)


def tutorial_data_float64(data):
    """The tutorial's own preprocessing: pixels / 255. in float64, scikit-learn one-hot labels."""
    from sklearn.preprocessing import OneHotEncoder
    n_train, n_test = len(data.train_y), len(data.test_y)
    train_x = data.train_images.reshape(n_train, -1) / 255.
    test_x = data.test_images.reshape(n_test, -1) / 255.
    enc = OneHotEncoder(sparse_output=False, categories="auto")
    train_y = enc.fit_transform(data.train_y.reshape(-1, 1))
    test_y = enc.transform(data.test_y.reshape(-1, 1))
    return train_x, train_y, test_x, test_y


def tutorial_race(data, iterations: int, verbose: bool) -> dict:
    """Our tutorial preset and the reference, timed in alternating blocks of iterations."""
    train_x, train_Y, test_x, test_Y = tutorial_data_float64(data)
    config = PRESETS["tutorial"].replace(iterations=iterations)

    started = time.perf_counter()
    trainer = Trainer(data, config)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    loop = ReferenceLoop(train_x, train_Y)
    theirs = time.perf_counter() - started

    done = 0
    while done < iterations:
        block = min(TUTORIAL_BLOCK, iterations - done)
        started = time.perf_counter()
        while trainer.step_count < done + block and trainer.can_step:
            # as the CLI does, with its test evaluations (beside training)
            trainer.run(max_steps=done + block - trainer.step_count, evaluate_alongside=True)
        trainer.settle_evaluations()  # (timed as ours, and never running beside the reference loop)
        ours += time.perf_counter() - started
        started = time.perf_counter()
        loop.iterate(block, verbose)
        theirs += time.perf_counter() - started
        done += block
        if verbose:
            print(f"  tutorial {done}/{iterations}: ours {ours:.1f} s, reference {theirs:.1f} s", flush=True)
    return {
        "iterations": iterations,
        "ours_s": ours,
        "reference_s": theirs,
        "ours_train": trainer.evaluate_train().accuracy * 100,
        "ours_test": trainer.evaluate_test().accuracy * 100,
        "reference_train": loop.predict(train_x, train_Y),
        "reference_test": loop.predict(test_x, test_Y),
    }


# -- the fast preset ----------------------------------------------------------------------------------

def fast_preset_seconds(data, chunk_s: float = 0.05) -> tuple[float | None, float, float, float]:
    """(seconds from Trainer creation to the first test evaluation >= 98 %, or None;
    the test accuracy at that moment; the final test accuracy; seconds for the whole run)."""
    started = time.perf_counter()
    trainer = Trainer(data, PRESETS["fast"])
    reached, accuracy_then = None, 0.0
    while not trainer.finished and trainer.can_step:
        trainer.run(max_seconds=chunk_s, evaluate_alongside=True)  # as the CLI does
        if reached is None and trainer.last_test is not None and trainer.last_test.accuracy >= FAST_TARGET:
            reached, accuracy_then = time.perf_counter() - started, trainer.last_test.accuracy
    total = time.perf_counter() - started
    final = trainer.evaluate_test().accuracy
    return reached, accuracy_then, final, total


# -- report ---------------------------------------------------------------------------------------------

def ratio(ours: float, theirs: float | None) -> str:
    return "n/a" if theirs is None else f"{ours / theirs:.3f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", type=int, metavar="N", nargs="?", const=50, default=None,
                        help="time only N tutorial iterations of each (default without the flag: 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per W2 contender (best counts)")
    parser.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn's MLPClassifier")
    parser.add_argument("--verbose", action="store_true", help="progress, and the reference loop's prints")
    args = parser.parse_args(argv)
    iterations = args.quick if args.quick else PRESETS["tutorial"].iterations

    # The engine trains with nn.fast.blas's thread count (1 by default); every contender gets the same.
    from nn.fast.blas import use_training_threads

    use_training_threads()
    threads = blas_threads()
    torch = import_torch()
    if torch is not None:
        torch.set_num_threads(threads)
    load_s = load_seconds()
    data = load_mnist()

    print(f"Python {platform.python_version()}, NumPy {np.__version__}, BLAS threads {threads}, "
          f"CPUs {os.cpu_count()}, PyTorch {torch.__version__ if torch else 'not importable'}"
          f"{f' ({torch.get_num_threads()} threads)' if torch else ''}")

    print(f"Load the bundled MNIST (decompress, SHA-256, scale, one-hot): {load_s:.3f} s (best of 3; "
          "scikit-learn imported beforehand, as a process does once)")
    peak = gemm_peak_gflops()

    # W2: contenders interleaved, best of --repeats each
    contenders = {"engine (Trainer)": lambda: w2_engine(data),
                  "engine, no Trainer": lambda: w2_engine_direct(data),
                  "plain NumPy loop": lambda: w2_numpy(data)}
    if torch is not None:
        contenders["PyTorch CPU"] = lambda: w2_torch(data, torch)
    if not args.no_sklearn:
        contenders["scikit-learn MLP"] = lambda: w2_sklearn(data)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    for name, run in contenders.items():  # warm-up: imports, buffers, first touch
        if name != "scikit-learn MLP":
            run()
    for repeat in range(args.repeats):
        for name, run in contenders.items():
            if name == "scikit-learn MLP" and repeat > 0:
                continue  # context only; one run is plenty
            runs[name].append(run())
            if args.verbose:
                print(f"  W2 {name}: {runs[name][-1][0]:.3f} s", flush=True)
    best = {name: min(r[0] for r in results) for name, results in runs.items()}
    median = {name: sorted(r[0] for r in results)[len(results) // 2] for name, results in runs.items()}
    accuracy = {name: results[0][1] for name, results in runs.items()}

    gflop = w2_epoch_gflop(len(data.train_y), (data.n_features, *W2_HIDDEN, data.n_classes), W2_BATCH)
    gflops = gflop / best["engine (Trainer)"]

    tutorial = tutorial_race(data, iterations, args.verbose)
    fast_s, fast_acc_then, fast_final, fast_total = fast_preset_seconds(data)

    engine = best["engine (Trainer)"]
    print()
    print(f"W2: 784-256-128-10 ReLU, batch {W2_BATCH}, momentum {W2_MOMENTUM}, lr {W2_LR}, float32, one epoch "
          f"({gflop:.1f} GFLOP of GEMMs); best of {args.repeats}")
    print(f"  {'contender':<20} {'best s':>8} {'median s':>9} {'ours/theirs':>12} {'test acc':>9}")
    for name in runs:
        rel = "1.000" if name == "engine (Trainer)" else ratio(engine, best[name])
        print(f"  {name:<20} {best[name]:>8.3f} {median[name]:>9.3f} {rel:>12} {accuracy[name] * 100:>8.2f}%")
    print(f"  engine: {gflops:.1f} GFLOP/s effective (nominal GEMM work / time); float32 GEMM peak {peak:.1f} GFLOP/s "
          f"({gflops / peak * 100:.0f} % of peak)")
    print()
    print(f"Tutorial preset: {tutorial['iterations']} iterations, ours float32 (Trainer.run, with its test "
          f"evaluations) vs the same run as a float64 loop over nn.reference (with the tutorial's cost and "
          f"train-accuracy bookkeeping)")
    print(f"  {'':<20} {'seconds':>8} {'ms/iter':>8} {'train acc':>10} {'test acc':>9}")
    for who, key in (("ours", "ours"), ("reference", "reference")):
        secs = tutorial[f"{key}_s"]
        print(f"  {who:<20} {secs:>8.2f} {secs / tutorial['iterations'] * 1e3:>8.1f} "
              f"{tutorial[f'{key}_train']:>10.2f} {tutorial[f'{key}_test']:>9.2f}")
    print(f"  ours/reference {tutorial['ours_s'] / tutorial['reference_s']:.3f}")
    print()
    fast = PRESETS["fast"]
    print(f"Fast preset ({fast.describe()}, {format_length(fast)}): ", end="")
    if fast_s is None:
        print(f"never reached {FAST_TARGET * 100:.0f} % (final {fast_final * 100:.2f} %, {fast_total:.1f} s)")
    else:
        print(f"{fast_s:.2f} s to a test evaluation >= {FAST_TARGET * 100:.0f} % ({fast_acc_then * 100:.2f} %); "
              f"final {fast_final * 100:.2f} % after {fast_total:.1f} s")
    print()
    torch_best = best.get("PyTorch CPU")
    print(f"RESULT engine_vs_numpy={ratio(engine, best['plain NumPy loop'])} "
          f"engine_vs_torch={ratio(engine, torch_best)} "
          f"tutorial_vs_reference={tutorial['ours_s'] / tutorial['reference_s']:.3f} "
          f"gflops={gflops:.1f} gemm_peak={peak:.1f}")
    return 0


def format_length(config: TrainConfig) -> str:
    return f"{config.epochs:g} epochs" if config.epochs is not None else f"{config.iterations} iterations"


if __name__ == "__main__":
    sys.exit(main())
