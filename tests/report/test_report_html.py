"""The html report: self-contained, nothing a student writes becomes markup, the charts are
there, and headless Chromium renders it (Debian's ``chromium``; ``.ci/run`` installs it)."""

from __future__ import annotations

import functools
import re
import shutil
import struct
import subprocess
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from peer.report import Request, render_html
from peer.report.charts import FEEDBACK_TITLE, score_title
from peer.report.safe_markdown import render_markdown
from tests.report.test_report_summary import ALICE, MINUTE, T0_MS, sample_report

GENERATED_MS = T0_MS + 600 * MINUTE
#: Every tag the page may contain; anything else would have come from someone's text.
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "main", "section", "footer",
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "span", "strong", "em", "code", "pre",
    "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "a", "time", "article",
    "figure", "blockquote", "br", "hr", "s", "svg", "g", "line", "polyline", "circle", "text",
}  # fmt: skip
#: Peer and instructor scores in charts of their own; a problem nobody scored has none.
CHART_TITLES = [
    score_title("FizzBuzz", "peer"),
    score_title("Two Sum", "peer"),
    score_title("Two Sum", "instructor"),
    FEEDBACK_TITLE,
]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.extend((tag, name, value) for name, value in attrs)


def parsed(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


def page() -> str:
    return render_html(sample_report(), GENERATED_MS)


def test_nothing_a_student_wrote_becomes_markup() -> None:
    html = page()
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Dave &lt;img src=x onerror=alert(1)&gt;" in html
    tags = parsed(html)
    assert tags.tags <= ALLOWED_TAGS
    assert not [a for a in tags.attrs if a[1].startswith("on") or a[1] == "src"]
    hrefs = [value for _tag, name, value in tags.attrs if name == "href"]
    assert hrefs == ["mailto:teacher@school.test"]  # the javascript: link stayed text


def test_page_is_self_contained() -> None:
    html = page()
    assert not re.search(r"https?:|url\(|@import|<link|<iframe|<object|<embed|<img", html)
    assert (
        "Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'" in html
    )


def test_comments_are_formatted_markdown() -> None:
    html = page()
    assert "<strong>Great</strong> work!" in html
    assert "<li>uses a <code>dict</code></li>" in html
    assert "<h2>Nice</h2>" in html and "print(1 &lt; 2)" in html


def test_summary_charts_then_history() -> None:
    html = page()
    order = [html.index(f'id="{s}"') for s in ("summary", "charts", "history")]
    assert order == sorted(order)
    assert html.count("<svg") == len(CHART_TITLES)
    for title in CHART_TITLES:
        assert f"<title>{escape(title)}</title>" in html
    assert "Class overview" in html and "Earlier version" in html


def test_generation_time_is_only_in_the_footer() -> None:
    one, other = page(), render_html(sample_report(), GENERATED_MS + 3_600_000)
    assert one != other
    assert one.split("<footer>")[0] == other.split("<footer>")[0]
    assert "Generated 2025-03-03 21:06:40 UTC" in one.split("<footer>")[1]
    assert "Times are in UTC (UTC+00:00)." in one.split("<footer>")[1]


def test_student_report_shows_cards_not_the_class_table() -> None:
    html = render_html(
        sample_report(Request(viewer_id=ALICE, viewer_role="student", scope="student")),
        GENERATED_MS,
    )
    assert "Feedback history of Alice" in html and "Class overview" not in html
    assert 'class="cards"' in html


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<div onclick=alert(1)>x</div>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](file:///etc/passwd)",
        "[x](vbscript:msgbox)",
        "[x](#top) [y](relative/page.html)",
        "<javascript:alert(1)>",
        "[x]: javascript:alert(1)\n\n[x]",
        "![pic](https://example.org/pixel.png)",
        '[x](https://a.example/ "t\\" onmouseover=\\"alert(1)")',
        '```"><script>\nx\n```',
    ],
)
def test_safe_markdown_refuses_markup_and_unsafe_links(markdown: str) -> None:
    html = render_markdown(markdown)
    tags = parsed(html)
    assert tags.tags <= {"p", "a", "span", "pre", "code", "br"}
    assert not [name for _tag, name, _value in tags.attrs if name.startswith("on")]
    assert not [name for _tag, name, _value in tags.attrs if name == "src"]
    for _tag, name, value in tags.attrs:
        if name == "href":
            assert value is not None and value.startswith("https://a.example/")


def test_safe_markdown_keeps_web_and_mail_links() -> None:
    html = render_markdown("[docs](https://docs.example/x) and <mailto:a@b.example>")
    assert '<a href="https://docs.example/x" rel="nofollow noopener noreferrer">docs</a>' in html
    assert 'href="mailto:a@b.example"' in html
    assert render_markdown("![a <b>](https://x.example/p.png)") == (
        '<p><span class="md-image">[image: a &lt;b&gt;]</span></p>\n'
    )


# ---- headless Chromium --------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


@functools.cache
def _no_network_prefix() -> list[str]:
    """Run the browser in a network namespace of its own when the host allows it, so it
    cannot send a packet anywhere; its flags keep it quiet either way."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        *_no_network_prefix(),
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)",
)
def test_renders_in_headless_chromium(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    report.write_text(page(), encoding="utf-8")
    shot = tmp_path / "r.png"
    profile = tmp_path / "profile"

    drawn = chromium(profile, f"--screenshot={shot}", "--window-size=1200,2000", report.as_uri())
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    data = shot.read_bytes()
    assert png_size(data) == (1200, 2000)
    assert len(data) > 50_000  # a page of text and charts, not a blank image

    dumped = chromium(profile, "--dump-dom", report.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    for text in ("Feedback history of the class", "Alice", "Bob", "Carol", "Ms Teacher"):
        assert text in dom
    for title in ("FizzBuzz", "Two Sum", 'Palindromes, "the easy ones"'):
        assert title in dom
    assert dom.count("<svg") == len(CHART_TITLES)
    svg_titles = re.findall(r"<svg[^>]*>\s*<title>(.*?)</title>", dom)
    assert [t.replace("&quot;", '"') for t in svg_titles] == CHART_TITLES
    assert "<script" not in dom.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
