"""The package graph: ``core`` imports no domain, and no two packages import each other, directly
or round a longer loop (decision 0020).

Read from the source with ``ast``, so every import counts: at module level, inside functions, and
under ``TYPE_CHECKING``, since a loop that only type hints close is still a loop for the reader.
A domain's ``views.py`` and ``cli.py`` are its entry points: they stand on the wiring (``web``,
``cliutil``, ``bootstrap``), which builds every domain, so each is a node of its own and the rest of
the domain's package is the domain's node.
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import shopshield

SRC = Path(shopshield.__file__).parent
# A domain's entry points are nodes of their own: they may import the wiring, the domain may not.
# ``pages`` are the console's pages, one module each on top of ``console.views``.
ENTRY_POINTS = frozenset({"views", "pages", "cli"})
# Packages whose modules are all one node: the core, and the migrations Alembic runs.
WHOLE = frozenset({"core", "migrations"})
# What builds and serves the app; only entry points and the wiring itself may import it.
WIRING = frozenset({"app", "bootstrap", "cli", "cliutil", "edge", "serving", "settings", "web", "__main__"})
Graph = dict[str, dict[str, list[str]]]


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _exists(module: str) -> bool:
    base = SRC.parent.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imported(path: Path) -> Iterator[tuple[str, int]]:
    """Every ``shopshield`` module ``path`` imports, with the line that does."""
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, *([base] if base else [])])
            for alias in node.names:
                # "from shopshield.vault import service" imports a module; "from x import name" does not.
                candidate = f"{base}.{alias.name}"
                yield (candidate if _exists(candidate) else base), node.lineno


def node_of(module: str) -> str | None:
    """The graph node of a ``shopshield`` module: its top-level module or package, or a domain's
    entry point; None for the root package and for modules outside ShopShield."""
    parts = module.split(".")
    if parts[0] != "shopshield" or len(parts) < 2:
        return None
    top = parts[1]
    if len(parts) > 2 and parts[2] in ENTRY_POINTS and top not in WHOLE:
        return f"{top}.{parts[2]}"
    return top


def package_graph() -> Graph:
    """node -> the nodes it imports -> where (``file:line``)."""
    graph: Graph = defaultdict(lambda: defaultdict(list))
    for path in sorted(SRC.rglob("*.py")):
        source = node_of(_module_name(path))
        assert source is not None or path == SRC / "__init__.py"
        if source is None:
            continue
        graph[source]
        for module, line in _imported(path):
            target = node_of(module)
            where = f"{path.relative_to(SRC)}:{line}"
            if target is not None and target != source and where not in graph[source][target]:
                graph[source][target].append(where)
    return graph


def find_cycle(graph: Graph) -> list[str] | None:
    """One loop of the graph as the nodes round it (the first repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph.get(node, {})):
            found = visit(target)
            if found is not None:
                return found
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start)
        if found is not None:
            return found
    return None


def test_core_imports_no_domain() -> None:
    imports = package_graph()["core"]
    assert not imports, f"core must import no other part of ShopShield; it imports {dict(imports)}"


def test_no_two_packages_import_each_other_even_round_a_loop() -> None:
    graph = package_graph()
    cycle = find_cycle(graph)
    if cycle is not None:
        steps = [f"{a} -> {b} ({', '.join(graph[a][b][:3])})" for a, b in itertools.pairwise(cycle)]
        raise AssertionError("package cycle:\n  " + "\n  ".join(steps))


def test_only_entry_points_and_the_wiring_import_the_wiring_or_an_entry_point() -> None:
    graph = package_graph()
    wrong = {
        f"{source} -> {target}": where
        for source, targets in graph.items()
        if source not in WIRING and "." not in source
        for target, where in targets.items()
        if target in WIRING or "." in target
    }
    assert not wrong, f"only views.py, cli.py and the wiring may import the wiring or an entry point: {wrong}"


def test_the_login_path_and_the_edge_do_not_import_the_vault() -> None:
    # The guard, the password corpus and the HTTP plumbing serve every request, vault or not.
    graph = package_graph()
    wrong = {node: graph[node]["vault"] for node in graph if node.split(".")[0] in {"guard", "passwords", "web"}}
    assert not {node: where for node, where in wrong.items() if where}


def test_notify_builds_on_the_core_and_the_key_envelope_only() -> None:
    # Every domain raises notifications through ``core.notices``; notify itself reads the vault
    # only through its ``Contacts`` Protocol, and seals the anti-phishing code with ``keys.envelope``.
    imports = package_graph()["notify"]
    assert set(imports) <= {"core", "keys"}, {t: where for t, where in imports.items() if t not in {"core", "keys"}}


def test_a_cycle_is_found_and_named() -> None:
    # The check itself: a loop of three is reported in order, and a graph without one passes.
    looped: Graph = {"a": {"b": ["a.py:1"]}, "b": {"c": ["b.py:1"]}, "c": {"a": ["c.py:1"]}}
    assert find_cycle(looped) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": ["a.py:1"]}, "b": {}, "c": {"b": ["c.py:1"]}}) is None
    assert node_of("shopshield.vault.views") == "vault.views"
    assert node_of("shopshield.core.db") == "core"
    assert node_of("shopshield.vault.service") == "vault"
    assert node_of("shopshield") is None
