"""Small formatting rules the renderers share, so every format says the same thing."""

from __future__ import annotations

import datetime as dt

from peer.log import hlc
from peer.log.hlc import iso_from_ts
from peer.report.model import Report, Status

STATUS_LABELS: dict[Status, str] = {
    "accepted": "accepted",
    "revise": "needs revision",
    "pending": "awaiting feedback",
    "not_attempted": "not attempted",
}


def iso(ts: int) -> str:
    """An HLC timestamp as ISO 8601 UTC (what csv and json carry)."""
    return iso_from_ts(ts) or ""


def when(ts: int) -> str:
    """An HLC timestamp for people: in this computer's time zone, to the second, with the
    zone named (csv and json keep UTC)."""
    return local_moment(hlc.to_ms(ts)).strftime("%Y-%m-%d %H:%M:%S %Z")


def local_moment(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).astimezone()


def zone_text(ms: int) -> str:
    """The local zone as of ``ms``, named with its offset: ``KST (UTC+09:00)``."""
    moment = local_moment(ms)
    offset = moment.strftime("%z")
    return f"{moment.strftime('%Z')} (UTC{offset[:3]}:{offset[3:]})"


def due_text(due_ms: int | None) -> str:
    """A due date for people, or "no due date"."""
    return "no due date" if due_ms is None else when(hlc.from_ms(due_ms))


def short(peer_or_event_id: bytes) -> str:
    return peer_or_event_id.hex()[:8]


def number(value: float | None) -> int | float | None:
    """Whole numbers as integers (``2``, not ``2.0``); others as they are."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def number_text(value: float | None, missing: str = "-") -> str:
    shown = number(value)
    return missing if shown is None else str(shown)


def duration(ms: int | None, missing: str = "-") -> str:
    """A delay in the two largest units that matter: ``45 s``, ``3 min``, ``2 h 5 min``."""
    if ms is None:
        return missing
    seconds = ms // 1000
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def score_text(score: int | None) -> str:
    return "no score" if score is None else f"score {score}"


def title_of(report: Report) -> str:
    if report.scope == "class":
        return "Feedback history of the class"
    who = report.students[0].student.label if report.students else report.viewer.label
    return f"Feedback history of {who}"
