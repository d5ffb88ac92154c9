"""The wheel takes every file a command needs. Building and installing a real wheel is
``ci/smoke.sh`` (``make smoke``, run by ``.ci/run``): it is too slow for the suite. This test is
its fast guard: every package directory is found by the wheel's package list, and every data
file (templates, static files, the migrations' mako template) matches ``package-data``."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("peer", "storage", "migrations")


def _config() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return dict(tomllib.load(f)["tool"]["setuptools"])


def _package_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).parts)


def test_every_package_and_data_file_goes_into_the_wheel() -> None:
    config = _config()
    include = config["packages"]["find"]["include"]  # type: ignore[index]
    package_data: dict[str, list[str]] = config["package-data"]  # type: ignore[assignment]
    missing_packages, missing_files = [], []
    for root in PACKAGES:
        for directory in [ROOT / root, *(ROOT / root).rglob("*")]:
            if not directory.is_dir() or directory.name == "__pycache__":
                continue
            if (directory / "__init__.py").exists():
                name = _package_of(directory)
                if not any(fnmatch.fnmatchcase(name, pattern) for pattern in include):
                    missing_packages.append(name)
            for file in directory.iterdir():
                if not file.is_file() or file.suffix in (".py", ".pyc"):
                    continue
                owner = _owning_package(file)
                owner_dir = ROOT / Path(*owner.split("."))
                # Globbed as setuptools does: '*' stays within one directory.
                globs = package_data.get(owner, [])
                if not any(file in owner_dir.glob(glob) for glob in globs):
                    missing_files.append(file.relative_to(ROOT).as_posix())
    assert missing_packages == [], "add them to [tool.setuptools.packages.find] include"
    assert missing_files == [], "add them to [tool.setuptools.package-data]"


def _owning_package(file: Path) -> str:
    """The nearest enclosing directory with an ``__init__.py``."""
    directory = file.parent
    while not (directory / "__init__.py").exists():
        directory = directory.parent
    return _package_of(directory)
