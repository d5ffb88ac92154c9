"""Markdown written by students, rendered so that it can only ever be formatted text.

Raw HTML is shown as text (``html`` off), links may only be http, https or mailto, and images
become their alt text: a report must not load anything, and nothing a student writes may add
markup or script to it. Everything else is escaped by markdown-it's renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

_SCHEMES = ("http:", "https:", "mailto:")


class _SafeMarkdownIt(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        """Only links a reader may follow on purpose; no javascript:, data:, file: or relative."""
        return url.strip().lower().startswith(_SCHEMES)


def _link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    return str(self.renderToken(tokens, idx, options, env))


def _image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    alt = self.renderInlineAsText(tokens[idx].children or [], options, env)
    return f'<span class="md-image">[image: {escapeHtml(alt)}]</span>'


def safe_markdown_it(highlight: Callable[[str, str, str], str] | None = None) -> MarkdownIt:
    """A renderer with these rules; ``highlight`` colours fenced code (the web UI passes
    Pygments). One place for the rules, so the report and the UI can never differ in what a
    student's text may do."""
    options: dict[str, Any] = {
        "html": False,
        "linkify": False,
        "typographer": False,
        "breaks": True,
    }
    if highlight is not None:
        options["highlight"] = highlight
    md = _SafeMarkdownIt("commonmark", options)
    md.enable(["table", "strikethrough"])
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image)
    return md


_MD = safe_markdown_it()


def render_markdown(text: str) -> str:
    """HTML for a student's Markdown: formatted, escaped, with no way to add markup."""
    return str(_MD.render(text))
