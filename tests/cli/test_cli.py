"""The command line: exact outputs of the core commands, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from peer.identity import ClassInfo
from tests.helpers import make_class, pc, pc_ok


def _one_line_error(result_err: str) -> str:
    lines = result_err.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {result_err!r}"
    assert "Traceback" not in result_err
    return lines[0]


def test_init_json_and_invite(tmp_path: Path) -> None:
    out = pc_ok(
        tmp_path / "t", "init", "--name", "Kim", "--role", "instructor", "--class", "Net", "--json"
    ).json()
    # The instructor's init gives the recovery phrase unless --no-recovery-phrase (issue 22).
    assert set(out) == {"peer_id", "class_id", "invite", "recovery_phrase"}
    assert len(out["recovery_phrase"].split()) == 24
    assert len(out["peer_id"]) == 64 and len(out["class_id"]) == 32
    assert pc_ok(tmp_path / "t", "invite").out.strip() == out["invite"]
    joined = pc_ok(tmp_path / "s", "init", "--name", "Lee", "--invite", out["invite"], "--json")
    assert joined.json()["class_id"] == out["class_id"]
    assert "recovery_phrase" not in joined.json()  # a student's only with --recovery-phrase
    status = pc_ok(tmp_path / "s", "status", "--json").json()
    assert status["role"] == "student" and status["name"] == "Lee"
    assert set(status) >= {"peer_id", "name", "role", "class_id", "events", "heads", "forks"}


def test_key_files_are_owner_only(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=1)
    for name in ("identity.key", "class.json"):
        mode = stat.S_IMODE(os.stat(klass.students[0] / name).st_mode)
        assert mode == 0o600, (name, oct(mode))


def test_init_twice_refuses_and_changes_nothing(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=1)
    before = (klass.students[0] / "identity.key").read_bytes()
    result = pc(klass.students[0], "init", "--name", "Again", "--invite", klass.invite)
    assert result.code != 0
    assert "already has an identity" in _one_line_error(result.err)
    assert (klass.students[0] / "identity.key").read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["init", "--name", "A", "--invite", "pc1.garbage"], "invite"),
        (["init", "--name", "A", "--invite", "nonsense"], "invite must start with"),
        (["init", "--name", "A", "--role", "student", "--class", "X"], "--role instructor"),
        (["init", "--name", "", "--role", "instructor", "--class", "X"], "--name"),
        (["init", "--name", "A"], "--class NAME --role instructor, or --invite"),
        (["status"], "no identity"),
        (["chat", "send", "hi"], "no identity"),
    ],
)
def test_bad_setup_input_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = pc(tmp_path / "fresh", *args)
    assert result.code != 0
    assert message in _one_line_error(result.err)
    assert not (tmp_path / "fresh" / "identity.key").exists()


def test_a_damaged_invite_is_caught_by_its_checksum(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=0)
    invite = klass.invite
    flipped = invite[:-3] + ("A" if invite[-3] != "A" else "B") + invite[-2:]
    result = pc(tmp_path / "s", "init", "--name", "A", "--invite", flipped)
    assert result.code != 0
    assert "damaged" in _one_line_error(result.err)
    assert ClassInfo.from_invite(invite).name == "Test"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--port", "70000"], "out of range"),
        (["run", "--port", "http"], "not a port number"),
        (["run", "--peer", "localhost"], "not HOST:PORT"),
        (["run", "--peer", "h:0"], "out of range"),
        (["run", "--discovery-addr", "10.0.0"], "not an IPv4 address"),
        (["chat", "send", "--room", "no spaces", "hi"], "room"),
        (["chat", "send", "   "], "empty"),
        (["chat", "log", "--room", "bad room"], "room"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_command_input_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    klass = make_class(tmp_path, students=0)
    before = pc_ok(klass.instructor, "status", "--json").json()["events"]
    result = pc(klass.instructor, *args)
    assert result.code != 0
    assert message in _one_line_error(result.err)
    assert pc_ok(klass.instructor, "status", "--json").json()["events"] == before


def test_bad_discovery_environment_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    klass = make_class(tmp_path, students=0)
    monkeypatch.setenv("PEERCLASS_DISCOVERY_PORT", "not-a-port")
    result = pc(klass.instructor, "run", "--no-discovery")
    assert result.code != 0
    assert "PEERCLASS_DISCOVERY_PORT" in _one_line_error(result.err)


def test_chat_send_prints_the_id_and_log_json_has_the_documented_keys(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=0)
    event_id = pc_ok(klass.instructor, "chat", "send", "--room", "help", "first").out.strip()
    assert len(event_id) == 64 and int(event_id, 16) >= 0
    pc_ok(klass.instructor, "chat", "send", "second")
    log = pc_ok(klass.instructor, "chat", "log", "--json").json()
    assert [m["text"] for m in log] == ["first", "second"]
    assert set(log[0]) == {"id", "author", "author_name", "room", "text", "ts", "seq"}
    assert log[0]["id"] == event_id and log[0]["room"] == "help"
    # seq 1 is the profile, 2 the roster entry a new class starts with (issue 10)
    assert log[0]["author_name"] == "Teacher" and log[0]["seq"] == 3
    only_help = pc_ok(klass.instructor, "chat", "log", "--room", "help", "--json").json()
    assert [m["text"] for m in only_help] == ["first"]
    human = pc_ok(klass.instructor, "chat", "log").out
    assert "Teacher" in human and "second" in human
    assert json.loads(pc_ok(klass.instructor, "peers", "--json").out) == []


def test_the_data_dir_comes_from_peerclass_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEERCLASS_HOME", str(tmp_path / "home"))
    pc_ok(None, "init", "--name", "Kim", "--role", "instructor", "--class", "Net")
    assert (tmp_path / "home" / "identity.key").exists()
    assert pc_ok(None, "status", "--json").json()["name"] == "Kim"
