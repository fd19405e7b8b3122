"""Role policies as a deployment has them: a policy file, written from a (derived) ``PolicySet``.

A test that needs a stricter or looser policy derives one (``PolicySet.with_role``,
``RolePolicy.with_limits``) and builds a container on a file holding it, the way an operator sets
``SHOPSHIELD_POLICY_FILE``; the container's policy is never changed while it runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from shopshield.bootstrap import Container, build
from shopshield.core.policy import PolicySet
from shopshield.settings import Settings


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string for every value a policy holds
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in sorted(value)) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _table(name: str, values: Mapping[str, object], lines: list[str]) -> None:
    if name:
        lines.append(f"\n[{name}]")
    nested: dict[str, Mapping[str, object]] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            nested[key] = value
        elif value is not None:  # None is an absent optional table (a role that may not search)
            lines.append(f"{json.dumps(key)} = {_value(value)}")
    for key, table in nested.items():
        _table(f"{name}.{json.dumps(key)}" if name else json.dumps(key), table, lines)


def policy_toml(policies: PolicySet) -> str:
    """``policies`` as the text of a policy file that loads back equal to it."""
    lines: list[str] = []
    _table("", policies.model_dump(mode="json"), lines)
    return "\n".join(lines) + "\n"


def write_policies(path: Path, policies: PolicySet) -> Path:
    """Write ``policies`` as a policy file at ``path``; returns ``path``."""
    path.write_text(policy_toml(policies), encoding="utf-8")
    return path


@contextmanager
def container_with(settings: Settings, policies: PolicySet, directory: Path) -> Iterator[Container]:
    """A container on ``settings``' databases whose policy file holds ``policies``."""
    path = write_policies(directory / "policies.toml", policies)
    built = build(settings.model_copy(update={"policy_file": path}), migrate=False)
    try:
        yield built
    finally:
        built.close()
