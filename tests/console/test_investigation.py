"""The console's Investigation pages over HTTP, on SQLite and PostgreSQL: who may open them (a
recorded 403 otherwise), the demo's planted insider named with evidence in words, the timeline's
numbers, an actor's accesses page by page, insider and security alerts with their reasons, the
case file's content, and bad input answered with a reason and nothing written."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from shopshield.alerts import service as alerts
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.permissions import Permission, allowed
from shopshield.core.times import parse_window
from shopshield.demo.service import DemoConfig, Filled, fill
from shopshield.investigate.attribution import Config, victims_from_reports
from shopshield.investigate.service import accesses_to_victims, attribute_log, own_log
from shopshield.principals import service as principals
from shopshield.scams import service as scams
from shopshield.scams.formats import ScamReport
from shopshield.scams.summary import clusters
from tests.support.console import PEOPLE, client, log_in, recent_scam_reports, set_passwords
from tests.support.events import stored_events
from tests.support.world import ROLES, World

# The demo's smallest store on a fixed day, as tests/demo draws it: its insider feeds one cluster.
DEMO = DemoConfig(seed=3, customers=200, today=date(2026, 11, 20))
PAGES = (
    "/console/investigation",
    "/console/investigation?cluster=1",
    "/console/investigation/insiders",
    "/console/investigation/actors/agent-0001",
    "/console/investigation/export?cluster=1",
)


@pytest.fixture
def browser(world: World) -> Iterator[TestClient]:
    set_passwords(world)
    with client(world) as c:
        yield c


@dataclass
class Demo:
    world: World
    filled: Filled


@pytest.fixture
def demo(world: World, tmp_path: Path) -> Demo:
    work = tmp_path / "demo"
    work.mkdir()
    return Demo(world, fill(world.container, DEMO, work))


def _text(response_text: str) -> str:
    """The page's visible words: tags dropped, entities decoded, spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response_text)).split())


def _may(world: World, who: str, *permissions: Permission) -> bool:
    with unit_of_work(world.container.sessions) as session:
        principal = principals.active(session, policies=world.container.policies, principal_id=world.ids[who])
    assert principal is not None
    return all(allowed(world.container.policies, principal, p) for p in permissions)


def test_only_roles_with_audit_read_open_the_pages_and_the_others_get_a_recorded_403(
    world: World, browser: TestClient
) -> None:
    recent_scam_reports(world)
    refused = 0
    for who in PEOPLE:
        browser.cookies.clear()
        log_in(browser, who)
        may = _may(world, who, Permission.AUDIT_READ, Permission.SCAM_REPORTS_READ)
        for path in PAGES:
            before = stored_events(world.container, actor_id=world.ids[who], outcome="denied", action="console")
            response = browser.get(path)
            after = stored_events(world.container, actor_id=world.ids[who], outcome="denied", action="console")
            if may:
                # The three reports share the caller's number: cluster 1.
                assert response.status_code == 200, (who, path, response.text)
                assert after == before
            else:
                assert response.status_code == 403, (who, path)
                assert f"role {ROLES[who][0]!r} lacks the permission 'audit.read'" in html.unescape(response.text)
                (event,) = after[len(before) :]
                assert (event.actor_role, event.channel) == (ROLES[who][0], "cs-console")
                # The reason names the page as it is routed.
                route = re.sub(r"/actors/[^/?]+", "/actors/{actor_id}", path.split("?")[0])
                assert event.reason is not None and event.reason.endswith(f"(page {route})")
                refused += 1
    assert refused == len(PAGES) * sum(1 for who in PEOPLE if not _may(world, who, Permission.AUDIT_READ))
    assert refused > 0


def test_the_demo_insider_is_the_top_suspect_with_evidence_in_words_and_a_timeline(
    demo: Demo, browser: TestClient
) -> None:
    world, filled = demo.world, demo.filled
    log_in(browser, "analyst")
    start = browser.get("/console/investigation")
    assert start.status_code == 200
    assert 'href="/console/investigation?cluster=1"' in start.text
    page = browser.get("/console/investigation", params={"cluster": "1"})
    assert page.status_code == 200, page.text
    words = _text(page.text)
    assert "Conclusive. Likely source: an insider" in words
    first = re.search(r'data-suspect="1">([^<]+)</a>', page.text)
    assert first is not None and first.group(1) == filled.insider
    assert f"This staff account opened the records of {len(_cluster_victims(world))} of the" in words
    assert "a strong lead, not proof" in words
    # The timeline is the top suspect's, one row per victim, and its numbers are the log's.
    timeline = page.text[page.text.index('id="timeline"') :]
    assert f"Timeline: {filled.insider} and the victims" in _text(timeline)
    victims = victims_from_reports(_cluster_reports(world))
    with own_log(world.container.sessions) as con:
        accesses = accesses_to_victims(con, actor_id=filled.insider, victims=victims, window=Config().window)
    assert timeline.count("<circle") == len(accesses) > 0
    assert timeline.count('fill="#a8323a"') == len(victims)
    for v in victims:
        before = sum(1 for a in accesses if a.customer_id == v.customer_id and a.ts < v.contacted_at)
        row = re.search(rf">{v.customer_id}</a></td><td>[^<]*</td><td class=\"num\">(\d+)</td>", timeline)
        assert row is not None and int(row.group(1)) == before
    # Customers appear by id only: no victim's name or number from the vault is on the page.
    assert "****" not in page.text
    # Another suspect's timeline on request.
    other = re.search(r'data-suspect="2">([^<]+)</a>', page.text)
    assert other is not None
    again = browser.get("/console/investigation", params={"cluster": "1", "suspect": other.group(1)})
    assert f"Timeline: {other.group(1)} and the victims" in _text(again.text)


def _cluster_reports(world: World) -> list[ScamReport]:
    with unit_of_work(world.container.sessions) as session:
        reports = scams.load(session=session, window=parse_window(since=None, until=None, tz="Asia/Shanghai"))
    return clusters(reports)[0].reports


def _cluster_victims(world: World) -> set[str]:
    return {r.customer_id for r in _cluster_reports(world)}


def test_an_actor_s_accesses_page_by_page_with_their_alerts(demo: Demo, browser: TestClient) -> None:
    world, filled = demo.world, demo.filled
    log_in(browser, "analyst")
    mine = stored_events(world.container, actor_id=filled.insider)
    with transaction(world.container.engine) as tx:
        alerts.raise_alert(
            tx,
            alerts.Alert(
                kind="search_limit",
                actor_id=filled.insider,
                actor_role="cs_agent",
                reason="passed the daily search limit",
                details={},
                dedup_key=f"test|{filled.insider}",
            ),
            now=world.container.vault.clock(),
        )
    seen: list[int] = []
    path = f"/console/investigation/actors/{filled.insider}"
    params: dict[str, str] = {}
    pages = 0
    while True:
        response = browser.get(path, params=params)
        assert response.status_code == 200, response.text
        pages += 1
        if pages == 1:
            assert "passed the daily search limit" in response.text
        seen += [int(i) for i in re.findall(r'href="/console/audit\?leaf_index=(\d+)"', response.text)]
        following = re.search(r'href="[^"]*\?before=(\d+)" rel="next"', response.text)
        if following is None:
            break
        params = {"before": following.group(1)}
    # Every event of the actor, newest first, each once, linked to its inclusion proof.
    assert seen == sorted((e.leaf_index for e in mine), reverse=True)
    assert pages == -(-len(mine) // 50)


def test_insider_alerts_list_their_reasons(demo: Demo, browser: TestClient) -> None:
    log_in(browser, "admin")
    page = browser.get("/console/investigation/insiders", params={"threshold": "2"})
    assert page.status_code == 200, page.text
    words = _text(page.text)
    # The detector's reasons, in words, with the actor's and the peers' usual values.
    reason = r"\d+ [a-z ]+ \((its usual day [^:]+: [\d.]+; )?[^()]*its peers that day: [\d.]+\)"
    assert re.search(reason, words), words[:2000]
    # The stored security alert the demo's admin raised by changing the official channels.
    assert "official channels changed" in words
    strict = browser.get("/console/investigation/insiders", params={"threshold": "100"})
    assert "No account-day reaches a score of 100.0" in _text(strict.text)


def test_the_case_file_download_holds_the_reports_the_attribution_and_the_log_state(
    demo: Demo, browser: TestClient
) -> None:
    world, filled = demo.world, demo.filled
    log_in(browser, "analyst")
    with transaction(world.container.engine) as tx:
        signed = world.container.audit.checkpoint(tx)
    assert signed is not None
    before = len(stored_events(world.container))
    response = browser.get("/console/investigation/export", params={"cluster": "1"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith('attachment; filename="investigation-')
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    document = orjson.loads(response.content)
    reports = _cluster_reports(world)
    assert [r["report_id"] for r in document["reports"]] == [r.report_id for r in reports]
    assert {r["cluster"] for r in document["reports"]} == {1}
    assert {v["customer_id"] for v in document["victims"]} == _cluster_victims(world)
    # The same attribution the investigate domain gives on the same log and reports.
    with own_log(world.container.sessions) as con:
        expected = attribute_log(con, victims_from_reports(reports), Config())
    assert document["attribution"]["suspects"][0]["actor_id"] == filled.insider
    assert [s["actor_id"] for s in document["attribution"]["suspects"]] == [s.actor_id for s in expected.suspects]
    assert document["attribution"]["conclusive"] is True
    assert document["top_suspect_accesses"]["actor_id"] == filled.insider
    assert {a["customer_id"] for a in document["top_suspect_accesses"]["accesses"]} <= _cluster_victims(world)
    assert document["audit_log"]["size"] == before
    assert document["audit_log"]["checkpoint"]["tree_size"] == signed.tree_size
    assert document["audit_log"]["checkpoint"]["root_hash"] == signed.root_hash.hex()
    assert document["generated_by"] == {"principal_id": world.ids["analyst"], "role": "security_analyst"}
    # The download is on the record, and it is the one event the export wrote.
    (event,) = stored_events(world.container)[before:]
    assert (event.actor_id, event.action, event.outcome) == (world.ids["analyst"], "export", "ok")
    assert event.reason is not None and f"{len(reports)} reports" in event.reason


@pytest.mark.parametrize(
    ("path", "params", "status", "reason"),
    [
        ("/console/investigation", {"cluster": "3"}, 404, "there is no cluster 3 among the reports of this window"),
        ("/console/investigation", {"cluster": "first"}, 422, "cluster: must be a cluster's number"),
        ("/console/investigation", {"run": "1", "since": "last week"}, 422, "since: expected an ISO 8601 date"),
        ("/console/investigation", {"run": "1", "since": "2026-11-02", "until": "2026-11-01"}, 422, "since must be"),
        ("/console/investigation", {"run": "1", "since": "2031-01-01"}, 404, "there are no scam reports in this"),
        ("/console/investigation", {"reports": "r-0, r-9"}, 404, "1 of the 2 report ids given are not stored"),
        ("/console/investigation", {"reports": "r 0/../x"}, 422, "reports:"),
        ("/console/investigation", {"run": "1", "suspect": "a b"}, 422, "suspect:"),
        ("/console/investigation/insiders", {"threshold": "lots"}, 422, "threshold: must be a number"),
        ("/console/investigation/insiders", {"threshold": "-1"}, 422, "threshold: must be above 0"),
        ("/console/investigation/actors/agent-1", {"before": "x1"}, 422, "before: must be the next page's cursor"),
        ("/console/investigation/export", {}, 422, "choose the reports first"),
        ("/console/investigation/export", {"cluster": "2"}, 404, "there is no cluster 2"),
    ],
)
def test_bad_input_gets_a_4xx_page_with_its_reason_and_writes_nothing(
    world: World, browser: TestClient, path: str, params: dict[str, str], status: int, reason: str
) -> None:
    recent_scam_reports(world)
    log_in(browser, "analyst")
    before = len(stored_events(world.container))
    response = browser.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert reason in html.unescape(response.text)
    assert len(stored_events(world.container)) == before


def test_reports_chosen_by_ids_and_dates(world: World, browser: TestClient) -> None:
    yesterday, today = recent_scam_reports(world)
    log_in(browser, "analyst")
    by_ids = browser.get("/console/investigation", params={"reports": "r-2 r-1"})
    assert by_ids.status_code == 200, by_ids.text
    words = _text(by_ids.text)
    # Nobody read those customers: the attribution says it cannot tell, and names nobody.
    assert "Not conclusive." in words and "2 victims from 2 reports" in words
    assert "No account read any of these victims' records" in words
    by_dates = browser.get("/console/investigation", params={"run": "1", "since": today.isoformat()})
    assert "2 victims from 2 reports" in _text(by_dates.text)
    everything = browser.get("/console/investigation", params={"run": "1", "since": yesterday.isoformat()})
    assert "3 victims from 3 reports" in _text(everything.text)
