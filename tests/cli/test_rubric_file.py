"""Rubric files (issue 20): the documented TOML is read as the problem body carries it, and
every mistake is one line naming the file and what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from peer.cli._rubric import RUBRIC_FORMAT, read_rubric
from peer.errors import UsageError
from peer.log import combined_score

GOOD = """\
tests = 70

[[criterion]]
name = "style"
points = 20
description = "Readable names, no dead code"

[[criterion]]
name = "explanation"
points = 10
"""


def test_the_documented_file_reads_and_combines_as_documented(tmp_path: Path) -> None:
    example = "\n".join(line[4:] for line in RUBRIC_FORMAT.splitlines() if line.startswith("    "))
    path = tmp_path / "rubric.toml"
    path.write_text(example)
    rubric = read_rubric(path)
    assert rubric["tests"] == 70 and [c["name"] for c in rubric["criteria"]] == [
        "style",
        "explanation",
    ]
    # The format's own worked example: 80% of the tests, 15 for style, 10 for explanation.
    assert combined_score(rubric, 80, {"style": 15, "explanation": 10}) == 81
    path.write_text(GOOD)
    assert read_rubric(path) == rubric


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("tests = 70\n", "has no [[criterion]] tables"),
        ("tests = 70\ncolour = 1\n[[criterion]]\nname='a'\npoints=1\n", "unknown key(s) colour"),
        ("[[criterion]]\nname = 'a b'\npoints = 1\n", "name 'a b' is not valid"),
        ("[[criterion]]\nname = 'a'\n", "criterion 1 needs a name and points"),
        ("[[criterion]]\nname='a'\npoints=0\n", "points must be a whole number from 1"),
        ("[[criterion]]\nname='a'\npoints=1\n[[criterion]]\nname='a'\npoints=2\n", "named twice"),
        ("[[criterion]]\nname='a'\npoints=1\nweight=2\n", "unknown key(s) weight"),
        ("tests = [\n", "does not parse as TOML"),
        ("tests = -1\n[[criterion]]\nname='a'\npoints=1\n", "rubric tests must be"),
    ],
)
def test_mistakes_are_one_line_naming_the_file(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "r.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        read_rubric(path)
    message = str(caught.value)
    assert str(path) in message and error in message and "\n" not in message
