"""The outbox's store side on SQLite and PostgreSQL: ``enqueue`` writes one queued row per chosen
channel in the caller's transaction, scheduled by the customer's zone and the digest window, and
ignores a repeat; ``settings_for`` fills in defaults; ``anti_phishing_code`` opens only this
customer's sealed code with their key."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select

from shopshield.bootstrap import Container
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.errors import InvalidInput, StoredDataTampered
from shopshield.core.times import utc
from shopshield.notify import service
from shopshield.notify.catalogue import CATALOGUE, Channel, Event
from shopshield.notify.messages import Language
from shopshield.notify.models import QUEUED, NotificationRow, NotificationSettingsRow
from shopshield.notify.schedule import DEFAULT_ZONE
from tests.support.notify_samples import ALL_DETAILS, FULL_VALUES
from tests.support.outbox import intents

CUSTOMER = "c-notify-1"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# 14:30 in Shanghai: outside the quiet hours.
AFTERNOON = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)
# 23:30 in Shanghai: inside them; they end at 08:00 there, 00:00 UTC.
NIGHT = datetime(2026, 12, 5, 15, 30, tzinfo=UTC)
MORNING = datetime(2026, 12, 6, 0, 0, tzinfo=UTC)

REVEAL = {"role": "cs_agent", "purpose": "refund_verification", "fields": ["mobile"]}


def details(event: Event) -> dict[str, object]:
    return {name: ALL_DETAILS[name] for name in CATALOGUE[event].required}


def enqueue(
    container: Container,
    event: Event,
    *,
    ref: str = "r-1",
    now: datetime = AFTERNOON,
    given: Mapping[str, object] | None = None,
    customer_id: str = CUSTOMER,
) -> list[str]:
    with transaction(container.engine) as tx:
        return service.enqueue(
            tx,
            customer_id=customer_id,
            event=event,
            details=details(event) if given is None else given,
            source="test",
            source_ref=ref,
            occurred_at=now - timedelta(seconds=5),
            now=now,
        )


def rows(container: Container) -> list[NotificationRow]:
    with unit_of_work(container.sessions) as session:
        found = session.scalars(select(NotificationRow).order_by(NotificationRow.created_at, NotificationRow.channel))
        return list(found)


def store_settings(container: Container, events: dict[str, Any], **kw: Any) -> None:
    with unit_of_work(container.sessions) as session:
        session.add(
            NotificationSettingsRow(customer_id=CUSTOMER, events=json.dumps(events), updated_at=AFTERNOON, **kw)
        )


def test_enqueue_writes_one_queued_row_per_default_channel(container: Container) -> None:
    ids = enqueue(container, Event.REFUND_ISSUED)

    found = rows(container)
    assert sorted(ids) == sorted(r.notification_id for r in found)
    assert sorted(r.channel for r in found) == sorted(CATALOGUE[Event.REFUND_ISSUED].defaults)
    for row in found:
        assert (row.customer_id, row.event, row.state, row.attempts) == (CUSTOMER, "refund.issued", QUEUED, 0)
        assert (row.source, row.source_ref, row.digest_key, row.claimed_by) == ("test", "r-1", None, None)
        assert utc(row.due_at) == AFTERNOON
        assert utc(row.occurred_at) == AFTERNOON - timedelta(seconds=5)
        assert json.loads(row.details) == {"order_ref": ALL_DETAILS["order_ref"]}


def test_a_repeat_of_the_same_source_ref_is_ignored(container: Container) -> None:
    first = enqueue(container, Event.REFUND_ISSUED)
    assert enqueue(container, Event.REFUND_ISSUED) == []
    assert enqueue(container, Event.REFUND_ISSUED, now=AFTERNOON + timedelta(days=1)) == []
    assert sorted(r.notification_id for r in rows(container)) == sorted(first)
    # Another reference, or another event from the same reference, is a message of its own.
    assert len(enqueue(container, Event.REFUND_ISSUED, ref="r-2")) == 2
    assert len(enqueue(container, Event.ORDER_RETURN_REQUESTED)) == 2
    assert len(rows(container)) == 6


def test_bad_details_are_refused_before_anything_is_written(container: Container) -> None:
    with pytest.raises(InvalidInput) as refused:
        enqueue(container, Event.REFUND_ISSUED, given={"order_ref": "o-2016-07-14-88123"})
    assert refused.value.field == "details.order_ref"
    with pytest.raises(InvalidInput):
        enqueue(container, Event.CONTACT_CHANGED, given={"contact": "mobile", "mobile": FULL_VALUES[0]})
    with pytest.raises(InvalidInput):
        enqueue(container, Event.DATA_REVEALED, given={"role": "cs_agent"})
    with pytest.raises(InvalidInput) as refused:
        enqueue(container, Event.REFUND_ISSUED, ref="r" * 65)
    assert refused.value.field == "source_ref"
    assert rows(container) == []


def test_rows_roll_back_with_the_transaction_that_queued_them(container: Container) -> None:
    def cause_fails() -> None:
        with transaction(container.engine) as tx:
            service.enqueue(
                tx,
                customer_id=CUSTOMER,
                event=Event.LOGIN_RISKY,
                details={},
                source="test",
                source_ref="r-1",
                occurred_at=AFTERNOON,
                now=AFTERNOON,
            )
            raise RuntimeError("the cause failed")

    with pytest.raises(RuntimeError):
        cause_fails()
    assert rows(container) == []


def test_the_customers_choices_pick_the_channels(container: Container) -> None:
    store_settings(
        container,
        {"refund.issued": ["email"], "order.return_requested": [], "login.risky": []},
        language="en",
        timezone="Europe/Berlin",
    )
    assert [r.channel for r in rows(container)] == []
    enqueue(container, Event.REFUND_ISSUED)
    assert [r.channel for r in rows(container)] == ["email"]
    # Turned off: nothing queued, nothing returned.
    assert enqueue(container, Event.ORDER_RETURN_REQUESTED) == []
    # A security event stored with no channel (by hand, or before a rule changed) keeps its defaults.
    assert len(enqueue(container, Event.LOGIN_RISKY, given={})) == len(CATALOGUE[Event.LOGIN_RISKY].defaults)


def test_settings_for_fills_in_defaults(container: Container) -> None:
    with transaction(container.engine) as tx:
        none = service.settings_for(tx, customer_id=CUSTOMER)
    assert none.language is Language.ZH_CN and none.zone == DEFAULT_ZONE
    assert {e: none.preferences[e] for e in Event} == {e: CATALOGUE[e].defaults for e in Event}

    store_settings(
        container,
        {
            "data.revealed": ["sms"],
            "no.such_event": ["sms"],
            "refund.issued": ["fax", {"x": 1}, "push"],
            "login.risky": "sms",
        },
        language="en",
        timezone="Europe/Berlin",
    )
    with transaction(container.engine) as tx:
        chosen = service.settings_for(tx, customer_id=CUSTOMER)
    assert chosen.language is Language.EN and chosen.zone == ZoneInfo("Europe/Berlin")
    assert chosen.preferences[Event.DATA_REVEALED] == (Channel.SMS,)
    # What the catalogue no longer knows is skipped, not fatal.
    assert chosen.preferences[Event.REFUND_ISSUED] == (Channel.PUSH,)
    assert chosen.preferences[Event.LOGIN_RISKY] == CATALOGUE[Event.LOGIN_RISKY].defaults


def test_sms_and_push_wait_for_the_end_of_the_quiet_hours(container: Container) -> None:
    enqueue(container, Event.REFUND_ISSUED, now=NIGHT)
    enqueue(container, Event.LOGIN_RISKY, now=NIGHT, given={})
    due = {(r.event, r.channel): utc(r.due_at) for r in rows(container)}
    assert due[("refund.issued", "sms")] == MORNING
    assert due[("refund.issued", "push")] == MORNING
    # A risky login is sent at once on every channel: waiting until morning helps the attacker.
    assert {due[("login.risky", c)] for c in ("sms", "email", "push")} == {NIGHT}


def test_quiet_hours_are_the_customers_own(container: Container) -> None:
    # 23:30 in Shanghai is 16:30 in Berlin: no quiet hours there.
    store_settings(container, {}, timezone="Europe/Berlin")
    enqueue(container, Event.REFUND_ISSUED, now=NIGHT)
    assert {utc(r.due_at) for r in rows(container)} == {NIGHT}


def test_reveals_within_a_window_are_told_once_then_as_one_digest(container: Container) -> None:
    for n in range(4):
        enqueue(container, Event.DATA_REVEALED, ref=f"a-{n}", now=AFTERNOON + timedelta(minutes=n), given=REVEAL)
    found = rows(container)
    by_channel: dict[str, list[datetime]] = {}
    for row in found:
        assert row.digest_key == service.digest_key(CUSTOMER, Event.DATA_REVEALED, Channel(row.channel))
        by_channel.setdefault(row.channel, []).append(utc(row.due_at))
    window_end = AFTERNOON + timedelta(hours=1)
    # The first goes now; the three after it wait for the window to close, together.
    assert by_channel == {"email": [AFTERNOON, *[window_end] * 3], "push": [AFTERNOON, *[window_end] * 3]}
    # After the window, the next one goes at once again.
    later = AFTERNOON + timedelta(hours=3)
    enqueue(container, Event.DATA_REVEALED, ref="a-9", now=later, given=REVEAL)
    assert {utc(r.due_at) for r in rows(container) if r.source_ref == "a-9"} == {later}


def test_digests_are_kept_per_customer(container: Container) -> None:
    enqueue(container, Event.DATA_REVEALED, ref="a-1", given=REVEAL)
    enqueue(container, Event.DATA_REVEALED, ref="a-2", given=REVEAL, customer_id="c-notify-2")
    assert {utc(r.due_at) for r in rows(container)} == {AFTERNOON}


def test_no_row_holds_a_full_personal_value(container: Container) -> None:
    for event in Event:
        enqueue(container, event, given={n: ALL_DETAILS[n] for n in CATALOGUE[event].accepted if n != "count"})
    text = json.dumps([(r.details, r.source_ref, r.digest_key) for r in rows(container)], ensure_ascii=False)
    assert not any(value in text for value in FULL_VALUES)


def seal_code(container: Container, key: AESGCM, customer_id: str, code: str, *, owner: str | None = None) -> None:
    with unit_of_work(container.sessions) as session:
        session.execute(delete(NotificationSettingsRow).where(NotificationSettingsRow.customer_id == customer_id))
        session.add(
            NotificationSettingsRow(
                customer_id=customer_id,
                events="{}",
                updated_at=AFTERNOON,
                anti_phishing_code_ct=service.seal_code(key, owner or customer_id, code),
            )
        )


def test_the_code_opens_only_with_the_customers_key_and_id(container: Container) -> None:
    key = AESGCM(AESGCM.generate_key(bit_length=256))
    with transaction(container.engine) as tx:
        assert service.anti_phishing_code(tx, data_key=key, customer_id=CUSTOMER) is None
    seal_code(container, key, CUSTOMER, "小猫钓鱼")
    with transaction(container.engine) as tx:
        assert service.anti_phishing_code(tx, data_key=key, customer_id=CUSTOMER) == "小猫钓鱼"
        # No key (an erased customer): no code.
        assert service.anti_phishing_code(tx, data_key=None, customer_id=CUSTOMER) is None
        other = AESGCM(AESGCM.generate_key(bit_length=256))
        with pytest.raises(StoredDataTampered):
            service.anti_phishing_code(tx, data_key=other, customer_id=CUSTOMER)
    # A ciphertext moved to another customer's row does not open there.
    seal_code(container, key, "c-notify-2", "小猫钓鱼", owner=CUSTOMER)
    with transaction(container.engine) as tx, pytest.raises(StoredDataTampered):
        service.anti_phishing_code(tx, data_key=key, customer_id="c-notify-2")
    # The ciphertext holds nothing readable.
    with unit_of_work(container.sessions) as session:
        sealed = session.scalars(select(NotificationSettingsRow.anti_phishing_code_ct)).all()
    assert all(ct is not None and "小猫钓鱼".encode() not in ct for ct in sealed)


def test_reveals_in_the_quiet_hours_fold_into_the_morning_push(container: Container) -> None:
    for n in range(3):
        enqueue(container, Event.DATA_REVEALED, ref=f"n-{n}", now=NIGHT + timedelta(minutes=n), given=REVEAL)
    due: dict[str, list[datetime]] = {}
    for row in rows(container):
        due.setdefault(row.channel, []).append(utc(row.due_at))
    # E-mail wakes nobody: the first goes at once, the rest at the end of its window. Push waits
    # for the morning, and the ones after it join that waiting message instead of a window of
    # their own.
    assert due == {"email": [NIGHT, NIGHT + timedelta(hours=1), NIGHT + timedelta(hours=1)], "push": [MORNING] * 3}


def test_an_intent_expanded_later_becomes_the_rows_enqueue_writes(container: Container) -> None:
    """The reveal's hot path writes one intent for the event and no outbox row; the worker's
    expansion turns it into the row per channel that a direct ``enqueue`` writes, once, however
    often it runs, and the intent is gone."""
    with transaction(container.engine) as tx:
        written = service.enqueue(
            tx,
            customer_id=CUSTOMER,
            event=Event.REFUND_ISSUED,
            details=details(Event.REFUND_ISSUED),
            source="test",
            source_ref="r-1",
            occurred_at=AFTERNOON - timedelta(seconds=5),
            now=AFTERNOON,
            expand_later=True,
        )
    assert written == [] and rows(container) == []
    (intent,) = intents(container)
    assert (intent.customer_id, intent.event, intent.source, intent.source_ref) == (
        CUSTOMER,
        "refund.issued",
        "test",
        "r-1",
    )

    expanded = []
    for _ in range(2):
        with transaction(container.engine) as tx:
            expanded.append(service.expand_pending(tx, now=AFTERNOON + timedelta(seconds=1)))
    assert expanded == [1, 0] and intents(container) == []
    sent = rows(container)
    assert sorted(r.channel for r in sent) == sorted(CATALOGUE[Event.REFUND_ISSUED].defaults)
    for row in sent:
        assert (row.state, row.source, row.source_ref) == (QUEUED, "test", "r-1")
        assert utc(row.occurred_at) == AFTERNOON - timedelta(seconds=5)
        assert json.loads(row.details) == {"order_ref": ALL_DETAILS["order_ref"]}


def test_a_row_expanded_later_is_checked_and_rolls_back_with_its_cause(container: Container) -> None:
    with pytest.raises(InvalidInput), transaction(container.engine) as tx:
        service.enqueue(
            tx,
            customer_id=CUSTOMER,
            event=Event.DATA_REVEALED,
            details={"role": "cs_agent"},
            source="test",
            source_ref="r-1",
            occurred_at=AFTERNOON,
            now=AFTERNOON,
            expand_later=True,
        )

    def cause_fails_after_queueing() -> None:
        with transaction(container.engine) as tx:
            service.enqueue(
                tx,
                customer_id=CUSTOMER,
                event=Event.DATA_REVEALED,
                details=REVEAL,
                source="test",
                source_ref="r-2",
                occurred_at=AFTERNOON,
                now=AFTERNOON,
                expand_later=True,
            )
            raise RuntimeError("the cause failed")

    with pytest.raises(RuntimeError, match="the cause failed"):
        cause_fails_after_queueing()
    assert rows(container) == [] and intents(container) == []
