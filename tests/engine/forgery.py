"""Building hostile files for the tests (small on disk, whatever they claim), and running the
command line in a child process that reports its exit code, peak memory growth and time."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import numpy as np
from idx_files import REPO_ROOT

# -- zip archives (.npz) written by hand, so sizes and headers can say anything -----------------

STORED, DEFLATED = 0, 8


def npz_members(path: Path | str) -> list[tuple[str, bytes]]:
    """The (name, content) of every member of a (valid) .npz, in order."""
    with zipfile.ZipFile(path) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def write_zip(path: Path | str, members: list[tuple], *, garble_crc: bool = False) -> Path:
    """Write a zip of ``members``: (name, content) stored as is, or (name, data, method,
    declared_size, crc) for members whose data is already compressed and whose declared size and
    CRC may lie."""
    path = Path(path)
    with open(path, "wb") as f:
        central = []
        for member in members:
            if len(member) == 2:
                name, data = member
                method, size, crc = STORED, len(data), zlib.crc32(data)
            else:
                name, data, method, size, crc = member
            crc = crc ^ 0xFFFF if garble_crc else crc
            encoded = name.encode()
            offset = f.tell()
            f.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(data), size,
                                len(encoded), 0))
            f.write(encoded)
            f.write(data)
            central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, len(data),
                                       size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
        start = f.tell()
        for record in central:
            f.write(record)
        f.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central) & 0xFFFF, len(central) & 0xFFFF,
                            f.tell() - start, start, 0))
    return path


def deflated_zeros(n_bytes: int, prefix: bytes = b"", chunk: int = 1 << 20, final: bool = True) -> bytes:
    """A raw deflate stream that inflates to ``prefix`` and then ``n_bytes`` zero bytes (rounded
    down to whole ``chunk``s), built without ever holding the zeros: one compressed chunk, flushed
    so it stands alone, repeated."""
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = head.compress(prefix) + head.flush(zlib.Z_FULL_FLUSH) if prefix else b""
    body = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = body.compress(bytes(chunk)) + body.flush(zlib.Z_FULL_FLUSH)
    end = b"\x03\x00" if final else b""  # an empty final block
    return start + block * (n_bytes // chunk) + end


def npy_bytes(array: np.ndarray | None = None, *, header: dict | None = None, data: bytes | None = None) -> bytes:
    """An .npy member: a real array's, or any header dict followed by any data."""
    buffer = io.BytesIO()
    if header is None:
        np.lib.format.write_array(buffer, array, allow_pickle=False)
        return buffer.getvalue()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + (data or b"")


def npz_with(path: Path | str, source: Path | str, replace: dict[str, bytes | tuple | None] | None = None,
             add: list[tuple] = ()) -> Path:
    """A copy of the .npz ``source`` with members replaced (None removes one) and added."""
    replace = replace or {}
    members = []
    for name, content in npz_members(source):
        new = replace.get(name, content)
        if new is None:
            continue
        members.append(new if isinstance(new, tuple) else (name, new))
    return write_zip(path, members + list(add))


def gzip_bomb(idx_header: bytes, zero_bytes: int) -> bytes:
    """A gzip file holding an IDX header and then ``zero_bytes`` zeros (about 1/1000 of that on
    disk). Its trailer's CRC is not computed (that would mean producing the zeros)."""
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    body = deflated_zeros(zero_bytes, prefix=idx_header)
    return header + body + struct.pack("<LL", 0, (len(idx_header) + zero_bytes) & 0xFFFFFFFF)


def idx_header(magic: int, *dims: int) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)


# -- running the command line in a child process, measured -----------------------------------------

_CHILD = textwrap.dedent("""
    import json, resource, sys, time
    import numpy
    import sklearn.preprocessing  # (imported by the data loader; part of the baseline, not the run)
    import nn.cli

    numpy.ones((64, 64)) @ numpy.ones((64, 64))  # (BLAS's buffers are part of the baseline too)
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

    base = peak()
    started = time.perf_counter()
    code = nn.cli.main(sys.argv[2:])
    report = {"code": code, "grown": peak() - base, "seconds": time.perf_counter() - started}
    with open(sys.argv[1], "w") as f:
        json.dump(report, f)
""")


def child_env() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))


def run_measured(tmp_path: Path, *argv: str, timeout: float = 120) -> tuple[dict, str, str]:
    """Run ``python -m nn ARGV`` in a child process: (report with the exit code, the growth of
    its peak RSS over its baseline in bytes and the seconds the command took; stdout; stderr)."""
    report_path = tmp_path / f"report-{os.urandom(4).hex()}.json"
    done = subprocess.run([sys.executable, "-c", _CHILD, str(report_path), *argv], capture_output=True, text=True,
                          env=child_env(), timeout=timeout)
    assert report_path.exists(), f"the child did not finish (exit {done.returncode}):\n{done.stderr}"
    return json.loads(report_path.read_text()), done.stdout, done.stderr
