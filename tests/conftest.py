"""Shared fixtures for the engine and GUI tests.

Every test runs against a temporary home, settings, data and cache location, set here before
anything imports Qt (and inherited by the programs tests start): the suite never reads or writes
the settings or autosaves of the person who runs it. Each test gets its own, too
(``isolated_app_settings``).

* ``mnist`` / ``small_mnist``: the bundled data set, loaded once per session (read-only arrays).
* ``write_idx``: write one IDX file (raw or gzip) from a uint8 array.
* ``tmp_idx_dir``: a factory that writes an MNIST-format folder (the four standard files).
* ``small_mnist_dir``: a session-wide MNIST-format folder with the first bundled samples.
"""

from __future__ import annotations

import os
import shutil
import tempfile

# Before anything can import Qt: Qt finds settings and app data through these (and caches where).
USER_DIR_VARIABLES = ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")
USERS_OWN = {name: os.environ.get(name) for name in USER_DIR_VARIABLES}  # as the person left them
TEST_ROOT = os.path.realpath(tempfile.mkdtemp(prefix="softmax-visualizer-tests-"))

# Before anything can import Qt: GUI tests must run without a display (CI, ssh, containers), on
# a screen of a common desktop size (the offscreen platform's own is 800 x 800, and the window
# adapts its layout to the screen). Tests of other screen sizes set their own.
SCREEN = os.path.join(TEST_ROOT, "screen-1920x1080.json")
with open(SCREEN, "w") as _file:
    _file.write('{"screens": [{"name": "test", "x": 0, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96}]}')
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={SCREEN}"


def _keep_pip_setup() -> None:
    """pip (the packaging test installs the checkout) keeps the person's cache and configuration,
    which it would otherwise look for in the temporary home."""
    home = USERS_OWN["HOME"] or os.path.expanduser("~")
    cache = USERS_OWN["XDG_CACHE_HOME"] or os.path.join(home, ".cache")
    os.environ.setdefault("PIP_CACHE_DIR", os.path.join(cache, "pip"))
    config = USERS_OWN["XDG_CONFIG_HOME"] or os.path.join(home, ".config")
    for candidate in (os.path.join(config, "pip", "pip.conf"), os.path.join(home, ".pip", "pip.conf")):
        if "PIP_CONFIG_FILE" not in os.environ and os.path.isfile(candidate):
            os.environ["PIP_CONFIG_FILE"] = candidate


_keep_pip_setup()
for _name in USER_DIR_VARIABLES:
    os.environ[_name] = os.path.join(TEST_ROOT, _name.lower())
    os.makedirs(os.environ[_name])

from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import pytest  # noqa: E402
from idx_files import REPO_ROOT, idx_bytes, random_idx_arrays, write_idx, write_mnist_subset  # noqa: E402,F401

import nn.data  # noqa: E402


@pytest.fixture(name="write_idx")
def write_idx_fixture() -> Callable[..., Path]:
    return write_idx


@pytest.fixture
def tmp_idx_dir(tmp_path) -> Callable[..., Path]:
    """Factory: ``tmp_idx_dir(train_images, train_labels, test_images, test_labels, gz=False,
    name="idx", skip=(), magic={})`` writes the four standard IDX files into a new folder under
    ``tmp_path`` and returns the folder.

    Any array left as None comes from :func:`random_idx_arrays` (200 train / 50 test 28x28).
    ``gz`` may be a bool or a set of standard names to compress; ``skip`` names files not to write;
    ``magic`` maps a standard name to a magic number to write instead of the right one.
    """
    counter = iter(range(1_000_000))

    def make(train_images=None, train_labels=None, test_images=None, test_labels=None, *,
             gz=False, name: str | None = None, skip=(), magic: dict | None = None) -> Path:
        defaults = random_idx_arrays()
        arrays = {
            nn.data.TRAIN_IMAGES: defaults[0] if train_images is None else train_images,
            nn.data.TRAIN_LABELS: defaults[1] if train_labels is None else train_labels,
            nn.data.TEST_IMAGES: defaults[2] if test_images is None else test_images,
            nn.data.TEST_LABELS: defaults[3] if test_labels is None else test_labels,
        }
        folder = tmp_path / (name or f"idx{next(counter)}")
        folder.mkdir(parents=True, exist_ok=True)
        for file_name, array in arrays.items():
            if file_name in skip:
                continue
            compress = gz if isinstance(gz, bool) else file_name in gz
            write_idx(folder / file_name, array, gz=compress, magic=(magic or {}).get(file_name))
        return folder

    return make


@pytest.fixture(scope="session")
def mnist() -> nn.data.Dataset:
    """The bundled MNIST (60000 train / 10000 test), loaded and SHA-checked once per session."""
    return nn.data.load_mnist()


@pytest.fixture(scope="session")
def small_mnist(mnist) -> nn.data.Dataset:
    """The first 3000 training and 1000 test samples of the bundled MNIST."""
    return mnist.subset(3000, 1000)


@pytest.fixture(scope="session")
def small_mnist_dir(mnist, tmp_path_factory) -> Path:
    """An MNIST-format folder (raw IDX) with the first 2000 train / 500 test bundled samples."""
    return write_mnist_subset(tmp_path_factory.mktemp("small_mnist"), mnist, 2000, 500)


@pytest.fixture
def mnist_subset_dir(mnist, tmp_path) -> Callable[..., Path]:
    """Factory: ``mnist_subset_dir(n_train, n_test, gz=False, name="mnist_subset")`` writes the
    first bundled samples as an MNIST-format folder under ``tmp_path`` and returns it."""

    def make(n_train: int, n_test: int, gz: bool = False, name: str = "mnist_subset") -> Path:
        return write_mnist_subset(tmp_path / name, mnist, n_train, n_test, gz=gz)

    return make


def pytest_collection_finish(session):
    """The selected long command-line runs start now, beside the rest of the suite (see
    background_runs)."""
    import background_runs

    for item in session.items:
        if item.nodeid in background_runs.RUNS:
            background_runs.start(item.nodeid)


def pytest_unconfigure(config):
    import background_runs

    background_runs.stop_all()
    shutil.rmtree(TEST_ROOT, ignore_errors=True)


@pytest.fixture(scope="session")
def test_root() -> Path:
    """The temporary folder that holds every test's home, settings, data and cache."""
    return Path(TEST_ROOT)


@pytest.fixture(scope="session")
def users_own_dirs() -> dict:
    """HOME and the XDG_* folders as they were before the tests replaced them (None if unset)."""
    return dict(USERS_OWN)


@pytest.fixture(autouse=True)
def isolated_app_settings(monkeypatch):
    """Each test gets its own home, settings and app-data folder, so what one test's window
    remembers (last configuration, layout, recent files, autosaves) never leaks into another test."""
    root = Path(tempfile.mkdtemp(prefix="test-", dir=TEST_ROOT))
    for name in USER_DIR_VARIABLES:
        (root / name.lower()).mkdir()
        monkeypatch.setenv(name, str(root / name.lower()))
    try:
        from PyQt6.QtCore import QSettings
    except ImportError:  # engine-only environments
        yield
        return
    # QSettings reads XDG_CONFIG_HOME once per process; QStandardPaths reads the environment each time.
    for kind in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(kind, QSettings.Scope.UserScope, str(root / "xdg_config_home"))
    yield


@pytest.fixture(autouse=True)
def collect_garbage_between_tests():
    """pyqtgraph maps C++ addresses to Python wrappers in a weak cache (GraphicsScene._addressCache).
    A wrapper kept alive by a reference cycle after its C++ item was freed can be handed out for a
    new item at the same address, which crashes Qt; collecting cycles after each test prevents it."""
    yield
    import gc

    gc.collect()
