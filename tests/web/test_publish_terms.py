"""The browser's publish form offers what ``problem publish`` does (issues 18 and 20): who
reviews, what a failed hidden test shows, the attempts graded, the late penalty and its cap, a
rubric. Each lands in the problem's event; a revision from the browser keeps what the command
line set; a bad value is refused with the form shown again as typed and nothing stored."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from pathlib import Path

import pytest

from peer.cli._rubric import read_rubric
from storage.queries import list_problems
from tests.cli.test_curriculum_cli import share, write
from tests.helpers import ClassDirs, make_class, pc_ok
from tests.web.conftest import Ui, open_ui

RUBRIC = """\
tests = 60

[[criterion]]
name = "style"
points = 30
description = "readable \\"names\\", 한글"

[[criterion]]
name = "explanation"
points = 10
"""


class _FormFields(HTMLParser):
    """What a browser sends for the page's publish form, untouched: each input's value (a
    checkbox only when ticked), each textarea's text, each select's chosen option."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._in_form = False
        self._textarea: str | None = None
        self._select: str | None = None
        self._first_option: str | None = None
        self._chosen: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("action") == "/instructor/publish":
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and "name" in a:
            if a.get("type") != "checkbox" or "checked" in a:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields.append((a["name"], ""))
        elif tag == "select":
            self._select, self._first_option, self._chosen = a["name"], None, None
        elif tag == "option" and self._select is not None:
            if self._first_option is None:
                self._first_option = a["value"]
            if "selected" in a:
                self._chosen = a["value"]

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            self._textarea = None
        elif tag == "select" and self._select is not None:
            self.fields.append((self._select, self._chosen or self._first_option or ""))
            self._select = None
        elif tag == "form":
            self._in_form = False


def _form_of(page: str) -> dict[str, list[str]]:
    parser = _FormFields()
    parser.feed(page)
    found: dict[str, list[str]] = {}
    for name, value in parser.fields:
        found.setdefault(name, []).append(value)
    return found


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> ClassDirs:
    return make_class(tmp_path_factory.mktemp("terms"), 1, ["Teacher", "Alice"])


def _body(ui: Ui, location: str) -> dict[str, object]:
    event = ui.store.event_by_id(bytes.fromhex(location.rsplit("/", 1)[-1]))
    assert event is not None and event.kind == "problem"
    return event.body


def test_each_setting_published_from_the_browser_lands_in_the_event(
    dirs: ClassDirs, tmp_path: Path
) -> None:
    for ui in open_ui(dirs.instructor):
        ui.sign_in()
        form = ui.client.get("/instructor/publish").text
        assert 'name="hidden_detail"' in form and 'name="rubric"' in form
        sent = ui.client.post(
            "/instructor/publish",
            data={
                "title": "Terms",
                "statement": "Write it.",
                "review": "peers",
                "hidden_detail": "verdicts",
                "graded_attempts": "2",
                "late_penalty": "10",
                "late_cap": "30",
                "rubric": RUBRIC.replace("\n", "\r\n"),  # as a browser sends a textarea
                "csrf": ui.csrf,
            },
            follow_redirects=False,
        )
        assert sent.status_code == 303
        body = _body(ui, sent.headers["location"])
        assert body["review"] == "peers" and body["hidden_detail"] == "verdicts"
        assert body["graded_attempts"] == 2
        assert body["late_penalty"] == 10 and body["late_cap"] == 30
        assert body["rubric"] == read_rubric(Path(write(tmp_path / "r.toml", RUBRIC)))

        shown = html.unescape(ui.client.get(sent.headers["location"]).text)
        assert "Grading settings" in shown
        assert "Late penalty: 10 points per started day, at most 30" in shown
        assert "Only the first 2 attempts of each student are graded" in shown
        assert (
            "which tests failed and why" in shown and 'style: 30 points — readable "names"' in shown
        )
        korean = html.unescape(
            ui.client.get(sent.headers["location"], headers={"accept-language": "ko"}).text
        )
        assert "채점 설정" in korean and "하루당 10점" in korean

        plain = ui.client.post(
            "/instructor/publish",
            data={"title": "Plain", "statement": "x", "csrf": ui.csrf},
            follow_redirects=False,
        )
        assert plain.status_code == 303  # nothing chosen: the defaults, left out as the CLI does
        assert not {"review", "hidden_detail", "graded_attempts", "late_penalty", "rubric"} & set(
            _body(ui, plain.headers["location"])
        )
    share(dirs.instructor, dirs.students[0])
    for ui in open_ui(dirs.students[0]):
        ui.sign_in()
        problem = next(
            p for p in list_problems(ui.store, ui.me.klass.instructor) if p.title == "Terms"
        )
        assert "Grading settings" not in ui.client.get(f"/problems/{problem.id.hex()}").text


def test_a_revision_from_the_browser_keeps_what_the_command_line_set(
    dirs: ClassDirs, tmp_path: Path
) -> None:
    problem = pc_ok(
        dirs.instructor, "problem", "publish", "--title", "From the CLI",
        "--statement-file", write(tmp_path / "s.md", "Solve it."),
        "--review", "peers", "--hidden-detail", "none", "--graded-attempts", "3",
        "--late-penalty", "5", "--late-cap", "20",
        "--rubric", write(tmp_path / "r.toml", RUBRIC),
    ).out.strip()  # fmt: skip
    for ui in open_ui(dirs.instructor):
        ui.sign_in()
        page = ui.client.get(f"/instructor/publish?revise={problem}")
        assert page.status_code == 200
        fields = _form_of(page.text)
        assert fields["graded_attempts"] == ["3"] and fields["late_cap"] == ["20"]
        fields["title"] = ["From the CLI, revised"]  # the only change the instructor makes
        fields["csrf"] = [ui.csrf]
        sent = ui.client.post("/instructor/publish", data=fields, follow_redirects=False)
        assert sent.status_code == 303, sent.text
        before = ui.store.event_by_id(bytes.fromhex(problem))
        assert before is not None
        after = _body(ui, sent.headers["location"])
        assert after["supersedes"] == before.id and after["title"] == "From the CLI, revised"
        for key in ("review", "hidden_detail", "graded_attempts", "late_penalty", "late_cap"):
            assert after[key] == before.body[key], key
        assert after["rubric"] == before.body["rubric"]


@pytest.mark.parametrize(
    ("setting", "typed", "says"),
    [
        ("graded_attempts", "0", "graded attempts '0' is not a whole number of at least 1"),
        ("graded_attempts", "two", "graded attempts 'two' is not a whole number of at least 1"),
        ("late_penalty", "101", "late penalty '101' is not a whole number from 0 to 100"),
        ("late_cap", "-1", "late penalty cap '-1' is not a whole number from 0 to 100"),
        ("hidden_detail", "everything", "choose what a student sees of a failed hidden test"),
        ("review", "anyone", "choose who reviews"),
        ("rubric", "tests = [\n", "rubric: does not parse as TOML"),
        ("rubric", "tests = 70\n", "rubric: has no [[criterion]] tables"),
        ("rubric", "[[criterion]]\nname = 'a b'\npoints = 5\n", "rubric criterion name 'a b'"),
    ],
)
def test_a_bad_setting_is_refused_with_the_form_kept(
    dirs: ClassDirs, setting: str, typed: str, says: str
) -> None:
    for ui in open_ui(dirs.instructor):
        ui.sign_in()
        before = len(list_problems(ui.store, ui.me.peer_id))
        data = {
            "title": "Kept title",
            "statement": "Kept statement",
            "late_penalty": "7",
            "rubric": RUBRIC,
            setting: typed,
            "csrf": ui.csrf,
        }
        refused = ui.client.post("/instructor/publish", data=data, follow_redirects=False)
        assert refused.status_code == 400
        page = html.unescape(refused.text)
        assert says in page
        kept = _form_of(refused.text)
        assert kept["title"] == ["Kept title"] and kept["statement"] == ["Kept statement"]
        if setting in ("hidden_detail", "review"):  # a select shows its choices, not the typo
            assert kept["late_penalty"] == ["7"]
        else:
            assert kept[setting] == [typed]
        assert len(list_problems(ui.store, ui.me.peer_id)) == before


def test_a_cap_without_a_penalty_is_refused_in_korean_too(dirs: ClassDirs) -> None:
    for ui in open_ui(dirs.instructor):
        ui.sign_in()
        refused = ui.client.post(
            "/instructor/publish",
            data={"title": "Capped", "statement": "x", "late_cap": "50", "csrf": ui.csrf},
            headers={"accept-language": "ko"},
            follow_redirects=False,
        )
        assert refused.status_code == 400
        assert "하루당 감점" in html.unescape(refused.text)
        assert _form_of(refused.text)["late_cap"] == ["50"]
