"""The entry shape of the grading engine's language table (``peer.grading.languages``).

One value per language, so compiling and running (``_languages``), guessing a language from a
file name (the CLI's ``check`` and ``submit``) and the lists people pick from (the browser's
publish form) read one place instead of each keeping a copy.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs


@attrs.frozen
class CompileStep:
    """How a source becomes a program, inside the sandbox like everything a student wrote
    (a compiler fed hostile source is attacked code as well)."""

    #: A shell command run in the sandbox's working directory holding the source; it must
    #: leave the program in :attr:`output`. Its diagnostics become the student's message.
    command: str
    #: The file the command makes; it comes back to us and goes into each test's sandbox.
    output: str
    #: The program that must exist for the command to run (refused plainly without it,
    #: rather than blaming the student's source).
    tool: str
    #: What to tell someone who lacks :attr:`tool`.
    install: str


@attrs.frozen
class LanguageSpec:
    """One language the grading engine runs."""

    #: The name stored in events (``submission.language``, ``problem.languages``): never
    #: rename one, other peers' logs hold it.
    name: str
    #: What people read in lists and messages.
    display_name: str
    #: File name endings that say a solution is in this language (lower case, with the dot).
    suffixes: tuple[str, ...]
    #: The file the source is saved as before it is compiled or run.
    source_file: str
    #: The command line that runs the program, given whether it runs in the sandbox (an
    #: interpreter's path differs inside and outside it). Raises SandboxUnavailable or
    #: UsageError when this computer cannot run it.
    run: Callable[[bool], tuple[str, ...]]
    #: Where the language sits in lists: lower first (the default language first).
    order: int
    #: None for a language that runs its source as it is.
    compile: CompileStep | None = None
    #: The Pygments lexer that colours it (the browser shows submitted code).
    lexer: str = "text"
