"""A real (non-editable) install into a fresh virtual environment works away from the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from idx_files import REPO_ROOT

pytestmark = pytest.mark.slow


def _clean_env(venv_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONSAFEPATH")}
    env["VIRTUAL_ENV"] = str(venv_dir)
    env["PATH"] = str(venv_dir / "bin") + os.pathsep + env.get("PATH", "")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(args, cwd, env, timeout):
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, (
        f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def installed_venv(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    venv_dir = tmp_path_factory.mktemp("install") / "venv"
    try:
        venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(venv_dir)
    except Exception as exc:  # e.g. ensurepip missing from a stripped-down Python
        pytest.skip(f"cannot create a virtual environment here: {exc}")
    python = venv_dir / "bin" / "python"
    if not python.exists():
        pytest.skip(f"venv creation produced no interpreter at {python}")
    env = _clean_env(venv_dir)
    # A plain, full, non-editable install of the checkout (pip caches the dependency wheels).
    _run([python, "-m", "pip", "install", "--quiet", str(REPO_ROOT)], cwd=venv_dir.parent, env=env, timeout=1200)
    return venv_dir, env


def test_installed_package_loads_the_bundled_data_from_site_packages(installed_venv, tmp_path):
    venv_dir, env = installed_venv
    python = venv_dir / "bin" / "python"
    out = _run([python, "-c", "from nn.data import load_mnist; d=load_mnist(); print(len(d.train_y))"],
               cwd=tmp_path, env=env, timeout=300)
    assert out.strip() == "60000"
    where = _run([python, "-c",
                  "import nn, nn.paths, sysconfig; print(nn.__file__); print(nn.paths.assets_dir()); "
                  "print(sysconfig.get_paths()['purelib'])"],
                 cwd=tmp_path, env=env, timeout=120).splitlines()
    package_file, assets, site_packages = (Path(line).resolve() for line in where[-3:])
    assert site_packages.is_relative_to(venv_dir.resolve())
    assert package_file.is_relative_to(site_packages), f"nn imported from {package_file}, not the install"
    assert assets.is_relative_to(site_packages), f"assets found at {assets}, not inside {site_packages}"
    assert not assets.is_relative_to(REPO_ROOT.resolve())
    assert sorted(p.name for p in (assets / "mnist").glob("*-ubyte*")) == sorted(
        ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "train-labels-idx1-ubyte.gz"])


def test_console_script_is_installed(installed_venv, tmp_path):
    venv_dir, env = installed_venv
    script = venv_dir / "bin" / "softmax-train"
    assert script.exists()
    out = _run([script, "--help"], cwd=tmp_path, env=env, timeout=120)
    assert "train" in out and "evaluate" in out
    out = _run([script, "train", "--help"], cwd=tmp_path, env=env, timeout=120)
    assert "--data-dir" in out
    bad = subprocess.run([str(script), "train", "--hidden", "abc"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_install_does_not_depend_on_the_running_interpreter_paths(installed_venv):
    venv_dir, env = installed_venv
    out = _run([venv_dir / "bin" / "python", "-c", "import sys; print(sys.prefix); print(sys.base_prefix)"],
               cwd=venv_dir, env=env, timeout=60).splitlines()
    assert Path(out[0]).resolve() == venv_dir.resolve()
    assert Path(sys.prefix).resolve() != venv_dir.resolve()
