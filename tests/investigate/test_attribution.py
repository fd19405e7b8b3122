"""Attribution on DuckDB over hand-built stores: the right actor, or honestly nobody."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from shopshield.investigate import events
from shopshield.investigate.attribution import Attribution, Config, attribute, victims_from_reports
from shopshield.investigate.duck import DuckDBEngine
from tests.support.attribution_world import LABEL, ORDER_VIEW, World

Run = Callable[[World], Attribution]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    def go(world: World, config: Config | None = None) -> Attribution:
        path = world.write(tmp_path / f"events-{world.seed}.parquet")
        con = events.connect()
        events.open_events(con, [path])
        return attribute(DuckDBEngine(con), world.victims, config)

    return go


def test_the_insider_who_read_the_return_orders_is_named(run: Run) -> None:
    world = World(seed=1)
    world.background()
    world.leak_through("agent-07", "staff", ORDER_VIEW, "name|mobile|items|price|return_request")
    result = run(world)
    assert result.conclusive and result.likely_source == "insider"
    top = result.suspects[0]
    assert (top.actor_id, top.actor_kind, top.victims_covered, top.victims_total) == ("agent-07", "staff", 10, 10)
    assert top.adjusted_p_value < 1e-6
    assert top.first_access is not None and top.last_access is not None
    assert "10 of 10 victims" in top.explanation


def test_everyone_toucher_and_supervisor_cover_victims_but_explain_nothing(run: Run) -> None:
    world = World(seed=2)
    world.background()
    world.leak_through("agent-07", "staff", ORDER_VIEW, "name|mobile|items|price")
    result = run(world)
    by_id = {s.actor_id: s for s in result.suspects}
    job = by_id.get("job-nightly")
    # The job read every victim (it reads everyone) but with name|mobile only: it cannot know prices.
    assert job is None or job.victims_covered == 0
    # Naively, the supervisor covers several victims; with its base rate it is far from surprising.
    supervisor = next((s for s in result.suspects if s.actor_id == "sup-01"), None)
    if supervisor is not None:
        assert supervisor.adjusted_p_value > 0.01
    assert result.suspects[0].actor_id == "agent-07"


def test_a_job_that_saw_what_the_scammers_knew_still_explains_nothing(run: Run) -> None:
    world = World(seed=3)
    world.background()
    world.leak_through("agent-03", "staff", ORDER_VIEW, "name|mobile")
    result = run(world)
    job = next(s for s in result.suspects if s.actor_id == "job-nightly")
    assert job.victims_covered == 10 and job.expected == pytest.approx(10, rel=0.01)
    assert job.p_value > 0.9
    assert result.suspects[0].actor_id == "agent-03"


def test_a_courier_is_named_when_the_scammers_knew_only_the_label(run: Run) -> None:
    world = World(seed=4)
    world.background()
    world.leak_through("courier-05", "courier", LABEL, "name|mobile|address", reads=120)
    result = run(world)
    assert result.conclusive and result.suspects[0].actor_id == "courier-05"


def test_a_courier_is_not_credited_with_prices_it_never_saw(run: Run) -> None:
    world = World(seed=5)
    world.background()
    world.leak_through("courier-05", "courier", LABEL, "name|mobile|price", reads=120)
    result = run(world)
    courier = next(s for s in result.suspects if s.actor_id == "courier-05")
    assert courier.victims_covered == 0 and courier.accessed_without_match == 10
    assert not result.conclusive and result.likely_source == "unknown"


@pytest.mark.parametrize("seed", range(10, 22))
def test_no_leak_is_never_conclusive(run: Run, seed: int) -> None:
    world = World(seed=seed)
    world.background()
    world.logins()
    world.random_victims()
    result = run(world)
    assert not result.conclusive, result.suspects[0].explanation
    assert result.likely_source == "unknown"


def test_credential_stuffing_is_reported_from_the_victims_logins(run: Run) -> None:
    world = World(seed=30)
    world.background()
    world.logins()
    world.stuffed()
    result = run(world)
    assert result.conclusive and result.likely_source == "credential_stuffing"
    assert result.stuffing.victims_with_new_network == 10
    assert result.stuffing.p_value < 1e-6
    # The attackers logged in as the customers: no customer is a suspect.
    assert all(s.actor_kind != "customer" for s in result.suspects)


def test_travellers_alone_are_not_stuffing(run: Run) -> None:
    world = World(seed=31)
    world.background()
    world.logins(new_network_share=0.05)
    world.random_victims()
    result = run(world)
    assert not result.stuffing.significant and result.likely_source == "unknown"


def test_accesses_after_the_contact_do_not_count(run: Run) -> None:
    world = World(seed=6)
    world.background()
    world.random_victims()
    for victim in world.victims:  # complaint handling: an agent reads every victim after the call
        world.access("agent-19", "staff", victim.customer_id, victim.contacted_at + timedelta(hours=2), ORDER_VIEW)
    result = run(world)
    agent = next((s for s in result.suspects if s.actor_id == "agent-19"), None)
    assert agent is None or agent.victims_covered < 3
    assert not result.conclusive


def test_too_few_victims_are_never_conclusive(run: Run) -> None:
    world = World(seed=7)
    world.background()
    world.leak_through("agent-07", "staff", ORDER_VIEW, "name|mobile|items|price", victims=2)
    result = run(world)
    assert result.suspects[0].actor_id == "agent-07"
    assert not result.conclusive and result.notes


def test_json_has_the_documented_shape(run: Run) -> None:
    world = World(seed=8)
    world.background()
    world.leak_through("agent-07", "staff", ORDER_VIEW, "name|mobile|items|price")
    document = run(world).to_json()
    assert set(document) >= {"conclusive", "likely_source", "suspects"}
    assert set(document["suspects"][0]) >= {
        "actor_id",
        "actor_kind",
        "score",
        "victims_covered",
        "victims_total",
        "expected",
        "p_value",
        "first_access",
        "last_access",
        "explanation",
    }


def test_reports_of_one_customer_make_one_victim() -> None:
    class Report:
        def __init__(self, cid: str, at: datetime, knew: tuple[str, ...]) -> None:
            self.customer_id, self.contacted_at, self.knew = cid, at, knew

    from datetime import UTC, datetime

    first, later = datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 7, tzinfo=UTC)
    victims = victims_from_reports([Report("c1", later, ("price",)), Report("c1", first, ("Name", "mobile"))])
    assert [(v.customer_id, v.contacted_at, v.knew) for v in victims] == [
        ("c1", first, frozenset({"name", "mobile", "price"}))
    ]
