"""The Login protection page on SQLite and PostgreSQL: who may open it (a recorded 403 otherwise),
decisions and reasons per hour, failing networks and attack mode's periods as the guard recorded
them (its table, its charts and the decisions the guard returned all agree), and refused windows."""

from __future__ import annotations

import html
import itertools
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from shopshield.guard.engine import Guard
from shopshield.guard.history import HOUR, attack_periods
from shopshield.guard.models import Attempt, Outcome, Verdict
from shopshield.guard.networks import network_of
from tests.support.console import client, log_in, set_passwords
from tests.support.events import stored_events
from tests.support.login_api import PASSWORD_SHA1, assess
from tests.support.world import World

PATH = "/console/logins"
VERDICTS = ("allow", "challenge", "deny")


@pytest.fixture
def browser(world: World) -> Iterator[TestClient]:
    set_passwords(world)
    with client(world) as c:
        yield c


class Store:
    """Plays the store's login service against the world's guard at chosen moments, and keeps
    what the guard answered: verdicts per hour, reasons named, failures per network."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.ids = itertools.count(1)
        self.verdicts: dict[datetime, Counter[str]] = {}
        self.failures: dict[datetime, int] = Counter()
        self.networks: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()

    def login(self, user: str, ip: str, device: str | None, at: datetime, *, ok: bool) -> Verdict:
        attempt = Attempt(
            id=f"t-{next(self.ids):06d}", ts=at, username=user, ip=ip, user_agent="app/1.0",
            device_id=device, password_sha1=PASSWORD_SHA1,
        )  # fmt: skip
        decided = self.guard.assess(attempt)
        self.note(at, decided.verdict.value, [r.code for r in decided.score.reasons])
        failed = decided.verdict is Verdict.DENY
        if decided.verdict is Verdict.CHALLENGE:
            self.guard.report(attempt.id, Outcome.CHALLENGE_PASSED if ok else Outcome.CHALLENGE_FAILED)
            failed = not ok
        if decided.verdict is Verdict.ALLOW or (decided.verdict is Verdict.CHALLENGE and ok):
            self.guard.report(attempt.id, Outcome.SUCCESS if ok else Outcome.BAD_PASSWORD)
            failed = not ok
        if failed:
            self.fail(at, ip)
        return decided.verdict

    def note(self, at: datetime, verdict: str, reasons: list[str]) -> None:
        hour = _hour(at)
        self.verdicts.setdefault(hour, Counter())[verdict] += 1
        self.reasons.update(reasons)

    def fail(self, at: datetime, ip: str) -> None:
        self.failures[_hour(at)] += 1
        self.networks[network_of(ip)] += 1


def _hour(at: datetime) -> datetime:
    return datetime.fromtimestamp(int(at.timestamp()) // HOUR * HOUR, UTC)


def _day_of_logins(world: World) -> tuple[Store, datetime]:
    """Five hours ago, ordinary logins; four hours ago, a stuffing run over many networks and a
    brute force from one address (attack mode comes on); two hours ago, quiet logins again (it
    ends); now, one login through the API whose password was wrong."""
    store = Store(world.container.guard)
    base = _hour(datetime.now(UTC)) - timedelta(hours=5)
    for i in range(40):
        store.login(
            f"user{i}@example.cn", f"10.9.{i % 5}.{i + 1}", f"dev-{i}", base + timedelta(seconds=60 * i), ok=i % 9 != 0
        )
    attack = base + timedelta(hours=1)
    for n in range(300):
        ip = f"{100 + n % 50}.{n % 7}.{n // 7 % 250}.{n % 250 + 1}"
        store.login(f"victim{n}@example.cn", ip, None, attack + timedelta(seconds=n), ok=False)
    for k in range(25):
        store.login("13800138000", "192.0.2.9", None, attack + timedelta(seconds=400 + k), ok=False)
    for i in range(5):
        store.login(
            f"user{i}@example.cn", f"10.9.{i % 5}.{i + 1}", f"dev-{i}", base + timedelta(hours=3, seconds=i), ok=True
        )
    status, answer = assess(world, ip="198.51.100.23")
    assert status == 200, answer
    store.note(datetime.now(UTC), answer["decision"], [r["code"] for r in answer["reasons"]])
    if answer["decision"] != "deny":
        told = world.post("service", f"/v1/logins/{answer['attempt_id']}/outcome", {"outcome": "bad_password"})
        assert told.status_code == 200, told.text
    store.fail(datetime.now(UTC), "198.51.100.23")
    return store, base


def _table(page: str, table_id: str) -> list[list[str]]:
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert found is not None, f"no table {table_id}"
    body = found.group(1).split("<tbody>")[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in rows
    ]


def test_who_may_open_the_page_and_each_refusal_is_recorded(world: World, browser: TestClient) -> None:
    for who in ("analyst", "admin"):
        browser.cookies.clear()
        log_in(browser, who)
        assert browser.get(PATH).status_code == 200, who
    for who in ("supervisor", "agent", "courier", "partner"):
        browser.cookies.clear()
        log_in(browser, who)
        refused = browser.get(PATH)
        assert refused.status_code == 403, who
        assert "lacks the permission 'logins.read'" in html.unescape(refused.text)
        assert "Top failing networks" not in refused.text
        event = stored_events(world.container, actor_id=world.ids[who], action="console")[-1]
        assert (event.outcome, event.channel) == ("denied", "cs-console")
        assert event.reason is not None and f"(page {PATH})" in event.reason


def test_hours_reasons_networks_and_attack_mode_are_what_the_guard_decided(world: World, browser: TestClient) -> None:
    store, base = _day_of_logins(world)
    guard = world.container.guard
    assert any(on for _at, on in guard.attack.changes), "the stuffing run should have turned attack mode on"
    zone = ZoneInfo(world.container.settings.timezone)
    log_in(browser, "analyst")
    page = browser.get(PATH)
    assert page.status_code == 200, page.text
    text = page.text
    hours = _table(text, "hours")
    assert len(hours) == 48  # the default window: the last 48 hours up to the end of this one
    periods = attack_periods(guard.attack.changes)
    by_label = {row[0]: row for row in hours}
    starts = [datetime.strptime(row[0], "%Y-%m-%d %H:%M").replace(tzinfo=zone).astimezone(UTC) for row in hours]
    assert starts == [starts[0] + timedelta(hours=n) for n in range(48)]
    assert starts[-1] <= datetime.now(UTC) < starts[-1] + timedelta(hours=2)
    for start, row in zip(starts, hours, strict=True):
        want = store.verdicts.get(start, Counter())
        assert [int(x) for x in row[1:4]] == [want[v] for v in VERDICTS], row[0]
        assert int(row[4]) == store.failures.get(start, 0), row[0]
        during = any(p.overlaps(start, start + timedelta(hours=1)) for p in periods)
        assert row[5] == ("on" if during else ""), row[0]
    assert sum(int(row[1]) + int(row[2]) + int(row[3]) for row in hours) == sum(
        sum(c.values()) for c in store.verdicts.values()
    )
    attack_row = by_label[(base + timedelta(hours=1)).astimezone(zone).strftime("%Y-%m-%d %H:%M")]
    assert attack_row[5] == "on" and int(attack_row[3]) > 0
    # The charts carry the table's numbers: one stacked bar per hour, then failures per hour.
    for row in hours:
        label = row[0][5:13]
        for verdict, value in zip(VERDICTS, row[1:4], strict=True):
            segment = f"<title>{label} {verdict}: {float(value)}</title>"
            assert (segment in text) == (int(value) > 0), (label, verdict)
        assert f"<title>{label}: {float(row[4])}</title>" in text
    # Reasons over the window: as many as the guard's answers named.
    assert {row[0]: int(row[1]) for row in _table(text, "reasons")} == dict(store.reasons)
    # The failing networks, most first.
    expected = sorted(store.networks.items(), key=lambda item: (-item[1], item[0]))[:10]
    assert [(row[0], int(row[1])) for row in _table(text, "networks")] == expected
    assert expected[0] == ("192.0.2.0/24", 25)
    # Attack mode came on with the stuffing run and went off with the quiet logins after its hold.
    (period,) = _table(text, "periods")
    (shown,) = [p for p in periods if p.overlaps(base, base + timedelta(hours=6))]
    assert shown.end is not None
    assert period[:2] == [
        shown.start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        shown.end.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
    ]
    assert "off" in _table(text, "now")[0][0]
    total = sum(sum(c.values()) for c in store.verdicts.values())
    assert f"{total} logins decided" in text


def test_a_window_shows_only_its_hours(world: World, browser: TestClient) -> None:
    store, base = _day_of_logins(world)
    zone = ZoneInfo(world.container.settings.timezone)
    log_in(browser, "analyst")
    since = (base + timedelta(hours=1)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    until = (base + timedelta(hours=2)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    page = browser.get(PATH, params={"since": since, "until": until})
    assert page.status_code == 200, page.text
    (row,) = _table(page.text, "hours")
    want = store.verdicts[base + timedelta(hours=1)]
    assert [int(x) for x in row[1:4]] == [want[v] for v in VERDICTS]
    # Networks count only the window's failures: the API's wrong password came later.
    assert "198.51.100.0/24" not in page.text


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"since": "yesterday"}, "since:"),
        ({"until": "2026-13-01"}, "until:"),
        ({"since": "2026-11-02", "until": "2026-11-01"}, "since must be before until"),
        ({"since": "2026-11-01", "until": "2026-11-20"}, "the guard keeps 168 hours"),
        ({"since": "x" * 80}, "since: at most 64 characters"),
    ],
)
def test_a_bad_window_is_a_4xx_page_with_the_reason(
    world: World, browser: TestClient, params: dict[str, str], reason: str
) -> None:
    log_in(browser, "analyst")
    page = browser.get(PATH, params=params)
    assert page.status_code == 422, (params, page.status_code)
    assert reason in html.unescape(page.text)
    assert '<table id="hours">' not in page.text


def test_the_overview_shows_the_last_day_of_decisions_with_attack_mode_as_the_guard_recorded(
    world: World, browser: TestClient
) -> None:
    store, base = _day_of_logins(world)
    zone = ZoneInfo(world.container.settings.timezone)
    periods = attack_periods(world.container.guard.attack.changes)
    log_in(browser, "analyst")
    page = browser.get("/console/overview")
    assert page.status_code == 200, page.text
    hours = _table(page.text, "login-hours")
    assert len(hours) == 24  # the last 24 hours, the one in progress the last of them
    starts = [datetime.strptime(row[0], "%Y-%m-%d %H:%M").replace(tzinfo=zone).astimezone(UTC) for row in hours]
    assert starts == [starts[0] + timedelta(hours=n) for n in range(24)]
    assert starts[-1] <= datetime.now(UTC) < starts[-1] + timedelta(hours=1)
    for start, row in zip(starts, hours, strict=True):
        want = store.verdicts.get(start, Counter())
        assert [int(x) for x in row[1:4]] == [want[v] for v in VERDICTS], row[0]
        during = any(p.overlaps(start, start + timedelta(hours=1)) for p in periods)
        assert row[4] == ("on" if during else ""), row[0]
    attack_row = hours[starts.index(base + timedelta(hours=1))]
    assert attack_row[4] == "on" and int(attack_row[3]) > 0
    for row in hours:
        label = row[0][5:13]
        for verdict, value in zip(VERDICTS, row[1:4], strict=True):
            assert (f"<title>{label} {verdict}: {float(value)}</title>" in page.text) == (int(value) > 0)
