"""A customer's notification preferences: the PUT body checked, and the effective preferences the
GET returns.

The body is ``{"events": {code: [channels]}}``. A PUT replaces the customer's choices: an event it
does not name goes back to its default, so what the customer sees after a PUT is exactly what
they sent plus the documented defaults, never a remnant of an older choice. What is stored is only
what the customer chose (``Choices``); ``effective`` fills in the defaults when it is read, so a
changed default reaches everyone who never chose.

Errors name the field (``events``, ``events.login.risky``) and the rule, never a value: an unknown
key is not echoed, since a caller may put anything there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final

from shopshield.core.errors import InvalidInput
from shopshield.notify.catalogue import CATALOGUE, Channel, Event

__all__ = ["Choices", "effective", "parse_put", "to_json"]

Choices = Mapping[Event, tuple[Channel, ...]]
"""Per event the customer set, its channels in canonical order (empty: the customer turned it off)."""

_CHANNELS: Final = ", ".join(Channel)
_EVENTS: Final = ", ".join(Event)


def parse_put(body: object) -> Choices:
    """The choices in a PUT body; ``InvalidInput`` for an unknown event code or channel, a channel
    listed twice, or a security event left with no channel."""
    if not isinstance(body, Mapping) or set(body) != {"events"}:
        raise InvalidInput('body: must be an object with one key, "events"', field="body")
    events = body["events"]
    if not isinstance(events, Mapping):
        raise InvalidInput("events: must be an object of event codes to lists of channels", field="events")
    choices: dict[Event, tuple[Channel, ...]] = {}
    for code, channels in events.items():
        try:
            event = Event(code)
        except ValueError:
            raise InvalidInput(f"events: unknown event code; known codes: {_EVENTS}", field="events") from None
        choices[event] = _channels(event, channels)
    return MappingProxyType({event: choices[event] for event in Event if event in choices})


def _channels(event: Event, value: object) -> tuple[Channel, ...]:
    field = f"events.{event}"
    if not isinstance(value, list | tuple):
        raise InvalidInput(f"{field}: must be a list of channels ({_CHANNELS})", field=field)
    found: list[Channel] = []
    for item in value:
        try:
            channel = Channel(item)
        except ValueError:
            raise InvalidInput(f"{field}: unknown channel; channels: {_CHANNELS}", field=field) from None
        if channel in found:
            raise InvalidInput(f"{field}: a channel is listed more than once", field=field)
        found.append(channel)
    if not found and CATALOGUE[event].security:
        raise InvalidInput(f"{field}: a security event keeps at least one channel", field=field)
    return tuple(c for c in Channel if c in found)


def effective(choices: Choices) -> Mapping[Event, tuple[Channel, ...]]:
    """Every event with the channels it goes out on: the customer's choice, else the default.

    A stored choice that leaves a security event with no channel (written before a rule changed, or
    by hand) is not honoured: the default stands, because a security event is never silent.
    """
    result: dict[Event, tuple[Channel, ...]] = {}
    for event, entry in CATALOGUE.items():
        chosen = choices.get(event)
        if chosen is None or (entry.security and not chosen):
            chosen = entry.defaults
        result[event] = tuple(c for c in Channel if c in chosen)
    return MappingProxyType(result)


def channels_for(choices: Choices, event: Event) -> tuple[Channel, ...]:
    """The channels ``event`` goes out on for a customer with ``choices``."""
    return effective(choices)[event]


def to_json(preferences: Mapping[Event, Sequence[Channel]]) -> dict[str, dict[str, list[str]]]:
    """Preferences as the API answers and a store keeps them: ``{"events": {code: [channels]}}``,
    events and channels in catalogue order."""
    return {"events": {str(e): [str(c) for c in Channel if c in preferences[e]] for e in Event if e in preferences}}
