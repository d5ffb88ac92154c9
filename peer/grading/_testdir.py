"""Read an instructor's folder of hidden tests, refusing anything ambiguous up front.

The format (also ``TEST_FOLDER_FORMAT``, for the README):

* ``NAME.in`` and ``NAME.out`` pairs: the input given on stdin and the expected stdout.
  NAME is letters, digits, ``_``, ``-`` and ``.``; tests run in order of NAME.
* ``weights.toml`` or ``weights.json`` (optional, not both): test NAME -> a positive whole
  number of points; tests not named weigh 1. The score is passed weight / total weight.
* ``checker.py`` (optional): for answers with more than one right form. It runs sandboxed
  as ``python3 checker.py input expected actual`` (three file names) and exits 0 when the
  actual output is right, non-zero (say 1) when it is wrong. A crash (a Python traceback),
  a signal or a limit counts as a broken checker: "checker error", not the student's fault.
  Without it an output is right when it equals the expected one after trailing whitespace
  is dropped from every line and trailing blank lines are dropped.
* Each file at most 8 MiB. Files starting with ``.`` are ignored; anything else is an error,
  so a misnamed file (``01.ans``) is caught rather than silently skipped.

Why strict: a typo in a test folder would otherwise grade every student wrongly, and the
instructor learns of it only from complaints.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

import attrs

from peer.errors import UsageError

__all__ = [
    "MAX_TEST_FILE_BYTES",
    "TEST_FOLDER_FORMAT",
    "TestCase",
    "TestSuite",
    "load_test_folder",
]

MAX_TEST_FILE_BYTES = 8 * 1024 * 1024
MAX_WEIGHT = 1_000_000
CHECKER = "checker.py"
CHECKER_PROGRAM = "checker"
WEIGHT_FILES = ("weights.toml", "weights.json")
_NAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")

TEST_FOLDER_FORMAT = """\
A folder of hidden tests holds:

- `NAME.in` and `NAME.out` pairs: the input given on stdin and the expected output. NAME is
  letters, digits, `_`, `-` and `.`; tests run in order of NAME.
- `weights.toml` or `weights.json` (optional, not both): test NAME to a positive whole number
  of points, e.g. `"01" = 2`; tests not listed weigh 1. The score is the passed weight over the
  total weight, as a percentage rounded down.
- `checker.py` (optional), for answers with more than one right form: it runs in the sandbox
  as `python3 checker.py input expected actual` (three file names) and exits 0 when the actual
  output is right, non-zero (say 1) when it is wrong. A crash (a Python traceback), a signal or
  a limit counts as a broken checker ("checker error"), not as the student's fault. Without
  it, an output is right when it equals the expected one once trailing whitespace is dropped
  from every line and trailing blank lines are dropped. Or `checker` (not both): any program
  (a script with a `#!` line, or a binary), run in the same sandbox as `./checker input
  expected actual`.
- Partial credit: if the first line a checker prints is a number from 0 to 1, the test earns
  that share of its weight, and the rest of the line is a message for the student (e.g.
  `0.5 the list is sorted but has duplicates`), shown as the problem's `--hidden-detail`
  allows (only `verdicts` shows messages and partial credit; `names` counts a test only when
  it earned everything).
- Nothing else: each file is at most 8 MiB, files starting with `.` are ignored, and any other
  file (say `01.ans`) is an error rather than silently skipped.

Students see which tests failed and why (wrong answer, time limit, ...), never a test's input
or expected output.
"""


@attrs.frozen
class TestCase:
    """One hidden test: stdin, the expected stdout, and how many points it is worth."""

    __test__ = False  # not a pytest test class

    name: str
    input: bytes = attrs.field(repr=False)
    expected: bytes = attrs.field(repr=False)
    weight: int = 1


def _valid_tests(_: object, __: object, tests: tuple[TestCase, ...]) -> None:
    if not tests:
        raise UsageError("a test suite needs at least one test")
    names = [test.name for test in tests]
    if len(set(names)) != len(names):
        raise UsageError("test names must be unique")
    for test in tests:
        if not 1 <= test.weight <= MAX_WEIGHT:
            raise UsageError(f"test {test.name!r}: weight must be 1..{MAX_WEIGHT}")


@attrs.frozen
class TestSuite:
    """The hidden tests of one problem, in order, and the optional checker's source."""

    __test__ = False  # not a pytest test class

    tests: tuple[TestCase, ...] = attrs.field(validator=_valid_tests)
    checker: str | None = attrs.field(default=None, repr=False)
    #: A ``checker`` program of any kind (issue 20): run as ``./checker`` in the sandbox.
    checker_program: bytes | None = attrs.field(default=None, repr=False)
    #: BLAKE2b-256 (hex) of the folder's files, names and contents: recorded with each
    #: verdict, so ``grade --regrade`` knows which verdicts came from other tests.
    content_hash: str = ""

    @property
    def total_weight(self) -> int:
        """The sum of the tests' weights: scores are earned weight over this, so a heavy test counts
        for more than a quick one."""
        return sum(test.weight for test in self.tests)


def load_test_folder(folder: Path) -> TestSuite:
    """The TestSuite in ``folder``; UsageError naming the file and the fix for any problem, before
    anything runs, so a mistake in the instructor's folder never becomes a wrong verdict for a
    student."""
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder of tests")
    inputs: dict[str, Path] = {}
    outputs: dict[str, Path] = {}
    weight_files: list[Path] = []
    checker: Path | None = None
    program: Path | None = None
    for path in sorted(folder.iterdir()):
        name = path.name
        if name.startswith("."):
            continue
        if not path.is_file():
            raise UsageError(f"{path}: only files belong in a test folder")
        stem, dot, suffix = name.rpartition(".")
        if name in WEIGHT_FILES:
            weight_files.append(path)
        elif name == CHECKER:
            checker = path
        elif name == CHECKER_PROGRAM:
            program = path
        elif dot and suffix in ("in", "out") and _NAME_RE.fullmatch(stem):
            (inputs if suffix == "in" else outputs)[stem] = path
        else:
            raise UsageError(
                f"{path}: unexpected file; a test folder holds NAME.in and NAME.out pairs "
                "(NAME: letters, digits, _ - .), weights.toml or weights.json, and checker.py "
                "or checker"
            )
    for stem in sorted(inputs.keys() ^ outputs.keys()):
        have, lack = ("in", "out") if stem in inputs else ("out", "in")
        raise UsageError(f"test {stem!r} in {folder} has {stem}.{have} but no {stem}.{lack}")
    if not inputs:
        raise UsageError(f"no tests in {folder}: add NAME.in and NAME.out pairs")
    if len(weight_files) > 1:
        raise UsageError(f"{folder} has both weights.toml and weights.json; keep one")
    weights = _weights(weight_files[0], set(inputs)) if weight_files else {}
    tests = tuple(
        TestCase(stem, _read(inputs[stem]), _read_text(outputs[stem]), weights.get(stem, 1))
        for stem in sorted(inputs)
    )
    if checker is not None and program is not None:
        raise UsageError(f"{folder} has both checker.py and checker; keep one")
    source = _read_text(checker).decode("utf-8") if checker is not None else None
    executable = _read(program) if program is not None else None
    return TestSuite(tests, source, executable, _content_hash(folder))


def _content_hash(folder: Path) -> str:
    """The hash of every file that decides a grade (dot files are ignored, as above)."""
    digest = hashlib.blake2b(digest_size=32)
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        data = _read(path)
        for part in (path.name.encode(), data):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()


def _read(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_TEST_FILE_BYTES:
        mib = size / (1024 * 1024)
        raise UsageError(f"{path} is {mib:.1f} MiB; each test file may be at most 8 MiB")
    data = path.read_bytes()
    if len(data) > MAX_TEST_FILE_BYTES:  # grew since stat
        raise UsageError(f"{path} is larger than 8 MiB; each test file may be at most 8 MiB")
    return data


def _read_text(path: Path) -> bytes:
    """A file that is compared or run as text, so it must be UTF-8."""
    data = _read(path)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    return data


def _weights(path: Path, names: set[str]) -> dict[str, int]:
    text = _read_text(path).decode("utf-8")
    try:
        raw: object = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} does not parse: {exc}") from None
    if not isinstance(raw, Mapping):
        raise UsageError(f'{path} must map test names to weights, like {{"01": 2}}')
    weights: dict[str, int] = {}
    for name, weight in raw.items():
        if name not in names:
            raise UsageError(f"{path} gives a weight to {name!r}, which is not a test here")
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise UsageError(f"{path}: the weight of {name!r} must be a whole number")
        if not 1 <= weight <= MAX_WEIGHT:
            raise UsageError(f"{path}: the weight of {name!r} must be 1..{MAX_WEIGHT}")
        weights[name] = weight
    return weights
