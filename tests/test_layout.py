"""The layering rules of the architecture, checked on the source: a newcomer can trust them.

- no import circles between modules (module-level and function-level imports alike);
- ``storage`` imports from ``peer`` only ``peer.log`` and ``peer.errors``;
- ``peer.log`` is pure: no Trio, no SQL, no network;
- nothing imports ``peer.cli`` (``peer.testing`` starts processes by command line), and only
  the command line imports ``peer.web``;
- no arrow runs back up: ``storage`` never imports ``migrations`` (the migrations import
  ``storage.schema``), not even when a store opens;
- the sans-IO core (the codecs, the sync and gossip machines) loads no Trio, no store, no
  sockets and no Noise, checked in a fresh interpreter;
- async code reaches the store only through ``AsyncStore``: no ``store.store`` and no blocking
  store call left un-awaited in an ``async def``.
"""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import AsyncStore, Store

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


# ---- no arrow runs back up ----------------------------------------------------------------


def _upward(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Edges from ``storage`` up to ``migrations``, which sit above it (they import its schema)."""
    return {
        (name, target)
        for name, targets in graph.items()
        if not _outside(("storage",), name)
        for target in targets
        if not _outside(("migrations",), target)
    }


def test_storage_never_imports_the_migrations() -> None:
    assert _upward(GRAPH) == set()


def test_opening_a_store_does_not_import_the_migrations(tmp_path: Path) -> None:
    """Alembic runs them from their files; the ``migrations`` package itself stays unloaded."""
    probe = (
        "import sys; from pathlib import Path; from storage import Store; "
        "Store.open(Path(sys.argv[1])).close(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'migrations'))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert run.stdout.strip() == "[]"


def test_an_upward_import_is_found() -> None:
    planted = {"storage._store": {"migrations", "storage.schema"}, "migrations.env": {"storage"}}
    assert _upward(planted) == {("storage._store", "migrations")}


# ---- the sans-IO core loads no I/O ------------------------------------------------------

#: Top-level modules that mean I/O: Trio, the store and its SQL, sockets, Noise (and the
#: cryptography package it stands on), the migrations.
IO_MODULES = frozenset(
    {
        "trio",
        "sqlalchemy",
        "alembic",
        "sqlite3",
        "socket",
        "_socket",
        "selectors",
        "ssl",
        "noise",
        "cryptography",
        "storage",
        "migrations",
    }
)
#: The I/O half of ``peer.net``, which drives the core.
IO_NET = frozenset(
    {
        "peer.net._framed",
        "peer.net._secure_stream",
        "peer.net._handshake",
        "peer.net._discovery",
        "peer.net._interfaces",
        "peer.net._session",
        "peer.net._node",
        "peer.net._mdns",
        "peer.net._probe",
    }
)
SANS_IO = (
    "peer.log",
    "peer.log._codec",
    "peer.net._wire",
    "peer.net._sync",
    "peer.net._gossip",
    "peer.net._config",
    "peer.net._simulation",
    "peer.net._exchange",
    "peer.net._reach",
    "peer.net._redial",
)


def _loaded_by(modules: tuple[str, ...]) -> dict[str, list[str]]:
    """For each module, the I/O modules importing it loads in a fresh interpreter (all run at
    once: each is its own process)."""
    probe = (
        "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
        "print(json.dumps(sorted(sys.modules)))"
    )
    running = {
        m: subprocess.Popen(
            [sys.executable, "-c", probe, m], stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        for m in modules
    }
    loaded = {}
    for module, process in running.items():
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0, module
        names = json.loads(out)
        loaded[module] = [n for n in names if n.split(".")[0] in IO_MODULES or n in IO_NET]
    return loaded


def test_the_sans_io_core_loads_no_io() -> None:
    assert _loaded_by(SANS_IO) == {m: [] for m in SANS_IO}


def test_the_probe_sees_io_where_there_is_some() -> None:
    """The positive control: the framed stream is the I/O half, and the probe says so."""
    loaded = _loaded_by(("peer.net._framed",))["peer.net._framed"]
    assert "trio" in loaded and "peer.net._framed" in loaded


def test_the_network_face_loads_the_node_only_when_asked() -> None:
    """``peer.net`` re-exports ``Node`` lazily: the name is there, the module only on use."""
    import peer.net

    assert {"Node", "NodeConfig", "simulate"} <= set(dir(peer.net))
    assert peer.net.Node.__module__ == "peer.net._node"
    with pytest.raises(AttributeError, match="no attribute 'Nodes'"):
        _ = peer.net.Nodes


# ---- one door to the store --------------------------------------------------------------

#: What a ``Store`` can do, blocking; in async code each must be awaited through AsyncStore.
STORE_METHODS = frozenset(
    name
    for name, member in inspect.getmembers(Store)
    if not name.startswith("_") and callable(member)
)
ASYNC_DOORS = frozenset(
    name for name, member in inspect.getmembers(AsyncStore) if inspect.iscoroutinefunction(member)
)


def _names_store(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "store") or (
        isinstance(node, ast.Attribute) and node.attr == "store"
    )


def _past_the_door(source: str) -> list[str]:
    """What in ``source`` reaches the blocking store from async code: ``X.store.store``
    anywhere, and in an ``async def`` a store method called without ``await`` (a blocking
    ``Store`` call on the event loop, or a forgotten ``await``)."""
    tree = ast.parse(source)
    found = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "store" and _names_store(node.value)
    ]
    awaited = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Await)}

    def visit(node: ast.AST, in_async: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.AsyncFunctionDef):
                visit(child, True)
            elif isinstance(child, ast.FunctionDef | ast.Lambda):
                visit(child, False)  # runs wherever it is called: in a thread, say
            else:
                if (
                    in_async
                    and isinstance(child, ast.Call)
                    and isinstance(child.func, ast.Attribute)
                    and child.func.attr in STORE_METHODS
                    and _names_store(child.func.value)
                    and id(child) not in awaited
                ):
                    found.append(f"line {child.lineno}: {ast.unparse(child)}")
                visit(child, in_async)

    visit(tree, False)
    return found


def test_async_code_reaches_the_store_only_through_async_store() -> None:
    bad = {}
    for name, path in MODULES.items():
        if _outside(("peer",), name):
            continue
        found = _past_the_door(path.read_text(encoding="utf-8"))
        if found:
            bad[name] = found
    assert bad == {}


def test_a_way_past_the_door_is_found() -> None:
    planted = """
async def run(self, store):
    names = await trio.to_thread.run_sync(self.store.store.names)
    store.forget_strangers()
    heads = await store.heads()
    await self.store.names()

def in_a_thread(store):
    return store.names()
"""
    found = _past_the_door(planted)
    assert found == [
        "line 3: self.store.store",
        "line 4: store.forget_strangers()",
    ]
    assert {"names", "forget_strangers", "block_authoring", "strangers_among"} <= ASYNC_DOORS
