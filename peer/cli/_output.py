"""Formatting for people and for scripts (``--json``)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

from peer.errors import UsageError
from peer.log.hlc import iso_from_ms as iso_from_ms
from peer.log.hlc import iso_from_ts as iso_from_ts


def parse_iso_ms(text: str, what: str) -> int:
    """ISO 8601 (a date, or a time; UTC unless it names a zone) as milliseconds since the
    epoch; ``what`` names the flag in the error."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{what} {text!r} is not an ISO 8601 date or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A plain aligned table."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for row in [headers, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
