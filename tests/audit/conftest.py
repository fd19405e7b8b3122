"""Fixtures for the audit log tests: a logged, checkpointed history."""

from __future__ import annotations

import pytest

from tests.support.audit_history import History, build_history
from tests.support.world import World


@pytest.fixture
def history(world: World) -> History:
    return build_history(world)
