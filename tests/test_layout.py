"""The layering rules of the architecture, checked on the source: a newcomer can trust them.

- no import circles between modules (module-level and function-level imports alike);
- ``storage`` imports from ``peer`` only ``peer.log`` and ``peer.errors``;
- ``peer.log`` is pure: no Trio, no SQL, no network;
- nothing imports ``peer.cli`` (``peer.testing`` starts processes by command line), and only
  the command line imports ``peer.web``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("peer", "storage", "migrations")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """The project modules that ``name`` imports (resolved to modules that exist)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


GRAPH = {name: set(_imports(name, path)) for name, path in MODULES.items()}


def _without_package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's ``__init__`` re-exports its private modules, and a private module imports a
    sibling through the package only by name: an edge module -> own package is not a cycle
    of logic, so it is dropped; every other edge stays."""
    return {
        name: {t for t in targets if not (name.startswith(t + ".") and t in MODULES)}
        for name, targets in graph.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_there_are_no_import_circles() -> None:
    assert _cycles(_without_package_inits(GRAPH)) == []


def test_the_cycle_finder_finds_a_planted_circle() -> None:
    planted = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(planted) == [["a", "b", "c"]]


def _outside(prefixes: tuple[str, ...], name: str) -> bool:
    return not any(name == p or name.startswith(p + ".") for p in prefixes)


def test_storage_depends_on_the_log_format_and_errors_only() -> None:
    bad = {
        (name, target)
        for name, targets in GRAPH.items()
        if not _outside(("storage",), name)
        for target in targets
        if target.startswith("peer") and _outside(("peer.log", "peer.errors"), target)
    }
    assert bad == set()


def test_the_log_format_is_pure() -> None:
    for name, path in MODULES.items():
        if _outside(("peer.log",), name):
            continue
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in (
                node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
            )
        }
        assert not imported & {"trio", "sqlalchemy", "socket", "storage"}, name


def test_nothing_imports_the_user_interfaces() -> None:
    """The command line is the top: it composes the node and the web UI; the web UI may use
    everything below it but not the command line; nothing below imports either."""
    allowed = {"peer.cli": ("peer.cli", "peer.__main__"), "peer.web": ("peer.web", "peer.cli")}
    bad = {
        (name, target)
        for name, targets in GRAPH.items()
        for target in targets
        for ui, importers in allowed.items()
        if (target == ui or target.startswith(ui + ".")) and _outside(importers, name)
    }
    assert bad == set()
