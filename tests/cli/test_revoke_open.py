"""``peerclass invite --revoke-open`` (issue 18): the class invite is replaced; a join with the
old one is refused by the instructor's peer with a reason the joiner is told, a join with the
new one waits as pending as before."""

from __future__ import annotations

from pathlib import Path

from peer.identity import load_membership
from storage import Store
from storage.queries import removal_note
from tests.cli.test_curriculum_cli import share
from tests.cli.test_roster_cli import run_duties
from tests.helpers import make_class, pc, pc_ok


def test_a_replaced_class_invite_admits_no_one_and_says_why(tmp_path: Path) -> None:
    teacher = make_class(tmp_path, students=0).instructor
    old = pc_ok(teacher, "invite").out.strip()
    replaced = pc_ok(teacher, "invite", "--revoke-open")
    new = replaced.out.strip()
    assert new != old and "revoked" in replaced.err
    assert pc_ok(teacher, "invite").out.strip() == new  # the class invite is the new one now
    late, fresh = tmp_path / "late", tmp_path / "fresh"
    pc_ok(late, "init", "--name", "Late", "--invite", old)
    pc_ok(fresh, "init", "--name", "Fresh", "--invite", new)
    share(late, teacher)
    share(fresh, teacher)
    assert run_duties(teacher) == 1
    assert run_duties(teacher) == 0
    store = Store.open(teacher)
    try:
        late_id, fresh_id = load_membership(late).peer_id, load_membership(fresh).peer_id
        assert store.roster_state(late_id) == "removed"
        assert store.roster_state(fresh_id) == "pending"
        note = removal_note(store, late_id)
        assert note is not None and "replaced" in note
    finally:
        store.close()
    student = pc(fresh, "invite", "--revoke-open")
    assert student.code != 0 and student.err.count("\n") == 1
    assert "founding instructor" in student.err
