"""Fixtures for the audit log tests: a world of principals and a logged, checkpointed history."""

from __future__ import annotations

import pytest

from shopshield.bootstrap import Container
from tests.audit.helpers import History, build_history
from tests.helpers import World, make_world


@pytest.fixture
def world(container: Container) -> World:
    return make_world(container)


@pytest.fixture
def history(world: World) -> History:
    return build_history(world)
