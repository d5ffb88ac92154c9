"""Rubric scoring and TAs in the browser (issue 20): the instructor's feedback form shows the
problem's criteria; the points sent combine with the tests' score as ``feedback give
--rubric`` does; points beyond a criterion's maximum are refused with the form kept. A TA
reads the instructor's page without its forms."""

from __future__ import annotations

import html
from pathlib import Path

import attrs
from starlette.testclient import TestClient

from peer.identity import load_membership
from peer.web import Access, WebContext, build_app
from storage import AsyncStore, Store
from storage.queries import feedback_terms, list_feedback
from tests.cli.test_curriculum_cli import share, write
from tests.helpers import make_class, pc_ok
from tests.web.conftest import BASE, Ui, open_ui

RUBRIC = """\
tests = 60

[[criterion]]
name = "style"
points = 30
description = "readable names"

[[criterion]]
name = "explanation"
points = 10
"""


def test_the_instructor_scores_a_rubric_in_the_browser(tmp_path: Path) -> None:
    dirs = make_class(tmp_path, 1, ["Teacher", "Alice"])
    files = tmp_path / "files"
    files.mkdir()
    problem = pc_ok(
        dirs.instructor, "problem", "publish", "--title", "Essay",
        "--statement-file", write(files / "s.md", "Explain."),
        "--rubric", write(files / "rubric.toml", RUBRIC),
    ).out.strip()  # fmt: skip
    share(dirs.instructor, *dirs.students)
    sid = pc_ok(dirs.students[0], "submit", problem[:8], write(files / "a.py", "print(1)\n"))
    sid_hex = sid.out.split()[-1]
    share(dirs.students[0], dirs.instructor)
    for ui in open_ui(dirs.instructor):
        ui.sign_in()
        page = html.unescape(ui.client.get(f"/submissions/{sid_hex}").text)
        assert 'name="rubric-style"' in page and 'max="30"' in page
        assert "readable names" in page and 'name="rubric-explanation"' in page

        too_many = ui.client.post(
            f"/submissions/{sid_hex}",
            data={"verdict": "accept", "comment": "Good", "rubric-style": "31", "csrf": ui.csrf},
            follow_redirects=False,
        )
        assert too_many.status_code == 400
        assert "criterion &#39;style&#39; takes 0 to 30 points" in too_many.text
        assert list_feedback(ui.store, ui.me.klass.instructor) == []

        sent = ui.client.post(
            f"/submissions/{sid_hex}",
            data={
                "verdict": "accept",
                "comment": "Good",
                "rubric-style": "25",
                "rubric-explanation": "10",
                "csrf": ui.csrf,
            },
            follow_redirects=False,
        )
        assert sent.status_code == 303
        (given,) = list_feedback(ui.store, ui.me.klass.instructor)
        # No tests graded yet: 0 of 60, plus 35 of 40 rubric points, over 100.
        assert given.score == 35
        assert feedback_terms(ui.store, [given.id])[given.id].rubric == {
            "style": 25,
            "explanation": 10,
        }
        again = html.unescape(ui.client.get(f"/submissions/{sid_hex}").text)
        assert 'name="rubric-style" type="number" min="0" max="30" step="1" value="25"' in again


def test_a_ta_reads_the_instructors_page_without_its_forms(tmp_path: Path) -> None:
    """A TA (issue 20) sees the class at a glance and the queue; publishing and the roster
    stay the instructor's; a student may not see the page at all."""
    dirs = make_class(tmp_path, 2, ["Teacher", "Tia", "Alice"])
    pc_ok(dirs.instructor, "admit", "Tia", "--role", "ta")
    share(dirs.instructor, *dirs.students)
    tia_dir, alice_dir = dirs.students
    for role, data_dir, allowed in [("ta", tia_dir, True), ("student", alice_dir, False)]:
        store = Store.open(data_dir)
        me = attrs.evolve(load_membership(data_dir), role=role)
        access = Access.in_memory()
        ctx = WebContext(AsyncStore(store), me, access, me_name=role)
        try:
            with TestClient(build_app(ctx), base_url=BASE, backend="trio") as client:
                ui = Ui(client, access, me, store, data_dir)
                ui.sign_in()
                page = client.get("/instructor")
                board = client.get("/instructor/board.json")
                if not allowed:
                    assert page.status_code == board.status_code == 403
                    continue
                assert page.status_code == 200 and "The class at a glance" in page.text
                assert 'href="/instructor/publish"' not in page.text
                assert 'action="/instructor/roster"' not in page.text
                names = [s["name"] for s in board.json()["students"]]
                assert names == ["Alice"]  # the TA is staff, not a student
                published = client.get("/instructor/publish")
                assert published.status_code == 403
        finally:
            store.close()
