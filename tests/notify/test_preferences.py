"""The preferences PUT body and the effective preferences the GET returns."""

from __future__ import annotations

import pytest

from shopshield.core.errors import InvalidInput
from shopshield.notify.catalogue import CATALOGUE, Channel, Event
from shopshield.notify.preferences import channels_for, effective, parse_put, to_json
from tests.support.notify_samples import MOBILE

SMS, EMAIL, PUSH = Channel.SMS, Channel.EMAIL, Channel.PUSH


def test_the_contracts_example_is_taken_and_channels_come_in_canonical_order() -> None:
    choices = parse_put({"events": {"data.revealed": ["email", "sms"], "login.new_device": ["sms"]}}).choices
    assert dict(choices) == {Event.LOGIN_NEW_DEVICE: (SMS,), Event.DATA_REVEALED: (SMS, EMAIL)}


def test_effective_preferences_fill_in_the_defaults() -> None:
    choices = parse_put({"events": {"data.revealed": ["push"], "refund.issued": []}}).choices
    shown = to_json(effective(choices))
    assert list(shown) == ["events"]
    assert list(shown["events"]) == [str(e) for e in Event]
    assert shown["events"]["data.revealed"] == ["push"]
    assert shown["events"]["refund.issued"] == []  # a non-security event may be turned off
    for event in set(Event) - {Event.DATA_REVEALED, Event.REFUND_ISSUED}:
        assert shown["events"][str(event)] == [str(c) for c in CATALOGUE[event].defaults]
    assert channels_for(choices, Event.LOGIN_RISKY) == (SMS, EMAIL, PUSH)


def test_nothing_chosen_is_the_documented_defaults() -> None:
    assert to_json(effective({})) == {
        "events": {
            "login.new_device": ["sms", "push"],
            "login.risky": ["sms", "email", "push"],
            "password.reset_required": ["sms", "email"],
            "contact.changed": ["sms", "email"],
            "order.return_requested": ["sms", "push"],
            "refund.issued": ["sms", "push"],
            "data.revealed": ["email", "push"],
            "data.exported": ["email"],
            "breach.warning": ["sms", "email", "push"],
            "scam.warning": ["sms", "push"],
        }
    }


def test_a_put_replaces_the_choices_it_does_not_merge_them() -> None:
    first = parse_put({"events": {"data.revealed": ["sms"]}}).choices
    second = parse_put({"events": {"login.new_device": ["push"]}}).choices
    assert Event.DATA_REVEALED in first
    assert Event.DATA_REVEALED not in second
    assert effective(second)[Event.DATA_REVEALED] == CATALOGUE[Event.DATA_REVEALED].defaults


def test_a_stored_choice_that_silences_a_security_event_is_not_honoured() -> None:
    assert effective({Event.SCAM_WARNING: ()})[Event.SCAM_WARNING] == (SMS, PUSH)


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"events": {MOBILE: ["sms"]}}, "events", "unknown event code"),
        ({"events": {"data.revealed": ["fax"]}}, "events.data.revealed", "unknown channel"),
        ({"events": {"data.revealed": [MOBILE]}}, "events.data.revealed", "unknown channel"),
        ({"events": {"data.revealed": ["sms", "sms"]}}, "events.data.revealed", "more than once"),
        ({"events": {"login.risky": []}}, "events.login.risky", "at least one channel"),
        ({"events": {"scam.warning": []}}, "events.scam.warning", "at least one channel"),
        ({"events": {"data.revealed": "sms"}}, "events.data.revealed", "list of channels"),
        ({"events": {"data.revealed": [["sms"]]}}, "events.data.revealed", "unknown channel"),
        ({"events": ["data.revealed"]}, "events", "object"),
        ({"events": {}, "mobile": MOBILE}, "body", "optionally"),
        ({"language": "en"}, "body", "optionally"),
        ([], "body", "optionally"),
        ({"events": {}, "language": "fax"}, "language", "zh-CN, en"),
        ({"events": {}, "language": ["en"]}, "language", "zh-CN, en"),
        ({"events": {}, "timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"events": {}, "timezone": "../../etc/passwd"}, "timezone", "IANA"),
        ({"events": {}, "timezone": 8}, "timezone", "IANA"),
    ],
)
def test_bad_bodies_name_the_field_never_the_value(body: object, field: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_put(body)
    assert caught.value.field == field
    assert reason in caught.value.message
    assert MOBILE not in caught.value.message
    assert "fax" not in caught.value.message
