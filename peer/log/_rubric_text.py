"""A rubric as text (issue 20): the TOML an instructor writes, read into the map a problem body
carries, and written back out so a form can show a problem's rubric for editing.

One reader for every way in (``problem publish --rubric FILE``, the browser's publish form), so
both refuse the same text with the same one-line reasons. Pure: no files, no I/O.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from typing import Any

from peer.errors import ValidationError
from peer.log._term import check_rubric

MAX_RUBRIC_BYTES = 64 * 1024


def parse_rubric(text: str) -> dict[str, Any]:
    """TOML text as the problem body's ``rubric``, or a ValidationError saying what to fix."""
    if len(text.encode()) > MAX_RUBRIC_BYTES:
        raise ValidationError(f"is {len(text.encode())} bytes; the limit is 64 KiB")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"does not parse as TOML: {exc}") from None
    extra = raw.keys() - {"tests", "criterion"}
    if extra:
        raise ValidationError(
            f"unknown key(s) {', '.join(sorted(extra))}; a rubric has "
            "'tests = POINTS' and [[criterion]] tables"
        )
    criteria = raw.get("criterion", [])
    if not isinstance(criteria, list) or not criteria:
        raise ValidationError("has no [[criterion]] tables; give each a name and points")
    for n, c in enumerate(criteria, start=1):
        if not isinstance(c, dict) or not {"name", "points"} <= c.keys():
            raise ValidationError(f"criterion {n} needs a name and points")
        if c.keys() - {"name", "points", "description"}:
            unknown = ", ".join(sorted(c.keys() - {"name", "points", "description"}))
            raise ValidationError(f"a criterion has unknown key(s) {unknown}")
    rubric = {
        "tests": raw.get("tests", 0),
        "criteria": [
            {"name": c["name"], "points": c["points"], "description": c.get("description", "")}
            for c in criteria
        ],
    }
    check_rubric(rubric)
    return rubric


def _string(value: str) -> str:
    """A TOML basic string: JSON's escapes (``\\"``, ``\\\\``, ``\\n``, ``\\uXXXX``) are TOML's."""
    return json.dumps(value, ensure_ascii=False)


def rubric_text(rubric: Mapping[str, Any]) -> str:
    """A rubric map as the TOML ``parse_rubric`` reads back to the same map."""
    lines = [f"tests = {int(rubric['tests'])}"]
    for c in rubric["criteria"]:
        lines += ["", "[[criterion]]", f"name = {_string(c['name'])}"]
        lines.append(f"points = {int(c['points'])}")
        if c.get("description"):
            lines.append(f"description = {_string(c['description'])}")
    return "\n".join(lines) + "\n"
