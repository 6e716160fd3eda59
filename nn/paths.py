"""Where the bundled assets live, resolved in one place.

In a source checkout (or an editable install) the assets sit at the repository's top level,
next to ``nn/``. A built wheel carries them inside the package as ``nn/assets`` (see
``[tool.hatch.build.targets.wheel.force-include]`` in pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def assets_dir() -> Path:
    for candidate in (_PACKAGE_DIR / "assets", _PACKAGE_DIR.parent / "assets"):
        if (candidate / "mnist").is_dir():
            return candidate
    raise FileNotFoundError(
        "bundled assets not found: looked in "
        f"{_PACKAGE_DIR / 'assets'} and {_PACKAGE_DIR.parent / 'assets'}"
    )


def bundled_mnist_dir() -> Path:
    return assets_dir() / "mnist"
