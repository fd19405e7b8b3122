"""Notifications build on the core alone, so every domain can raise one: the guard's login
events included, which must not reach the vault (tests/test_package_graph.py)."""

from __future__ import annotations

from tests.test_package_graph import package_graph


def test_notify_imports_only_the_core() -> None:
    imports = package_graph()["notify"]
    assert set(imports) <= {"core"}, {target: where for target, where in imports.items() if target != "core"}
