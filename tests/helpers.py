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


def let_read(instructor: Path, submission: str, *readers: Path) -> None:
    """The instructor's peer shares a submission's key with ``readers`` (a ``share`` event,
    as peer review does): only readers review (issue 18). Ids are hex or a prefix of one."""
    from peer.identity import load_membership
    from peer.log import seal_key
    from storage import Store
    from storage.projections import known_key

    me, store = load_membership(instructor), Store.open(instructor)
    try:
        target = store.resolve_prefix(submission, kind="submission")
        with store.read() as conn:
            key = known_key(conn, target)
        assert key is not None, "the instructor's store cannot open that submission"
        for reader in readers:
            to = load_membership(reader).peer_id
            body = {"event": target, "to": to, "key": seal_key(key, to)}
            store.append(me.signing_key, "share", body)
    finally:
        store.close()


def exchange(*dirs: Path) -> None:
    """Every data dir gets every other's events (what the running peers would do)."""
    from storage import Store

    everything: list[bytes] = []
    for d in dirs:
        store = Store.open(d)
        try:
            for author in store.heads():
                everything += store.events_range(author, 0, 100_000)
        finally:
            store.close()
    for d in dirs:
        store = Store.open(d)
        try:
            assert store.ingest(everything).rejected == ()
        finally:
            store.close()
