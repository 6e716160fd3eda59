"""Saving safely (issue 18, points 4 and 10): a save that fails keeps the trained result (saved
beside the target or in the temporary folder, and the message says where); a file-size limit
too small for the file is reported before training; temporary files of killed saves are removed
by the next save; saving keeps an existing file's permissions and writes through symbolic links,
as editors do.
"""

from __future__ import annotations

import errno
import io
import os
import resource
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from forgery import child_env

import nn.files
from nn.cli import main
from nn.files import SaveError, atomic_write, stale_temporaries
from nn.model_io import load_model, save_model
from nn.network import Network

QUICK = ["--hidden", "16", "--optimizer", "adam", "--lr", "0.01", "--batch-size", "100", "--iterations", "30",
         "--activation", "relu", "--quiet"]


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(map(str, argv)), out, err)
    return code, out.getvalue(), err.getvalue()


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.endswith("\n") and "Traceback" not in err, repr(err)
    return err


def small_net(seed=1) -> Network:
    return Network.initialized((12, 5, 3), "tanh", "xavier", seed=seed)


def temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# -- 4. disk full, file-size limit ---------------------------------------------------------------------

@pytest.fixture
def full_disk(monkeypatch, tmp_path):
    """The disk of ``tmp_path / "target"`` is full (renames into it fail with ENOSPC); the
    temporary folder is ``tmp_path / "tmp"``, on another (roomy) disk."""
    target_dir = tmp_path / "target"
    target_dir.mkdir()
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr("tempfile.tempdir", None)
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if os.path.dirname(os.path.abspath(dst)) == str(target_dir):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(nn.files.os, "replace", replace)
    return target_dir


def test_a_full_disk_at_the_end_keeps_the_model_in_the_temporary_folder(full_disk, tmp_path, small_mnist_dir):
    target = full_disk / "model.npz"
    code, out, err = run_cli("train", "--data-dir", small_mnist_dir, "--save", target, *QUICK)
    assert code == 2
    one_line(err)
    assert err.startswith(f"softmax-train: error: {target}: cannot be written (the disk is full); the model was "
                          f"saved to {tmp_path / 'tmp'}")
    rescued = err.rstrip().rsplit(" saved to ", 1)[1].removesuffix(" instead")
    net, meta = load_model(rescued)
    assert net.layer_sizes == (784, 16, 10) and meta["metrics"]["steps"] == 30
    assert out.splitlines()[-1].startswith("Test Accuracy: ")  # the run itself was reported
    assert not target.exists() and temporaries(full_disk) == []


def test_a_failed_save_keeps_the_old_file_intact(full_disk):
    target = full_disk / "model.npz"
    target.write_bytes(b"the old model")
    with pytest.raises(SaveError, match="the disk is full"):
        save_model(target, small_net())
    assert target.read_bytes() == b"the old model" and temporaries(full_disk) == []


def test_when_no_rescue_works_either_the_message_says_so(monkeypatch, tmp_path, small_mnist_dir):
    def replace(src, dst, *args, **kwargs):
        raise OSError(errno.EFBIG, "File too large")

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.setattr(nn.files.os, "replace", replace)
    target = tmp_path / "out" / "model.npz"
    target.parent.mkdir()
    code, out, err = run_cli("train", "--data-dir", small_mnist_dir, "--save", target, *QUICK)
    assert code == 2
    one_line(err)
    assert str(target) in err and "file-size limit" in err and "could not be saved elsewhere either" in err


def limited_child(limit_bytes: int, *argv: str) -> subprocess.CompletedProcess:
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", "nn", *map(str, argv)], capture_output=True, text=True,
                          env=child_env(), preexec_fn=limit, timeout=120)


@pytest.mark.skipif(sys.platform == "win32", reason="no file-size limits")
@pytest.mark.parametrize("option", ["--save", "--save-checkpoint"])
def test_a_file_size_limit_too_small_is_reported_before_training(tmp_path, small_mnist_dir, option):
    """``ulimit -f 100``: the file would not fit, so the run does not start (was: a traceback after
    training, and the model lost)."""
    target = tmp_path / "out.npz"
    started = time.perf_counter()
    done = limited_child(100 * 1024, "train", "--data-dir", small_mnist_dir, option, target,
                         "--hidden", "64", "--iterations", "5")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"softmax-train: error: {target}: the file will be about ")
    assert "file-size limit of 100.0 KB (ulimit -f)" in one_line(done.stderr)
    assert "Accuracy" not in done.stdout and not target.exists()
    assert time.perf_counter() - started < 30  # (a child: start-up, imports, data)


# -- 4. temporary files of killed saves ---------------------------------------------------------------

def test_the_temporary_file_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    """kill -9 in the middle of a save leaves ``.model.npz.<pid>.<random>.tmp``; the next save to
    the same file removes it, but never the temporary file of a save still going on."""
    target = tmp_path / "model.npz"
    script = textwrap.dedent(f"""
        import sys, time
        from nn.files import atomic_write

        def slow(f):
            f.write(b"half a model")
            f.flush()
            print("writing", flush=True)
            time.sleep(60)

        atomic_write({str(target)!r}, slow)
    """)
    killed = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=child_env())
    alive = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        assert killed.stdout.readline() == "writing\n" and alive.stdout.readline() == "writing\n"
        killed.kill()
        killed.wait(timeout=30)
        left = temporaries(tmp_path)
        of_killed = [n for n in left if n.startswith(f".model.npz.{killed.pid}.")]
        of_alive = [n for n in left if n.startswith(f".model.npz.{alive.pid}.")]
        assert len(left) == 2 and len(of_killed) == 1 and len(of_alive) == 1, left
        assert [p.name for p in stale_temporaries(target)] == of_killed
        save_model(target, small_net())
        assert temporaries(tmp_path) == of_alive  # a save still going on keeps its file
        load_model(target)
    finally:
        alive.kill()
        alive.wait(timeout=30)
        killed.wait(timeout=30)


def test_old_temporaries_without_a_process_id_are_removed_after_an_hour(tmp_path):
    target = tmp_path / "model.npz"
    old = tmp_path / ".model.npz.k3j_x9a2.tmp"  # what saves before this change left
    recent = tmp_path / ".model.npz.abcd1234.tmp"
    other = tmp_path / ".other.npz.k3j_x9a2.tmp"
    users = tmp_path / ".model.npz.my-notes.tmp"  # not a name a save makes: never removed
    for path in (old, recent, other, users):
        path.write_bytes(b"x")
    two_days_ago = time.time() - 2 * 86400
    for path in (old, other, users):
        os.utime(path, (two_days_ago, two_days_ago))
    atomic_write(target, b"content")
    assert temporaries(tmp_path) == sorted([recent.name, other.name, users.name])


# -- 10. permissions and symbolic links ------------------------------------------------------------------

@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o664])
def test_saving_over_a_file_keeps_its_permissions(tmp_path, mode):
    target = tmp_path / "model.npz"
    save_model(target, small_net(1))
    os.chmod(target, mode)
    save_model(target, small_net(2))
    assert stat.S_IMODE(os.stat(target).st_mode) == mode
    np.testing.assert_array_equal(load_model(target)[0].params[0], small_net(2).params[0])


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_usual_permissions(tmp_path, umask):
    previous = os.umask(umask)
    try:
        atomic_write(tmp_path / "new.npz", b"x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o666 & ~umask


@pytest.mark.skipif(os.name == "nt", reason="symbolic links")
def test_saving_to_a_symbolic_link_writes_the_file_it_points_to(tmp_path):
    real_dir = tmp_path / "models"
    real_dir.mkdir()
    real = real_dir / "current.npz"
    save_model(real, small_net(1))
    os.chmod(real, 0o644)
    link = tmp_path / "link.npz"
    link.symlink_to(os.path.join("models", "current.npz"))  # a relative link
    save_model(link, small_net(2))
    assert link.is_symlink() and os.readlink(link) == os.path.join("models", "current.npz")
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o644
    np.testing.assert_array_equal(load_model(real)[0].params[0], small_net(2).params[0])
    assert temporaries(tmp_path) == [] and temporaries(real_dir) == []


@pytest.mark.skipif(os.name == "nt", reason="symbolic links")
def test_a_dangling_link_creates_the_file_it_points_to(tmp_path):
    link = tmp_path / "link.npz"
    link.symlink_to(tmp_path / "target.npz")
    save_model(link, small_net())
    assert link.is_symlink() and (tmp_path / "target.npz").is_file()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_device_or_pipe_in_place_of_the_file_is_not_replaced(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    with pytest.raises(SaveError, match="not a regular file"):
        save_model(fifo, small_net())
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    code, out, err = run_cli("train", "--save", fifo, "--iterations", "1")
    assert code == 2 and "not a regular file" in one_line(err)


def test_save_errors_are_oserrors_and_one_line_file_errors(tmp_path):
    with pytest.raises(OSError) as excinfo:
        atomic_write(tmp_path / "missing" / "x.npz", b"x")
    assert isinstance(excinfo.value, nn.files.FileError)
    assert str(excinfo.value) == f"{tmp_path / 'missing' / 'x.npz'}: cannot be written (the folder " \
                                 f"{tmp_path / 'missing'} does not exist)"


def test_a_closed_output_does_not_lose_the_trained_model(tmp_path, small_mnist_dir):
    """``python -m nn train ... | head -1``: the output closes early; the run goes on and saves."""
    target = tmp_path / "model.npz"
    child = subprocess.Popen([sys.executable, "-m", "nn", "train", "--data-dir", str(small_mnist_dir), "--save",
                              str(target), "--hidden", "16", "--optimizer", "adam", "--batch-size", "100",
                              "--iterations", "200"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
    assert child.stdout.readline().startswith("Training ")
    child.stdout.close()  # (what head does after its line)
    err = child.stderr.read()
    assert child.wait(timeout=120) == 0, err
    assert "Traceback" not in err
    assert load_model(target)[1]["metrics"]["steps"] == 200
