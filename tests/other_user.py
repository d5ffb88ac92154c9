"""Running this installation's ``peerclass`` as another user (uid 65534), wherever it lies.

A test that shows what another user sees must run our code as that user. When the checkout or
its venv lies in a directory only we can read (a clone under a fresh ``mktemp -d``, a 0700
home), that user's Python cannot import it; so the packages it loads (ours and the
dependencies ``peerclass`` declares) are made reachable in a temporary directory it can read,
hard-linked where the file system allows (copied where not), and named in ``PYTHONPATH``.
When even that cannot be arranged, the test is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
#: Our own packages: an editable install maps them to the checkout, so they come from there.
OURS = ("peer", "storage", "migrations")


@attrs.frozen
class Nobody:
    """How to run this installation's Python as uid 65534: ``[*command, "-m", "peer", ...]``
    in ``env``."""

    command: list[str]
    env: dict[str, str]


@contextlib.contextmanager
def python_as_nobody() -> Iterator[Nobody]:
    """Python as uid 65534, able to import this installation of ``peer``; skips the calling
    test, with the reason, when that cannot be arranged."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("running a command as another user needs root and setpriv")
    as_is = Nobody([*NOBODY, sys.executable], dict(os.environ))
    if _imports_peer(as_is):
        yield as_is
        return
    with tempfile.TemporaryDirectory(prefix="peerclass-as-nobody-") as place:
        root = Path(place)
        root.chmod(0o755)
        _make_reachable(root)
        # A venv's interpreter inside an unreadable directory cannot even be started: its
        # base interpreter (the same Python) can, with the copy on its path.
        env = {**os.environ, "PYTHONPATH": str(root)}
        for python in dict.fromkeys([sys.executable, os.path.realpath(sys.executable)]):
            nobody = Nobody([*NOBODY, python], env)
            if _imports_peer(nobody):
                yield nobody
                return
        pytest.skip(
            f"uid 65534 cannot import peerclass: neither {sys.executable}'s installation nor a "
            f"copy in {root} is readable to it, or it cannot start {sys.executable} or "
            f"{os.path.realpath(sys.executable)} (is {root.parent} open to others?)"
        )


def _imports_peer(nobody: Nobody) -> bool:
    probe = subprocess.run(
        [*nobody.command, "-c", "import peer.cli"],
        capture_output=True,
        timeout=60,
        cwd="/",
        env=nobody.env,
    )
    return probe.returncode == 0


def _make_reachable(root: Path) -> None:
    """Place our packages and the files of every distribution ``peerclass`` needs at run time
    (its requirements, recursively; extras left out) under ``root``."""
    for name in OURS:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.submodule_search_locations, name
        source = Path(next(iter(spec.submodule_search_locations)))
        shutil.copytree(
            source, root / name, copy_function=_link, ignore=shutil.ignore_patterns("__pycache__")
        )
    for dist in _needed("peerclass"):
        for file in dist.files or ():
            source = Path(str(dist.locate_file(file)))
            target = root / file
            if ".." in file.parts or not source.is_file() or target.exists():
                continue  # scripts beside the site directory; shared files linked once
            target.parent.mkdir(parents=True, exist_ok=True)
            _link(str(source), str(target))


def _needed(name: str) -> list[importlib.metadata.Distribution]:
    """``name``'s run-time requirements, recursively, as the installed distributions."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = list(importlib.metadata.requires(name) or ())
    while todo:
        requirement = todo.pop()
        if "extra ==" in requirement:
            continue
        match = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert match is not None, requirement
        key = re.sub(r"[-_.]+", "-", match.group(0)).lower()
        if key in found:
            continue
        try:
            dist = importlib.metadata.distribution(key)
        except importlib.metadata.PackageNotFoundError:
            continue  # a requirement for another platform or Python
        found[key] = dist
        todo.extend(dist.requires or ())
    return list(found.values())


def _link(source: str, target: str) -> str:
    """A hard link (the same readable file under a path the other user can reach), or a copy
    across file systems."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    return target
