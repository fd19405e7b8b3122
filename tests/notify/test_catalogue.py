"""The event catalogue: the contract's codes, the security events' rules, and details that carry
masked references only."""

from __future__ import annotations

import pytest

from shopshield.core.errors import InvalidInput
from shopshield.notify.catalogue import (
    CATALOGUE,
    Channel,
    Details,
    Event,
    EventSpec,
    order_tail,
    parse_details,
    parse_event,
)
from shopshield.vault.masking import mask_email, mask_mobile
from tests.support.notify_samples import ALL_DETAILS, CARD, EMAIL, ID_NUMBER, MOBILE, details_for

CONTRACT_EVENTS = [
    "login.new_device",
    "login.risky",
    "password.reset_required",
    "contact.changed",
    "order.return_requested",
    "refund.issued",
    "data.revealed",
    "data.exported",
    "breach.warning",
    "scam.warning",
]


def test_the_codes_are_the_contracts() -> None:
    assert [str(e) for e in Event] == CONTRACT_EVENTS
    assert [str(c) for c in Channel] == ["sms", "email", "push"]
    assert set(CATALOGUE) == set(Event)


def test_security_events_and_their_overrides() -> None:
    security = {str(e) for e, s in CATALOGUE.items() if s.security}
    assert security == {
        "login.new_device",
        "login.risky",
        "password.reset_required",
        "contact.changed",
        "breach.warning",
        "scam.warning",
    }
    overriding = {str(e) for e, s in CATALOGUE.items() if s.quiet_override}
    assert overriding == {"login.risky", "password.reset_required", "contact.changed"}
    digested = {str(e) for e, s in CATALOGUE.items() if s.digest}
    assert digested == {"data.revealed", "data.exported"}
    for entry in CATALOGUE.values():
        assert entry.defaults, entry.event
        assert len(set(entry.defaults)) == len(entry.defaults)


def test_a_wrong_catalogue_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="only a security event"):
        EventSpec(Event.REFUND_ISSUED, False, True, False, (Channel.SMS,), frozenset(), frozenset())
    with pytest.raises(ValueError, match="at least one default"):
        EventSpec(Event.LOGIN_RISKY, True, False, False, (), frozenset(), frozenset())
    with pytest.raises(ValueError, match="unknown details"):
        EventSpec(Event.LOGIN_RISKY, True, False, False, (Channel.SMS,), frozenset({"amount"}), frozenset())


def test_an_unknown_event_code_is_refused_without_echoing_it() -> None:
    assert parse_event("data.revealed") is Event.DATA_REVEALED
    for wrong in (MOBILE, "data.reveal", 3, None):
        with pytest.raises(InvalidInput) as caught:
            parse_event(wrong)
        assert caught.value.field == "event"
        assert "unknown event code" in caught.value.message
        assert MOBILE not in caught.value.message


@pytest.mark.parametrize("event", list(Event))
def test_every_event_takes_its_details(event: Event) -> None:
    details = details_for(event)
    assert set(details.given()) == CATALOGUE[event].accepted


def test_masked_references_in_the_vaults_shapes_are_taken() -> None:
    # The maskers' output for every length class they have: the catalogue's shapes must follow them.
    for number in (MOBILE, "+447700900123", "12345678", "1234"):
        parse_details(Event.CONTACT_CHANGED, {"contact": "mobile", "mobile": mask_mobile(number)})
    for address in (EMAIL, "someone@example.cn", "x@localhost"):
        parse_details(Event.CONTACT_CHANGED, {"contact": "email", "email": mask_email(address)})
    assert order_tail("o-2016-07-14-88123") == "8123"
    with pytest.raises(InvalidInput, match="order_id"):
        order_tail("o-1")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("mobile", MOBILE),
        ("mobile", "138 1234 5678"),
        ("email", EMAIL),
        ("order_ref", "o-2016-07-14-88123"),
        ("device", f"iPhone {MOBILE}"),
        ("device", f"card {CARD}"),
        ("place", ID_NUMBER),
        ("partner", EMAIL),
        ("partner", "¥299.00"),
        ("place", "上海 +8613812345678"),
    ],
)
def test_a_full_value_in_a_detail_is_refused_without_echoing_it(name: str, value: str) -> None:
    event = next(e for e, s in CATALOGUE.items() if name in s.accepted)
    given = {n: ALL_DETAILS[n] for n in CATALOGUE[event].required} | {name: value}
    with pytest.raises(InvalidInput) as caught:
        parse_details(event, given)
    assert caught.value.field == f"details.{name}"
    assert value not in caught.value.message


def test_details_an_event_does_not_take_or_lacks_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_details(Event.REFUND_ISSUED, {"order_ref": "8123", "amount": "299.00"})
    assert caught.value.field == "details"
    assert "299" not in caught.value.message
    assert "amount" not in caught.value.message  # a key may be anything a caller typed
    with pytest.raises(InvalidInput) as caught:
        parse_details(Event.REFUND_ISSUED, {})
    assert caught.value.field == "details.order_ref"


@pytest.mark.parametrize(
    ("event", "given", "field"),
    [
        (Event.CONTACT_CHANGED, {"contact": "phone"}, "details.contact"),
        (Event.PASSWORD_RESET_REQUIRED, {"reason": 1}, "details.reason"),
        (Event.SCAM_WARNING, {"pattern": "lottery"}, "details.pattern"),
        (Event.DATA_REVEALED, {"role": "cs_agent", "purpose": "refund_dispute", "fields": []}, "details.fields"),
        (
            Event.DATA_REVEALED,
            {"role": "cs_agent", "purpose": "refund_dispute", "fields": ["mobile", "mobile"]},
            "details.fields",
        ),
        (Event.DATA_REVEALED, {"role": "cs_agent", "purpose": "refund_dispute", "fields": ["card"]}, "details.fields"),
        (Event.DATA_REVEALED, {"role": "CS Agent", "purpose": "refund_dispute", "fields": ["name"]}, "details.role"),
        (Event.DATA_EXPORTED, {"partner": "x" * 21}, "details.partner"),
        (Event.DATA_EXPORTED, {"partner": "SF", "count": 0}, "details.count"),
        (Event.DATA_EXPORTED, {"partner": "SF", "count": True}, "details.count"),
        (Event.LOGIN_NEW_DEVICE, {"device": "   "}, "details.device"),
        (Event.LOGIN_NEW_DEVICE, {"device": 7}, "details.device"),
    ],
)
def test_details_of_the_wrong_shape_are_refused(event: Event, given: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_details(event, given)
    assert caught.value.field == field


def test_details_are_normalised() -> None:
    details = parse_details(
        Event.DATA_REVEALED, {"role": "cs_agent", "purpose": "refund_dispute", "fields": ["street", "name"]}
    )
    assert details.fields == ("name", "street")  # the policy's order, whatever the caller's
    device = parse_details(Event.LOGIN_NEW_DEVICE, {"device": "  ｉＰｈｏｎｅ   15 "}).device
    assert device == "iPhone 15"
    assert Details().given() == {}


def test_details_must_be_an_object() -> None:
    assert parse_details(Event.LOGIN_NEW_DEVICE, None) == Details()
    with pytest.raises(InvalidInput) as caught:
        parse_details(Event.LOGIN_NEW_DEVICE, ["device"])
    assert caught.value.field == "details"
