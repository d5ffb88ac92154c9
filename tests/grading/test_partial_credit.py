"""Checkers that give partial credit (issue 20): any program run in the sandbox, its score and
one-line message reaching the student as the problem's hidden-test detail allows; the test
folder's content hash that tells a regrade which verdicts came from other tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from peer.errors import UsageError
from peer.grading import grade_submission, load_test_folder
from tests.grading.helpers import needs_sandbox

SHELL_CHECKER = """\
#!/bin/sh
if cmp -s "$2" "$3"; then echo "1"; exit 0; fi
if [ "$(tr ' ' '\\n' < "$3" | sort)" = "$(tr ' ' '\\n' < "$2" | sort)" ]; then
  echo "0.25 right words, wrong order"; exit 1
fi
echo "0 different words"; exit 1
"""
PY_CHECKER = """\
import sys
expected, actual = open(sys.argv[2]).read().split(), open(sys.argv[3]).read().split()
right = sum(e == a for e, a in zip(expected, actual))
print(f"{right / len(expected)} {right} of {len(expected)} words in place")
sys.exit(0 if right == len(expected) else 1)
"""
SORTED = 'print(" ".join(sorted(input().split())))\n'
ECHO = "print(input())\n"


def _folder(root: Path, checker_name: str, checker: str) -> Path:
    root.mkdir()
    (root / "01.in").write_text("d c b a\n")
    (root / "01.out").write_text("a b c d\n")
    (root / "02.in").write_text("a b\n")
    (root / "02.out").write_text("a b\n")
    (root / "weights.toml").write_text('"01" = 3\n')
    (root / checker_name).write_text(checker)
    return root


@needs_sandbox
def test_any_program_gives_partial_credit_shown_as_the_problem_allows(tmp_path: Path) -> None:
    suite = load_test_folder(_folder(tmp_path / "t", "checker", SHELL_CHECKER))
    shown = grade_submission("python", ECHO, suite, hidden_detail="verdicts")
    # 01 (weight 3) earns a quarter, 02 (weight 1) all: (0.75 + 1) / 4 = 43.75 -> 43.
    assert shown.score == 43 and shown.verdict == "revise"
    assert "01: partial credit (0.25): right words, wrong order" in shown.comment
    names = grade_submission("python", ECHO, suite)  # the default: names only
    assert names.score == 25  # only tests that earned everything count
    assert "right words" not in names.comment and "01: failed" in names.comment
    hidden = grade_submission("python", ECHO, suite, hidden_detail="none")
    assert "01" not in hidden.comment and "right words" not in hidden.comment
    assert grade_submission("python", SORTED, suite).score == 100


@needs_sandbox
def test_a_python_checker_scores_too(tmp_path: Path) -> None:
    suite = load_test_folder(_folder(tmp_path / "t", "checker.py", PY_CHECKER))
    result = grade_submission("python", ECHO, suite, hidden_detail="verdicts")
    assert "0 of 4 words in place" in result.comment  # "d c b a" vs "a b c d"
    assert result.score == 25


def test_the_content_hash_changes_with_any_file_and_only_then(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "t", "checker", SHELL_CHECKER)
    first = load_test_folder(folder).content_hash
    assert len(first) == 64 and load_test_folder(folder).content_hash == first
    (folder / ".notes").write_text("ignored, like every dot file")
    assert load_test_folder(folder).content_hash == first
    (folder / "02.out").write_text("a  b\n")
    assert load_test_folder(folder).content_hash != first


def test_two_checkers_are_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "t", "checker", SHELL_CHECKER)
    (folder / "checker.py").write_text(PY_CHECKER)
    with pytest.raises(UsageError, match=r"both checker\.py and checker"):
        load_test_folder(folder)
