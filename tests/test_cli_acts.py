"""Every command of ``shopshield`` declares who it acts as, where it is defined (decision 0022).

As with the routes (``tests/test_routes.py``), a command that forgot to say which permission it
acts with must look different from one that needs none; so the walk fails on any command without
a declaration, and the commands that open no instance are listed here by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import typer

from shopshield.cli import app
from shopshield.cliutil import ACTS, Acts
from shopshield.core.callers import OPERATOR

# Commands that open no instance (no database, no key store, no log): they work on the files they
# are given and act as nobody. A new one is added here on purpose, not by forgetting a declaration.
LOCAL_ONLY = frozenset(
    {
        "simulate store",
        "simulate logins",
        "simulate insiders",
        "passwords build",
        "passwords pairs",
        "passwords status",
        "guard replay",
        "verify lookalikes",
    }
)


def _commands(typer_app: typer.Typer, prefix: str = "") -> Iterator[tuple[str, Callable[..., Any]]]:
    for info in typer_app.registered_commands:
        assert info.callback is not None
        name = info.name or info.callback.__name__.replace("_", "-")
        yield f"{prefix}{name}", info.callback
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None and group.name is not None
        yield from _commands(group.typer_instance, f"{prefix}{group.name} ")


def _declared() -> dict[str, Acts | None]:
    return {name: ACTS.get(callback) for name, callback in _commands(app)}


def test_the_walk_finds_every_group() -> None:
    groups = {name.split()[0] for name in _declared()}
    assert {"principals", "keys", "export", "access-report", "audit", "serve", "migrate"} <= groups
    assert {"simulate", "reports", "investigate", "canary", "breach", "passwords", "guard", "alerts"} <= groups
    assert "audit prove inclusion" in _declared()


def test_every_command_declares_who_it_acts_as() -> None:
    missing = sorted(name for name, acts in _declared().items() if acts is None)
    assert missing == [], f"commands without @acts_as or @local_only: {missing}"


def test_only_the_listed_commands_are_local() -> None:
    local = {name for name, acts in _declared().items() if acts is not None and acts.caller is None}
    assert local == LOCAL_ONLY


def test_a_command_on_the_instance_acts_as_the_operator_and_says_with_what() -> None:
    for name, acts in _declared().items():
        assert acts is not None
        if acts.caller is None:
            assert acts.why, f"{name}: a local command says what it works on"
            continue
        assert acts.caller is OPERATOR, name
        # A permission, or the reason no API principal could do the same.
        assert acts.permissions or acts.why, name


def test_commands_act_with_the_permission_of_the_matching_route() -> None:
    # Spot checks that the declarations mean what the routes' do.
    declared = _declared()
    expected = {
        "principals create": "principals.manage",
        "access-report": "access_reports.read",
        "canary plant": "canaries.plant",
        "breach scope": "breaches.scope",
        "warn": "warnings.send",
        "alerts list": "alerts.read",
        "reports import": "scam_reports.write",
        "notify status": "notifications.read",
        "notify dead-letters": "notifications.read",
        "notify retry": "notifications.operate",
    }
    for name, permission in expected.items():
        acts = declared[name]
        assert acts is not None and [str(p) for p in acts.permissions] == [permission], name
