"""Small simulated stores, one per scenario, generated once per test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shopshield.simulate import StoreConfig, generate_store
from tests.support.simulated_store import SMALL


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """The directory of a small store with this scenario planted (seed 11), SMALL unless told how
    many victims."""
    made: dict[tuple[str, int], Path] = {}

    def get(scenario: str, victims: int = SMALL["victims"]) -> Path:
        key = (scenario, victims)
        if key not in made:
            out = tmp_path_factory.mktemp(f"store-{scenario}")
            generate_store(StoreConfig(seed=11, scenario=scenario, **(SMALL | {"victims": victims})), out)
            made[key] = out
        return made[key]

    return get
