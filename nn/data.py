"""MNIST-format (IDX) data: a strict reader, the bundled copy, and the dataset the trainer uses.

Every problem with a file is a :class:`DataError` whose message names the file and says what is
wrong, so the CLI and the GUI can show it as it is.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .files import FileError, open_for_reading, read_error_message
from .limits import MAX_CLASSES, MAX_IDX_BYTES, decompressed_limit, format_bytes
from .paths import bundled_mnist_dir

IMAGE_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (count, rows, cols)
LABEL_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (count)

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
STANDARD_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# SHA-256 of the *decompressed* bundled files (gzip headers differ between copies of the same data).
BUNDLED_SHA256 = {
    TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

CLASS_NAMES_FILE = "classes.txt"  # beside the IDX files: one class name per line, in label order
MAX_CLASS_NAME = 40  # characters
MAX_CLASS_NAMES_BYTES = 256 * 1024


class KnownDataset(NamedTuple):
    """A public MNIST-format data set recognised by its label files, named without a classes.txt."""

    name: str
    class_names: tuple[str, ...]
    label_sha256: frozenset  # SHA-256 of decompressed label files, or of label files as distributed (.gz)


KNOWN_DATASETS = (
    KnownDataset("Fashion-MNIST",
                 ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                  "Ankle boot"),
                 frozenset({"bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",  # train, content
                            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",  # test, content
                            "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",  # train .gz (Debian)
                            "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"})),  # test .gz (Debian)
    KnownDataset("Kuzushiji-MNIST",
                 ("o お", "ki き", "su す", "tsu つ", "na な", "ha は", "ma ま", "ya や", "re れ", "wo を"),
                 frozenset({"e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",  # train .gz
                            "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c"})),  # test .gz
)

_GZIP_MAGIC = b"\x1f\x8b"
_READ_CHUNK = 1 << 20  # bytes of file read (and at most decompressed) at a time


class DataError(FileError):
    """A data file or folder that cannot be used; the message names it and says why."""


class _Stream:
    """An IDX file's content, raw or gzip (detected by content, not by name), read in bounded
    pieces: nothing is decompressed beyond what is asked for."""

    def __init__(self, f, path: Path, gzipped: bool):
        self.f, self.path, self.gzipped = f, path, gzipped
        self._inflate = zlib.decompressobj(31) if gzipped else None  # wbits=31: a gzip container
        self._input = b""  # compressed bytes read from the file, not yet decompressed

    def readinto(self, buffer: memoryview) -> int:
        """Fill ``buffer`` as far as the content goes; returns the bytes filled."""
        done = 0
        while done < len(buffer):
            got = self.f.readinto(buffer[done:]) if not self.gzipped else self._inflate_into(buffer[done:])
            if not got:
                break
            done += got
        return done

    def _inflate_into(self, buffer: memoryview) -> int:
        try:
            while True:
                if self._inflate.eof and not self._next_member():
                    return 0
                if not self._input:
                    self._input = self.f.read(_READ_CHUNK)
                    if not self._input:
                        raise DataError(f"{self.path}: damaged or truncated gzip data (the compressed data ends early)")
                out = self._inflate.decompress(self._input, min(len(buffer), _READ_CHUNK))
                # (At a member's end, what follows it is in unused_data, and zlib leaves a copy
                # of it in unconsumed_tail too.)
                self._input = b"" if self._inflate.eof else self._inflate.unconsumed_tail
                if out:
                    buffer[: len(out)] = out
                    return len(out)
        except zlib.error as exc:
            raise DataError(f"{self.path}: damaged or truncated gzip data ({exc})") from None

    def _next_member(self) -> bool:
        """After a gzip member: start the next one (a gzip file may hold several); False at the
        end of the file, which may be padded with zeros."""
        rest = self._inflate.unused_data
        if len(rest) < 2:
            rest += self.f.read(_READ_CHUNK)
        while not rest.strip(b"\0"):
            rest = self.f.read(_READ_CHUNK)
            if not rest:
                return False
        if rest.lstrip(b"\0")[:2] != _GZIP_MAGIC or rest[:1] == b"\0":
            raise DataError(f"{self.path}: unexpected bytes after the gzip data")
        self._inflate, self._input = zlib.decompressobj(31), rest
        return True

    def count_rest(self, limit: int) -> int:
        """How many bytes of content are left (counting stops past ``limit``)."""
        scratch = memoryview(bytearray(min(limit + 1, _READ_CHUNK)))
        total = 0
        while total <= limit:
            got = self.readinto(scratch)
            if not got:
                break
            total += got
        return total


def read_idx(path: Path | str, expected_magic: int, sha256: str | None = None) -> np.ndarray:
    """A read-only uint8 array from an IDX file (big-endian header, unsigned-byte payload), raw or
    gzip. The header is read first and the size it declares checked against the file (and
    ``nn.limits``) before anything is allocated; the payload then streams into its array. With
    ``sha256``, the decompressed content must have that digest."""
    path = Path(path)
    f, stored = open_for_reading(path, DataError)
    try:
        with f:
            return _read_idx(f, stored, path, expected_magic, sha256)
    except OSError as exc:
        raise DataError(read_error_message(path, exc)) from None


def _read_idx(f, stored: int, path: Path, expected_magic: int, sha256: str | None) -> np.ndarray:
    kind = "images" if expected_magic == IMAGE_MAGIC else "labels"
    ndim = expected_magic & 0xFF
    stream = _Stream(f, path, f.read(2) == _GZIP_MAGIC)
    f.seek(0)
    header_len = 4 + 4 * ndim
    header = bytearray(header_len)
    got = stream.readinto(memoryview(header))
    if got < 4:
        raise DataError(f"{path}: too short for an IDX {kind} header ({got} bytes, need {header_len})")
    magic = int.from_bytes(header[:4], "big")
    if magic != expected_magic:
        raise DataError(
            f"{path}: bad magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"(IDX {kind} of unsigned bytes); is this the right file?"
        )
    if got < header_len:
        raise DataError(f"{path}: too short for an IDX {kind} header ({got} bytes, need {header_len})")
    dims = tuple(int.from_bytes(header[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if dims[0] == 0:
        raise DataError(f"{path}: holds no {kind} (count is 0)")
    if any(d == 0 for d in dims[1:]):
        raise DataError(f"{path}: image size {dims[1]}x{dims[2]} is empty")
    payload = math.prod(dims)
    what = f"{dims[0]} {kind}" + (f" of {dims[1]}x{dims[2]}" if ndim == 3 else "")
    if not stream.gzipped:
        if stored < header_len + payload:
            raise DataError(f"{path}: truncated: header promises {dims[0]} {kind} ({payload} bytes of data) "
                            f"but only {stored - header_len} are there")
        if stored > header_len + payload:
            raise DataError(f"{path}: {stored - header_len - payload} unexpected bytes after the {dims[0]} {kind} "
                            "the header announces")
    limit = decompressed_limit(stored, MAX_IDX_BYTES, 8)
    if payload > limit:
        raise DataError(f"{path}: header claims {what} ({format_bytes(payload)}), more than a file of "
                        f"{format_bytes(stored)} can plausibly hold (limit {format_bytes(limit)}); "
                        "damaged or not an IDX file")
    array = np.empty(payload, dtype=np.uint8)
    got = stream.readinto(memoryview(array))
    if got < payload:
        raise DataError(f"{path}: truncated: header promises {dims[0]} {kind} ({payload} bytes of data) "
                        f"but only {got} are there")
    extra = stream.count_rest(_READ_CHUNK)
    if extra:
        count = f"{extra}" if extra <= _READ_CHUNK else f"more than {_READ_CHUNK}"
        raise DataError(f"{path}: {count} unexpected bytes after the {dims[0]} {kind} the header announces")
    if sha256 is not None:
        digest = hashlib.sha256(header)
        digest.update(array)
        if digest.hexdigest() != sha256:
            raise DataError(
                f"{path}: content does not match the bundled MNIST (SHA-256 {digest.hexdigest()[:12]}..., "
                f"expected {sha256[:12]}...); the file is damaged or was replaced"
            )
    array = array.reshape(dims)
    array.flags.writeable = False
    return array


def find_idx_files(data_dir: Path | str) -> dict[str, Path]:
    """The four standard IDX files in ``data_dir``, each either raw or ``.gz``."""
    data_dir = Path(data_dir)
    try:
        return _find_idx_files(data_dir)
    except OSError as exc:  # (e.g. a folder we may not look into)
        raise DataError(read_error_message(exc.filename or data_dir, exc)) from None


def _find_idx_files(data_dir: Path) -> dict[str, Path]:
    if not data_dir.exists():
        raise DataError(f"{data_dir}: data folder not found")
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: is not a folder")
    found: dict[str, Path] = {}
    missing = []
    for name in STANDARD_NAMES:
        for candidate in (data_dir / name, data_dir / f"{name}.gz"):
            if candidate.is_file():
                found[name] = candidate
                break
        else:
            missing.append(name)
    if missing:
        raise DataError(
            f"{data_dir}: missing {', '.join(missing)} (each may end in .gz); "
            "an MNIST-format folder needs all four standard files"
        )
    return found


def _load_one(name: str, path: Path, verify: bool) -> np.ndarray:
    magic = IMAGE_MAGIC if "images" in name else LABEL_MAGIC
    return read_idx(path, magic, BUNDLED_SHA256[name] if verify else None)


def scale_pixels(pixels: np.ndarray, out: np.ndarray) -> np.ndarray:
    """uint8 pixels / 255 into ``out``, in its dtype: the one definition of the engine's inputs, so
    rows scaled later (see ``Trainer._gather``) equal the rows of ``Dataset.train_x`` bit for bit."""
    return np.divide(pixels, out.dtype.type(255), out=out, dtype=out.dtype)


def _scale_pixels(images: np.ndarray, dtype: np.dtype, pool: ThreadPoolExecutor | None) -> np.ndarray:
    """Pixels / 255 as ``dtype``, flattened to (count, rows*cols).

    Two threads each convert half: on this kind of VM, first-touching a fresh 188 MB array costs
    more than the arithmetic, and page faults on two cores overlap.
    """
    flat = images.reshape(images.shape[0], -1)
    out = np.empty(flat.shape, dtype=dtype)
    halves = [(0, flat.shape[0] // 2), (flat.shape[0] // 2, flat.shape[0])]

    def convert(bounds: tuple[int, int]) -> None:
        lo, hi = bounds
        scale_pixels(flat[lo:hi], out=out[lo:hi])

    if pool is None or flat.shape[0] < 1024:
        convert((0, flat.shape[0]))
    else:
        list(pool.map(convert, halves))
    return out


ACTIVE_CHUNK = 4096  # images per pass when working out ActivePixels


def ink_extents(pixels: np.ndarray) -> np.ndarray:
    """For each row of ``pixels``, 1 + the position of its last nonzero entry (0 for a blank
    row), read-only; worked out a few thousand rows at a time (bounded temporaries)."""
    extents = np.zeros(len(pixels), dtype=np.int32)
    for start in range(0, len(pixels), ACTIVE_CHUNK):
        inked = pixels[start:start + ACTIVE_CHUNK, ::-1] != 0
        last = pixels.shape[1] - inked.argmax(axis=1)
        extents[start:start + len(inked)] = np.where(inked.any(axis=1), last, 0)
    extents.flags.writeable = False
    return extents


class ActivePixels(NamedTuple):
    """The training images cut down to the inputs that matter, for gathering mini-batches.

    Columns are ordered by how often they are nonzero, so each image's ink sits in a prefix:
    ``pixels[i, extents[i]:]`` is all zero, and a batch needs only the columns up to its largest
    extent (on MNIST 632 of 717 on average for 128 images: 12 % less work in the first layer).
    """

    columns: np.ndarray  # input indices, most often nonzero first
    pixels: np.ndarray  # (samples, len(columns)) uint8, read-only
    extents: np.ndarray  # (samples,): 1 + the position of each image's last nonzero column, or 0


@dataclass(frozen=True, eq=False)
class Dataset:
    """Training and test split, ready for the engine.

    ``*_images`` keep the raw uint8 pixels (crisp thumbnails); ``*_x`` are pixels/255 as float32,
    one row per sample; ``*_y`` are integer labels; ``*_Y`` their one-hot encoding. ``train_x``
    is made when first asked for (:meth:`train_inputs`): mini-batch training gathers its batches
    from the uint8 images and never needs it, and for MNIST it is 180 MB.
    """

    train_images: np.ndarray
    train_y: np.ndarray
    test_images: np.ndarray
    test_y: np.ndarray
    test_x: np.ndarray
    train_Y: np.ndarray
    test_Y: np.ndarray
    n_classes: int
    source: str
    class_names: tuple[str, ...] = ()  # what to call class k; digits "0".."9" unless the data names them
    _by_dtype: dict = field(default_factory=dict, repr=False)
    _active: list = field(default_factory=list, repr=False)  # active_pixels(), once computed
    _digest: list = field(default_factory=list, repr=False)  # content_digest(), once computed
    _train_x: np.ndarray | None = field(default=None, repr=False)  # given at construction, or made when asked for

    def __post_init__(self):
        if not self.class_names:  # (frozen: set once, here)
            object.__setattr__(self, "class_names", tuple(str(k) for k in range(self.n_classes)))

    @property
    def image_shape(self) -> tuple[int, int]:
        return tuple(self.train_images.shape[1:])

    @property
    def n_features(self) -> int:
        return self.test_x.shape[1]

    @property
    def train_x(self) -> np.ndarray:
        return self.train_inputs(self.test_x.dtype)

    def train_inputs(self, dtype) -> np.ndarray:
        """The training images as rows of pixels/255 in ``dtype``: made once, when first asked for."""
        dtype = np.dtype(dtype)
        if self._train_x is not None and self._train_x.dtype == dtype:
            return self._train_x
        key = ("train", dtype)
        if key not in self._by_dtype:
            rows = _scale_pixels(self.train_images, dtype, None)
            rows.flags.writeable = False
            self._by_dtype[key] = rows
        return self._by_dtype[key]

    def subset(self, n_train: int, n_test: int) -> "Dataset":
        """The first ``n_train`` training and ``n_test`` test samples (for quick runs and tests)."""
        return Dataset(
            train_images=self.train_images[:n_train], train_y=self.train_y[:n_train],
            test_images=self.test_images[:n_test], test_y=self.test_y[:n_test],
            _train_x=None if self._train_x is None else self._train_x[:n_train], test_x=self.test_x[:n_test],
            train_Y=self.train_Y[:n_train], test_Y=self.test_Y[:n_test],
            n_classes=self.n_classes, source=f"{self.source} (first {n_train} train / {n_test} test)",
            class_names=self.class_names,
        )

    def content_digest(self) -> str:
        """A hash of every pixel and label of both splits (BLAKE2b, about 50 ms for MNIST; once
        per data set): two data sets with the same labels but other images differ."""
        if not self._digest:
            digest = hashlib.blake2b(digest_size=16)
            for images, labels in ((self.train_images, self.train_y), (self.test_images, self.test_y)):
                digest.update(repr(images.shape).encode())
                digest.update(np.ascontiguousarray(images, dtype=np.uint8))
                digest.update(np.ascontiguousarray(labels, dtype=np.int64))
            self._digest.append(digest.hexdigest())
        return self._digest[0]

    def active_pixels(self) -> "ActivePixels":
        """The input columns that are nonzero in some training image, most often nonzero first,
        with the training pixels of just those columns; worked out once per data set."""
        if not self._active:
            flat = self.train_images.reshape(len(self.train_images), -1)
            chunks = range(0, len(flat), ACTIVE_CHUNK)  # (bounded temporaries: the app's peak memory)
            counts = sum(np.count_nonzero(flat[start:start + ACTIVE_CHUNK], axis=0) for start in chunks)
            columns = np.argsort(-np.asarray(counts), kind="stable")[:np.count_nonzero(counts)]
            pixels = np.take(flat, columns, axis=1)  # (indexing flat[:, columns] makes a second copy)
            pixels.flags.writeable = False
            extents = ink_extents(pixels)
            self._active.append(ActivePixels(columns, pixels, extents))
        return self._active[0]

    def arrays(self, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(train_x, train_Y, test_x, test_Y) in ``dtype``; converted once and cached."""
        return (self.train_inputs(dtype), *self.targets_and_test(dtype))

    def targets_and_test(self, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(train_Y, test_x, test_Y) in ``dtype``, without making ``train_x``."""
        dtype = np.dtype(dtype)
        if dtype == self.test_x.dtype:
            return self.train_Y, self.test_x, self.test_Y
        if dtype not in self._by_dtype:
            self._by_dtype[dtype] = (self.train_Y.astype(dtype), _scale_pixels(self.test_images, dtype, None),
                                     self.test_Y.astype(dtype))
        return self._by_dtype[dtype]


def _check_pair(images: np.ndarray, labels: np.ndarray, paths: dict[str, Path], img: str, lab: str):
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{paths[img]} holds {images.shape[0]} images but {paths[lab]} holds "
            f"{labels.shape[0]} labels; the counts must match"
        )


def count_classes(train_y: np.ndarray, test_y: np.ndarray, train_path, test_path) -> int:
    """The number of classes the labels number, 0..K-1. IDX does not declare K, so the labels
    must: at least two classes, at most ``MAX_CLASSES``, and no more than a tenth of the range
    without a single training sample (EMNIST letters leave out 0; a stray label of 200 among the
    digits would leave 190 classes empty), and every test label within the training range."""
    counts = np.bincount(train_y.reshape(-1), minlength=2)
    n_classes = len(counts)
    if n_classes > MAX_CLASSES:
        raise DataError(f"{train_path}: labels go up to {n_classes - 1}; at most {MAX_CLASSES} classes are supported")
    empty = np.flatnonzero(counts == 0)
    if np.count_nonzero(counts) < 2:
        raise DataError(f"{train_path}: all labels are {int(train_y.reshape(-1)[0])}; need at least two classes")
    if len(empty) > n_classes // 10:
        top = n_classes - 1
        where = int(np.flatnonzero(train_y.reshape(-1) == top)[0])
        raise DataError(
            f"{train_path}: label {top} (sample {where}) leaves {len(empty)} of the classes 0-{top} without a "
            f"single training sample ({_ranges(empty)}); labels must number the classes 0, 1, 2, ...: "
            "is the file damaged?"
        )
    if int(test_y.max()) >= n_classes:
        bad = int(test_y.max())
        raise DataError(f"{test_path}: label {bad} is outside the training labels' range 0-{n_classes - 1}")
    return n_classes


def _ranges(values: np.ndarray, shown: int = 3) -> str:
    """'10-199' or '3, 5, 7-9, ...' for sorted whole numbers."""
    runs = []
    for v in values.tolist():
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:shown])
    return text + (", ..." if len(runs) > shown else "")


def load_mnist(data_dir: Path | str | None = None, dtype=np.float32) -> Dataset:
    """Load the bundled MNIST (SHA-256 verified) or any folder of the four standard IDX files."""
    verify = data_dir is None
    folder = bundled_mnist_dir() if data_dir is None else Path(data_dir)
    paths = find_idx_files(folder)
    with ThreadPoolExecutor(2) as pool:
        # The big file first, so the small ones load alongside it.
        order = (TRAIN_IMAGES, TEST_IMAGES, TRAIN_LABELS, TEST_LABELS)
        futures = {name: pool.submit(_load_one, name, paths[name], verify) for name in order}
        loaded = {name: future.result() for name, future in futures.items()}
        train_images, test_images = loaded[TRAIN_IMAGES], loaded[TEST_IMAGES]
        train_y, test_y = loaded[TRAIN_LABELS], loaded[TEST_LABELS]
        _check_pair(train_images, train_y, paths, TRAIN_IMAGES, TRAIN_LABELS)
        _check_pair(test_images, test_y, paths, TEST_IMAGES, TEST_LABELS)
        if train_images.shape[1:] != test_images.shape[1:]:
            raise DataError(
                f"{paths[TEST_IMAGES]}: images are {test_images.shape[1]}x{test_images.shape[2]} "
                f"but the training images are {train_images.shape[1]}x{train_images.shape[2]}"
            )
        n_classes = count_classes(train_y, test_y, paths[TRAIN_LABELS], paths[TEST_LABELS])
        dtype = np.dtype(dtype)
        test_x = _scale_pixels(test_images, dtype, pool)
    # As in the classic tutorial: scikit-learn's OneHotEncoder (categories fixed to 0..K-1 so a
    # class missing from one split cannot shift the columns). Imported here, not at the top:
    # importing scikit-learn takes most of a second, which the app's window should not wait for.
    from sklearn.preprocessing import OneHotEncoder

    encoder = OneHotEncoder(categories=[np.arange(n_classes)], sparse_output=False, dtype=dtype)
    train_Y = encoder.fit_transform(train_y.reshape(-1, 1))
    test_Y = encoder.transform(test_y.reshape(-1, 1))
    for array in (test_x, train_Y, test_Y):
        array.flags.writeable = False
    known = None if verify else recognise(paths, train_y, test_y)
    class_names = read_class_names(folder, n_classes)
    if not class_names and known is not None and len(known.class_names) == n_classes:
        class_names = known.class_names
    return Dataset(
        train_images=train_images,
        train_y=train_y.astype(np.int64),
        test_images=test_images,
        test_y=test_y.astype(np.int64),
        test_x=test_x,
        train_Y=train_Y,
        test_Y=test_Y,
        n_classes=n_classes,
        source="bundled MNIST" if verify else (f"{known.name} ({folder})" if known else str(folder)),
        class_names=class_names,
    )


def _label_content(labels: np.ndarray) -> bytes:
    """A label file's decompressed content, rebuilt from its labels (magic, count, bytes)."""
    return LABEL_MAGIC.to_bytes(4, "big") + len(labels).to_bytes(4, "big") + labels.astype(np.uint8).tobytes()


def recognise(paths: dict[str, Path], train_y: np.ndarray, test_y: np.ndarray) -> KnownDataset | None:
    """Which known data set these files are, by the SHA-256 of the label files' content or of the
    files themselves; None for any other."""
    digests = {hashlib.sha256(_label_content(y)).hexdigest() for y in (train_y, test_y)}
    for name in (TRAIN_LABELS, TEST_LABELS):
        try:
            if paths[name].stat().st_size <= 4 * MAX_CLASS_NAMES_BYTES:  # label files are small
                digests.add(hashlib.sha256(paths[name].read_bytes()).hexdigest())
        except OSError:
            pass  # (it was just read; a recognition that fails only costs the names)
    for known in KNOWN_DATASETS:
        if digests & known.label_sha256:
            return known
    return None


def read_class_names(folder: Path, n_classes: int) -> tuple[str, ...]:
    """The names in ``folder/classes.txt`` (one per line, in label order), or () if there is none."""
    path = folder / CLASS_NAMES_FILE
    if not path.exists():
        return ()
    f, size = open_for_reading(path, DataError)
    with f:
        if size > MAX_CLASS_NAMES_BYTES:
            raise DataError(f"{path}: {format_bytes(size)} is too large for a list of class names")
        try:
            text = f.read(MAX_CLASS_NAMES_BYTES + 1).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DataError(f"{path}: is not UTF-8 text") from None
        except OSError as exc:
            raise DataError(read_error_message(path, exc)) from None
    names = [line.strip() for line in text.splitlines()]
    while names and not names[-1]:
        names.pop()
    if len(names) != n_classes:
        raise DataError(f"{path}: has {len(names)} names, but the labels number {n_classes} classes "
                        "(one name per line, in label order)")
    for k, name in enumerate(names):
        if not name:
            raise DataError(f"{path}: line {k + 1} is empty; every class needs a name")
        if len(name) > MAX_CLASS_NAME or not name.isprintable():
            raise DataError(f"{path}: line {k + 1} is not a short printable name")
    if len(set(names)) != len(names):
        raise DataError(f"{path}: two classes have the same name")
    return tuple(names)
