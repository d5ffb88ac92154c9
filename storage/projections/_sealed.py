"""Sealed curriculum bodies in the projections: open what this identity may read, keep only
the visible fields of the rest, and seal what this identity authors.

A submission is sealed to its author and the instructor, i.e. every instructor and TA on the
roster when it is written (and, on a ``review: peers`` problem, to classmates who already
submitted to it); feedback to its reviewer, the submission's author and the instructor.
Removed identities get nothing more. ``share`` events give one more reader an existing content
key; a share may arrive before or after what it unlocks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from sqlalchemy import Connection, insert, select, update

from peer.errors import ValidationError
from peer.log import (
    EXTENSION_VISIBLE,
    Event,
    decrypt_body,
    open_envelope,
    open_key,
    pack,
    seal_body,
    unpack,
    validate_extension_inner,
    validate_feedback_inner,
    validate_submission_inner,
)
from storage._reader import Reader, reader_of
from storage.projections._roster import load_roster
from storage.schema import content_keys, extensions, feedback, shares, submissions

#: The kinds whose bodies are sealed, and the schema of their inner part.
SEALED_KINDS: dict[str, Callable[[dict[str, Any]], None]] = {
    "submission": validate_submission_inner,
    "feedback": validate_feedback_inner,
    "extension": validate_extension_inner,
}


@attrs.frozen
class Opened:
    """What this identity read of a body: ``inner`` is None where it could not (or where
    what it opened broke the schema: then ``invalid``)."""

    sealed: bool
    inner: Mapping[str, Any] | None
    invalid: bool = False
    envelope: bytes | None = None  # kept while unreadable, for a share arriving later

    def columns(self, content: Callable[[Mapping[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        values: dict[str, Any] = {"sealed": self.sealed, "readable": self.inner is not None}
        values |= {"invalid": self.invalid, "envelope": self.envelope}
        if self.inner is not None:
            values.update(content(self.inner))
        return values


def submission_content(inner: Mapping[str, Any]) -> dict[str, Any]:
    checks = inner["checks"]
    return {
        "language": inner["language"],
        "solution": inner["solution"],
        "checks": json.dumps([[c["passed"], c["detail"]] for c in checks]),
        "checks_passed": sum(1 for c in checks if c["passed"]),
        "checks_total": len(checks),
    }


def feedback_content(inner: Mapping[str, Any]) -> dict[str, Any]:
    rubric = inner.get("rubric")
    return {
        "verdict": inner["verdict"],
        "score": inner.get("score"),
        "comment": inner["comment"],
        "tests_hash": inner.get("tests"),
        "tests_score": inner.get("tests_score"),
        "rubric": None if rubric is None else json.dumps(rubric, sort_keys=True),
    }


def extension_content(inner: Mapping[str, Any]) -> dict[str, Any]:
    return {"student": inner["student"], "due": inner["due"]}


def open_body(conn: Connection, event: Event) -> Opened:
    """The readable part of ``event``'s body for this store's identity."""
    body = event.body
    if "sealed" not in body:
        return Opened(sealed=False, inner=body)
    key = known_key(conn, event.id)
    if key is None:
        reader = reader_of(conn)
        key = None if reader is None else open_envelope(reader.signing_key, body["sealed"])
        if key is None:
            return Opened(sealed=True, inner=None, envelope=pack(body["sealed"]))
        conn.execute(insert(content_keys).values(event_id=event.id, key=key))
    return _decrypt(event.kind, body["sealed"], key)


def _decrypt(kind: str, envelope: dict[str, Any], key: bytes) -> Opened:
    try:
        inner = decrypt_body(key, envelope)
        SEALED_KINDS[kind](inner)
    except ValidationError:
        return Opened(sealed=True, inner=None, invalid=True)
    return Opened(sealed=True, inner=inner)


def known_key(conn: Connection, event_id: bytes) -> bytes | None:
    """The content key this store holds for a sealed event, if any: a share may arrive before or
    after the event it unlocks, and either order must end with it opened."""
    key = conn.execute(
        select(content_keys.c.key).where(content_keys.c.event_id == event_id)
    ).scalar()
    return None if key is None else bytes(key)


def project_share(conn: Connection, event: Event) -> None:
    """Record the share; if it is for us, keep the key and open what it unlocks."""
    body = event.body
    conn.execute(
        insert(shares).values(
            event_id=event.id,
            author=event.author,
            ts=event.ts,
            target=body["event"],
            recipient=body["to"],
        )
    )
    reader = reader_of(conn)
    if reader is None or body["to"] != reader.peer_id or known_key(conn, body["event"]):
        return
    key = open_key(reader.signing_key, body["key"])
    if key is None:
        return
    conn.execute(insert(content_keys).values(event_id=body["event"], key=key))
    _reopen(conn, body["event"], key)


def _reopen(conn: Connection, event_id: bytes, key: bytes) -> None:
    """Fill in a row projected before its key arrived (a share after the submission)."""
    for kind, table, content in (
        ("submission", submissions, submission_content),
        ("feedback", feedback, feedback_content),
        ("extension", extensions, extension_content),
    ):
        envelope = conn.execute(
            select(table.c.envelope).where(table.c.event_id == event_id, ~table.c.readable)
        ).scalar()
        if envelope is None:
            continue
        opened = _decrypt(kind, unpack(envelope, what="sealed envelope"), key)
        conn.execute(
            update(table).where(table.c.event_id == event_id).values(**opened.columns(content))
        )


# ---- authoring ----------------------------------------------------------------------------


def seal_outgoing(
    conn: Connection, reader: Reader | None, author: bytes, kind: str, body: Mapping[str, Any]
) -> Mapping[str, Any]:
    """``body`` sealed to its readers, if it is a clear submission or feedback that this
    store's own identity authors; anything else unchanged."""
    if kind not in SEALED_KINDS or "sealed" in body or reader is None:
        return body
    if reader.peer_id != author:
        return body
    recipients = _recipients(conn, reader.instructor, author, kind, body)
    visible = {k: v for k, v in body.items() if k in _VISIBLE[kind]}
    inner = {k: v for k, v in body.items() if k not in _VISIBLE[kind]}
    SEALED_KINDS[kind](inner)
    envelope, _ = seal_body(inner, recipients)
    return {**visible, "sealed": envelope}


_VISIBLE = {
    "submission": ("problem", "attempt"),
    "feedback": ("submission", "supersedes"),
    "extension": EXTENSION_VISIBLE,
}


def _recipients(
    conn: Connection, instructor: bytes, author: bytes, kind: str, body: Mapping[str, Any]
) -> list[bytes]:
    roster = load_roster(conn, instructor)
    # "The instructor" is every instructor and TA on the roster now (DESIGN §10).
    wanted = [author, instructor, *roster.staff()]
    if kind == "feedback":
        reviewed = conn.execute(
            select(submissions.c.author).where(submissions.c.event_id == body["submission"])
        ).scalar()
        if reviewed is None:
            raise ValidationError("feedback names a submission this peer does not hold")
        wanted.append(reviewed)
    if kind == "extension":  # issue 20: the student it is for, beside the instructors
        wanted.append(body["student"])
    # On a ``review: peers`` problem, classmates get the key by ``share`` events
    # (storage.queries._roster), never by being added here: one mechanism, one rule.
    # Nothing more is sealed to removed identities.
    return [r for r in dict.fromkeys(wanted) if roster.state(r) != "removed"]
