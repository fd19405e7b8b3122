"""A customer's notification preferences: the PUT body checked, and the effective preferences the
GET returns.

The body is ``{"events": {code: [channels]}, "language"?: "zh-CN" | "en", "timezone"?: IANA name}``.
A PUT replaces the customer's choices: an event it does not name goes back to its default, and so
does a language or time zone it leaves out (Simplified Chinese, Asia/Shanghai), so what the
customer sees after a PUT is exactly what they sent plus the documented defaults, never a remnant
of an older choice. What is stored is only what the customer chose (``Choices``); ``effective``
fills in the defaults when it is read, so a changed default reaches everyone who never chose.

Errors name the field (``events``, ``events.login.risky``) and the rule, never a value: an unknown
key is not echoed, since a caller may put anything there.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from shopshield.core.errors import InvalidInput
from shopshield.notify.catalogue import CATALOGUE, Channel, Event
from shopshield.notify.messages import Language

__all__ = ["Choices", "Put", "effective", "parse_put", "to_json"]

Choices = Mapping[Event, tuple[Channel, ...]]
"""Per event the customer set, its channels in canonical order (empty: the customer turned it off)."""

_CHANNELS: Final = ", ".join(Channel)
_EVENTS: Final = ", ".join(Event)
_LANGUAGES: Final = ", ".join(Language)
_KEYS: Final = frozenset({"events", "language", "timezone"})
_ZONE_MAX: Final = 64


class Put(NamedTuple):
    """A PUT body checked: the channels per event the customer set, and their language and time
    zone (None: the default)."""

    choices: Choices
    language: Language | None
    timezone: str | None


def parse_put(body: object) -> Put:
    """A PUT body checked; ``InvalidInput`` for an unknown key, event code or channel, a channel
    listed twice, a security event left with no channel, an unknown language or time zone."""
    if not isinstance(body, Mapping) or "events" not in body or not set(body) <= _KEYS:
        raise InvalidInput('body: must be an object with "events" and optionally "language", "timezone"', field="body")
    return Put(_choices(body["events"]), _language(body.get("language")), _timezone(body.get("timezone")))


def _language(value: object) -> Language | None:
    if value is None:
        return None
    try:
        return Language(value if isinstance(value, str) else "")
    except ValueError:
        raise InvalidInput(f"language: one of {_LANGUAGES}", field="language") from None


def _timezone(value: object) -> str | None:
    """An IANA zone name as the zone database spells it (``Asia/Shanghai``), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= _ZONE_MAX or value not in _zone_names():
        raise InvalidInput("timezone: an IANA time zone name such as Asia/Shanghai", field="timezone")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput("timezone: an IANA time zone name such as Asia/Shanghai", field="timezone") from None
    return value


@functools.cache
def _zone_names() -> frozenset[str]:
    # Read once: the names the zone database on this machine holds. A name outside it (a path, a
    # misspelling) is refused before ZoneInfo would try to open it as a file.
    return frozenset(available_timezones())


def _choices(events: object) -> Choices:
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
    """Preferences as a store keeps them: ``{"events": {code: [channels]}}``, events and channels
    in catalogue order."""
    return {"events": {str(e): [str(c) for c in Channel if c in preferences[e]] for e in Event if e in preferences}}
