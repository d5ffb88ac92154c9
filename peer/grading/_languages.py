"""Turn a submission's source text into a program the sandbox can run, by the language table.

What each language needs (its source file, its compile step, how it runs) is an entry of
``peer.grading.languages``; this module does the same thing for all of them. A compile step
runs inside the sandbox too, with its own limits, since a compiler fed hostile source is
attacked code as well; the program comes back on the compiler run's stdout and goes into each
test's sandbox as a file. A failed compile becomes a CompileError whose message is the
compiler's, printable and short enough to show a student.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import attrs

from peer.errors import UsageError
from peer.grading._language import CompileStep
from peer.grading.languages import LANGUAGES, language_named

from ._sandbox import (
    DEFAULT_LIMITS,
    Limits,
    RunResult,
    run_sandboxed,
    run_unsandboxed,
)

__all__ = [
    "COMPILE_LIMITS",
    "LANGUAGES",
    "CompileError",
    "Program",
    "prepare_program",
    "run_program",
]

#: The compiler gets more room than a test run: cc1 alone maps a few hundred MiB.
COMPILE_LIMITS = Limits(
    cpu_seconds=20,
    wall_seconds=30.0,
    memory_bytes=1024 * 1024 * 1024,
    processes=16,
    output_bytes=32 * 1024 * 1024,
    file_bytes=64 * 1024 * 1024,
    tmpfs_bytes=128 * 1024 * 1024,
)
MAX_COMPILE_MESSAGE_LINES = 20
MAX_COMPILE_MESSAGE_CHARS = 2000
#: The source limit: far beyond any exercise, far below what could hurt.
MAX_SOURCE_BYTES = 1024 * 1024
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@attrs.frozen
class Program:
    """A submission ready to run: the command and the files its working directory holds."""

    language: str
    argv: tuple[str, ...]
    files: tuple[tuple[str, bytes], ...]
    executables: frozenset[str]
    #: False only for a student's own code run on their own machine (see self_check).
    sandboxed: bool = True


@attrs.frozen
class CompileError:
    """The source did not compile; ``message`` is the compiler's, cleaned and shortened."""

    message: str


def prepare_program(
    language: str,
    source: str,
    *,
    sandboxed: bool = True,
    compile_limits: Limits = COMPILE_LIMITS,
) -> Program | CompileError:
    """A runnable Program for ``source``, or the CompileError that stops it.

    ``sandboxed=False`` compiles and later runs as plain subprocesses: only for a student's
    own code on their own computer. Raises UsageError for an unknown language or an
    oversized source, SandboxUnavailable when a sandbox is needed and missing.
    """
    spec = language_named(language)
    data = source.encode("utf-8")
    if len(data) > MAX_SOURCE_BYTES:
        raise UsageError(f"the source is {len(data)} bytes; the limit is {MAX_SOURCE_BYTES}")
    step = spec.compile
    if step is None:
        argv = spec.run(sandboxed)
        return Program(spec.name, argv, ((spec.source_file, data),), frozenset(), sandboxed)
    _need_tool(step, spec.display_name, sandboxed)
    argv = spec.run(sandboxed)
    command = f"{step.command} >&2 && cat {step.output}"
    files = {spec.source_file: data}
    compiled = _run(sandboxed, ["sh", "-c", command], files, (), compile_limits)
    if compiled.status != "ok":
        return CompileError(_compile_message(compiled))
    made = ((step.output, compiled.stdout),)
    return Program(spec.name, argv, made, frozenset({step.output}), sandboxed)


def run_program(program: Program, stdin: bytes, limits: Limits = DEFAULT_LIMITS) -> RunResult:
    """Run ``program`` once on ``stdin`` in a fresh sandbox (or scratch dir, if unsandboxed): a
    fresh one per test, so no test can leave files or processes behind for the next."""
    return _run(
        program.sandboxed, program.argv, dict(program.files), program.executables, limits, stdin
    )


def _run(
    sandboxed: bool,
    argv: tuple[str, ...] | list[str],
    files: dict[str, bytes],
    executables: frozenset[str] | tuple[str, ...],
    limits: Limits,
    stdin: bytes = b"",
) -> RunResult:
    runner = run_sandboxed if sandboxed else run_unsandboxed
    return runner(argv, files, executables=executables, stdin=stdin, limits=limits)


def _need_tool(step: CompileStep, display_name: str, sandboxed: bool) -> None:
    """Refuse plainly when the compiler is missing, rather than blame the student's source
    (the sandbox sees the system's directories, so look there when it is used)."""
    found = (
        Path("/usr/bin", step.tool).exists() if sandboxed else shutil.which(step.tool) is not None
    )
    if not found:
        raise UsageError(
            f"no {display_name} compiler ({step.tool}) here; install one: {step.install}"
        )


def _compile_message(result: RunResult) -> str:
    """What to tell the student about a failed compile: the compiler's own words, shortened."""
    if result.status == "timeout":
        return "the compiler ran out of time"
    if result.status == "memory":
        return "the compiler ran out of memory"
    if result.status == "output_limit":
        return "the compiled program is too large"
    text = result.stderr.decode("utf-8", errors="replace").strip()
    return clean_message(text) or f"the compiler failed ({result.status})"


def clean_message(text: str) -> str:
    """``text`` without control characters, cut to 20 lines and 2000 characters."""
    lines = _CONTROL_RE.sub("?", text).splitlines()
    if len(lines) > MAX_COMPILE_MESSAGE_LINES:
        omitted = len(lines) - MAX_COMPILE_MESSAGE_LINES
        lines = [*lines[:MAX_COMPILE_MESSAGE_LINES], f"... ({omitted} more lines)"]
    text = "\n".join(lines)
    if len(text) > MAX_COMPILE_MESSAGE_CHARS:
        text = text[: MAX_COMPILE_MESSAGE_CHARS - 4] + " ..."
    return text
