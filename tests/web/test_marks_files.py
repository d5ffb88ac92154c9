"""The small JSON files the web UI keeps in the data dir (read marks, used sign-in nonces)
are read by one function: a missing, damaged or foreign file reads as empty, never as an
error that would stop the page."""

from __future__ import annotations

from pathlib import Path

import pytest

from peer.web._context import ReadMarks
from peer.web._session import UsedNonces, read_int_map


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, {}),
        ("not json", {}),
        ("[1, 2]", {}),  # valid JSON of another shape
        ('{"general": 5, "x": "y", "n": 1.5}', {"general": 5}),
    ],
)
def test_read_marks_and_used_nonces_read_the_same_tolerant_way(
    tmp_path: Path, content: str | None, expected: dict[str, int]
) -> None:
    path = tmp_path / "marks.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert read_int_map(path) == expected
    assert ReadMarks.load(path).marks == expected
    assert UsedNonces.load(path).used == expected
    assert read_int_map(None) == {}
