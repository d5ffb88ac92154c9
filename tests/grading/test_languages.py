"""The language table: each language once, found by its module, read by every caller; and
the engine compiles and runs a language from its entry alone (a new one needs no code
elsewhere: shown with a made-up language run outside the sandbox, as a self-check is)."""

from __future__ import annotations

import pkgutil

import pytest

import peer.grading.languages
from peer.errors import UsageError
from peer.grading import (
    LANGUAGE_TABLE,
    LANGUAGES,
    CompileError,
    CompileStep,
    LanguageSpec,
    language_named,
    language_of_file,
    prepare_program,
    run_program,
)


def test_the_table_holds_python_then_c_with_their_suffixes_and_names() -> None:
    assert LANGUAGES == ("python", "c")
    assert [(s.display_name, s.suffixes, s.lexer) for s in LANGUAGE_TABLE] == [
        ("Python", (".py",), "python"),
        ("C", (".c",), "c"),
    ]
    assert language_named("c").compile is not None and language_named("python").compile is None


def test_every_module_of_the_languages_package_is_one_language() -> None:
    modules = [m.name for m in pkgutil.iter_modules(peer.grading.languages.__path__)]
    assert len(modules) == len(LANGUAGE_TABLE)
    assert {s.run.__module__ for s in LANGUAGE_TABLE} == {
        f"peer.grading.languages.{m}" for m in modules
    }


def test_a_file_name_says_its_language_whatever_its_case() -> None:
    assert language_of_file("sum.PY") == language_named("python")
    assert language_of_file("dir.c/main.c") == language_named("c")
    assert language_of_file("notes.txt") is None


def test_an_unknown_language_is_one_line_naming_those_there_are() -> None:
    with pytest.raises(UsageError) as caught:
        language_named("cobol")
    assert str(caught.value) == "unknown language 'cobol'; use one of: python, c"
    with pytest.raises(UsageError):
        prepare_program("cobol", "DISPLAY 'HI'.", sandboxed=False)


SHELL = LanguageSpec(
    name="shell",
    display_name="Shell",
    suffixes=(".sh",),
    source_file="main.sh",
    run=lambda _sandboxed: ("sh", "main.sh"),
    order=90,
)
#: A "compiled" language whose compiler copies the script: a compile step from data alone.
COPIED = LanguageSpec(
    name="copied",
    display_name="Copied shell",
    suffixes=(".csh",),
    source_file="main.txt",
    run=lambda _sandboxed: ("./prog",),
    order=91,
    compile=CompileStep(
        command='test "$(head -c 2 main.txt)" = "#!" && cp main.txt prog',
        output="prog",
        tool="cp",
        install="apt-get install coreutils",
    ),
)


@pytest.fixture
def more_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The table as if two more modules were in the package."""
    monkeypatch.setattr(peer.grading.languages, "LANGUAGE_TABLE", (*LANGUAGE_TABLE, SHELL, COPIED))


@pytest.mark.usefixtures("more_languages")
def test_a_language_runs_from_its_entry_alone() -> None:
    program = prepare_program("shell", "read a b; echo $((a + b))\n", sandboxed=False)
    assert not isinstance(program, CompileError)
    result = run_program(program, b"2 3\n")
    assert (result.status, result.stdout) == ("ok", b"5\n")


@pytest.mark.usefixtures("more_languages")
def test_a_compile_step_from_its_entry_alone() -> None:
    program = prepare_program("copied", "#!/bin/sh\necho compiled\n", sandboxed=False)
    assert not isinstance(program, CompileError)
    assert program.executables == frozenset({"prog"})
    assert run_program(program, b"").stdout == b"compiled\n"
    failed = prepare_program("copied", "no shebang\n", sandboxed=False)
    assert isinstance(failed, CompileError)
