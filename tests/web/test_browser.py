"""End to end in a real browser: Debian's chromium driven by Playwright (never a downloaded
browser), three real peers (instructor and two students) on loopback, each with its own page.

One class session, in order: chat arrives live on the others' pages; a problem published on
the instructor's page appears on the students' pages; a student dry-runs, then submits; the
instructor sees it in the queue and gives a verdict; the student sees the verdict arrive
without reloading. Along the way: screenshots of every page (1280x800, light and dark) in
docs/screenshots/, and accessibility basics (labels, heading order, keyboard only).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from peer.testing import PeerProcess, free_udp_port, wait_until
from tests.helpers import ClassDirs, make_class

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LIVE = 25_000  # ms: what arrives over gossip and SSE must show within this
#: Set on each page once: still there later proves a change arrived without a reload.
MARK = "window.__stayed = 'yes'"
STAYED = "window.__stayed === 'yes'"

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
    const level = Number(h.tagName[1]);
    if (last === 0 && level !== 1) problems.push('first heading is ' + h.tagName);
    if (last && level > last + 1) problems.push(h.tagName + ' after h' + last);
    last = level;
  }
  if (!last) problems.push('no heading');
  return problems;
}"""


def _ui_url(peer: PeerProcess) -> str:
    def found() -> str | None:
        return next((ln.split(" ", 2)[2] for ln in peer.lines if ln.startswith("ui at ")), None)

    wait_until(lambda: found() is not None, 20, "the 'ui at' line")
    url = found()
    assert url is not None and url.startswith("http://127.0.0.1:") and "/#token=" in url
    assert sum(ln.startswith("ui at ") for ln in peer.lines) == 1
    return url


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ClassDirs, list[str]]]:
    klass = make_class(tmp_path_factory.mktemp("e2e"), names=["김선생", "이민준", "Ada"])
    port = free_udp_port()
    running = [PeerProcess(d, port).start() for d in klass.all]
    try:
        yield klass, [_ui_url(p) for p in running]
    finally:
        for p in running:
            p.stop()


def _check_a11y(page: object) -> None:
    problems = page.evaluate(A11Y_SCRIPT)  # type: ignore[attr-defined]
    assert problems == [], f"{page.url}: {problems}"  # type: ignore[attr-defined]


def _shoot(page: object, name: str, show: str | None = None) -> None:
    """Screenshots of the page as it is (scrolled to ``show``), in light and dark."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if show is not None:
        page.locator(show).scroll_into_view_if_needed()  # type: ignore[attr-defined]
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)  # type: ignore[attr-defined]
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{scheme}.png"))  # type: ignore[attr-defined]
    page.emulate_media(color_scheme="light")  # type: ignore[attr-defined]


def test_a_class_session_in_three_browsers(peers: tuple[ClassDirs, list[str]]) -> None:
    _, urls = peers
    t_base, m_base, a_base = (url.split("/#")[0] for url in urls)
    expect = playwright_sync.expect
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            pages = []
            for url in urls:
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.goto(url)  # the sign-in script posts the #token and lands on the chat
                page.wait_for_url("**/chat")
                assert "token" not in page.url
                pages.append(page)
            teacher, minjun, ada = pages
            stranger = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            stranger.goto(t_base + "/problems")  # no token: the sign-in page, nothing else
            expect(stranger.locator("h1")).to_have_text("peerclass")
            assert "두 수의 합" not in stranger.content()
            _check_a11y(stranger)
            _shoot(stranger, "signin")
            _shoot(minjun, "signed-in-chat-empty")

            # -- chat arrives live on the others' pages --------------------------------------
            for page in (teacher, ada):
                page.evaluate(MARK)
            minjun.fill("#text", "안녕하세요, 여러분! **반가워요**")
            minjun.press("#text", "Control+Enter")
            for page in (teacher, ada):
                expect(page.locator("#messages")).to_contain_text(
                    "안녕하세요, 여러분!", timeout=LIVE
                )
                expect(page.locator("#messages strong", has_text="반가워요")).to_be_visible()
                assert page.evaluate(STAYED)
            expect(teacher.locator(".people")).to_contain_text("이민준")
            _check_a11y(teacher)
            _shoot(teacher, "chat")

            # keyboard only: Tab to the new-room field, type, Tab, type, Enter submits
            for _ in range(60):
                if (
                    ada.evaluate("document.activeElement && document.activeElement.id")
                    == "new-room"
                ):
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

            # -- a problem published on the instructor's page reaches the students -------------
            for page in (minjun, ada):
                page.goto((m_base if page is minjun else a_base) + "/problems")
                page.evaluate(MARK)
            base = t_base
            teacher.goto(base + "/instructor/publish")
            _check_a11y(teacher)
            teacher.fill("#title", "두 수의 합")
            teacher.fill("#statement", "Read two integers and print their **sum**.")
            teacher.fill("#tags", "basics, io")
            due = (datetime.now() + timedelta(days=2, hours=1)).strftime("%Y-%m-%dT%H:%M")
            teacher.fill("#due", due)
            teacher.fill("#input1", "2 3\n")
            teacher.fill("#output1", "5\n")
            _shoot(teacher, "publish")
            teacher.click("button[type=submit]:has-text('Publish')")
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

            # -- the student dry-runs, then submits ------------------------------------------
            teacher.goto(base + "/instructor")
            teacher.evaluate(MARK)
            minjun.click("text=두 수의 합")
            minjun.wait_for_url("**/problems/*")
            problem_url = minjun.url
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
            minjun.evaluate(MARK)

            # -- the instructor sees it in the queue and gives a verdict -----------------------
            queue = teacher.locator("#verdict-queue tr", has_text="이민준")
            expect(queue).to_be_visible(timeout=LIVE)
            assert teacher.evaluate(STAYED)
            expect(teacher.locator("#progress")).to_contain_text("이민준")
            _check_a11y(teacher)
            _shoot(teacher, "instructor")
            queue.get_by_role("link", name="Review").click()
            teacher.wait_for_url("**/submissions/*")
            expect(teacher.locator("pre.highlighted .tok-keyword").first).to_be_visible()
            teacher.check("input[name=verdict][value=accept]")
            teacher.fill("#score", "95")
            teacher.fill("#comment", "깔끔합니다. Nice use of `map`.")
            _check_a11y(teacher)
            teacher.click("button:has-text('Send feedback')")
            teacher.wait_for_url("**/submissions/*")
            expect(teacher.locator("#threads")).to_contain_text("95/100")
            _shoot(teacher, "submission")

            # -- the student sees the verdict arrive without reloading -------------------------
            expect(minjun.locator("#attempts")).to_contain_text("깔끔합니다", timeout=LIVE)
            expect(minjun.locator("#attempts .pill-accepted")).to_be_visible()
            assert minjun.evaluate(STAYED)
            assert minjun.url.startswith(problem_url.split("?")[0])
            _shoot(minjun, "problem-feedback", show="#attempts")
            minjun.goto(m_base + "/feedback")
            expect(minjun.locator("#my-submissions")).to_contain_text("95/100")
            _check_a11y(minjun)
            _shoot(minjun, "feedback")

            # -- a private conversation, shown to its two people only ----------------------------
            ada.goto(a_base + "/chat")
            ada.click(".people a:has-text('이민준')")
            ada.fill("#text", "비밀 메시지 for 민준")
            ada.click("button:has-text('Send')")
            minjun.goto(m_base + "/chat")
            expect(minjun.locator("#rooms")).to_contain_text("Ada", timeout=LIVE)
            minjun.click("#rooms a:has-text('Ada')")
            expect(minjun.locator("#messages")).to_contain_text("비밀 메시지")
            teacher.goto(base + "/chat")
            expect(teacher.locator("#rooms")).to_contain_text("Choose a person below")
            assert "비밀 메시지" not in teacher.content()
        finally:
            browser.close()
