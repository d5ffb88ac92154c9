"""A full, read-only or missing data dir: every command says what is wrong in one line and
exits non-zero (no traceback), nothing stored is damaged, and everything works again once the
disk is fixed. A running peer that meets a full disk waits and retries instead of reconnecting
in a loop, and catches up on its own when space comes back. An unexpected error leaves its
traceback in the data dir's log file and one pointer line on the terminal.

Full and read-only disks are real: a small tmpfs mounted in a private mount namespace
(``unshare -m``, as root), seen from this process through ``/proc/PID/root``. Root ignores
file permissions, so ``chmod`` cannot stand in for a read-only disk; a read-only remount can.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import attrs
import pytest

from peer.cli import build_parser
from peer.testing import PeerProcess, cli, free_udp_port, wait_until
from tests.helpers import CliResult, pc, pc_ok
from tests.other_user import Nobody, python_as_nobody

ID = "deadbeef" * 2
#: Commands that are not run in-process here, and why.
NOT_IN_PROCESS = {
    "demo": "starts peers of its own in temporary dirs",
    "run": "a process of its own (tested below)",
    "init": "creates a data dir (tested on its own below)",
}
#: Commands that must read or write the store, so a full disk must stop them (with a message).
NEED_THE_STORE = {
    "status",
    "peers",
    "chat send",
    "chat log",
    "problem publish",
    "problem list",
    "submissions",
    "progress",
    "feedback list",
    "report",
}
#: Of those, the ones that write (a read-only disk stops them; reads still work there).
WRITE = {"chat send", "problem publish"}
READ = NEED_THE_STORE - WRITE
INIT_NEW = ("init", "--name", "Lee", "--role", "instructor", "--class", "Y")
#: Seconds a peer on a full disk is watched for reconnections.
WINDOW = 8.0


def _leaf_commands() -> list[str]:
    found: list[str] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found.append(" ".join(path))
        for action in subs:
            for name, sub in action.choices.items():
                walk(sub, [*path, name])

    walk(build_parser(), [])
    return found


def _leaf_parser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for word in command.split():
        subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = subs.choices[word]
    return parser


def _argv(command: str, files: Path) -> list[str]:
    """A plausible command line for ``command``: real files where it reads one, an id that
    names nothing where it wants an id."""
    known = {
        "chat send": ["hello"],
        "problem publish": [
            "--title",
            "Sum",
            "--statement-file",
            str(files / "statement.md"),
            "--example",
            str(files / "in.txt"),
            str(files / "out.txt"),
        ],
        "report": ["--format", "md"],
    }
    if command in known:
        return [*command.split(), *known[command]]
    argv = command.split()
    for action in _leaf_parser(command)._actions:
        if not action.required and action.option_strings:
            continue
        if action.dest == "help" or isinstance(action, argparse._SubParsersAction):
            continue
        value = str(action.choices[0]) if action.choices else ID  # type: ignore[index]
        if action.dest in ("file", "statement_file"):
            value = str(files / "solution.py")
        if action.dest == "tests":
            value = str(files)
        argv += [*action.option_strings[:1], value]
    return argv


def _commands() -> list[str]:
    return [c for c in _leaf_commands() if c.split()[0] not in NOT_IN_PROCESS]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    where = tmp_path / "files"
    where.mkdir()
    (where / "statement.md").write_text("Add two numbers.\n")
    (where / "solution.py").write_text("print(sum(map(int, input().split())))\n")
    (where / "in.txt").write_text("1 2\n")
    (where / "out.txt").write_text("3\n")
    return where


def _one_line_error(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {err!r}"
    assert lines[0].startswith("peerclass: error: "), lines[0]
    return lines[0]


# ---- a missing data dir ---------------------------------------------------------------


@pytest.mark.parametrize("command", _commands())
def test_missing_data_dir_is_one_line_on_every_command(
    tmp_path: Path, files: Path, command: str
) -> None:
    missing = tmp_path / "never-made"
    result = pc(missing, *_argv(command, files))
    assert result.code != 0
    line = _one_line_error(result.err)
    if command in NEED_THE_STORE:
        assert "run 'peerclass init' first" in line
    assert not missing.exists() or not any(missing.iterdir())


def test_run_and_init_where_the_data_dir_cannot_be(tmp_path: Path) -> None:
    missing = tmp_path / "never-made"
    result = pc(missing, "run", "--no-discovery", "--bind", "127.0.0.1")
    assert result.code != 0
    assert "run 'peerclass init' first" in _one_line_error(result.err)
    assert not missing.exists()
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory\n")
    result = pc(a_file / "pc", "init", "--name", "Kim", "--role", "instructor", "--class", "X")
    assert result.code != 0
    assert "does not exist" in _one_line_error(result.err)


def test_an_unexpected_error_goes_to_the_log_file_with_a_pointer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import Store

    data_dir = tmp_path / "kim"
    pc_ok(data_dir, "init", "--name", "Kim", "--role", "instructor", "--class", "X")

    def broken(self: Store) -> int:
        raise RuntimeError("a bug in event_count")

    monkeypatch.setattr(Store, "event_count", broken)
    result = pc(data_dir, "status")
    assert result.code != 0
    assert result.err.strip() == (
        f"peerclass: internal error, details in {data_dir / 'peerclass.log'}"
    )
    log = (data_dir / "peerclass.log").read_text()
    assert "internal error in 'peerclass --data-dir" in log
    assert "Traceback" in log and "RuntimeError: a bug in event_count" in log


def test_a_data_dir_of_another_user_is_one_line(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    kim = tmp_path / "kim"  # made by root, mode 0700
    pc_ok(kim, "init", "--name", "Kim", "--role", "instructor", "--class", "X")
    with python_as_nobody() as nobody:
        _as_nobody_one_line(nobody, kim)


def _as_nobody_one_line(nobody: Nobody, kim: Path) -> None:
    for data_dir, args in (
        (kim, ["status"]),
        (kim, ["chat", "send", "hi"]),
        (kim / "sub", ["init", "--name", "Lee", "--role", "instructor", "--class", "Y"]),
    ):
        done = subprocess.run(
            [*nobody.command, "-m", "peer", "--data-dir", str(data_dir), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=nobody.env,
        )
        assert done.returncode != 0, args
        assert "no permission to use" in _one_line_error(done.stderr), args


# ---- a full or read-only disk ---------------------------------------------------------

_COUNT_EVENTS = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
print(db.execute("SELECT count(*) FROM events").fetchone()[0])
"""


ROOT = Path(__file__).resolve().parents[2]
_RUN_EACH = """
import json, os, sys, tempfile
sys.path.insert(0, sys.argv[1])
from peer.cli import main
results = []
for argv in json.loads(sys.argv[2]):
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code or 0)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status)
        results.append([code, out.read().decode(), err.read().decode()])
print(json.dumps(results))
"""


@attrs.define
class PrivateDisk:
    """A small tmpfs in a mount namespace of its own, kept alive by ``holder``. Commands run
    inside it (nsenter); this process reaches its files through ``/proc/PID/root`` (not
    SQLite, which resolves that link to the path outside the namespace)."""

    holder: subprocess.Popen[str]
    mount_point: Path  # its path inside the namespace (an empty dir outside it)

    @property
    def view(self) -> Path:
        """The tmpfs as this process can reach it."""
        return Path(f"/proc/{self.holder.pid}/root") / self.mount_point.relative_to("/")

    def inside(self, *command: str) -> list[str]:
        return ["nsenter", "-t", str(self.holder.pid), "-m", "--", *command]

    def peerclass(self, name: str, *args: str) -> list[str]:
        """``peerclass --data-dir DISK/name ARGS``, run inside the namespace."""
        data_dir = str(self.mount_point / name)
        return self.inside(sys.executable, "-m", "peer", "--data-dir", data_dir, *args)

    def pc(self, name: str, *args: str) -> CliResult:
        return self.pc_many([(name, *args)])[0]

    def pc_many(self, commands: Sequence[Sequence[str]]) -> list[CliResult]:
        """``peerclass --data-dir DISK/NAME ARGS`` for each ``(NAME, *ARGS)``, each in a
        process of its own inside the namespace (forked from one that has imported it all)."""
        argvs = [["--data-dir", str(self.mount_point / name), *args] for name, *args in commands]
        done = subprocess.run(
            self.inside(sys.executable, "-c", _RUN_EACH, str(ROOT), json.dumps(argvs)),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return [CliResult(*result) for result in json.loads(done.stdout)]

    def pc_ok(self, name: str, *args: str) -> CliResult:
        result = self.pc(name, *args)
        assert result.code == 0, f"peerclass {' '.join(args)} failed: {result.err}"
        return result

    def events(self, name: str) -> int:
        """How many events the store holds, after SQLite's own integrity check."""
        db = str(self.mount_point / name / "peerclass.db")
        done = subprocess.run(
            self.inside(sys.executable, "-c", _COUNT_EVENTS, db),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return int(done.stdout)

    def chat_texts(self, name: str) -> set[str]:
        return {m["text"] for m in self.pc_ok(name, "chat", "log", "--json").json()}

    def fill(self) -> None:
        """Write zeros until the file system says it is full."""
        fd = os.open(self.view / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while True:
                os.write(fd, bytes(1 << 16))
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        finally:
            os.close(fd)

    def free(self) -> None:
        (self.view / "filler").unlink()

    def remount(self, mode: str) -> None:
        subprocess.run(
            self.inside("mount", "-o", f"remount,{mode}", str(self.mount_point)),
            check=True,
            timeout=30,
        )


@pytest.fixture
def private_disk(tmp_path: Path) -> Iterator[PrivateDisk]:
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("nsenter")):
        pytest.skip("a private tmpfs needs root, unshare and nsenter")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    holder = subprocess.Popen(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount -t tmpfs -o size=8m,mode=0700 tmpfs "$1" && echo mounted && exec sleep 3600',
            "sh",
            str(mount_point),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    if holder.stdout.readline().strip() != "mounted":
        holder.kill()
        _, err = holder.communicate(timeout=10)
        pytest.skip(f"cannot mount a private tmpfs here: {err.strip()}")
    try:
        yield PrivateDisk(holder, mount_point)
    finally:
        holder.kill()
        holder.wait(10)


def _set_up_kim(disk: PrivateDisk, text: str) -> int:
    """Kim's data dir on the disk with one chat message; how many events it holds."""
    init = ("kim", "init", "--name", "Kim", "--role", "instructor", "--class", "X")
    for result in disk.pc_many([init, ("kim", "chat", "send", text)]):
        assert result.code == 0, result.err
    return disk.events("kim")


def test_full_disk_is_one_line_on_every_command_and_nothing_is_lost(
    private_disk: PrivateDisk, files: Path
) -> None:
    disk = private_disk
    before = _set_up_kim(disk, "before the disk filled up")
    disk.fill()
    commands = _commands()
    results = disk.pc_many(
        [("kim", *_argv(command, files)) for command in commands] + [("new", *INIT_NEW)]
    )
    for command, result in zip([*commands, "init"], results, strict=True):
        assert "Traceback" not in result.err, (command, result.err)
        if command in NEED_THE_STORE or command == "init" or result.code != 0:
            assert result.code != 0, command
            line = _one_line_error(result.err)
            if command in NEED_THE_STORE or command == "init":
                assert "is full: free some space" in line, (command, line)
    disk.free()
    # Nothing was damaged or half-written, and everything works again; the failed init left
    # nothing in the way of a new one.
    sent, log, init = disk.pc_many(
        [("kim", "chat", "send", "after"), ("kim", "chat", "log", "--json"), ("new", *INIT_NEW)]
    )
    assert (sent.code, log.code, init.code) == (0, 0, 0), (sent.err, log.err, init.err)
    assert [m["text"] for m in log.json()] == ["before the disk filled up", "after"]
    assert disk.events("kim") == before + 1


def test_read_only_disk_refuses_writes_in_one_line_and_still_reads(
    private_disk: PrivateDisk, files: Path
) -> None:
    disk = private_disk
    before = _set_up_kim(disk, "written while writable")
    disk.remount("ro")
    commands = sorted(WRITE) + sorted(READ)
    run = ("run", "--no-discovery", "--bind", "127.0.0.1", "--no-ui")
    results = disk.pc_many(
        [("kim", *_argv(command, files)) for command in commands]
        + [("new", *INIT_NEW), ("kim", *run)]
    )
    for command, result in zip([*commands, "init", "run"], results, strict=True):
        if command in READ:
            assert result.code == 0, (command, result.err)
            assert result.err == "", (command, result.err)
            continue
        assert result.code != 0, command
        assert "read-only file system" in _one_line_error(result.err), command
    disk.remount("rw")
    assert disk.pc("kim", "chat", "send", "written again").code == 0
    assert disk.events("kim") == before + 1


# ---- a running peer whose disk fills up ------------------------------------------------


@attrs.define
class Lines:
    """What a process writes to one of its pipes, collected by a thread."""

    lines: list[str] = attrs.field(factory=list)

    def follow(self, pipe: IO[str] | None) -> Lines:
        assert pipe is not None

        def read() -> None:
            for line in pipe:
                self.lines.append(line.rstrip("\n"))

        threading.Thread(target=read, daemon=True).start()
        return self

    def having(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]


def test_a_running_peer_waits_out_a_full_disk_and_catches_up_when_space_returns(
    private_disk: PrivateDisk, tmp_path: Path
) -> None:
    # Kim's peer keeps its data on the small disk; Lee's on the ordinary one.
    disk = private_disk
    init = ("init", "--name", "Kim", "--role", "instructor", "--class", "X", "--json")
    invite = disk.pc_ok("kim", *init).json()["invite"]
    lee_dir = tmp_path / "lee"
    pc_ok(lee_dir, "init", "--name", "Lee", "--invite", invite)
    lee = PeerProcess(lee_dir, free_udp_port(), ["--no-discovery", "--no-ui"]).start()
    kim_run = subprocess.Popen(
        disk.peerclass(
            "kim", "run", "--no-discovery", "--bind", "127.0.0.1", "--no-ui", "--peer", lee.address
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = Lines().follow(kim_run.stdout), Lines().follow(kim_run.stderr)
    sent = {f"message {i} " + "x" * 3000 for i in range(40)}
    try:
        wait_until(lambda: bool(out.having("listening on")), 30, "Kim's peer to listen")
        cli(lee_dir, "chat", "send", "hello before")
        wait_until(lambda: "hello before" in disk.chat_texts("kim"), 30, "the first chat")

        disk.fill()
        for text in sorted(sent):
            pc_ok(lee_dir, "chat", "send", text)
        wait_until(
            lambda: bool(err.having("cannot write to the store")), 60, "Kim's peer to notice"
        )
        # Kim's peer says it once, with what to do, and backs off instead of reconnecting
        # every half second (before: a traceback and a reconnection each time). The claim is
        # a rate, so it is watched over a fixed window.
        noticed = len((lee_dir / "peerclass.log").read_text().splitlines())
        time.sleep(WINDOW)
        said = err.having("cannot write to the store")
        assert len(said) == 1 and "is full: free some space" in said[0], err.lines
        assert not err.having("Traceback"), err.lines
        assert kim_run.poll() is None
        reconnections = [
            line
            for line in (lee_dir / "peerclass.log").read_text().splitlines()[noticed:]
            if "connected to" in line
        ]
        assert len(reconnections) <= 3, reconnections  # at 0.5 s: about 2 * WINDOW

        disk.free()
        wait_until(lambda: sent <= disk.chat_texts("kim"), 120, "Kim's peer to catch up")
        wait_until(lambda: bool(err.having("the store can be written again")), 10, "the all-clear")
    finally:
        kim_run.send_signal(signal.SIGINT)
        code = kim_run.wait(30)
        lee.stop()
    assert code == 0, err.lines
    assert disk.events("kim") >= 2 + len(sent)
    assert not err.having("Traceback"), err.lines
