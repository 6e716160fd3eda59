"""Training configuration, presets, and the parsing/validation shared by the CLI and the GUI.

Every check raises :class:`ConfigError` with a one-line message that names the setting, so the
CLI can print it and exit 2, and the GUI can show it at the field.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

from .activations import ACTIVATIONS
from .limits import MAX_CLASSES, format_bytes, physical_memory_bytes
from .network import DTYPES, INITS
from .optimizers import OPTIMIZERS

FULL_BATCH = None  # batch_size value meaning "the whole training set every step"
MAX_DROPOUT = 0.9
MAX_SHIFT = 4  # pixels
MAX_ROTATION = 45.0  # degrees
MAX_NOISE = 0.5
MAX_EPOCHS = 1_000_000  # (bounds that keep every count and ETA a finite float)
MAX_ITERATIONS = 10**12


class ConfigError(ValueError):
    """A setting that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class TrainConfig:
    hidden: tuple[int, ...] = (50,)
    activation: str = "sigmoid"
    optimizer: str = "gd"
    lr: float = 0.1
    momentum: float = 0.9
    batch_size: int | None = FULL_BATCH
    epochs: float | None = None
    iterations: int | None = 1000
    seed: int = 1
    dtype: str = "float32"
    init: str = "auto"
    l2: float = 0.0
    lr_decay: float = 1.0  # the learning rate is multiplied by this once per epoch (smoothly)
    dropout: float = 0.0  # share of hidden units dropped at each training step (inverted dropout)
    augment_shift: int = 0  # training images moved by up to this many pixels each way (see nn.augment)
    augment_rotation: float = 0.0  # ... turned by up to this many degrees
    augment_noise: float = 0.0  # ... with Gaussian pixel noise of this standard deviation

    def replace(self, **changes) -> "TrainConfig":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """A configuration read from a file (JSON): unknown settings and values of the wrong type
        are refused with a :class:`ConfigError` (the values themselves are checked by validate)."""
        if not isinstance(d, dict):
            raise ConfigError(f"settings must be a mapping, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(map(str, unknown)))[:200]}")
        d = dict(d)
        for name, value in d.items():
            kind = _SETTING_TYPES[name]
            if name == "hidden":
                if not isinstance(value, (list, tuple)) or not all(_is_a(h, int) for h in value):
                    raise ConfigError(f"hidden layers: must be a list of whole numbers, got {value!r:.60}")
                d[name] = tuple(value)
            elif not (_is_a(value, kind) or (value is None and name in _OPTIONAL_SETTINGS)):
                raise ConfigError(f"{name}: {value!r:.60} is not {_TYPE_NAMES[kind]}")
        return cls(**d)

    def layer_sizes(self, n_features: int, n_classes: int) -> tuple[int, ...]:
        return (n_features, *self.hidden, n_classes)

    def describe(self) -> str:
        """A short human summary, e.g. '50 sigmoid · gd · lr 0.1 · full batch'."""
        layers = "-".join(str(h) for h in self.hidden) or "no hidden layer"
        act = f" {self.activation}" if self.hidden else ""
        batch = "full batch" if self.batch_size is None else f"batch {self.batch_size}"
        decay = f" (x{format_number(self.lr_decay)}/epoch)" if self.lr_decay != 1 else ""
        extras = f" · dropout {format_number(self.dropout)}" if self.dropout else ""
        extras += " · augmented" if self.augmented else ""
        return f"{layers}{act} · {self.optimizer} · lr {format_number(self.lr)}{decay} · {batch}{extras}"

    @property
    def augmented(self) -> bool:
        return self.augment_shift > 0 or self.augment_rotation > 0 or self.augment_noise > 0


_SETTING_TYPES = {"hidden": tuple, "activation": str, "optimizer": str, "lr": float, "momentum": float,
                  "batch_size": int, "epochs": float, "iterations": int, "seed": int, "dtype": str, "init": str,
                  "l2": float, "lr_decay": float, "dropout": float, "augment_shift": int,
                  "augment_rotation": float, "augment_noise": float}
_OPTIONAL_SETTINGS = {"batch_size", "epochs", "iterations"}
_TYPE_NAMES = {str: "a text", float: "a number", int: "a whole number"}


def _is_a(value, kind: type) -> bool:
    """JSON types: a whole number is a number too; a boolean is neither."""
    if isinstance(value, bool):
        return False
    if kind is float and isinstance(value, int):
        return abs(value) <= 2**53  # (a larger one is no finite float)
    return isinstance(value, kind)


PRESETS: dict[str, TrainConfig] = {
    # The classic from-scratch tutorial: 784-50-10 sigmoid, full-batch gradient descent.
    "tutorial": TrainConfig(hidden=(50,), activation="sigmoid", optimizer="gd", lr=0.1,
                            batch_size=FULL_BATCH, iterations=1000, epochs=None, seed=1, init="tutorial"),
    # Mini-batch Adam on a ReLU network, the learning rate halving per epoch: passes 98 % test
    # accuracy after 2.2-2.7 epochs (seeds 1-5; seed 1: 2.3 epochs, about 3 s) and ends at
    # 98.0-98.3 %. Batches of 128 rather than 64 halve Adam's per-sample cost, which is as large as
    # the products' for this network.
    "fast": TrainConfig(hidden=(256, 128), activation="relu", optimizer="adam", lr=0.003, lr_decay=0.5,
                        batch_size=128, iterations=None, epochs=4, seed=1, init="he"),
}


def format_number(value: float) -> str:
    return f"{value:g}"


# -- parsing (text -> value), shared by the CLI and the GUI fields ------------------------------

def parse_hidden(text: str) -> tuple[int, ...]:
    """'50' -> (50,); '128, 64' -> (128, 64); '' -> () (plain softmax regression)."""
    text = text.strip()
    if not text:
        return ()
    sizes = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        if not part:
            continue
        try:
            size = int(part)
        except ValueError:
            raise ConfigError(
                f"hidden layers: {part!r} is not a whole number (write sizes like \"50\" or \"128, 64\")"
            ) from None
        if size <= 0:
            raise ConfigError(f"hidden layers: sizes must be at least 1, got {size}")
        sizes.append(size)
    return tuple(sizes)


def parse_positive_float(text: str, name: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ConfigError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}: must be a finite number greater than 0, got {text}")
    return value


def parse_int(text: str, name: str, minimum: int | None = None) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ConfigError(f"{name}: {text!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {value}")
    return value


def parse_batch_size(text: str) -> int | None:
    text = str(text).strip().lower()
    if text in ("full", "all", ""):
        return FULL_BATCH
    return parse_int(text, "batch size", minimum=1)


# -- validation of a whole configuration --------------------------------------------------------

def _bytes_per_value(dtype: str) -> int:
    return 4 if dtype == "float32" else 8


def estimated_memory_bytes(config: TrainConfig, n_features: int, n_classes: int, n_train: int) -> int:
    """Rough peak memory of training: parameters, gradients, optimiser state, activations."""
    sizes = config.layer_sizes(n_features, n_classes)
    n_params = sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:]))
    copies = 2 + {"adam": 3, "momentum": 1}.get(config.optimizer, 0)
    batch = n_train if config.batch_size is None else min(config.batch_size, n_train)
    activations = batch * (2 * sum(sizes[1:]) + n_features)
    return (n_params * copies + activations) * _bytes_per_value(config.dtype)


def validate(config: TrainConfig, n_features: int | None = None, n_classes: int | None = None,
             n_train: int | None = None) -> TrainConfig:
    """Check every setting (and, given the data's size, what depends on it); return the config."""
    if config.activation not in ACTIVATIONS:
        raise ConfigError(f"activation: {config.activation!r} is not one of {', '.join(ACTIVATIONS)}")
    if config.optimizer not in OPTIMIZERS:
        raise ConfigError(f"optimizer: {config.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
    if config.dtype not in DTYPES:
        raise ConfigError(f"dtype: {config.dtype!r} is not one of {', '.join(DTYPES)}")
    if config.init not in INITS:
        raise ConfigError(f"init: {config.init!r} is not one of {', '.join(INITS)}")
    if any((not isinstance(h, int)) or h <= 0 for h in config.hidden):
        raise ConfigError(f"hidden layers: sizes must be whole numbers >= 1, got {list(config.hidden)}")
    if not (math.isfinite(config.lr) and config.lr > 0):
        raise ConfigError(f"learning rate: must be a finite number greater than 0, got {config.lr}")
    if not (math.isfinite(config.momentum) and 0 <= config.momentum < 1):
        raise ConfigError(f"momentum: must be in [0, 1), got {config.momentum}")
    if not (math.isfinite(config.lr_decay) and 0 < config.lr_decay <= 1):
        raise ConfigError(f"learning-rate decay: must be in (0, 1] (1 = no decay), got {config.lr_decay}")
    if not (math.isfinite(config.l2) and config.l2 >= 0):
        raise ConfigError(f"L2: must be a finite number >= 0, got {config.l2}")
    if not (math.isfinite(config.dropout) and 0 <= config.dropout <= MAX_DROPOUT):
        raise ConfigError(f"dropout: must be from 0 to {MAX_DROPOUT} (the share of hidden units dropped), "
                          f"got {config.dropout}")
    if not isinstance(config.augment_shift, int) or not 0 <= config.augment_shift <= MAX_SHIFT:
        raise ConfigError(f"shift: must be a whole number of pixels from 0 to {MAX_SHIFT}, got {config.augment_shift}")
    if not (math.isfinite(config.augment_rotation) and 0 <= config.augment_rotation <= MAX_ROTATION):
        raise ConfigError(f"rotation: must be from 0 to {MAX_ROTATION} degrees, got {config.augment_rotation}")
    if not (math.isfinite(config.augment_noise) and 0 <= config.augment_noise <= MAX_NOISE):
        raise ConfigError(f"noise: must be from 0 to {MAX_NOISE}, got {config.augment_noise}")
    if config.augmented and config.batch_size is None:
        raise ConfigError("batch size: augmentation changes every image at every step; it needs mini-batches, "
                          "not the full batch")
    if not isinstance(config.seed, int) or isinstance(config.seed, bool) or not 0 <= config.seed < 2**32:
        raise ConfigError(f"seed: must be a whole number from 0 to 2^32-1, got {config.seed!r}")
    if config.batch_size is not None and config.batch_size < 1:
        raise ConfigError(f"batch size: must be at least 1 or 'full', got {config.batch_size}")
    if (config.epochs is None) == (config.iterations is None):
        raise ConfigError("give either a number of epochs or a number of iterations, not both")
    if config.epochs is not None and not (math.isfinite(config.epochs) and 0 < config.epochs <= MAX_EPOCHS):
        raise ConfigError(f"epochs: must be greater than 0 and at most {MAX_EPOCHS:,}, got {config.epochs}")
    if config.iterations is not None and not 1 <= config.iterations <= MAX_ITERATIONS:
        raise ConfigError(f"iterations: must be from 1 to {MAX_ITERATIONS:,}, got {config.iterations}")
    if n_classes is not None and not 2 <= n_classes <= MAX_CLASSES:
        raise ConfigError(f"classes: the data has {n_classes}; a network needs 2 to {MAX_CLASSES}")
    if n_train is not None:
        if config.batch_size is not None and config.batch_size > n_train:
            raise ConfigError(
                f"batch size: {config.batch_size} is larger than the {n_train} training samples "
                "(use 'full' for the whole set)"
            )
        need = estimated_memory_bytes(config, n_features, n_classes, n_train)
        have = physical_memory_bytes()
        if need > have // 2:
            raise ConfigError(
                f"hidden layers: a {'-'.join(map(str, config.layer_sizes(n_features, n_classes)))} network "
                f"would need about {format_bytes(need)} of memory to train; this machine has "
                f"{format_bytes(have)}. Use smaller layers."
            )
    return config
