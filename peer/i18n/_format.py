"""Dates and numbers as each language writes them, with the time zone always named (a class
may span zones; "15:00" alone is a trap)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from babel import Locale
from babel.dates import format_datetime as babel_datetime
from babel.numbers import format_decimal


def _local_zone() -> tzinfo:
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else UTC


def zone_name(when: datetime) -> str:
    """The zone's abbreviation ("KST", "UTC"), or its offset ("UTC+09:00") when it has none."""
    name = when.strftime("%Z")
    if name and not name.startswith(("+", "-")):
        return name
    offset = when.strftime("%z")  # "+0900"
    return f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"


def format_datetime(ms: int, locale: str, zone: tzinfo | None = None) -> str:
    """Milliseconds since the epoch as a medium date and short time in ``locale``, in
    ``zone`` (default: this computer's), followed by the zone's name."""
    when = datetime.fromtimestamp(ms / 1000, tz=zone or _local_zone())
    if locale == "ko":
        date = babel_datetime(when, "yyyy. M. d. a h:mm", locale=Locale.parse(locale))
    else:
        date = babel_datetime(when, "d MMM yyyy, HH:mm", locale=Locale.parse(locale))
    return f"{date} {zone_name(when)}"


def format_number(n: int | float, locale: str) -> str:
    """``12345`` as "12,345" (in both languages; the separators follow the locale)."""
    return format_decimal(n, locale=Locale.parse(locale))
