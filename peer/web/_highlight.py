"""Code shown in the UI, highlighted on the server with Pygments: submitted solutions and the
fenced code blocks of chat messages and feedback.

Pygments escapes the code itself and adds only ``<span class="tok-...">``, so code can never
add markup; the page's stylesheet colours the token classes (light and dark).
"""

from __future__ import annotations

import functools
from html import escape

from markupsafe import Markup
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from peer.grading import LANGUAGE_TABLE

_FORMATTER = HtmlFormatter(nowrap=True, classprefix="tok-")
#: Fences may name a language by any alias Pygments knows; these are common in a class.
_ALIASES = {"py": "python", "python3": "python", "c": "c", "h": "c", "sh": "bash"}


@functools.cache
def _lexer(language: str) -> Lexer | None:
    name = _ALIASES.get(language.lower(), language.lower())
    try:
        return get_lexer_by_name(name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def highlight_html(code: str, language: str) -> str:
    """``code`` as escaped HTML with token spans; plain escaped text for an unknown language."""
    lexer = _lexer(language) if language else None
    if lexer is None:
        return escape(code, quote=False)
    return str(pygments_highlight(code, lexer, _FORMATTER))


def highlight(code: str, language: str) -> Markup:
    """A submission's code for ``<pre>`` (the template filter), coloured by the lexer the
    grading engine's language table names, so a new language needs no entry here."""
    spec = next((s for s in LANGUAGE_TABLE if s.name == language), None)
    return Markup(highlight_html(code, spec.lexer if spec else language or "python"))
