"""The report formats, one module each: the table the command line and the browser read.

Every module in this package exports ``FORMATS``, a tuple of :class:`peer.report.Format`;
the table is their union, ordered by ``Format.order``. Adding a format is one module here
(its renderer may live in it) plus its tests: neither the CLI nor the web UI changes.
"""

from __future__ import annotations

import importlib
import pkgutil

from peer.errors import UsageError
from peer.report._format import Format


def _collect() -> tuple[Format, ...]:
    """Import every module of this package and join their ``FORMATS``; a module without
    them, or two formats with one name, is a programming error caught at import."""
    found: list[Format] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        entries = getattr(module, "FORMATS", None)
        if not isinstance(entries, tuple) or not all(isinstance(f, Format) for f in entries):
            raise TypeError(f"{module.__name__} must export FORMATS, a tuple of Format")
        found.extend(entries)
    names = [f.name for f in found]
    if len(set(names)) != len(names):
        raise TypeError(f"two report formats share a name: {sorted(names)}")
    return tuple(sorted(found, key=lambda f: (f.order, f.name)))


#: Every format, in the order lists show them.
FORMATS: tuple[Format, ...] = _collect()


def format_named(name: str) -> Format:
    """The format called ``name``; an unknown name is a UsageError that lists the known
    ones, so the CLI and the browser say the same thing."""
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    known = ", ".join(f.name for f in FORMATS)
    raise UsageError(f"no report format {name!r}; choose one of: {known}")
