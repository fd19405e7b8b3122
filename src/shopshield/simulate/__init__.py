"""A synthetic store with one planted leak: customers, orders, actors, a month of access events and
the scam reports that the leak fed, with the truth beside them (see docs/simulator.md)."""

from __future__ import annotations

from shopshield.simulate.scenarios import SCENARIOS, ScenarioError
from shopshield.simulate.store import StoreConfig, StoreSummary, generate_store

__all__ = ["SCENARIOS", "ScenarioError", "StoreConfig", "StoreSummary", "generate_store"]
