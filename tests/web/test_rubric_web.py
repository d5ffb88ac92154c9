"""Rubric scoring in the browser (issue 20): the instructor's feedback form shows the
problem's criteria; the points sent combine with the tests' score as ``feedback give
--rubric`` does; points beyond a criterion's maximum are refused with the form kept."""

from __future__ import annotations

import html
from pathlib import Path

from storage.queries import feedback_terms, list_feedback
from tests.cli.test_curriculum_cli import share, write
from tests.helpers import make_class, pc_ok
from tests.web.conftest import open_ui

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
