"""Each planted leak holds in the files: the source read every victim before the call, and what it
read explains what the scammers knew; stuffing and no-leak stores look the way they should."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from shopshield.investigate.knowledge import explains, parse_items, revealed
from tests.support.simulated_store import (
    SMALL,
    beyond_chance,
    chance_controls,
    contacted,
    events,
    readers_in_week_before,
    reports,
    truth,
)

ACTOR_SCENARIOS = ("insider", "courier", "partner", "export")
# What each actor's scammers may have known, beyond what its accesses revealed (see the brief).
KNEW_AT_MOST = {
    "insider": {"name", "mobile", "items", "price", "purchase_time", "return_request"},
    "courier": {"name", "mobile", "address"},
    "partner": {"name", "mobile", "items", "price", "order_id"},
    "export": {"name", "mobile", "address", "items", "price", "purchase_time", "order_id"},
}
SOURCE_ROLE = {"insider": "cs_agent", "courier": "courier", "partner": "partner"}


def _net(ip: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(f"{ip}/24", strict=False)


@pytest.mark.parametrize("scenario", ACTOR_SCENARIOS)
def test_the_source_read_every_victim_before_the_call_and_explains_what_they_knew(
    store: Callable[..., Path], scenario: str
) -> None:
    directory = store(scenario)
    answer = truth(directory)
    assert answer["likely_source"] == "insider"
    source = answer["source"]["actor_id"]
    if scenario in SOURCE_ROLE:
        assert answer["source"]["actor_role"] == SOURCE_ROLE[scenario]
    rows = reports(directory)
    assert sorted(r["customer_id"] for r in rows) == answer["victims"]
    assert len(set(answer["victims"])) == SMALL["victims"]
    for row in rows:
        before = [
            e
            for e in events(
                directory, "actor_id = ? AND customer_id = ? AND outcome = 'ok'", source, row["customer_id"]
            )
            if e["ts"] < contacted(row)
        ]
        assert before, f"{source} never read {row['customer_id']} before the call"
        shown = frozenset().union(
            *(revealed(parse_items(e["fields"]), order_access=e["order_id"] is not None) for e in before)
        )
        knew = parse_items(row["knew"])
        assert explains(knew, shown), (knew, shown)
        assert knew <= KNEW_AT_MOST[scenario]
        assert {"name"} <= knew
        # Scammers call one to ten days after a leaking read, not the same hour.
        assert any(timedelta(hours=1) < contacted(row) - e["ts"] < timedelta(days=11) for e in before)


def test_a_courier_leak_never_tells_a_price(store: Callable[..., Path]) -> None:
    assert all("price" not in parse_items(r["knew"]) for r in reports(store("courier")))


def test_the_insider_read_returns_without_a_ticket_on_top_of_a_normal_day(store: Callable[..., Path]) -> None:
    directory = store("insider")
    source = truth(directory)["source"]["actor_id"]
    reads = events(directory, "actor_id = ?", source)
    untracked = [e for e in reads if e["ticket_id"] is None and e["fields"] == "name|mobile|items|price|returns"]
    assert len(untracked) >= SMALL["victims"]
    assert any(e["ticket_id"] is not None for e in reads)  # the agent's ordinary tickets go on


def test_an_export_happens_in_one_evening(store: Callable[..., Path]) -> None:
    directory = store("export")
    answer = truth(directory)
    exported = events(directory, "actor_id = ? AND action = 'export'", answer["source"]["actor_id"])
    assert len(exported) >= SMALL["victims"]
    assert {e["channel"] for e in exported} == {"export"}
    assert exported[-1]["ts"] - exported[0]["ts"] < timedelta(minutes=10)
    assert {r["customer_id"] for r in reports(directory)} <= {e["customer_id"] for e in exported}


def test_stuffing_logs_victims_in_from_networks_they_never_used(store: Callable[..., Path]) -> None:
    directory = store("stuffing")
    answer = truth(directory)
    assert answer["likely_source"] == "credential_stuffing" and answer["source"] is None
    networks: set[ipaddress.IPv4Network | ipaddress.IPv6Network] = set()
    for row in reports(directory):
        logins = events(directory, "customer_id = ? AND action = 'login'", row["customer_id"])
        seen: set[ipaddress.IPv4Network | ipaddress.IPv6Network] = set()
        taken_over = []
        for login in logins:
            if login["ts"] >= contacted(row):
                break
            # A network the customer (who had logged in before) never used, an address tried once
            # or twice in the whole log, and the account's orders read from it right after.
            if seen and _net(login["source_ip"]) not in seen:
                tries = events(directory, "action = 'login' AND source_ip = ?", login["source_ip"])
                looks = events(
                    directory,
                    "actor_id = ? AND action = 'view' AND source_ip = ? AND order_id IS NOT NULL",
                    row["customer_id"],
                    login["source_ip"],
                )
                if len(tries) <= 2 and any(login["ts"] < v["ts"] < login["ts"] + timedelta(minutes=10) for v in looks):
                    taken_over.append(login)
            seen.add(_net(login["source_ip"]))
        assert taken_over, f"no login from a new network before {row['customer_id']} was called"
        networks.update(_net(login["source_ip"]) for login in taken_over)
        assert explains(
            parse_items(row["knew"]), revealed(["name", "mobile", "address", "items", "price"], order_access=True)
        )
    assert len(networks) >= SMALL["victims"]  # spread over many /24s, not one botnet subnet


def _stand_out(directory: Path) -> dict[str, int]:
    """Actors who read more of the victims in the week before their calls than chance explains
    (judged against customers like them at the same moments); jobs are left out."""
    rows = reports(directory)
    victims = [(r["customer_id"], contacted(r)) for r in rows]
    controls = chance_controls(directory, [moment for _, moment in victims], per_moment=40)
    hit, base = readers_in_week_before(directory, victims), readers_in_week_before(directory, controls)
    return {a: k for a, k in hit.items() if beyond_chance(k, len(victims), base[a], len(controls), len(hit))}


def test_no_leak_means_no_actor_in_common_beyond_chance(store: Callable[..., Path]) -> None:
    """Supervisors read about a third of all shoppers in a week, so they read about a third of any
    victims too: that is chance, and chance is all there is when nothing leaked."""
    directory = store("none", victims=20)
    answer = truth(directory)
    assert answer["likely_source"] == "unknown" and answer["source"] is None and answer["leak_window"] is None
    assert _stand_out(directory) == {}


@pytest.mark.parametrize("scenario", ["insider", "courier", "partner"])
def test_a_planted_source_stands_out_from_chance(store: Callable[..., Path], scenario: str) -> None:
    """The same test finds the source (a small store's few partners each serve a large share of
    its merchants, so it takes a dozen victims to tell one from chance)."""
    directory = store(scenario, victims=12)
    assert truth(directory)["source"]["actor_id"] in _stand_out(directory)


@pytest.mark.parametrize("scenario", ["insider", "courier", "partner", "export", "stuffing", "none"])
def test_the_nightly_job_read_every_victim_before_the_call(store: Callable[..., Path], scenario: str) -> None:
    """So ranking actors by how many victims they read puts an innocent job level with the source."""
    directory = store(scenario)
    for row in reports(directory):
        reads = events(directory, "actor_id = 'job-nightly-sync' AND customer_id = ?", row["customer_id"])
        assert reads and reads[0]["ts"] < contacted(row)


def test_a_truth_file_names_its_window_and_configuration(store: Callable[..., Path]) -> None:
    answer = truth(store("partner"))
    assert set(answer) >= {"seed", "scenario", "likely_source", "source", "victims", "leak_window", "config", "counts"}
    assert answer["config"] == {
        **SMALL,
        "seed": 11,
        "scenario": "partner",
        "start": "2026-10-01",
        "events_per_day": None,
    }
    first, last = answer["leak_window"]
    assert first.endswith("+08:00") and first <= last
    assert answer["counts"]["reports"] == SMALL["victims"] and answer["counts"]["source_events"] > 0
