"""Markdown as the UI shows it: the report's safe renderer rules (no raw HTML, only http,
https and mailto links, no images) plus fenced code highlighted with Pygments and ``@name``
mentions marked, the viewer's own name more strongly."""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape

from markupsafe import Markup

from peer.report import safe_markdown_it
from peer.web._highlight import highlight_html


def _fence_highlight(code: str, language: str, _attrs: str) -> str:
    return highlight_html(code, language)


_MD = safe_markdown_it(_fence_highlight)
#: Text between tags of rendered HTML (never inside a tag, nor inside code).
_TEXT = re.compile(r"(<code[^>]*>.*?</code>|<[^>]+>)", re.DOTALL)


def _mention_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted({n for n in names if n}, key=len, reverse=True)
    if not ordered:
        return None
    alternatives = "|".join(re.escape(escape(n, quote=False)) for n in ordered)
    return re.compile(rf"@({alternatives})(?![\w])", re.IGNORECASE)


def mentions(text: str, name: str) -> bool:
    """Whether ``text`` mentions ``@name`` (case-insensitive, a whole name)."""
    if not name:
        return False
    return re.search(rf"@{re.escape(name)}(?![\w])", text, re.IGNORECASE) is not None


def render(text: str, names: Iterable[str] = (), me: str = "") -> Markup:
    """A message's Markdown as HTML; ``@name`` of anyone in ``names`` wrapped in a mention
    mark (``me``'s own name also gets the class ``me``)."""
    html = str(_MD.render(text))
    pattern = _mention_pattern([*names, me])
    if pattern is None:
        return Markup(html)
    mine = escape(me, quote=False).casefold()

    def mark(match: re.Match[str]) -> str:
        cls = "mention me" if match.group(1).casefold() == mine else "mention"
        return f'<span class="{cls}">{match.group(0)}</span>'

    parts = _TEXT.split(html)
    for i in range(0, len(parts), 2):  # even parts are text, odd ones tags or code
        parts[i] = pattern.sub(mark, parts[i])
    return Markup("".join(parts))


def plain(text: str, limit: int = 140) -> str:
    """One line of a message for a notification."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
