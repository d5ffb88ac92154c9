"""The hidden-test folder format: what loads, and the message for each way it can be wrong."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from peer.errors import UsageError
from peer.grading import TEST_FOLDER_FORMAT, TestCase, TestSuite, load_test_folder


def make_folder(root: Path, files: Mapping[str, str | bytes]) -> Path:
    folder = root / "tests"
    folder.mkdir()
    for name, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return folder


def refused(root: Path, files: Mapping[str, str | bytes]) -> str:
    with pytest.raises(UsageError) as caught:
        load_test_folder(make_folder(root, files))
    return str(caught.value)


def test_pairs_load_in_name_order_with_weights_and_checker(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path,
        {
            "02.in": "2\n",
            "02.out": "4\n",
            "01.in": "1\n",
            "01.out": "2\n",
            "big-case.in": b"\xff\x00raw",
            "big-case.out": "x\n",
            "weights.toml": '"01" = 3\n"big-case" = 5\n',
            "checker.py": "import sys\n",
            ".DS_Store": b"ignored",
        },
    )
    suite = load_test_folder(folder)
    assert suite.tests == (
        TestCase("01", b"1\n", b"2\n", 3),
        TestCase("02", b"2\n", b"4\n", 1),
        TestCase("big-case", b"\xff\x00raw", b"x\n", 5),
    )
    assert suite.checker == "import sys\n"
    assert suite.total_weight == 9


def test_weights_may_be_json(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path, {"a.in": "", "a.out": "", "b.in": "", "b.out": "", "weights.json": '{"b": 4}'}
    )
    assert [test.weight for test in load_test_folder(folder).tests] == [1, 4]


def test_missing_half_of_a_pair(tmp_path: Path) -> None:
    message = refused(tmp_path, {"01.in": "1", "01.out": "1", "02.in": "2"})
    assert "test '02'" in message and "02.in but no 02.out" in message


def test_missing_input(tmp_path: Path) -> None:
    assert "03.out but no 03.in" in refused(tmp_path, {"03.out": "1"})


def test_empty_folder(tmp_path: Path) -> None:
    assert "no tests in" in refused(tmp_path, {})


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not a folder of tests"):
        load_test_folder(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ('"01" = 0', "must be 1..1000000"),
        ('"01" = -2', "must be 1..1000000"),
        ('"01" = 1.5', "must be a whole number"),
        ('"01" = true', "must be a whole number"),
        ('"01" = "2"', "must be a whole number"),
        ('"99" = 2', "'99', which is not a test here"),
        ('"01" = ', "does not parse"),
    ],
)
def test_bad_weights(tmp_path: Path, weights: str, expected: str) -> None:
    message = refused(tmp_path, {"01.in": "", "01.out": "", "weights.toml": weights})
    assert expected in message and "weights.toml" in message


def test_weights_must_be_a_mapping(tmp_path: Path) -> None:
    message = refused(tmp_path, {"01.in": "", "01.out": "", "weights.json": "[1, 2]"})
    assert "must map test names to weights" in message


def test_both_weight_files(tmp_path: Path) -> None:
    files = {"01.in": "", "01.out": "", "weights.json": "{}", "weights.toml": ""}
    assert "both weights.toml and weights.json" in refused(tmp_path, files)


def test_unexpected_file_is_named(tmp_path: Path) -> None:
    message = refused(tmp_path, {"01.in": "", "01.out": "", "01.ans": ""})
    assert "01.ans: unexpected file" in message and "NAME.in and NAME.out" in message


def test_subfolder_is_refused(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, {"01.in": "", "01.out": ""})
    (folder / "more").mkdir()
    with pytest.raises(UsageError, match="only files belong"):
        load_test_folder(folder)


def test_oversized_file(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, {"01.in": "", "01.out": ""})
    with (folder / "01.in").open("wb") as f:  # sparse: no 8 MiB actually written
        f.truncate(8 * 1024 * 1024 + 1)
    with pytest.raises(UsageError, match=r"01.in is 8.0 MiB; each test file may be at most 8"):
        load_test_folder(folder)


def test_expected_output_must_be_utf8(tmp_path: Path) -> None:
    assert "01.out is not UTF-8" in refused(tmp_path, {"01.in": "", "01.out": b"\xff"})


def test_suite_checks_its_own_invariants() -> None:
    with pytest.raises(UsageError, match="at least one test"):
        TestSuite(())
    with pytest.raises(UsageError, match="unique"):
        TestSuite((TestCase("a", b"", b""), TestCase("a", b"", b"")))
    with pytest.raises(UsageError, match="weight"):
        TestSuite((TestCase("a", b"", b"", 0),))


def test_format_text_names_every_part() -> None:
    for part in ("NAME.in", "NAME.out", "weights.toml", "weights.json", "checker.py", "8 MiB"):
        assert part in TEST_FOLDER_FORMAT
