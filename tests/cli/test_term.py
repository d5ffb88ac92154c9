"""A term in miniature (issue 20), with real ``peerclass run`` processes on loopback.

One class runs through the whole test module: an instructor (Kim), a teaching assistant
(Tia) and four students. Three problems: Sum (hidden tests, one of them wrong until it is
fixed and regraded; a late penalty; an extension for Ann), Words (a checker program giving
partial credit; graded by the TA) and Style (a rubric scored by the TA; a due date moved).
Two students hand in near-copies, found by ``similarity``. The gradebook is read back by
LibreOffice headless, cell by cell, and the Moodle layout is checked against its columns.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from sqlalchemy import select

from peer.grading import sandbox_available
from peer.log import hlc
from peer.testing import (
    PeerProcess,
    free_udp_port,
    peerclass_command,
    wait_converged,
    wait_until,
)
from storage import Store
from storage.schema import extensions
from tests.helpers import make_class, pc, pc_ok

pytestmark = pytest.mark.skipif(
    sandbox_available() is not None, reason="hidden tests run only in the sandbox"
)

HOUR = 3_600_000
SUM_HONEST_A = "a, b = map(int, input().split())\nprint(a + b)\n"
SUM_HONEST_B = "import sys\n\nprint(sum(int(x) for x in sys.stdin.read().split()))\n"
SUM_COPY_C = """\
def read_numbers():
    line = input()
    parts = line.split()
    values = []
    for part in parts:
        values.append(int(part))
    return values


def main():
    numbers = read_numbers()
    total = 0
    for n in numbers:
        total = total + n
    print(total)


main()
"""
# Dan's: Cat's program with every name changed and a comment added.
SUM_COPY_D = """\
# my solution
def get_ints():
    s = input()
    pieces = s.split()
    out = []
    for p in pieces:
        out.append(int(p))
    return out


def run():
    xs = get_ints()
    acc = 0
    for x in xs:
        acc = acc + x
    print(acc)


run()
"""
WORDS_RIGHT = 'print(" ".join(sorted(input().split())))\n'
WORDS_UNSORTED = "print(input())\n"
CHECKER = """\
#!/bin/sh
# Partial credit: the right words in the wrong order earn half.
if cmp -s "$2" "$3"; then echo "1 exactly right"; exit 0; fi
if [ "$(tr ' ' '\\n' < "$3" | sort)" = "$(tr ' ' '\\n' < "$2" | sort)" ]; then
  echo "0.5 the right words, in the wrong order"; exit 1
fi
echo "0 not the same words"; exit 1
"""
RUBRIC = """\
tests = 50

[[criterion]]
name = "style"
points = 30
description = "readable names"

[[criterion]]
name = "explanation"
points = 20
"""


def _write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def _utc(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.frozen
class Term:
    root: Path
    kim: Path
    tia: Path
    ann: Path
    bob: Path
    cat: Path
    dan: Path
    problems: dict[str, str]
    subs: dict[tuple[str, str], str]  # (student, problem) -> submission id
    log: dict[str, str]  # what commands printed, by step
    peers: dict[str, PeerProcess]

    @property
    def all(self) -> list[Path]:
        return [self.kim, self.tia, self.ann, self.bob, self.cat, self.dan]


def _submit(d: Path, problem: str, path: Path, text: str) -> str:
    return pc_ok(d, "submit", problem, _write(path, text)).out.split()[-1]


def _gradebook(term: Term, fmt: str) -> list[list[str]]:
    text = pc_ok(term.kim, "report", "--class", "--format", fmt).out
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.fixture(scope="module")
def term(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Term]:
    root = tmp_path_factory.mktemp("term")
    dirs = make_class(root, 5, ["Kim", "Tia", "Ann", "Bob", "Cat", "Dan"])
    kim = dirs.instructor
    tia, ann, bob, cat, dan = dirs.students
    pc_ok(kim, "admit", "Tia", "--role", "ta")
    files = root / "files"
    port = free_udp_port()
    peers = [PeerProcess(d, port) for d in dirs.all]
    log: dict[str, str] = {}
    try:
        for peer in peers:
            peer.start()
        now = hlc.wall_ms()
        past, future = _utc(now - 30 * HOUR), _utc(now + 30 * 24 * HOUR)
        statement = _write(files / "statement.md", "Read the input; print the answer.")
        rubric = _write(files / "rubric.toml", RUBRIC)
        publish = ("problem", "publish", "--statement-file", statement, "--allow-past")
        problems = {
            "Sum": pc_ok(kim, *publish, "--title", "Sum", "--due", past,
                         "--late-penalty", "10", "--late-cap", "30").out.strip(),
            "Words": pc_ok(kim, *publish, "--title", "Words", "--hidden-detail", "verdicts",
                           "--due", future).out.strip(),
            "Style": pc_ok(kim, *publish, "--title", "Style", "--due", past, "--rubric", rubric,
                           "--late-penalty", "20", "--late-cap", "20").out.strip(),
        }  # fmt: skip
        wait_converged(dirs.all)
        log["extend"] = pc_ok(kim, "extend", problems["Sum"][:8], "Ann", "--due", future).out
        subs = {}
        for who, d, text in [
            ("Ann", ann, SUM_HONEST_A),
            ("Bob", bob, SUM_HONEST_B),
            ("Cat", cat, SUM_COPY_C),
            ("Dan", dan, SUM_COPY_D),
        ]:
            subs[who, "Sum"] = _submit(d, problems["Sum"], files / who / "sum.py", text)
        subs["Ann", "Words"] = _submit(ann, problems["Words"], files / "aw.py", WORDS_RIGHT)
        subs["Bob", "Words"] = _submit(bob, problems["Words"], files / "bw.py", WORDS_UNSORTED)
        subs["Ann", "Style"] = _submit(ann, problems["Style"], files / "as.py", 'print("hi")\n')
        wait_converged(dirs.all)

        # Sum's test 02 expects a wrong answer at first; every solution fails it.
        sum_tests = files / "sum-tests"
        _write(sum_tests / "01.in", "2 3\n"), _write(sum_tests / "01.out", "5\n")
        _write(sum_tests / "02.in", "10 20\n"), _write(sum_tests / "02.out", "31\n")
        log["grade sum"] = pc_ok(kim, "grade", problems["Sum"], "--tests", str(sum_tests)).out
        words_tests = files / "words-tests"
        _write(words_tests / "01.in", "b a c\n"), _write(words_tests / "01.out", "a b c\n")
        _write(words_tests / "checker", CHECKER)
        log["ta grades words"] = pc_ok(
            tia, "grade", problems["Words"], "--tests", str(words_tests)
        ).out
        style_tests = files / "style-tests"
        _write(style_tests / "01.in", ""), _write(style_tests / "01.out", "hi\n")
        log["grade style"] = pc_ok(kim, "grade", problems["Style"], "--tests", str(style_tests)).out
        wait_converged(dirs.all)
        log["ta rubric"] = pc_ok(
            tia, "feedback", "give", subs["Ann", "Style"], "--verdict", "accept",
            "--comment", "Clear.", "--rubric", "style=30", "explanation=10",
        ).out  # fmt: skip
        wait_converged(dirs.all)
        log["gradebook before"] = json.dumps(_csv_rows(kim))
        # The test is fixed, and everything graded with the wrong one is graded again.
        _write(sum_tests / "02.out", "30\n")
        log["regrade"] = pc_ok(
            kim, "grade", problems["Sum"], "--tests", str(sum_tests), "--regrade"
        ).out
        log["regrade again"] = pc_ok(
            kim, "grade", problems["Sum"], "--tests", str(sum_tests), "--regrade"
        ).out
        # Style's due date moves a month ahead: Ann's attempt is no longer late.
        pc_ok(kim, *publish, "--title", "Style", "--due", future, "--rubric", rubric,
              "--late-penalty", "20", "--late-cap", "20",
              "--supersedes", problems["Style"])  # fmt: skip
        wait_converged(dirs.all)
        by_name = dict(zip(["Kim", "Tia", "Ann", "Bob", "Cat", "Dan"], peers, strict=True))
        yield Term(root, kim, tia, ann, bob, cat, dan, problems, subs, log, by_name)
    finally:
        for peer in peers:
            if peer.process is not None and peer.process.poll() is None:
                peer.stop()


def _csv_rows(kim: Path) -> list[list[str]]:
    text = pc_ok(kim, "report", "--class", "--format", "gradebook").out
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def _by_name(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    header = rows[0]
    return {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}


def test_the_gradebook_has_final_scores_after_penalties_extensions_and_regrades(
    term: Term,
) -> None:
    rows = _gradebook(term, "gradebook")
    assert rows[0] == ["student_id", "student_name", "Style", "Sum", "Words", "total"]
    got = {
        name: [r["Style"], r["Sum"], r["Words"], r["total"]] for name, r in _by_name(rows).items()
    }
    assert got == {
        # Sum: Ann's extension keeps her on time; the others are 30 h (2 started days) late,
        # 10 points a day. Style: tests 100% of 50 points + rubric 40 of 50 = 90, no longer
        # late once its due date moved. Words: the checker's partial credit, from the TA.
        "Ann": ["90", "100", "100", "290"],
        "Bob": ["", "80", "50", "130"],
        "Cat": ["", "80", "", "80"],
        "Dan": ["", "80", "", "80"],
    }
    before = _by_name(json.loads(term.log["gradebook before"]))
    assert before["Ann"]["Sum"] == "50"  # the wrong test failed everyone
    assert before["Bob"]["Sum"] == "30"  # 50 less 20 for two days late
    assert before["Ann"]["Style"] == "70"  # 90 less 20 while it was late


def test_an_extension_is_sealed_to_the_student_and_moves_only_their_lateness(term: Term) -> None:
    assert "Ann is now due" in term.log["extend"]
    listed = json.loads(pc_ok(term.ann, "submissions", "--author", "Ann", "--json").out)
    mine = {s["problem_id"]: s for s in listed}
    assert mine[term.problems["Sum"]]["late"] is False
    bobs = json.loads(pc_ok(term.bob, "submissions", "--json", "--author", "Bob").out)
    assert next(s for s in bobs if s["problem_id"] == term.problems["Sum"])["late"] is True
    # Sealed to Ann and the staff: Bob's peer holds the event but cannot open it.
    readable = {}
    for who, d in [("Ann", term.ann), ("Bob", term.bob), ("Tia", term.tia), ("Kim", term.kim)]:
        store = Store.open(d)
        try:
            with store.read() as conn:
                rows = list(conn.execute(select(extensions.c.readable, extensions.c.student)))
        finally:
            store.close()
        assert len(rows) == 1
        readable[who] = bool(rows[0].readable)
        assert (rows[0].student is not None) == readable[who]
    assert readable == {"Ann": True, "Bob": False, "Tia": True, "Kim": True}


def test_a_regrade_names_the_changed_verdicts_and_the_student_sees_both_scores(
    term: Term,
) -> None:
    regrade = term.log["regrade"]
    assert "regraded 4 submission(s) to 'Sum'" in regrade and "4 verdict(s) changed" in regrade
    assert "regraded 0 submission(s)" in term.log["regrade again"]  # same tests: nothing to do
    feedback = json.loads(pc_ok(term.ann, "feedback", "list", "--json").out)
    sums = [f for f in feedback if f["submission_id"] == term.subs["Ann", "Sum"]]
    assert len(sums) == 1 and sums[0]["score"] == 100
    assert sums[0]["comment"].startswith("regraded after the tests changed: score 50 -> 100")


def test_a_checker_gives_partial_credit_with_its_message_and_a_ta_grades(term: Term) -> None:
    assert "score 50" in term.log["ta grades words"]
    feedback = json.loads(pc_ok(term.bob, "feedback", "list", "--json").out)
    words = next(f for f in feedback if f["submission_id"] == term.subs["Bob", "Words"])
    assert words["reviewer_name"] == "Tia" and words["role"] == "instructor"
    assert words["score"] == 50
    assert "the right words, in the wrong order" in words["comment"]


def test_rubric_points_combine_with_the_tests_as_the_rubric_file_says(term: Term) -> None:
    feedback = json.loads(pc_ok(term.ann, "feedback", "list", "--json").out)
    style = [f for f in feedback if f["submission_id"] == term.subs["Ann", "Style"]]
    by = {f["reviewer_name"]: f["score"] for f in style}
    assert by == {"Kim": 50, "Tia": 90}  # tests alone: 50 of 100; with the rubric: 90
    bad = pc(term.tia, "feedback", "give", term.subs["Ann", "Style"], "--verdict", "accept",
             "--comment", "x", "--rubric", "style=31")  # fmt: skip
    assert bad.code != 0 and "criterion 'style' takes 0 to 30 points" in bad.err
    student = pc(term.bob, "feedback", "give", term.subs["Ann", "Style"], "--verdict", "accept",
                 "--comment", "x", "--rubric", "style=3")  # fmt: skip
    assert student.code != 0  # a classmate can neither read it nor give rubric points
    assert "instructor or a TA" in student.err or "cannot read that submission" in student.err


def test_similarity_ranks_the_near_copies_first(term: Term) -> None:
    out = pc_ok(term.tia, "similarity", term.problems["Sum"][:8], "--format", "json").out
    pairs = json.loads(out)["pairs"]
    first = pairs[0]
    assert {first["a"].split()[0], first["b"].split()[0]} == {"Cat", "Dan"}
    assert first["similarity"] >= 0.9 and first["regions"]
    honest = next(p for p in pairs if {p["a"].split()[0], p["b"].split()[0]} == {"Ann", "Bob"})
    assert honest["similarity"] < first["similarity"] / 2
    html = term.root / "similarity.html"
    pc_ok(term.kim, "similarity", term.problems["Sum"], "--format", "html", "-o", str(html))
    assert "get_ints" in html.read_text() and "read_numbers" in html.read_text()
    refused = pc(term.ann, "similarity", term.problems["Sum"])
    assert refused.code != 0 and "instructors and TAs" in refused.err
    # This term's submissions, exported, are a later term's --against: each student's own
    # program is found again, and this term's pairs are not repeated.
    exported = term.root / "sum-2026"
    pc_ok(term.kim, "similarity", term.problems["Sum"], "--export", str(exported))
    assert len(list(exported.glob("*.py"))) == 4
    later = json.loads(
        pc_ok(term.kim, "similarity", term.problems["Sum"], "--format", "json",
              "--against", str(exported)).out
    )["pairs"]  # fmt: skip
    cats = [p for p in later if p["a"].startswith("Cat") and p["b"].startswith("earlier term")]
    best = max(cats, key=lambda p: p["similarity"])
    assert best["similarity"] == 1.0 and "Cat-" in best["b"]


def test_libreoffice_reads_the_gradebook_cell_by_cell(term: Term) -> None:
    path = term.root / "gradebook.csv"
    pc_ok(term.kim, "report", "--class", "--format", "gradebook", "-o", str(path))
    out = term.root / "lo"
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{term.root}/lo-profile", "--headless",
         "--infilter=CSV:44,34,76,1", "--convert-to", "fods", "--outdir", str(out), str(path)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    cells = _fods_cells(out / "gradebook.fods")
    expected = _csv_rows(term.kim)
    assert len(cells) == len(expected)
    for got_row, want_row in zip(cells, expected, strict=True):
        assert [v for v, _t in got_row] == want_row
    for row in cells[1:]:  # scores and totals are numbers to the spreadsheet, names are text
        assert row[1][1] == "string"
        assert all(t == "float" for v, t in row[2:] if v != "")


def _fods_cells(path: Path) -> list[list[tuple[str, str]]]:
    ns = {
        "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
        "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
        "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    }
    rows = []
    for row in ET.parse(path).getroot().iter(f"{{{ns['table']}}}table-row"):
        cells: list[tuple[str, str]] = []
        for cell in row.findall("table:table-cell", ns):
            repeat = int(cell.get(f"{{{ns['table']}}}number-columns-repeated", "1"))
            text = "".join("".join(p.itertext()) for p in cell.findall("text:p", ns))
            kind = cell.get(f"{{{ns['office']}}}value-type", "")
            cells.extend([(text, kind)] * min(repeat, 16))
        while cells and cells[-1] == ("", ""):
            cells.pop()
        if cells:
            rows.append(cells)
    return rows


def test_the_moodle_layout_is_the_one_its_grade_import_documents(term: Term) -> None:
    """Moodle's CSV grade import (https://docs.moodle.org/en/Grade_import): one line per
    student; one column identifies the user (mapped to userid, useridnumber, useremail or
    username in the preview); every other column is a grade item named by its header, an
    empty cell meaning no grade and anything else a number."""
    rows = _gradebook(term, "gradebook-moodle")
    assert rows[0] == ["Username", "Style", "Sum", "Words"]
    assert [r[0] for r in rows[1:]] == ["Ann", "Bob", "Cat", "Dan"]
    for row in rows[1:]:
        assert len(row) == 4 and all(c == "" or c.isdigit() for c in row[1:])


def test_the_html_report_carries_the_gradebook(term: Term) -> None:
    html = pc_ok(term.kim, "report", "--class", "--format", "html").out
    table = html.split('<table class="gradebook">')[1].split("</table>")[0]
    assert '<th class="num">Total</th>' in table and "<strong>290</strong>" in table
    assert "(&minus;20)" in table  # Bob's Sum: late penalty shown


def _board_row(lines: list[str], name: str) -> str:
    """The newest drawing's row of ``name`` (each drawing ends with its "(from ...)" line)."""
    ends = [i for i, line in enumerate(lines) if line.startswith("(from ")]
    if not ends:
        return ""
    start = ends[-2] + 1 if len(ends) > 1 else 0
    return next((line for line in lines[start : ends[-1]] if line.startswith(name + " ")), "")


def test_the_class_at_a_glance_follows_a_peer_that_stops_and_returns(term: Term) -> None:
    """``progress --live`` and the instructor's page in a browser, beside the instructor's
    running peer: each student's peer online or last seen, in sync or how far behind, and
    their state on the open problems; the page changes without a reload."""
    env = {**os.environ, "PEERCLASS_DISCOVERY_ADDR": "127.255.255.255"}
    board = subprocess.Popen(
        peerclass_command(term.kim, "progress", "--live"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    lines: list[str] = []

    def read() -> None:
        assert board.stdout is not None
        lines.extend(line.rstrip("\n") for line in board.stdout)

    def row(name: str) -> str:
        return _board_row(lines, name)

    threading.Thread(target=read, daemon=True).start()
    with _instructor_page(term) as page:
        dan = page.locator("#class-board tr", has_text="Dan") if page else None
        try:
            names = ["Ann", "Bob", "Cat", "Dan"]
            wait_until(lambda: all("online" in row(n) for n in names), 30, "everyone online")
            header = next(line for line in lines if line.startswith("STUDENT"))
            assert "WORDS" in header and "STYLE" in header and "SUM" not in header  # past due
            assert "accepted" in row("Ann") and "revise" in row("Bob")  # Words, by the TA
            assert "(from the running peer" in lines[-1]
            wait_until(lambda: "in sync" in row("Dan"), 30, "Dan in sync")
            if dan is not None:
                _expect(dan, "in sync")
            assert term.peers["Dan"].stop() == 0
            wait_until(lambda: "seen " in row("Dan"), 40, "Dan offline, with the time last seen")
            assert "online" not in row("Dan") and "in sync" not in row("Dan")
            if dan is not None:
                _expect(dan, "last seen")
            pc_ok(term.kim, "chat", "send", "while you were away")  # Dan's peer falls behind
            term.peers["Dan"].start()
            wait_until(lambda: "online" in row("Dan"), 30, "Dan back online")
            wait_until(lambda: "in sync" in row("Dan"), 30, "Dan caught up")
            if dan is not None:
                _expect(dan, "in sync")
                assert page.evaluate("window.__stayed === 'yes'")  # no reload
        except TimeoutError as exc:
            raise AssertionError(f"{exc}:\n" + "\n".join(lines[-24:])) from None
        finally:
            board.send_signal(signal.SIGTERM)
            code = board.wait(timeout=15)
    assert code == 0


CHROMIUM = Path("/usr/bin/chromium")


@contextlib.contextmanager
def _instructor_page(term: Term) -> Iterator[Any]:
    """The instructor's page in Debian's chromium (Playwright), signed in with a one-time
    URL; None where there is no browser to drive."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        yield None
        return
    if not CHROMIUM.exists():
        yield None
        return
    url = pc_ok(term.kim, "ui").out.strip()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_context().new_page()
            page.goto(url)
            page.wait_for_url("**/chat")
            page.goto(url.split("/#")[0] + "/instructor")
            page.evaluate("window.__stayed = 'yes'")
            yield page
        finally:
            browser.close()


def _expect(locator: Any, text: str) -> None:
    from playwright.sync_api import expect

    expect(locator).to_contain_text(text, timeout=30_000)
