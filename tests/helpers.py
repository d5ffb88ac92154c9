"""Shared test helpers: run the CLI in-process, make a class of data dirs."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import attrs

from peer.cli._main import main


@attrs.frozen
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def pc(data_dir: Path | None, *args: str) -> CliResult:
    """Run ``peerclass [--data-dir D] ARGS`` in this process, capturing its output."""
    argv = (["--data-dir", str(data_dir)] if data_dir is not None else []) + list(args)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse errors
            code = int(exc.code or 0)
    return CliResult(code, out.getvalue(), err.getvalue())


def pc_ok(data_dir: Path | None, *args: str) -> CliResult:
    result = pc(data_dir, *args)
    assert result.code == 0, f"peerclass {' '.join(args)} failed: {result.err}"
    return result


@attrs.frozen
class ClassDirs:
    instructor: Path
    students: list[Path]
    invite: str

    @property
    def all(self) -> list[Path]:
        return [self.instructor, *self.students]


def make_class(root: Path, students: int = 2, names: list[str] | None = None) -> ClassDirs:
    """An instructor (``teacher``) and ``students`` students, each with an initialised dir."""
    names = names or ["Teacher", *[f"Student{i + 1}" for i in range(students)]]
    teacher = root / "teacher"
    invite = pc_ok(
        teacher, "init", "--name", names[0], "--role", "instructor", "--class", "Test", "--json"
    ).json()["invite"]
    dirs = []
    for i in range(students):
        d = root / f"student{i + 1}"
        pc_ok(d, "init", "--name", names[i + 1], "--invite", invite)
        admit(teacher, d)
        dirs.append(d)
    return ClassDirs(teacher, dirs, invite)


def admit(teacher: Path, student: Path) -> None:
    """Bring ``student``'s log (its join) to the instructor, who admits it to the roster
    (the class invite leaves joiners pending: issue 10)."""
    from storage import Store

    source, target = Store.open(student), Store.open(teacher)
    try:
        me = next(iter(source.heads()))
        target.ingest(source.events_range(me, 0, 1000))
    finally:
        source.close()
        target.close()
    pc_ok(teacher, "admit", me.hex())
