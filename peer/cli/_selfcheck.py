"""The self-check ``peerclass check`` and ``peerclass submit`` share: a student's own solution
run against the problem's public examples, on their own computer, through the grading engine
(in its sandbox where there is one, else as a plain subprocess with the same limits: this is
only ever the user's own file). Both commands print exactly the same lines.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import attrs

from peer.errors import UsageError
from peer.grading import LANGUAGES, CheckResult, language_of_file, self_check
from peer.log import CONTROL_RE, MAX_CHECK_DETAIL
from storage.queries import Problem


def add_solution_args(parser: argparse.ArgumentParser) -> None:
    """The arguments ``check`` and ``submit`` share: the problem, the file and its language."""
    parser.add_argument("problem", metavar="PROBLEM_ID")
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument(
        "--language",
        help=f"{' or '.join(LANGUAGES)} (default: from the file name, else the problem's first)",
    )


@attrs.frozen
class SelfCheck:
    """The result of every example, or why none could run here (no C compiler, say)."""

    language: str
    results: tuple[CheckResult, ...]
    not_run: str | None = None

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def all_passed(self) -> bool:
        return self.not_run is None and self.passed == len(self.results)

    def bodies(self) -> list[dict[str, object]]:
        """The results as a submission carries them (printable, within the schema's limit)."""
        return [
            {"passed": r.passed, "detail": CONTROL_RE.sub("?", r.detail)[:MAX_CHECK_DETAIL]}
            for r in self.results
        ]


def choose_language(problem: Problem, requested: str | None, file: Path) -> str:
    """``--language``, else what the file name says, else the problem's first language; a
    UsageError if the problem does not accept it."""
    if requested is not None:
        language = requested.strip().lower()
    else:
        guessed = language_of_file(file)
        language = problem.languages[0] if guessed is None else guessed.name
    if language not in problem.languages:
        accepted = ", ".join(problem.languages)
        raise UsageError(
            f"{problem.title!r} accepts {accepted}, not {language!r}"
            + ("" if requested is not None else f" (from {file.name}; give --language)")
        )
    if language not in LANGUAGES:
        raise UsageError(f"peerclass cannot run {language!r}; it runs {', '.join(LANGUAGES)}")
    return language


def run_self_check(problem: Problem, language: str, solution: str) -> SelfCheck:
    """Run ``solution`` on every public example of ``problem`` (blocking)."""
    examples = [(e.input, e.output) for e in problem.examples]
    try:
        results = self_check(language, solution, examples, allow_unsandboxed_own_code=True)
    except UsageError as exc:  # e.g. no C compiler on this computer
        return SelfCheck(language, (), f"not run here: {exc}")
    return SelfCheck(language, tuple(results))


def self_check_lines(problem: Problem, check: SelfCheck) -> list[str]:
    """What ``check`` and ``submit`` print: the summary, then each failed example's detail."""
    head = f"self-check of {problem.title!r} ({check.language})"
    if check.not_run is not None:
        return [f"{head}: {check.not_run}"]
    if not check.results:
        return [f"{head}: passed 0/0 (the problem has no examples)"]
    lines = [f"{head}: passed {check.passed}/{len(check.results)}"]
    details = {r.detail for r in check.results}
    if check.passed == 0 and len(details) == 1 and details.pop().startswith("compile error"):
        # The same compiler message for every example: say it once.
        return lines + [f"  {line}" for line in _printable(check.results[0].detail).splitlines()]
    for number, result in enumerate(check.results, 1):
        if not result.passed:
            lines.append(f"  example {number} failed:")
            lines += [f"    {line}" for line in _printable(result.detail).splitlines()]
    return lines


def _printable(text: str) -> str:
    return CONTROL_RE.sub("?", text)
