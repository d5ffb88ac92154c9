"""Grading real Python and C submissions against hidden tests, and self-checks."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from peer.errors import UsageError
from peer.grading import (
    ENV_SANDBOX,
    CompileError,
    GradeResult,
    Limits,
    SandboxUnavailable,
    TestCase,
    TestSuite,
    _sandbox,
    grade_submission,
    load_test_folder,
    outputs_match,
    prepare_program,
    run_program,
    run_sandboxed,
    sandbox_available,
    sandbox_python,
    self_check,
)

from .helpers import needs_sandbox

SUM_TESTS = TestSuite(
    (
        TestCase("01-small", b"1 2\n", b"3\n"),
        TestCase("02-negative", b"-5 2\n", b"-3\n"),
        TestCase("03-large", b"1000000000 1000000000\n", b"2000000000\n"),
    )
)
PY_SUM = "a, b = map(int, input().split())\nprint(a + b)\n"
C_SUM = """\
#include <stdio.h>
int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) return 1;
    printf("%lld\\n", a + b);
    return 0;
}
"""


def grade(language: str, source: str, tests: TestSuite = SUM_TESTS, **limits: int) -> GradeResult:
    return grade_submission(language, textwrap.dedent(source), tests, Limits(**limits))


@needs_sandbox
@pytest.mark.parametrize(("language", "source"), [("python", PY_SUM), ("c", C_SUM)])
def test_right_answers_are_accepted(language: str, source: str) -> None:
    result = grade(language, source)
    assert result == GradeResult(
        "accept", 100, ("01-small", "02-negative", "03-large"), (), "all 3 tests passed"
    )


@needs_sandbox
def test_python_wrong_answer() -> None:
    result = grade("python", "a, b = map(int, input().split())\nprint(abs(a + b))\n")
    assert (result.verdict, result.score) == ("revise", 66)
    assert result.failed == (("02-negative", "wrong answer"),)
    assert result.comment == "passed 2 of 3 tests (score 66)\nfailed:\n  02-negative: failed"


@needs_sandbox
def test_c_wrong_answer() -> None:
    result = grade("c", C_SUM.replace("a + b", "a > 0 ? a + b : b - a"))
    assert (result.verdict, result.score) == ("revise", 66)
    assert result.failed == (("02-negative", "wrong answer"),)


@needs_sandbox
def test_c_compile_error_is_revise_with_the_compilers_message() -> None:
    result = grade("c", "int main(void) { return missing; }\n")
    assert (result.verdict, result.score, result.passed, result.failed) == ("revise", 0, (), ())
    assert result.comment.startswith("compile error:\nmain.c:")
    assert "'missing' undeclared" in result.comment.replace("\u2018", "'").replace("\u2019", "'")


@needs_sandbox
def test_compile_error_message_is_truncated() -> None:
    source = "int main(void) {\n" + "".join(f"  undeclared_{i}++;\n" for i in range(200)) + "}\n"
    message = grade("c", source).comment
    assert len(message.splitlines()) <= 22 and len(message) <= 2100
    assert "more lines)" in message


@needs_sandbox
def test_python_syntax_error_is_a_runtime_error_on_every_test() -> None:
    result = grade("python", "print(")
    assert result.score == 0
    assert {reason for _, reason in result.failed} == {"runtime error"}


@needs_sandbox
def test_weights_decide_the_score(tmp_path: Path) -> None:
    for name, given, expected in [("a", "1", "1"), ("b", "2", "4"), ("c", "3", "9")]:
        (tmp_path / f"{name}.in").write_text(given + "\n")
        (tmp_path / f"{name}.out").write_text(expected + "  \n\n\n")  # trailing space, blanks
    (tmp_path / "weights.toml").write_text("a = 1\nb = 2\nc = 4\n")
    suite = load_test_folder(tmp_path)
    # Squares every number but 2: passes a (1) and c (4) of 7 -> 71 (5/7 rounded down).
    result = grade("python", "n = int(input())\nprint(n * n if n != 2 else 5)\n", suite)
    assert (result.verdict, result.score, result.passed) == ("revise", 71, ("a", "c"))
    assert result.failed == (("b", "wrong answer"),)


CHECKER = """\
import sys
given, expected, actual = (open(name).read() for name in sys.argv[1:])
if sorted(actual.split()) == sorted(expected.split()):
    sys.exit(0)
sys.exit(1)
"""


@needs_sandbox
def test_checker_accepts_any_right_form() -> None:
    suite = TestSuite(
        (TestCase("any-order", b"3 1 2\n", b"1 2 3\n"), TestCase("dups", b"2 2 1\n", b"1 2 2\n")),
        CHECKER,
    )
    # Prints the numbers unsorted: exact comparison would fail, the checker accepts.
    assert grade("python", "print(input())", suite).verdict == "accept"
    wrong = grade("python", "print(input().split()[0])", suite)
    assert wrong.failed == (("any-order", "wrong answer"), ("dups", "wrong answer"))


@needs_sandbox
def test_broken_checker_is_not_blamed_on_the_student() -> None:
    suite = TestSuite((TestCase("t", b"1\n", b"1\n"),), "raise RuntimeError('oops')\n")
    assert grade("python", "print(input())", suite).failed == (("t", "checker error"),)


SECRET_INPUT = b"hidden-input-7f3a 1 2\n"
SECRET_OUTPUT = b"hidden-output-91bc\n"


@needs_sandbox
def test_comment_never_shows_hidden_data_even_if_the_program_echoes_it() -> None:
    suite = TestSuite((TestCase("leak", SECRET_INPUT, SECRET_OUTPUT),))
    leaky = """\
        import sys
        data = sys.stdin.read()
        print(data)
        print(data, file=sys.stderr)
        sys.exit(len(data) % 200 + 2)
        """
    for source in (
        leaky,
        "print(input())",
        "import sys; sys.stdout.write(sys.stdin.read() * 10**6)",
    ):
        result = grade("python", source, suite)
        assert result.verdict == "revise"
        text = repr(result)
        for secret in (b"hidden-input-7f3a", b"hidden-output-91bc"):
            assert secret.decode() not in text
        assert result.comment.startswith("passed 0 of 1 tests (score 0)\nfailed:\n  leak: ")


@needs_sandbox
@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("while True:\n    pass", "time limit"),
        ("x = bytearray(4 * 1024**3)", "memory limit"),
        ("while True:\n    print('y' * 10000)", "output limit"),
        ("open('f', 'wb').write(b'z' * 50 * 1024**2)", "file size limit"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", "runtime error"),
    ],
)
def test_limits_become_reasons(source: str, reason: str) -> None:
    suite = TestSuite((TestCase("only", b"", b"\n"),))
    result = grade("python", source, suite, cpu_seconds=1, output_bytes=1024 * 1024)
    assert result.failed == (("only", reason),)


@needs_sandbox
def test_c_whose_malloc_fails_silently_is_a_runtime_error_not_a_memory_claim() -> None:
    # The address-space limit makes malloc return NULL; the program exits 1 and says nothing.
    # With no message there is no sign of the limit, so the comment must not claim one.
    source = """\
        #include <stdio.h>
        #include <stdlib.h>
        int main(void) {
            char *volatile p = malloc((size_t)4 << 30);
            if (p == NULL) return 1;
            p[0] = 'a';
            puts("allocated");
            return 0;
        }
        """
    suite = TestSuite((TestCase("big", b"", b"allocated\n"),))
    result = grade("c", source, suite)
    assert result.failed == (("big", "runtime error"),)
    assert "memory" not in result.comment
    program = prepare_program("c", textwrap.dedent(source))
    assert not isinstance(program, CompileError)
    run = run_program(program, b"")
    assert (run.status, run.exit_code, run.stdout, run.stderr) == ("exit_error", 1, b"", b"")


def test_unknown_language_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown language 'cobol'"):
        grade_submission("cobol", "", SUM_TESTS)


def test_comparison_ignores_trailing_whitespace_and_blank_lines_only() -> None:
    assert outputs_match(b"1 2\n3\n", b"1 2   \n3\t\n\n\n")
    assert outputs_match(b"1\r\n2\r\n", b"1\n2")
    assert not outputs_match(b"1 2\n", b"1  2\n")
    assert not outputs_match(b"1\n\n2\n", b"1\n2\n")
    assert not outputs_match(b"1\n", b" 1\n")


EXAMPLES = [("1 2\n", "3\n"), ("2 0\n", "2\n")]


@needs_sandbox
def test_self_check_in_the_sandbox() -> None:
    results = self_check("python", PY_SUM, EXAMPLES, allow_unsandboxed_own_code=False)
    assert [r.passed for r in results] == [True, True]
    wrong = self_check(
        "c", C_SUM.replace("a + b", "a - b"), EXAMPLES, allow_unsandboxed_own_code=False
    )
    assert [r.passed for r in wrong] == [False, True]
    assert "-3" in wrong[0].detail and "+-1" in wrong[0].detail  # the diff: public data


def test_sandbox_turned_off_is_no_sandbox_for_every_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SANDBOX, "Off ")
    reason = "the sandbox is turned off by PEERCLASS_SANDBOX=off"
    assert sandbox_available() == reason
    python = sandbox_python()
    assert python is not None
    with pytest.raises(SandboxUnavailable, match=reason):
        run_sandboxed([python, "-c", "pass"])
    with pytest.raises(SandboxUnavailable, match=reason):
        grade_submission("python", PY_SUM, SUM_TESTS)  # hidden tests: never unsandboxed
    with pytest.raises(SandboxUnavailable, match=reason):
        self_check("python", PY_SUM, EXAMPLES, allow_unsandboxed_own_code=False)
    monkeypatch.setenv(ENV_SANDBOX, "on")  # only "off" means anything
    assert sandbox_available() == _sandbox._probe()


def test_self_check_without_a_sandbox_needs_explicit_consent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_SANDBOX, "off")
    with pytest.raises(SandboxUnavailable, match="turned off"):
        self_check("python", PY_SUM, EXAMPLES, allow_unsandboxed_own_code=False)
    with pytest.raises(SandboxUnavailable):
        grade_submission("python", PY_SUM, SUM_TESTS)  # hidden tests: never unsandboxed
    source = "import os\nprint(3 if os.getcwd().startswith('/work') else 0)"
    results = self_check("python", source, EXAMPLES[:1], allow_unsandboxed_own_code=True)
    assert results[0].passed is False  # really ran outside: not in /work
    results = self_check("python", PY_SUM, EXAMPLES, allow_unsandboxed_own_code=True)
    assert [r.passed for r in results] == [True, True]


def test_self_check_unsandboxed_still_has_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SANDBOX, "off")
    source = "import sys\nif sys.stdin.read().strip() == 'loop':\n    while True: pass\nprint(1)"
    results = self_check(
        "python",
        source,
        [("loop\n", "1\n"), ("x\n", "1\n")],
        allow_unsandboxed_own_code=True,
        limits=Limits(cpu_seconds=1),
    )
    assert results[0].passed is False and "time limit" in results[0].detail
    assert results[1].passed is True
    error = self_check("python", "print(", EXAMPLES[:1], allow_unsandboxed_own_code=True)
    assert "SyntaxError" in error[0].detail


# ---- what a student learns of hidden tests (issue 18) --------------------------------------

#: Picks its failure from the first byte of the hidden input: six distinguishable outcomes,
#: about 2.6 bits of the input per test, if the reasons reached the student.
ENCODER = """\
    import os, signal, sys
    choice = sys.stdin.read(1)
    if choice == "a":
        print("wrong")
    elif choice == "b":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif choice == "c":
        while True:
            pass
    elif choice == "d":
        x = bytearray(4 * 1024**3)
    elif choice == "e":
        while True:
            print("y" * 10000)
    else:
        open("f", "wb").write(b"z" * 50 * 1024**2)
    """
ENCODED = TestSuite(
    tuple(TestCase(f"t{i}", c.encode() + b"\n", b"right\n") for i, c in enumerate("abcdef"))
)
QUIET = "pass"  # fails every test the plainest way: no output at all


def _grade_hidden(source: str, detail: str) -> GradeResult:
    limits = Limits(cpu_seconds=1, output_bytes=1024 * 1024)
    return grade_submission(
        "python", textwrap.dedent(source), ENCODED, limits, hidden_detail=detail
    )


@needs_sandbox
def test_default_detail_seals_nothing_but_pass_or_fail_per_hidden_test() -> None:
    encoded = _grade_hidden(ENCODER, "names")
    # The encoding worked (the instructor's view shows six different reasons) ...
    assert len({reason for _, reason in encoded.failed}) == 6
    # ... yet what is sealed for the student is exactly what a program that fails every test
    # silently gets: the same verdict, score and comment, character for character.
    quiet = _grade_hidden(QUIET, "names")
    assert (encoded.verdict, encoded.score, encoded.comment) == (
        quiet.verdict,
        quiet.score,
        quiet.comment,
    )
    assert encoded.comment.splitlines()[2:] == [f"  t{i}: failed" for i in range(6)]


@needs_sandbox
def test_verdicts_detail_tells_reasons_and_none_names_no_test() -> None:
    told = _grade_hidden(ENCODER, "verdicts")
    assert "time limit" in told.comment and "memory limit" in told.comment
    hidden = _grade_hidden(ENCODER, "none")
    assert hidden.comment == "not every hidden test passed (score 0)"
    assert not any(f"t{i}" in hidden.comment for i in range(6))
