"""Backup files, recovery phrases, replaced keys and co-instructors through the command line
(issue 22). Peers are synced by hand (every event of every store to every other), since what
is tested here is what each command writes and what every store then computes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peer.continuity import open_backup
from peer.continuity._phrase import _english
from peer.errors import UsageError
from peer.identity import load_membership
from storage import Store
from storage.queries import get_submission
from tests.helpers import CliResult, make_class, pc, pc_ok


def sync(*dirs: Path) -> None:
    """Every store gets every event the others hold (twice: a later author's events may
    need an earlier one's first, as an admit needs a join)."""
    for _ in range(2):
        raws: list[bytes] = []
        for d in dirs:
            store = Store.open(d)
            try:
                for author in store.heads():
                    raws += store.events_range(author, 0, 100_000)
            finally:
                store.close()
        for d in dirs:
            store = Store.open(d)
            try:
                store.ingest(raws)
            finally:
                store.close()


def one_line_error(result: CliResult) -> str:
    assert result.code != 0
    assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err
    return result.err


@pytest.fixture
def passphrase(tmp_path: Path) -> Path:
    path = tmp_path / "passphrase"
    path.write_text("a long enough passphrase\n")
    return path


def backup_of(data_dir: Path, out: Path, passphrase: Path, *extra: str) -> Path:
    pc_ok(data_dir, "backup", "-o", str(out), "--passphrase-file", str(passphrase),
          "--kdf", "interactive", *extra)  # fmt: skip
    return out


def test_a_bad_backup_or_target_is_one_line_and_changes_nothing(
    tmp_path: Path, passphrase: Path
) -> None:
    klass = make_class(tmp_path / "a", students=1)
    file = backup_of(klass.students[0], tmp_path / "s.pcb", passphrase, "--with-history")
    data = file.read_bytes()
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase\n")
    flipped = tmp_path / "flipped.pcb"
    flipped.write_bytes(data[:200] + bytes([data[200] ^ 0x40]) + data[201:])
    truncated = tmp_path / "truncated.pcb"
    truncated.write_bytes(data[: len(data) // 2])
    cases = [
        (file, wrong, "wrong passphrase"),
        (flipped, passphrase, "damaged"),
        (truncated, passphrase, "truncated"),
        (tmp_path / "missing.pcb", passphrase, "cannot read"),
    ]
    target = tmp_path / "restored"
    for path, secret, said in cases:
        result = pc(target, "restore", str(path), "--passphrase-file", str(secret))
        assert said in one_line_error(result)
        assert not target.exists()
    # A data dir of another class is refused, and left as it was.
    other = make_class(tmp_path / "b", students=0).instructor
    before = sorted(p.name for p in other.iterdir())
    result = pc(other, "restore", str(file), "--passphrase-file", str(passphrase))
    assert "belongs to class" in one_line_error(result)
    assert sorted(p.name for p in other.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir() if "restoring" in p.name] == []
    # The good file, into a new dir: the same identity, the same history.
    pc_ok(target, "restore", str(file), "--passphrase-file", str(passphrase))
    assert load_membership(target).peer_id == load_membership(klass.students[0]).peer_id
    assert pc_ok(target, "verify").out.startswith("ok: ")
    assert (
        json.loads(pc_ok(target, "status", "--json").out)["heads"]
        == json.loads(pc_ok(klass.students[0], "status", "--json").out)["heads"]
    )


def test_a_backup_holds_the_content_keys_and_is_sealed(tmp_path: Path, passphrase: Path) -> None:
    klass = make_class(tmp_path, students=1)
    pc_ok(klass.instructor, "invite", "--for", "Minho")
    file = backup_of(klass.instructor, tmp_path / "t.pcb", passphrase)
    assert bytes(load_membership(klass.instructor).signing_key) not in file.read_bytes()
    opened = open_backup(file.read_bytes(), passphrase.read_text().strip())
    assert [name for _, name, _ in opened.invites] == ["Minho"]
    assert opened.history is None
    with pytest.raises(UsageError, match="wrong passphrase"):
        open_backup(file.read_bytes(), "guess")
    again = pc(klass.instructor, "backup", "-o", str(file), "--passphrase-file", str(passphrase))
    assert "already exists" in one_line_error(again)


def test_the_recovery_phrase_alone_makes_the_same_key(tmp_path: Path) -> None:
    teacher = tmp_path / "teacher"
    made = pc_ok(teacher, "init", "--name", "T", "--role", "instructor", "--class", "C", "--json")
    phrase, invite = made.json()["recovery_phrase"], made.json()["invite"]
    assert len(phrase.split()) == 24 and all(w in _english.wordlist for w in phrase.split())
    shown = pc_ok(tmp_path / "t2", "init", "--name", "T", "--role", "instructor", "--class", "C")
    assert "write these 24 words down" in shown.out
    quiet = pc_ok(tmp_path / "t3", "init", "--name", "T", "--role", "instructor", "--class",
                  "C", "--no-recovery-phrase")  # fmt: skip
    assert "recovery phrase" not in quiet.out
    student = pc_ok(tmp_path / "s", "init", "--name", "S", "--invite", invite, "--json").json()
    assert "recovery_phrase" not in student

    new = tmp_path / "new"  # --data-dir after the command, as the issue spells it
    pc_ok(None, "restore", "--phrase", phrase.upper(), "--invite", invite, "--data-dir", str(new))
    assert load_membership(new).peer_id == load_membership(teacher).peer_id
    # A wrong word breaks the checksum: the first word whose change does.
    words = phrase.split()
    bad = next(
        " ".join([w, *words[1:]])
        for w in _english.wordlist
        if w != words[0] and not _english.check(" ".join([w, *words[1:]]))
    )
    for wrong, said in (
        (bad, "checksum does not match"),
        (" ".join(words[:23]), "has 24 words"),
        (" ".join(["zzz", *words[1:]]), "word 1 ('zzz')"),
    ):
        assert said in one_line_error(pc(tmp_path / "x", "restore", "--phrase", wrong,
                                         "--invite", invite))  # fmt: skip
        assert not (tmp_path / "x").exists()
    # The phrase alone (as the issue spells it): the identity comes back, in no class yet;
    # 'init --invite' then puts that same identity in its class, signing nothing again.
    alone = tmp_path / "alone"
    said = pc_ok(None, "restore", "--phrase", phrase, "--data-dir", str(alone)).out
    assert "init --invite" in said and not (alone / "class.json").exists()
    assert "class invite" in one_line_error(pc(alone, "init", "--name", "T"))
    pc_ok(alone, "init", "--name", "ignored", "--invite", invite)
    assert load_membership(alone).peer_id == load_membership(teacher).peer_id
    assert not (alone / "identity.restored").exists()
    assert "already has an identity" in one_line_error(pc(alone, "restore", "--phrase", phrase))


def test_a_lost_key_is_not_a_lost_student(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=1, names=["Teacher", "Jisoo"])
    teacher, old = klass.instructor, klass.students[0]
    (tmp_path / "p.md").write_text("Echo.")
    (tmp_path / "s.py").write_text("print(input())  # jisoo-first-laptop\n")
    problem = pc_ok(teacher, "problem", "publish", "--title", "Echo",
                    "--statement-file", str(tmp_path / "p.md")).out.strip()  # fmt: skip
    sync(teacher, old)
    sub = pc_ok(old, "submit", problem[:8], str(tmp_path / "s.py")).out.split()[-1]
    sync(teacher, old)
    pc_ok(teacher, "feedback", "give", sub[:8], "--verdict", "accept", "--comment", "good")
    # The laptop is lost; Jisoo joins again with a new key and is linked to the old one.
    new = tmp_path / "new-laptop"
    pc_ok(new, "init", "--name", "Jisoo again", "--invite", klass.invite)
    sync(teacher, new)
    new_id = load_membership(new).peer_id.hex()
    student = pc(new, "admit", new_id[:12], "--replaces", "Jisoo")
    assert "only the instructor" in one_line_error(student)
    pc_ok(teacher, "admit", new_id[:12], "--replaces", "Jisoo")
    roster = {r["peer_id"]: r for r in pc_ok(teacher, "roster", "--json").json()}
    old_id = load_membership(old).peer_id.hex()
    assert roster[old_id]["state"] == "removed"
    store = Store.open(teacher)
    try:  # removed as 'remove' does: its log pinned where the instructor held it
        pinned = store.roster()
        old_key = bytes.fromhex(old_id)
        assert pinned is not None and pinned.entries[old_key].until == store.heads()[old_key]
    finally:
        store.close()
    assert (roster[new_id]["state"], roster[new_id]["name"]) == ("member", "Jisoo")
    report = json.loads(pc_ok(teacher, "report", "--class", "--format", "json").out)
    [one] = report["students"]
    assert (one["id"], one["name"]) == (new_id, "Jisoo")
    assert one["summary"]["problems_accepted"] == 1
    # What was sealed to the old key is sealed again to the new one.
    sync(teacher, new)
    assert _solution(new, sub) is None
    assert "resealed 2 " in pc_ok(teacher, "reseal", "Jisoo").out
    assert "resealed 0 " in pc_ok(teacher, "reseal", "Jisoo").out
    sync(teacher, new)
    assert _solution(new, sub) == "print(input())  # jisoo-first-laptop\n"


def _solution(data_dir: Path, submission: str) -> str | None:
    store = Store.open(data_dir)
    try:
        found = get_submission(store, bytes.fromhex(submission))
    finally:
        store.close()
    return None if found is None else found.solution


def test_the_co_instructor_carries_on_when_the_founders_laptop_is_gone(tmp_path: Path) -> None:
    klass = make_class(tmp_path, students=0)
    founder = klass.instructor
    co = tmp_path / "co"
    pc_ok(co, "init", "--name", "Ms. Park", "--invite", klass.invite)
    sync(founder, co)
    pc_ok(founder, "admit", "Ms. Park", "--role", "instructor")
    sync(founder, co)
    for path in sorted(founder.rglob("*"), reverse=True):  # the founder's laptop is gone
        path.rmdir() if path.is_dir() else path.unlink()
    founder.rmdir()
    newcomer = tmp_path / "newcomer"
    pc_ok(newcomer, "init", "--name", "Hana", "--invite", klass.invite)
    sync(co, newcomer)
    assert "as student" in pc_ok(co, "admit", "Hana").out
    (tmp_path / "p.md").write_text("Add.")
    problem = pc_ok(co, "problem", "publish", "--title", "Add",
                    "--statement-file", str(tmp_path / "p.md")).out.strip()  # fmt: skip
    sync(co, newcomer)
    (tmp_path / "s.py").write_text("print(sum(map(int, input().split())))  # hana-secret\n")
    sub = pc_ok(newcomer, "submit", problem[:8], str(tmp_path / "s.py")).out.split()[-1]
    sync(co, newcomer)
    assert _solution(co, sub) is not None  # sealed to every instructor
    pc_ok(co, "feedback", "give", sub[:8], "--verdict", "accept", "--score", "90",
          "--comment", "co-instructor-comment")  # fmt: skip
    sync(co, newcomer)
    [row] = pc_ok(newcomer, "progress", "--json").json()
    assert row["accepted"] is True
    listed = pc_ok(newcomer, "problem", "list", "--json").json()
    assert [p["official"] for p in listed] == [True]
