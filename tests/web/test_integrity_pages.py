"""Issue 18 in the browser UI: a submission whose claimed time a witness contradicts shows the
witnessed time beside it, and a classmate who cannot read a submission cannot review it."""

from __future__ import annotations

from pathlib import Path

from peer.identity import load_membership
from peer.log import hlc
from storage import Store
from storage.queries import list_feedback
from tests.cli.test_curriculum_cli import share, write
from tests.helpers import make_class, pc_ok
from tests.web.conftest import open_ui

ADD = "a, b = map(int, input().split())\nprint(a + b)\n"


def test_the_witnessed_time_shows_and_a_blind_review_is_refused(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, 2, ["Teacher", "Alice", "Bob"])
    teacher, (alice, bob) = dirs.instructor, dirs.students
    files = tmp_path / "files"
    files.mkdir()
    problem = pc_ok(teacher, "problem", "publish", "--title", "Sum",
                    "--statement-file", write(files / "s.md", "Add.")).out.strip()  # fmt: skip
    share(teacher, alice, bob)
    sid = pc_ok(alice, "submit", problem[:8], write(files / "a.py", ADD)).out.split()[-1]
    share(alice, teacher, bob)
    me, store = load_membership(teacher), Store.open(teacher)
    try:  # Alice was offline: the teacher's peer first holds it ten minutes after its claim
        head = store.vector()[load_membership(alice).peer_id]
        later = hlc.wall_ms() + 10 * 60_000
        body = {"time": later, "heads": [[load_membership(alice).peer_id, *head]]}
        store.append(me.signing_key, "checkpoint", body)
    finally:
        store.close()
    for ui in open_ui(teacher):
        ui.sign_in()
        page = ui.client.get(f"/submissions/{sid}").text
        assert 'class="witnessed">witnessed <time' in page
    share(teacher, bob)
    for ui in open_ui(bob):
        ui.sign_in()
        response = ui.client.post(
            f"/submissions/{sid}",
            data={"verdict": "accept", "comment": "looks fine", "csrf": ui.csrf},
            follow_redirects=False,
        )
        assert response.status_code == 403
        assert list_feedback(ui.store, me.klass.instructor) == []
