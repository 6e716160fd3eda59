"""Fuzzing the readers (issue 18): a valid model, checkpoint and IDX folder, mutated hundreds of
ways (truncation, bit flips, header fields of the zip, .npy and IDX formats, member swaps, hostile
meta values), must each load or be refused with the reader's one-line error naming the file;
never another exception, never a hang. What loads must also work: a loaded checkpoint trains on,
a loaded model predicts, a loaded data set trains.

Tiny files, loaders called in-process, a fixed seed (a failure names its case; rerun it alone
with FUZZ_CASE=<kind>:<number>). Each case must finish within a few seconds (an alarm turns a
hang into a failure).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import random
import signal
import struct
import time
import zipfile
import zlib

import numpy as np
import pytest
from forgery import DEFLATED, npy_bytes, npz_members, write_zip
from idx_files import idx_bytes

from nn.checkpoint import load_checkpoint, save_checkpoint
from nn.config import TrainConfig
from nn.data import STANDARD_NAMES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, DataError, load_mnist
from nn.files import FileError
from nn.model_io import ModelFileError, load_model, save_model
from nn.trainer import Trainer

CASES = {"model": 300, "checkpoint": 300, "data": 300}  # 900 in all (about 2 s)
CASE_SECONDS = 10  # the alarm: far beyond any case (each takes milliseconds)
CONFIG = TrainConfig(hidden=(5,), activation="tanh", optimizer="adam", lr=0.01, batch_size=8, epochs=3,
                     iterations=None, init="xavier", seed=2)
HOSTILE_VALUES = [None, True, -1, 0, 2**70, -(2**70), 1e308, float("nan"), float("inf"), "", "x" * 300, "2",
                  [], {}, [1, 2, 3], {"a": {"b": [1]}}, json.loads("[" * 40 + "]" * 40),
                  7, 2.5, [-3], [10**9], [0, 1, 1], 1e-300, 10**400, 2**53 + 1, 60000, "relu", "adam"]
NPY_DTYPES = ["<f4", "<f8", ">f4", "<f2", "<i8", "|u1", "|b1", "<c8", "|O", "<U5", "|V8"]


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """A tiny IDX folder (6x6 images, 3 classes), a model and a checkpoint for it."""
    root = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(0)
    folder = root / "data"
    folder.mkdir()
    arrays = {TRAIN_IMAGES: rng.integers(0, 256, (40, 6, 6), dtype=np.uint8),
              TRAIN_LABELS: (np.arange(40) % 3).astype(np.uint8),
              TEST_IMAGES: rng.integers(0, 256, (12, 6, 6), dtype=np.uint8),
              TEST_LABELS: (np.arange(12) % 3).astype(np.uint8)}
    for name, array in arrays.items():
        (folder / name).write_bytes(idx_bytes(array))
    data = load_mnist(folder)
    trainer = Trainer(data, CONFIG)
    trainer.set_pins([1, 4])
    trainer.run(max_steps=7)
    trainer.pin_drawn(data.test_x[2], 1)
    trainer.evaluate_test()
    save_checkpoint(root / "session.npz", trainer)
    save_model(root / "model.npz", trainer.net, CONFIG.to_dict(), {"test_accuracy": 0.5})
    return {"folder": folder, "data": data, "model": root / "model.npz", "checkpoint": root / "session.npz",
            "idx": {name: (folder / name).read_bytes() for name in STANDARD_NAMES}}


# -- mutations of bytes --------------------------------------------------------------------------------

def truncate(rng, content: bytes) -> bytes:
    return content[: rng.randrange(len(content))]


def flip_bits(rng, content: bytes) -> bytes:
    out = bytearray(content)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def overwrite(rng, content: bytes) -> bytes:
    out = bytearray(content)
    start = rng.randrange(len(out))
    length = rng.randint(1, 16)
    fill = rng.choice([b"\x00", b"\xff", None])
    out[start:start + length] = fill * length if fill else os.urandom(length)
    return bytes(out)


def splice(rng, content: bytes) -> bytes:
    at = rng.randrange(len(content))
    if rng.random() < 0.5:
        return content[:at] + os.urandom(rng.randint(1, 64)) + content[at:]
    return content[:at] + content[at + rng.randint(1, 64):]


ZIP_FIELDS = {b"PK\x03\x04": [(4, "H"), (6, "H"), (8, "H"), (14, "L"), (18, "L"), (22, "L"), (26, "H"), (28, "H")],
              b"PK\x01\x02": [(8, "H"), (10, "H"), (16, "L"), (20, "L"), (24, "L"), (28, "H"), (30, "H"), (32, "H"),
                              (42, "L")],
              b"PK\x05\x06": [(8, "H"), (10, "H"), (12, "L"), (16, "L"), (20, "H")]}


def zip_field(rng, content: bytes) -> bytes:
    """Set one field of a zip record (sizes, offsets, counts, method, flags, name length) to an
    extreme or random value."""
    records = [(at, sig) for sig in ZIP_FIELDS for at in _find_all(content, sig)]
    if not records:
        return flip_bits(rng, content)
    at, sig = rng.choice(records)
    offset, kind = rng.choice(ZIP_FIELDS[sig])
    top = 0xFFFF if kind == "H" else 0xFFFFFFFF
    value = rng.choice([0, 1, top, top - 1, rng.randrange(top), 12, 99])
    out = bytearray(content)
    struct.pack_into("<" + kind, out, at + offset, value)
    return bytes(out)


def _find_all(content: bytes, needle: bytes) -> list[int]:
    found, at = [], content.find(needle)
    while at >= 0:
        found.append(at)
        at = content.find(needle, at + 1)
    return found


BYTE_MUTATIONS = [truncate, flip_bits, overwrite, splice, zip_field]


# -- mutations of .npz members ---------------------------------------------------------------------------

def npy_header_change(rng, name: str, content: bytes) -> tuple[str, bytes]:
    """The member's .npy header with another shape, dtype or order (the data as it was)."""
    array = np.load(io.BytesIO(content), allow_pickle=False)
    shape = list(array.shape)
    change = rng.choice(["shape", "dtype", "order", "huge"])
    header = {"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False, "shape": tuple(shape)}
    if change == "shape":
        header["shape"] = tuple(rng.choice([0, 1, 2, 3, 7, 36, -1]) for _ in range(rng.randint(0, 3)))
    elif change == "dtype":
        header["descr"] = rng.choice(NPY_DTYPES)
    elif change == "order":
        header["fortran_order"] = True
    else:
        header["shape"] = (10**9, 10**6)
    data = content[len(content) - array.nbytes:] if array.nbytes else b""
    return name, npy_bytes(header=header, data=data)


def mutate_members(rng, members: list[tuple[str, bytes]]) -> list[tuple]:
    members = list(members)
    kind = rng.choice(["swap", "rename", "drop", "duplicate", "header", "deflate", "deflate-lie", "plain"])
    i, j = rng.randrange(len(members)), rng.randrange(len(members))
    name, content = members[i]
    if kind == "swap":
        members[i], members[j] = (name, members[j][1]), (members[j][0], content)
    elif kind == "rename":
        members[i] = (rng.choice([m for m, _ in members] + ["meta.npy", "W1.npy", "order.npy", "x"]), content)
    elif kind == "drop":
        del members[i]
    elif kind == "duplicate":
        members.append(members[i])
    elif kind == "header":
        members[i] = npy_header_change(rng, name, content)
    elif kind in ("deflate", "deflate-lie"):
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = packer.compress(content) + packer.flush()
        size = len(content) if kind == "deflate" else rng.choice([0, len(content) // 2, len(content) * 3, 2**31])
        members[i] = (name, packed, DEFLATED, size, zlib.crc32(content))
    else:
        members[i] = (name.removesuffix(".npy"), content)
    return members


def hostile_meta(rng, content: bytes, within: str | None = None) -> bytes:
    """The member ``meta.npy`` with one value (at any depth, or within one entry) replaced, added
    or removed."""
    meta = json.loads(str(np.load(io.BytesIO(content), allow_pickle=False)))
    holders = []
    stack = [meta if within is None else meta[within]]
    while stack:
        item = stack.pop()
        if isinstance(item, dict) and item:
            holders.append(item)
            stack.extend(item.values())
        elif isinstance(item, list) and item:
            holders.append(item)
            stack.extend(item)
    holder = rng.choice(holders)
    key = rng.choice(list(holder)) if isinstance(holder, dict) else rng.randrange(len(holder))
    action = rng.random()
    if action < 0.15 and isinstance(holder, dict):
        del holder[key]
    elif action < 0.25 and isinstance(holder, dict):
        holder["extra"] = rng.choice(HOSTILE_VALUES)
    else:
        holder[key] = rng.choice(HOSTILE_VALUES)
    return npy_bytes(np.array(json.dumps(meta)))


def checkpoint_array(rng, members: list[tuple[str, bytes]], n_train: int) -> list[tuple]:
    """A checkpoint's own arrays made wrong: the data order, histories, pins."""
    out = []
    for name, content in members:
        if name == "order.npy" and rng.random() < 0.7:
            order = np.load(io.BytesIO(content))
            content = npy_bytes(rng.choice([np.zeros_like(order), order + n_train, order - 1, order[::-1].copy(),
                                            order[:-1], order.astype(np.float64), order.astype(np.uint8)]))
        elif name.endswith("history.npy") and rng.random() < 0.3:
            content = npy_bytes(rng.choice([np.zeros((4, 3)), np.full((5, 2), np.nan), np.zeros((5, 5000))]))
        elif name.startswith("pin_") and rng.random() < 0.5:
            content = npy_bytes(rng.choice([np.zeros(3), np.full((2, 2), np.inf), np.zeros((2, 2, 2))]))
        out.append((name, content))
    return out


def mutated_npz(rng, path, n_train: int | None, target) -> str:
    """Write a mutation of the .npz ``path`` to ``target``; returns what was done."""
    members = npz_members(path)
    meta_at = [i for i, (name, _) in enumerate(members) if name == "meta.npy"][0]
    choice = rng.random()
    if choice < 0.3:
        mutation = rng.choice(BYTE_MUTATIONS)
        target.write_bytes(mutation(rng, path.read_bytes()))
        return mutation.__name__
    if choice < 0.55:
        members[meta_at] = ("meta.npy", hostile_meta(rng, members[meta_at][1]))
        write_zip(target, members)
        return "meta"
    if n_train is not None and choice < 0.7:
        members[meta_at] = ("meta.npy", hostile_meta(rng, members[meta_at][1], within="config"))
        write_zip(target, members)
        return "config"
    if n_train is not None and choice < 0.82:
        write_zip(target, checkpoint_array(rng, members, n_train))
        return "arrays"
    write_zip(target, mutate_members(rng, members), garble_crc=rng.random() < 0.1)
    return "members"


# -- mutations of IDX folders ----------------------------------------------------------------------------

def idx_header_field(rng, content: bytes) -> bytes:
    out = bytearray(content)
    field = rng.randrange(max(1, min(4, (len(out) - 4) // 4)) + 1)
    value = rng.choice([0, 1, 2, 255, 0xFFFFFFFF, 10**9, rng.randrange(2**32), 0x803, 0x801])
    struct.pack_into(">L", out, 4 * field, value)
    return bytes(out)


def mutated_folder(rng, originals, folder) -> str:
    folder.mkdir()
    files = dict(originals["idx"])
    name = rng.choice(STANDARD_NAMES)
    kind = rng.choice(["truncate", "flip", "overwrite", "splice", "header", "header", "labels", "swap", "gzip",
                       "gzip-damaged", "garbage", "gzip-members", "gzip-padded"])
    content = files[name]
    if kind == "truncate":
        files[name] = truncate(rng, content)
    elif kind == "flip":
        files[name] = flip_bits(rng, content)
    elif kind == "overwrite":
        files[name] = overwrite(rng, content)
    elif kind == "splice":
        files[name] = splice(rng, content)
    elif kind == "header":
        files[name] = idx_header_field(rng, content)
    elif kind == "labels":
        label_name = rng.choice([TRAIN_LABELS, TEST_LABELS])
        labels = bytearray(files[label_name])
        for _ in range(rng.randint(1, 5)):
            labels[rng.randrange(8, len(labels))] = rng.choice([3, 9, 200, 255, rng.randrange(256)])
        files[label_name] = bytes(labels)
    elif kind == "swap":
        other = rng.choice(STANDARD_NAMES)
        files[name], files[other] = files[other], files[name]
    elif kind == "garbage":
        files[name] = content + os.urandom(rng.randint(1, 40))
    elif kind == "gzip-members":  # valid: a gzip file may hold several members
        cuts = sorted(rng.randrange(len(content)) for _ in range(rng.randint(1, 4)))
        pieces = [content[a:b] for a, b in zip([0, *cuts], [*cuts, len(content)])]
        files[name] = b"".join(gzip.compress(piece, compresslevel=rng.randint(0, 9)) for piece in pieces)
    elif kind == "gzip-padded":  # valid: and be padded with zeros
        files[name] = gzip.compress(content) + bytes(rng.randint(1, 3000))
    else:
        packed = gzip.compress(content, compresslevel=1)
        files[name] = packed if kind == "gzip" else rng.choice(BYTE_MUTATIONS)(rng, packed)
    for file_name, data in files.items():
        (folder / file_name).write_bytes(data)
    return f"{kind} {name}"


# -- the cases -----------------------------------------------------------------------------------------

@contextlib.contextmanager
def alarm(seconds: float, case: str):
    """Turn a hang into a failure (POSIX); elsewhere, the time is checked afterwards."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def hung(signum, frame):
        raise TimeoutError(f"{case}: still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_case(kind: str, number: int, originals, tmp_path) -> str:
    """Run one case; returns 'loaded' or 'refused' (any other outcome fails the test)."""
    rng = random.Random(f"issue-18:{kind}:{number}")
    target = tmp_path / f"{kind}-{number}"
    if kind == "model":
        what = mutated_npz(rng, originals["model"], None, target.with_suffix(".npz"))
        load = lambda: load_model(target.with_suffix(".npz"))  # noqa: E731
        expected = ModelFileError
    elif kind == "checkpoint":
        what = mutated_npz(rng, originals["checkpoint"], 40, target.with_suffix(".npz"))
        load = lambda: load_checkpoint(target.with_suffix(".npz"), originals["data"])  # noqa: E731
        expected = ModelFileError
    else:
        what = mutated_folder(rng, originals, target)
        load = lambda: load_mnist(target)  # noqa: E731
        expected = DataError
        if what.startswith(("gzip-members", "gzip-padded")):  # still valid: must load as it was
            loaded = load()
            for field in ("train_images", "train_y", "test_images", "test_y"):
                np.testing.assert_array_equal(getattr(loaded, field), getattr(originals["data"], field))
            return "loaded"
    case = f"{kind}:{number} ({what})"
    with alarm(CASE_SECONDS, case):
        try:
            loaded = load()
        except expected as exc:
            message = str(exc)
            assert "\n" not in message and str(target.with_suffix(".npz") if kind != "data" else target) in message, \
                f"{case}: {message!r}"
            return "refused"
        except Exception as exc:  # noqa: BLE001 - the point of the test
            raise AssertionError(f"{case}: {type(exc).__name__}: {exc}") from exc
        try:
            use(kind, loaded, originals)
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"{case} loaded but then failed: {type(exc).__name__}: {exc}") from exc
    return "loaded"


def use(kind: str, loaded, originals) -> None:
    """What loaded must work: predict, train on, show."""
    if kind == "model":
        net, _ = loaded
        probs = net.predict_proba(originals["data"].test_x.astype(net.dtype))
        assert probs.shape == (12, 3)
    elif kind == "checkpoint":
        trainer, _ = loaded
        trainer.run(max_steps=3)
        trainer.evaluate_test()
        trainer.snapshot()
    else:
        trainer = Trainer(loaded, CONFIG.replace(batch_size=4))
        trainer.run(max_steps=2)
        trainer.snapshot()


def test_fuzzed_models_checkpoints_and_idx_folders_load_or_are_refused_cleanly(originals, tmp_path):
    only = os.environ.get("FUZZ_CASE")
    cases = [(kind, n) for kind, count in CASES.items() for n in range(count)]
    if only:
        kind, number = only.split(":")
        cases = [(kind, int(number))]
    started = time.perf_counter()
    outcomes = {}
    for kind, number in cases:
        outcome = check_case(kind, number, originals, tmp_path)
        outcomes[kind, outcome] = outcomes.get((kind, outcome), 0) + 1
    seconds = time.perf_counter() - started
    print(f"{len(cases)} cases in {seconds:.1f} s: {outcomes}")
    assert sum(outcomes.values()) == len(cases) >= (1 if only else 500)
    if not only:  # the mutations must exercise both ways out
        for kind in CASES:
            assert outcomes.get((kind, "refused"), 0) > CASES[kind] // 3, outcomes
    assert seconds < 60


def test_the_unmutated_files_load(originals):
    load_model(originals["model"])
    trainer, _ = load_checkpoint(originals["checkpoint"], originals["data"])
    assert trainer.step_count == 7 and trainer.pins == (1, 4) and len(trainer.drawn_pins) == 1
    with zipfile.ZipFile(originals["checkpoint"]) as zf:
        assert {"order.npy", "pin_1.npy", "pin_-1.npy", "drawn_pin_0.npy"} <= set(zf.namelist())
    assert isinstance(ModelFileError("x"), FileError) and isinstance(DataError("x"), FileError)
