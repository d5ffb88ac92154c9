"""Text as people type it, and the schemas of the chat kinds (issue 19): ``edit``, ``delete``
and announcements."""

from __future__ import annotations

from typing import Any

import pytest

from peer.errors import ValidationError
from peer.log import normalize_newlines, seal, validate_body
from tests.fixtures_core import new_key

KEY = new_key()
OTHER = bytes(new_key().verify_key)
TARGET = b"\x07" * 32


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("one\r\ntwo", "one\ntwo"),  # a browser's text area, a Windows file
        ("one\rtwo", "one\ntwo"),  # a lone carriage return
        ("a\r\n\r\nb\r", "a\n\nb\n"),
        ("tab\tkept\n", "tab\tkept\n"),
        ("한국어 그대로", "한국어 그대로"),
    ],
)
def test_line_breaks_are_stored_as_newlines(typed: str, stored: str) -> None:
    assert normalize_newlines(typed) == stored
    validate_body("chat", {"room": "general", "text": normalize_newlines(typed) + "x"})


def test_other_control_characters_are_still_refused_and_named() -> None:
    text = normalize_newlines("ring\r\nthe bell\x07")
    with pytest.raises(ValidationError, match=r"control character \(U\+0007 at character 14\)"):
        validate_body("chat", {"room": "general", "text": text})
    with pytest.raises(ValidationError, match="U\\+000D"):
        validate_body("chat", {"room": "general", "text": "not normalised\r\n"})


def test_edit_and_delete_bodies() -> None:
    validate_body("edit", {"target": TARGET, "text": "fixed\ntypo"})
    validate_body("edit", {"target": TARGET, "to": OTHER, "sealed": seal(KEY, OTHER, "개인")})
    validate_body("delete", {"target": TARGET})


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        ("edit", {"text": "x"}, "edit body lacks target"),
        ("edit", {"target": b"short", "text": "x"}, "edit target is not a 32-byte id"),
        ("edit", {"target": TARGET}, "edit text is not text"),
        ("edit", {"target": TARGET, "text": " "}, "edit text is empty"),
        ("edit", {"target": TARGET, "text": "x" * 16_001}, "edit text is 16001 characters"),
        ("edit", {"target": TARGET, "to": OTHER, "text": "x"}, "must not carry clear text"),
        ("edit", {"target": TARGET, "to": OTHER, "sealed": b"x"}, "not a box of a valid size"),
        ("delete", {"target": TARGET, "text": "x"}, "delete body has unknown fields text"),
        ("delete", {}, "delete body lacks target"),
        ("chat", {"room": "general", "text": "x", "announcement": 1}, "must be true"),
    ],
)
def test_bad_revision_bodies_are_refused(kind: str, body: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        validate_body(kind, body)


def test_an_announcement_is_for_the_whole_class() -> None:
    validate_body("chat", {"room": "general", "text": "시험은 금요일", "announcement": True})
    with pytest.raises(ValidationError, match="not one recipient"):
        validate_body(
            "chat",
            {"room": "general", "to": OTHER, "sealed": seal(KEY, OTHER, "x"), "announcement": True},
        )
