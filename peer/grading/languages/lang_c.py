"""C (C11 with the maths library): compiled by ``cc`` in the sandbox, then run as ``./prog``."""

from __future__ import annotations

from peer.grading._language import CompileStep, LanguageSpec


def _run(_sandboxed: bool) -> tuple[str, ...]:
    return ("./prog",)


LANGUAGE = LanguageSpec(
    name="c",
    display_name="C",
    suffixes=(".c",),
    source_file="main.c",
    run=_run,
    order=20,
    compile=CompileStep(
        command="cc -O2 -std=c11 -o prog main.c -lm",
        output="prog",
        tool="cc",
        install="apt-get install gcc",
    ),
    lexer="c",
)
