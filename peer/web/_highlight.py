"""A minimal syntax highlighter for submitted code (Python and C), done on the server.

Only four token classes (keyword, string, comment, number) wrapped in ``<span>``; everything
is escaped first, so code can never add markup. Good enough to read a classmate's solution.
"""

from __future__ import annotations

import re
from html import escape

from markupsafe import Markup

_KEYWORDS = {
    "python": (
        "False None True and as assert async await break class continue def del elif else "
        "except finally for from global if import in is lambda nonlocal not or pass raise "
        "return try while with yield match case print len range int str float list dict set"
    ),
    "c": (
        "auto break case char const continue default do double else enum extern float for "
        "goto if inline int long register return short signed sizeof static struct switch "
        "typedef union unsigned void volatile while include define printf scanf"
    ),
}
_COMMENT = {"python": r"\#[^\n]*", "c": r"//[^\n]*|/\*.*?\*/"}
_STRING = r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\''
_NUMBER = r"\b\d+(?:\.\d+)?\b"


def _pattern(language: str) -> re.Pattern[str]:
    words = _KEYWORDS.get(language, _KEYWORDS["python"]).split()
    keyword = r"\b(?:" + "|".join(map(re.escape, words)) + r")\b"
    comment = _COMMENT.get(language, _COMMENT["python"])
    return re.compile(
        f"(?P<comment>{comment})|(?P<string>{_STRING})|(?P<number>{_NUMBER})"
        f"|(?P<keyword>{keyword})",
        re.DOTALL,
    )


_PATTERNS = {name: _pattern(name) for name in _KEYWORDS}


def highlight(code: str, language: str) -> Markup:
    """``code`` as escaped HTML with ``<span class="tok-...">`` around recognised tokens."""
    pattern = _PATTERNS.get(language, _PATTERNS["python"])
    out: list[str] = []
    at = 0
    for match in pattern.finditer(code):
        out.append(escape(code[at : match.start()], quote=False))
        kind = match.lastgroup or "keyword"
        out.append(f'<span class="tok-{kind}">{escape(match.group(), quote=False)}</span>')
        at = match.end()
    out.append(escape(code[at:], quote=False))
    return Markup("".join(out))
