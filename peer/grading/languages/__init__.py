"""The languages the grading engine runs, one module each: the table every caller reads.

Every module in this package exports ``LANGUAGE``, a :class:`peer.grading.LanguageSpec`; the
table is all of them, ordered by ``LanguageSpec.order``. Adding a language is one module here
plus its tests: compiling and running, the CLI's file-name guess and the browser's lists all
read the table.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import PurePath

from peer.errors import UsageError
from peer.grading._language import LanguageSpec


def _collect() -> tuple[LanguageSpec, ...]:
    """Import every module of this package and take its ``LANGUAGE``; a module without one,
    or two languages with one name or suffix, is a programming error caught at import."""
    found: list[LanguageSpec] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        spec = getattr(module, "LANGUAGE", None)
        if not isinstance(spec, LanguageSpec):
            raise TypeError(f"{module.__name__} must export LANGUAGE, a LanguageSpec")
        found.append(spec)
    names = [spec.name for spec in found]
    suffixes = [suffix for spec in found for suffix in spec.suffixes]
    if len(set(names)) != len(names) or len(set(suffixes)) != len(suffixes):
        raise TypeError(f"two languages share a name or a suffix: {names}, {suffixes}")
    return tuple(sorted(found, key=lambda s: (s.order, s.name)))


#: Every language, the default first.
LANGUAGE_TABLE: tuple[LanguageSpec, ...] = _collect()
#: Their names, as events store them.
LANGUAGES: tuple[str, ...] = tuple(spec.name for spec in LANGUAGE_TABLE)


def language_named(name: str) -> LanguageSpec:
    """The language called ``name``; an unknown one is a UsageError naming those there are,
    so every command and page refuses it with the same words."""
    for spec in LANGUAGE_TABLE:
        if spec.name == name:
            return spec
    raise UsageError(f"unknown language {name!r}; use one of: {', '.join(LANGUAGES)}")


def language_of_file(path: PurePath | str) -> LanguageSpec | None:
    """The language a file name says (by its ending), or None: a student's ``main.c``
    needs no ``--language``."""
    suffix = PurePath(path).suffix.lower()
    return next((spec for spec in LANGUAGE_TABLE if suffix in spec.suffixes), None)
