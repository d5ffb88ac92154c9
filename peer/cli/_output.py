"""Formatting for people and for scripts (``--json``)."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import unicodedata
from typing import Any

from peer.errors import UsageError
from peer.log import hlc
from peer.log.hlc import iso_from_ms as iso_from_ms
from peer.log.hlc import iso_from_ts as iso_from_ts


def parse_iso_ms(text: str, what: str) -> int:
    """ISO 8601 (a date, or a time; this computer's local time unless it names a zone, as a
    person means it) as milliseconds since the epoch; ``what`` names the flag in the error."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{what} {text!r} is not an ISO 8601 date or time") from None
    try:
        if moment.tzinfo is None:
            moment = moment.astimezone()  # a naive time is local time
        return int(moment.timestamp() * 1000)
    except (OverflowError, OSError, ValueError):
        raise UsageError(f"{what} {text!r} is out of range") from None


#: What a terminal must never receive from text others wrote: C0 controls (newline, carriage
#: return, escape, backspace...), DEL, C1 controls (incl. the one-byte CSI), the Unicode line
#: and paragraph separators, and the bidirectional controls that reorder what is shown.
_BIDI_AND_SEPARATORS = "\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
_UNSAFE_IN_BLOCK = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")


def _shown(match: re.Match[str]) -> str:
    r"""An unsafe character as inert visible text: ``\n``, ``\x1b``, ``\u202e``."""
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if char in named:
        return named[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_line(text: str) -> str:
    """``text`` as one inert terminal line: every control, line break, escape sequence and
    bidi override becomes visible text, so it cannot move the cursor, start a line that
    looks like another message, or recolour or reorder the screen. Every printer of text that
    others wrote goes through this (or :func:`safe_block`)."""
    return _UNSAFE.sub(_shown, text)


def safe_block(text: str) -> str:
    """Like :func:`safe_line`, but keeps line breaks (for solutions, statements, comments
    printed indented under a heading): carriage returns and escapes are still shown inert."""
    return _UNSAFE_IN_BLOCK.sub(_shown, text)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A plain aligned table; wide (East Asian) characters take two columns of a terminal."""
    rows = [[safe_line(cell) for cell in row] for row in rows]
    widths = [display_width(h) for h in headers]
    for row in rows:
        widths = [max(w, display_width(cell)) for w, cell in zip(widths, row, strict=True)]
    for row in [headers, *rows]:
        padded = [c + " " * (w - display_width(c)) for c, w in zip(row, widths, strict=True)]
        print("  ".join(padded).rstrip())


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: two for wide and full-width characters, none for
    combining marks."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def local_time(ms: int | None, *, seconds: bool = True) -> str:
    """A time for people: this computer's time zone, named (``2026-11-29 21:05:09 KST``)."""
    if ms is None:
        return "-"
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def local_time_iso(text: str | None) -> str:
    """An ISO 8601 UTC time (as ``--json`` gives it) as :func:`local_time`."""
    if text is None:
        return "-"
    return local_time(int(dt.datetime.fromisoformat(text).timestamp() * 1000))


def local_time_ts(ts: int | None) -> str:
    """An HLC timestamp as :func:`local_time`."""
    return local_time(None if ts is None else hlc.to_ms(ts))
