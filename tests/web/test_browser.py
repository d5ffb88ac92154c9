"""End to end in a real browser: Debian's chromium driven by Playwright (never a downloaded
browser), three real peers (instructor and two students) on loopback, each with its own page.
One class and one browser serve every test of this module, in order:

1. a class session: chat arrives live; a problem is published, dry-run, submitted, reviewed;
   the verdict arrives without a reload; a private conversation stays private;
2. text as people type it: a multi-line message, a multi-paragraph review, a refused form
   that keeps everything typed, the instructor revising an autograded verdict, and the
   student's page showing the tests beside the note;
3. a page that lives as long as the class: the peer stopped and restarted under an open page;
4. nothing missed: unread badges, title counts and notifications on another page, mentions,
   an announcement; edits and deletes seen by the others; search in Korean;
5. the whole history: scrolling back through 5,000 messages;
6. the Korean UI, the session cookie kept from other local ports, axe-core on every page in
   light and dark, screenshots at 390 px and 1280 px (docs/screenshots/).
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from peer.identity import load_membership
from peer.testing import PeerProcess, cli, free_udp_port, wait_until
from peer.web import ui_host
from storage import Store
from storage.queries import chat_log
from tests.helpers import ClassDirs, make_class

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LIVE = 25_000  # ms: what arrives over gossip and SSE must show within this
#: Set on each page once: still there later proves a change arrived without a reload.
MARK = "window.__stayed = 'yes'"
STAYED = "window.__stayed === 'yes'"
HISTORY = 5000  # messages in the #history room, to scroll back through
#: axe-core from the npm registry, pinned; installed once into the user's cache.
AXE_VERSION = "4.14.1"
AXE_DIR = Path.home() / ".cache" / "peerclass-tests" / f"axe-core-{AXE_VERSION}"
#: Replaces the browser's Notification API: records what the page would show.
NOTIFICATIONS = """
window.__notes = [];
window.Notification = function (title, options) {
  window.__notes.push({title: title, body: (options || {}).body});
};
window.Notification.permission = 'granted';
window.Notification.requestPermission = function () { return Promise.resolve('granted'); };
"""

# Every visible form control has a label; headings start at h1 and never skip a level.
A11Y_SCRIPT = """() => {
  const problems = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const named = (el.labels && el.labels.length) || el.getAttribute('aria-label')
      || el.getAttribute('aria-labelledby');
    if (!named) problems.push('unlabelled ' + el.tagName + ' ' + (el.name || el.id));
  }
  let last = 0;
  for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    if (h.closest('[hidden], details:not([open])')) continue;
    const level = Number(h.tagName[1]);
    if (last === 0 && level !== 1) problems.push('first heading is ' + h.tagName);
    if (last && level > last + 1) problems.push(h.tagName + ' after h' + last);
    last = level;
  }
  if (!last) problems.push('no heading');
  return problems;
}"""
#: Elements sticking out to the right of the viewport (the page would scroll sideways).
SIDEWAYS = """() => {
  if (document.documentElement.scrollWidth <= window.innerWidth + 1) return [];
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > window.innerWidth + 1 && !el.closest('.table-wrap, pre'))
      out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right));
  }
  return out.slice(0, 8);
}"""


def _ui_url(peer: PeerProcess, skip: int = 0) -> str:
    def found() -> list[str]:
        return [ln.split(" ", 2)[2] for ln in peer.lines if ln.startswith("ui at ")]

    wait_until(lambda: len(found()) > skip, 20, "the 'ui at' line")
    return found()[skip]


@attrs.define(eq=False)
class Session:
    """The class, its peers, one browser and a signed-in page per person."""

    klass: ClassDirs
    peers: list[PeerProcess]
    bases: list[str]
    browser: Any
    pages: list[Any]
    shared: dict[str, Any] = attrs.field(factory=dict)

    def new_page(self, who: int, **context: Any) -> Any:
        """Another browser context signed in as ``who`` with a fresh one-time URL."""
        url = cli(self.klass.all[who], "ui").stdout.strip()
        options = {"viewport": {"width": 1280, "height": 800}, **context}
        page = self.browser.new_context(**options).new_page()
        page.goto(url)
        page.wait_for_url("**/chat")
        return page


def _history(data_dir: Path) -> None:
    """5,000 messages in #history, authored before the peer starts (one transaction)."""
    me = load_membership(data_dir)
    store = Store.open(data_dir)
    try:
        items = [("chat", {"room": "history", "text": f"history line {i}"}) for i in range(HISTORY)]
        store.append_many(me.signing_key, items)
    finally:
        store.close()


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    klass = make_class(tmp_path_factory.mktemp("e2e"), names=["김선생", "이민준", "Ada"])
    _history(klass.students[1])
    port = free_udp_port()
    peers = [PeerProcess(d, port).start() for d in klass.all]
    try:
        urls = [_ui_url(p) for p in peers]
        with playwright_sync.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            try:
                pages = []
                for url in urls:
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    context.add_init_script(NOTIFICATIONS)
                    page = context.new_page()
                    page.goto(url)  # the sign-in script posts the #token and lands on the chat
                    page.wait_for_url("**/chat")
                    assert "token" not in page.url
                    pages.append(page)
                bases = [url.split("/#")[0] for url in urls]
                yield Session(klass, peers, bases, browser, pages)
            finally:
                browser.close()
    finally:
        for p in peers:
            p.stop()


def _holds(data_dir: Path, text: str) -> bool:
    """Whether the store of ``data_dir`` (its peer running or not) holds a message with
    ``text``."""
    store = Store.open(data_dir)
    try:
        return any(text in m.text for m in chat_log(store, "general", 50))
    finally:
        store.close()


def _check_a11y(page: Any) -> None:
    problems = page.evaluate(A11Y_SCRIPT)
    assert problems == [], f"{page.url}: {problems}"


def _shoot(page: Any, name: str, show: str | None = None) -> None:
    """Screenshots of the page as it is (scrolled to ``show``) at 1280 and 390 px wide, in
    light and dark; at 390 px nothing may need sideways scrolling."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, suffix in ((1280, ""), (390, "-390")):
        page.set_viewport_size({"width": width, "height": 800 if width > 400 else 844})
        if show is not None:
            page.locator(show).first.scroll_into_view_if_needed()
        wide = page.evaluate(SIDEWAYS)
        assert wide == [], f"{page.url} scrolls sideways at {width} px: {wide}"
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}-{scheme}.png"))
    page.set_viewport_size({"width": 1280, "height": 800})
    page.emulate_media(color_scheme="light")


def test_a_class_session_in_three_browsers(session: Session) -> None:
    t_base, m_base, a_base = session.bases
    for base, d in zip(session.bases, session.klass.all, strict=True):
        assert base.startswith(f"http://{ui_host(load_membership(d).peer_id)}:")
    teacher, minjun, ada = session.pages
    expect = playwright_sync.expect
    stranger = session.browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    stranger.goto(t_base + "/problems")  # no session: the sign-in page, nothing else
    expect(stranger.locator("h1")).to_have_text("peerclass")
    assert "두 수의 합" not in stranger.content()
    _check_a11y(stranger)
    _shoot(stranger, "signin")
    stranger.context.close()
    _shoot(minjun, "signed-in-chat-empty")

    # -- chat arrives live on the others' pages; a multi-line message (Shift+Enter) --------
    for page in (teacher, ada):
        page.evaluate(MARK)
    minjun.fill("#text", "안녕하세요, 여러분! **반가워요**")
    minjun.press("#text", "Shift+Enter")
    minjun.keyboard.type("둘째 줄입니다")
    minjun.press("#text", "Control+Enter")
    minjun.wait_for_url("**/chat?room=general")
    for page in (teacher, ada):
        expect(page.locator("#messages")).to_contain_text("안녕하세요, 여러분!", timeout=LIVE)
        expect(page.locator("#messages strong", has_text="반가워요")).to_be_visible()
        expect(page.locator("#messages .msg", has_text="둘째 줄입니다")).to_be_visible()
        assert page.evaluate(STAYED)
    shown = teacher.locator("#messages .msg", has_text="반가워요").inner_html()
    assert "<br>" in shown  # the line break arrived as a line break
    expect(teacher.locator(".people")).to_contain_text("이민준")
    _check_a11y(teacher)

    # keyboard only: Tab to the new-room field, type, Tab, type, Enter submits
    for _ in range(80):
        if ada.evaluate("document.activeElement && document.activeElement.id") == "new-room":
            break
        ada.keyboard.press("Tab")
    else:
        pytest.fail("Tab never reached the new-room field")
    ada.keyboard.type("lab")
    ada.keyboard.press("Tab")
    ada.keyboard.type("Room for lab questions")
    ada.keyboard.press("Enter")
    ada.wait_for_url("**/chat?room=lab")
    expect(ada.locator("#messages")).to_contain_text("Room for lab questions")

    # -- a problem published on the instructor's page reaches the students -----------------
    for page, base in ((minjun, m_base), (ada, a_base)):
        page.goto(base + "/problems")
        page.evaluate(MARK)
    teacher.goto(t_base + "/instructor/publish")
    _check_a11y(teacher)
    teacher.fill("#title", "두 수의 합")
    teacher.fill("#statement", "Read two integers and print their **sum**.\n\nSecond paragraph.")
    teacher.fill("#tags", "basics, io")
    due = (datetime.now() + timedelta(days=2, hours=1)).strftime("%Y-%m-%dT%H:%M")
    teacher.fill("#due", due)
    teacher.fill("#input1", "2 3\n")
    teacher.fill("#output1", "5\n")
    _shoot(teacher, "publish")
    teacher.click("form.publish button[type=submit]")
    teacher.wait_for_url("**/problems/*")
    expect(teacher.locator("h1")).to_have_text("두 수의 합")
    for page in (minjun, ada):
        row = page.locator("#problem-list tr", has_text="두 수의 합")
        expect(row).to_be_visible(timeout=LIVE)
        expect(row).to_contain_text("official")
        expect(row).to_contain_text("due in 2 days")
        assert page.evaluate(STAYED)
    _check_a11y(minjun)
    _shoot(minjun, "problems")

    # -- the student dry-runs, then submits --------------------------------------------------
    teacher.goto(t_base + "/instructor")
    teacher.evaluate(MARK)
    minjun.click("text=두 수의 합")
    minjun.wait_for_url("**/problems/*")
    session.shared["problem_url"] = minjun.url
    minjun.fill("#solution", "a, b = map(int, input().split())\nprint(a + b)\n")
    minjun.click("button[value=check]")
    expect(minjun.locator(".dry-run")).to_contain_text("passed 1 of 1")
    expect(minjun.locator("#attempts")).to_contain_text("No attempts yet")
    _check_a11y(minjun)
    _shoot(minjun, "problem-dry-run", show=".dry-run")
    minjun.click("button[value=submit]")
    minjun.wait_for_url("**submitted=1")
    expect(minjun.locator("#attempts")).to_contain_text("Attempt 1")
    expect(minjun.locator("#attempts")).to_contain_text("No feedback yet")

    # -- the instructor sees it in the queue -------------------------------------------------
    queue = teacher.locator("#verdict-queue tr", has_text="이민준")
    expect(queue).to_be_visible(timeout=LIVE)
    assert teacher.evaluate(STAYED)
    expect(teacher.locator("#progress")).to_contain_text("이민준")
    _check_a11y(teacher)
    _shoot(teacher, "instructor")
    queue.get_by_role("link", name="Review").click()
    teacher.wait_for_url("**/submissions/*")
    session.shared["submission_url"] = teacher.url.split("/submissions/")[1]
    expect(teacher.locator("pre.highlighted .tok-nb").first).to_be_visible()

    # -- a private conversation, shown to its two people only ------------------------------
    ada.goto(a_base + "/chat")
    ada.click(".people a:has-text('이민준')")
    ada.fill("#text", "비밀 메시지 for 민준")
    ada.click("form.compose button:has-text('Send')")
    minjun.goto(m_base + "/chat")
    expect(minjun.locator("#rooms")).to_contain_text("Ada", timeout=LIVE)
    minjun.click("#rooms a:has-text('Ada')")
    expect(minjun.locator("#messages")).to_contain_text("비밀 메시지")
    teacher.goto(t_base + "/chat")
    expect(teacher.locator("#rooms")).to_contain_text("Choose a person below")
    assert "비밀 메시지" not in teacher.content()


def test_forms_keep_text_and_the_grades_read_whole(session: Session) -> None:
    """A refused review keeps its verdict, score and comment; a multi-paragraph review is
    stored; the instructor revises an autograded verdict; the student sees the tests beside
    the note."""
    expect = playwright_sync.expect
    teacher, minjun, _ = session.pages
    t_base, m_base, _ = session.bases
    sid = session.shared["submission_url"]
    # what `peerclass grade` publishes: the instructor's key, the test breakdown as comment
    graded = "passed 1 of 2 tests (score 50)\nfailed:\n  02-korean: failed"
    cli(
        session.klass.instructor,
        "feedback", "give", sid, "--verdict", "revise", "--score", "50", "--comment", graded,
    )  # fmt: skip
    teacher.goto(f"{t_base}/submissions/{sid}")
    expect(teacher.locator("#threads")).to_contain_text("02-korean", timeout=LIVE)
    expect(teacher.locator("#comment")).to_have_value(graded)  # pre-filled, multi-line
    note = "Nice use of `map`.\n\n두 번째 문단: 한국어 입력도 처리해 보세요."
    teacher.check("input[name=verdict][value=accept]")
    teacher.fill("#score", "150")  # refused: outside 0-100
    teacher.fill("#comment", note)
    teacher.click("form.feedback-form button[type=submit]")
    expect(teacher.locator(".feedback-form .error")).to_contain_text("outside 0-100")
    expect(teacher.locator("#comment")).to_have_value(note)
    expect(teacher.locator("#score")).to_have_value("150")
    assert teacher.locator("input[name=verdict][value=accept]").is_checked()
    _check_a11y(teacher)
    teacher.fill("#score", "90")
    teacher.click("form.feedback-form button[type=submit]")
    teacher.wait_for_url(f"**/submissions/{sid}")
    expect(teacher.locator("#threads")).to_contain_text("90/100")
    expect(teacher.locator("#threads")).to_contain_text("두 번째 문단")
    _shoot(teacher, "submission")

    minjun.goto(session.shared["problem_url"].split("?")[0])
    attempts = minjun.locator("#attempts")
    expect(attempts.locator(".note")).to_contain_text("두 번째 문단", timeout=LIVE)
    expect(attempts.locator(".graded")).to_contain_text("02-korean")  # not hidden by the note
    expect(attempts.locator(".pill-accepted").first).to_be_visible()
    assert attempts.locator(".note .md p").count() == 2  # two paragraphs
    _shoot(minjun, "problem-feedback", show="#attempts")
    minjun.goto(m_base + "/feedback")
    expect(minjun.locator("#my-submissions")).to_contain_text("90/100")
    expect(minjun.locator("#my-submissions .graded")).to_contain_text("passed 1 of 2")
    _check_a11y(minjun)
    _shoot(minjun, "feedback")


def test_the_page_outlives_a_restart_of_its_peer(session: Session) -> None:
    """Stopped: a banner, typing kept, forms held. Restarted: the page reconnects by itself
    to the same address, signed in, and catches up without a reload."""
    expect = playwright_sync.expect
    _, minjun, ada = session.pages
    m_base = session.bases[1]
    minjun.goto(m_base + "/chat?room=general")
    minjun.evaluate(MARK)
    peer = session.peers[1]
    assert peer.stop() == 0
    banner = minjun.locator("#offline")
    expect(banner).to_be_visible(timeout=10_000)
    expect(banner).to_contain_text("stopped")
    _shoot(minjun, "offline")
    minjun.fill("#text", "written while the peer was stopped\nsecond line")
    minjun.press("#text", "Control+Enter")  # held, not lost
    expect(banner).to_contain_text("Not sent")
    assert minjun.input_value("#text") == "written while the peer was stopped\nsecond line"
    ada.goto(session.bases[2] + "/chat?room=general")
    ada.fill("#text", "sent while 민준's peer was down")
    ada.press("#text", "Control+Enter")
    ada.wait_for_url("**/chat?room=general")

    restarted = PeerProcess(peer.data_dir, peer.discovery_port).start()
    session.peers[1] = restarted
    assert _ui_url(restarted).split("/#")[0] == m_base  # the same address, so the same page
    wait_until(
        lambda: _holds(peer.data_dir, "sent while 민준"), 90, "the restarted peer to catch up"
    )
    expect(minjun.locator("#messages")).to_contain_text("sent while 민준", timeout=LIVE)
    expect(banner).to_be_hidden(timeout=LIVE)
    assert minjun.evaluate(STAYED)  # no reload
    assert minjun.input_value("#text") == "written while the peer was stopped\nsecond line"
    minjun.click("form.compose button[type=submit]")  # still signed in: it sends
    minjun.wait_for_url("**/chat?room=general")
    expect(minjun.locator("#messages")).to_contain_text("written while the peer was stopped")
    expect(minjun.locator("h1#conv-title")).to_have_text("#general")


def test_nothing_is_missed_on_another_page(session: Session) -> None:
    """Private messages, mentions and announcements: a badge and a title count on every
    page, desktop notifications once opted in; the announcement pinned until dismissed."""
    expect = playwright_sync.expect
    teacher, minjun, ada = session.pages
    t_base, m_base, a_base = session.bases
    minjun.goto(m_base + "/problems")
    minjun.click("#notify-toggle")  # opt in
    expect(minjun.locator("#notify-toggle")).to_have_attribute("aria-pressed", "true")
    minjun.evaluate(MARK)
    ada.goto(a_base + "/chat?with=" + load_membership(session.klass.students[0]).peer_id.hex())
    ada.fill("#text", "민준, 숙제 봤어요?")
    ada.press("#text", "Control+Enter")
    ada.wait_for_url("**/chat?with=*")
    ada.goto(a_base + "/chat?room=general")
    ada.fill("#text", "@이")  # completion from the roster
    expect(ada.locator("#mention-list [role=option]", has_text="@이민준")).to_be_visible()
    ada.press("#text", "Enter")
    assert ada.input_value("#text") == "@이민준 "
    ada.keyboard.type("점심 먹었어요?")
    ada.press("#text", "Control+Enter")
    ada.wait_for_url("**/chat?room=general")
    teacher.goto(t_base + "/chat?room=general")
    teacher.fill("#text", "내일은 휴강입니다. Tomorrow's class is cancelled.")
    teacher.check("input[name=announcement]")
    teacher.click("form.compose button[type=submit]")
    teacher.wait_for_url("**/chat?room=general")

    badge = minjun.locator("#nav-unread .badge")
    expect(badge).to_be_visible(timeout=LIVE)
    wait_until(lambda: minjun.title().startswith("("), 25, "the count in the title")
    assert minjun.evaluate(STAYED)
    wait_until(lambda: len(minjun.evaluate("window.__notes")) >= 3, 25, "three notifications")
    notes = minjun.evaluate("window.__notes")
    titles = " | ".join(n["title"] for n in notes)
    assert "Private message from Ada" in titles
    assert "Ada mentioned you" in titles and "Announcement from 김선생" in titles
    assert any(n["body"] == "민준, 숙제 봤어요?" for n in notes)
    _shoot(minjun, "unread-badge")

    minjun.click("nav a[href='/chat']")
    minjun.wait_for_url("**/chat")
    pinned = minjun.locator("#announcements .announcement")
    expect(pinned).to_contain_text("내일은 휴강입니다")
    mention = minjun.locator("#messages .msg.mentions-me", has_text="점심 먹었어요")
    expect(mention.locator(".mention.me")).to_have_text("@이민준")
    _check_a11y(minjun)
    _shoot(minjun, "chat", show="#announcements")
    minjun.click("#announcements button:has-text('Dismiss')")
    minjun.wait_for_url("**/chat?room=general")
    expect(minjun.locator("#announcements .announcement")).to_have_count(0)
    ada.goto(a_base + "/chat?room=general")
    expect(ada.locator("#announcements")).to_contain_text("내일은 휴강입니다")  # theirs stays


def test_edits_deletes_search_and_grouping(session: Session) -> None:
    expect = playwright_sync.expect
    teacher, minjun, _ = session.pages
    t_base, m_base, _ = session.bases
    teacher.goto(t_base + "/chat?room=general")
    teacher.evaluate(MARK)
    minjun.goto(m_base + "/chat?room=general")
    for text in ("오타가 있는 메시지", "곧 지울 메시지", "```python\nprint('코드')\n```"):
        minjun.fill("#text", text)
        minjun.press("#text", "Control+Enter")
        minjun.wait_for_url("**/chat?room=general")
    mine = minjun.locator("#messages .msg.mine")
    expect(minjun.locator("#messages .msg.grouped").first).to_be_visible()  # one header
    expect(minjun.locator("#messages pre code .tok-nb", has_text="print")).to_be_visible()
    mine.filter(has_text="오타가 있는 메시지").locator("a.msg-edit").click()
    minjun.wait_for_url("**/chat/message/**")
    _check_a11y(minjun)
    minjun.fill("#edit-text", "   ")  # refused: empty; the page says why
    minjun.click("form.edit-form button[type=submit]")
    expect(minjun.locator("form.edit-form .error")).to_contain_text("empty")
    minjun.fill("#edit-text", "고친 메시지입니다")
    minjun.click("form.edit-form button[type=submit]")
    minjun.wait_for_url("**/chat?room=general*")
    minjun.locator("#messages .msg.mine", has_text="곧 지울 메시지").locator("a.msg-edit").click()
    minjun.wait_for_url("**/chat/message/**")
    minjun.once("dialog", lambda dialog: dialog.accept())
    minjun.click("form.delete-form button[type=submit]")
    minjun.wait_for_url("**/chat?room=general")

    edited = teacher.locator("#messages .msg", has_text="고친 메시지입니다")
    expect(edited).to_be_visible(timeout=LIVE)
    expect(edited.locator(".edited")).to_have_text("(edited)")
    expect(teacher.locator("#messages")).to_contain_text("(message deleted)")
    assert "곧 지울 메시지" not in teacher.locator("#messages").inner_text()
    assert "오타가 있는" not in teacher.locator("#messages").inner_text()
    assert teacher.evaluate(STAYED)

    teacher.fill("#q", "반가워")  # Korean search, a two-syllable word
    teacher.press("#q", "Enter")
    teacher.wait_for_url("**/chat/search?q=*")
    expect(teacher.locator(".hits li")).to_have_count(1)
    expect(teacher.locator(".hits")).to_contain_text("이민준")
    _check_a11y(teacher)
    _shoot(teacher, "search")
    teacher.goto(t_base + "/chat/search?q=" + "곧 지울")
    expect(teacher.locator(".hits li")).to_have_count(0)  # deleted: not found


def test_scrolling_back_through_5000_messages(session: Session) -> None:
    """Older messages load as one scrolls up, a page at a time, down to the first."""
    ada = session.pages[2]
    ada.goto(session.bases[2] + "/chat?room=history")
    expect = playwright_sync.expect
    expect(ada.locator("#messages")).to_contain_text(f"history line {HISTORY - 1}")
    first = ada.locator("#messages .msg").count()
    assert first < 200  # the page holds one page, not the history
    requests: list[str] = []
    ada.on("request", lambda r: requests.append(r.url) if "/chat/older" in r.url else None)
    deadline = time.monotonic() + 120
    while ada.locator("#older").get_attribute("data-more") == "True":
        assert time.monotonic() < deadline, "scrolling back never reached the first message"
        ada.evaluate("document.getElementById('messages').scrollTop = 0")
        ada.wait_for_timeout(50)  # let the scroll event fire; the loop checks the condition
    expect(ada.locator("#messages .msg").first).to_contain_text("history line 0", timeout=LIVE)
    kept = ada.locator("#messages .msg").count()
    assert kept <= 1000 + first  # bounded: the page let go of what lies between
    expect(ada.locator("#older .jump-newest a")).to_be_visible()
    lines = ada.locator("#older .msg .md").all_inner_texts()
    numbers = [int(line.split()[-1]) for line in lines]
    assert numbers == list(range(len(numbers)))  # in order, none missing from the start
    assert len(requests) >= HISTORY // 200  # a page at a time


def test_the_korean_ui_and_switching_language(session: Session) -> None:
    expect = playwright_sync.expect
    page = session.new_page(1, locale="ko-KR")
    expect(page.locator("nav a[href='/chat']")).to_contain_text("채팅")
    assert page.locator("html").get_attribute("lang") == "ko"
    page.goto(session.bases[1] + "/problems")
    expect(page.locator("h1")).to_have_text("문제")
    expect(page.locator("#problem-list")).to_contain_text("일 후 마감")
    _check_a11y(page)
    _shoot(page, "problems-ko")
    page.goto(session.bases[1] + "/feedback")
    expect(page.locator("#my-submissions")).to_contain_text("강사의 메모")
    page.click(".lang-form button")  # English, kept in a cookie
    page.wait_for_url("**/feedback")
    expect(page.locator("h1")).to_have_text("Feedback")
    page.context.close()


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Another local program on another port: records the Cookie header it is sent."""

    seen: list[str] = []  # noqa: RUF012

    def do_GET(self) -> None:
        _Recorder.seen.append(self.headers.get("cookie") or "")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: object) -> None:
        return


def test_the_session_cookie_reaches_no_other_local_port(session: Session) -> None:
    minjun = session.pages[1]
    cookies = minjun.context.cookies()
    ours = [
        c for c in cookies if c["name"].startswith("peerclass_") and c["name"] != "peerclass_lang"
    ]
    assert ours and all(c["httpOnly"] for c in ours)
    host = session.bases[1].split("//")[1].split(":")[0]
    assert host != "127.0.0.1" and all(c["domain"] == host for c in ours)
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        other = minjun.context.new_page()
        for origin in (
            f"http://127.0.0.1:{server.server_port}",
            f"http://localhost:{server.server_port}",
        ):
            other.goto(origin + "/")
        other.close()
    finally:
        server.shutdown()
    assert len(_Recorder.seen) >= 2
    assert not any("peerclass_" in c for c in _Recorder.seen), _Recorder.seen


@pytest.fixture(scope="module")
def axe_script() -> str:
    """axe-core (pinned) from the npm registry, installed once into the user's cache."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("needs npm to install axe-core")
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR),
             f"axe-core@{AXE_VERSION}"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if done.returncode != 0 or not script.exists():
            pytest.skip(f"could not install axe-core {AXE_VERSION}: {done.stderr[-300:]}")
    return script.read_text(encoding="utf-8")


def test_axe_finds_no_serious_violation_on_any_page(session: Session, axe_script: str) -> None:
    """Every page, light and dark, at 1280 and 390 px: no serious or critical violation."""
    t_base = session.bases[0]
    sid = session.shared["submission_url"]
    problem = session.shared["problem_url"].split("/problems/")[1].split("?")[0]
    pages = {
        0: ["/chat?room=general", "/problems", f"/problems/{problem}", "/feedback",
            f"/submissions/{sid}", "/instructor", "/instructor/publish", "/chat/search?q=반가워"],
        1: ["/chat?room=general", f"/problems/{problem}", "/feedback", "/problems"],
    }  # fmt: skip
    found: list[str] = []
    for who, paths in pages.items():
        page = session.new_page(who, bypass_csp=True)  # axe is injected as a script
        base = session.bases[who]
        for path in paths:
            page.goto(base + path)
            page.add_script_tag(content=axe_script)
            for width in (1280, 390):
                page.set_viewport_size({"width": width, "height": 800})
                for scheme in ("light", "dark"):
                    page.emulate_media(color_scheme=scheme)
                    result = page.evaluate(
                        "async () => (await axe.run(document)).violations"
                        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
                        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
                    )
                    found += [f"{path} {width}px {scheme}: {v}" for v in result]
        page.context.close()
    stranger = session.browser.new_context(bypass_csp=True).new_page()
    stranger.goto(t_base + "/chat")
    stranger.add_script_tag(content=axe_script)
    result = stranger.evaluate(
        "async () => (await axe.run(document)).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => v.id)"
    )
    found += [f"sign-in: {v}" for v in result]
    stranger.context.close()
    assert found == [], json.dumps(sorted(set(found)), ensure_ascii=False, indent=1)
    assert re.match(r"http://127\.\d+\.\d+\.\d+:\d+", t_base)
