"""The events customers are told about, the channels that carry them, and what each event may say.

The codes and channel names are part of the contract (issue 13): integrators send them, stored
preferences hold them, and templates are named after them, so they never change once released.

Details are the only variable part of a message, so they are where a personal value could slip
in. Each event accepts a closed set of details, each typed: masked references in the exact shape the
vault's maskers produce (``138****5678``, ``l***@qq.com``), the last four characters of an order id,
codes from closed vocabularies, and short device or place descriptions that ``core.ids`` finds no
personal value in. There is no detail for an amount: a message never states a price.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final, TypeVar

from shopshield.core import ids
from shopshield.core.errors import InvalidInput
from shopshield.core.policy import ALL_FIELDS

__all__ = [
    "CATALOGUE",
    "DIGEST_WINDOW_SECONDS",
    "Channel",
    "ContactKind",
    "Details",
    "Event",
    "EventSpec",
    "ResetReason",
    "ScamPattern",
    "order_tail",
    "parse_details",
]


class Event(StrEnum):
    LOGIN_NEW_DEVICE = "login.new_device"
    LOGIN_RISKY = "login.risky"
    PASSWORD_RESET_REQUIRED = "password.reset_required"  # noqa: S105 (an event's name, not a password)
    CONTACT_CHANGED = "contact.changed"
    ORDER_RETURN_REQUESTED = "order.return_requested"
    REFUND_ISSUED = "refund.issued"
    DATA_REVEALED = "data.revealed"
    DATA_EXPORTED = "data.exported"
    BREACH_WARNING = "breach.warning"
    SCAM_WARNING = "scam.warning"


class Channel(StrEnum):
    """In the order preferences list them: the order is canonical, not a priority."""

    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"


class ContactKind(StrEnum):
    """Which contact detail changed (``contact.changed``)."""

    MOBILE = "mobile"
    EMAIL = "email"
    ADDRESS = "address"


class ResetReason(StrEnum):
    """Why the store requires a new password (``password.reset_required``)."""

    BREACHED_PASSWORD = "breached_password"  # noqa: S105 (a reason's code, not a password)
    SUSPICIOUS_LOGIN = "suspicious_login"
    STORE_BREACH = "store_breach"


class ScamPattern(StrEnum):
    """The story a scam wave tells (``scam.warning``, ``breach.warning``): the customer is told
    which one to expect, so the call sounds familiar for the right reason."""

    REFUND = "refund"
    RETURN = "return"
    DELIVERY = "delivery"
    ACCOUNT = "account"


# Ten reveals in an hour become one digest: the window the digest counts over.
DIGEST_WINDOW_SECONDS: Final = 3600


@dataclass(frozen=True, slots=True)
class EventSpec:
    """What the store decides for one event.

    ``security``: the customer may choose the channels but not turn it off (at least one channel
    stays), because it is how a customer learns that someone else is in the account or that
    scammers hold their data. ``quiet_override``: it is sent during quiet hours too, because waiting
    until morning lets an attacker who is in the account now finish (decision 0025); only security
    events may. ``digest``: repeats within ``DIGEST_WINDOW_SECONDS`` may be folded into one message.
    ``required`` and ``optional`` name the details (fields of ``Details``) it takes.
    """

    event: Event
    security: bool
    quiet_override: bool
    digest: bool
    defaults: tuple[Channel, ...]
    required: frozenset[str]
    optional: frozenset[str]

    def __post_init__(self) -> None:
        # The catalogue is code, but a wrong entry would be a silent policy change: refuse it here.
        if self.quiet_override and not self.security:
            raise ValueError(f"{self.event}: only a security event may override quiet hours")
        if self.security and not self.defaults:
            raise ValueError(f"{self.event}: a security event needs at least one default channel")
        if self.required & self.optional:
            raise ValueError(f"{self.event}: a detail is both required and optional")
        unknown = (self.required | self.optional) - _DETAIL_NAMES
        if unknown:
            raise ValueError(f"{self.event}: unknown details {sorted(unknown)}")

    @property
    def accepted(self) -> frozenset[str]:
        return self.required | self.optional


SMS, EMAIL, PUSH = Channel.SMS, Channel.EMAIL, Channel.PUSH


@dataclass(frozen=True, slots=True)
class Details:
    """The details of one notification, each already checked by ``parse_details``.

    None means "not given". ``count`` is set only on a digest (how many events it stands for).
    """

    device: str | None = None
    place: str | None = None
    order_ref: str | None = None
    mobile: str | None = None
    email: str | None = None
    contact: ContactKind | None = None
    role: str | None = None
    purpose: str | None = None
    fields: tuple[str, ...] | None = None
    partner: str | None = None
    reason: ResetReason | None = None
    pattern: ScamPattern | None = None
    count: int | None = None

    def given(self) -> dict[str, object]:
        """The details that were given, by name: what a template sees (a missing one is an error
        there, never an empty string)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


_DETAIL_NAMES: Final = frozenset(f.name for f in fields(Details))


def _spec(
    event: Event,
    *,
    defaults: tuple[Channel, ...],
    security: bool = False,
    quiet_override: bool = False,
    digest: bool = False,
    required: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
) -> EventSpec:
    return EventSpec(event, security, quiet_override, digest, defaults, frozenset(required), frozenset(optional))


# Defaults lean on SMS for what is urgent or aimed at the refund scam (the customers in the report
# read SMS, and the scammer calls), and on push and e-mail for what is a record rather than an alarm.
CATALOGUE: Final[Mapping[Event, EventSpec]] = MappingProxyType(
    {
        s.event: s
        for s in (
            _spec(Event.LOGIN_NEW_DEVICE, defaults=(SMS, PUSH), security=True, optional=("device", "place")),
            _spec(
                Event.LOGIN_RISKY,
                defaults=(SMS, EMAIL, PUSH),
                security=True,
                quiet_override=True,
                optional=("device", "place"),
            ),
            _spec(
                Event.PASSWORD_RESET_REQUIRED,
                defaults=(SMS, EMAIL),
                security=True,
                quiet_override=True,
                required=("reason",),
            ),
            _spec(
                Event.CONTACT_CHANGED,
                defaults=(SMS, EMAIL),
                security=True,
                quiet_override=True,
                required=("contact",),
                optional=("mobile", "email"),
            ),
            _spec(Event.ORDER_RETURN_REQUESTED, defaults=(SMS, PUSH), required=("order_ref",)),
            _spec(Event.REFUND_ISSUED, defaults=(SMS, PUSH), required=("order_ref",)),
            _spec(
                Event.DATA_REVEALED,
                defaults=(EMAIL, PUSH),
                digest=True,
                required=("role", "purpose", "fields"),
                optional=("count",),
            ),
            _spec(Event.DATA_EXPORTED, defaults=(EMAIL,), digest=True, required=("partner",), optional=("count",)),
            _spec(Event.BREACH_WARNING, defaults=(SMS, EMAIL, PUSH), security=True, optional=("fields", "pattern")),
            _spec(Event.SCAM_WARNING, defaults=(SMS, PUSH), security=True, required=("pattern",)),
        )
    }
)


def parse_event(value: object, field: str = "event") -> Event:
    """The event ``value`` names; ``InvalidInput`` naming ``field`` (never the value) otherwise."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):  # not a code: the refusal below names the field
            return Event(value)
    raise InvalidInput(f"{field}: unknown event code; known codes: {', '.join(Event)}", field=field)


# Detail checks -----------------------------------------------------------------------------------

# The shapes of vault.masking.mask_mobile and mask_email output (tests pin the match): a masked
# value is all a message may carry, and accepting only these shapes refuses a full value by form.
_MASKED_MOBILE: Final = re.compile(r"\+?[0-9]{3}\*{4}[0-9]{4}|\+?[0-9]{2}\*{4}[0-9]{2}|\*{1,16}")
_MASKED_EMAIL: Final = re.compile(r"[^\s@*]?\*{3}@(?:[a-z0-9-]+(?:\.[a-z0-9-]+)+|\*{3}(?:\.[A-Za-z0-9-]+)?)")
_ORDER_TAIL: Final = re.compile(r"[A-Za-z0-9]{4}")
_CODE: Final = re.compile(r"[a-z][a-z0-9_]{0,31}")
# Device and place descriptions ("iPhone 15", "上海市"): letters (Han included), digits, spaces and
# a little punctuation. No currency signs, '@' or '+': nothing that carries an amount or a contact.
# A partner's name goes into SMS, so it is shorter than a device or a place, which do not.
_SHORT_TEXT_MAX: Final = MappingProxyType({"device": 40, "place": 40, "partner": 20})
_MAX_COUNT: Final = 100_000


_E = TypeVar("_E", bound=StrEnum)


def order_tail(order_id: str) -> str:
    """The reference a message shows for an order: the last four letters or digits of its id
    ("order ending 1234"). The customer can match it in the app; a scammer learns nothing new."""
    tail = "".join(ch for ch in order_id if ch.isascii() and ch.isalnum())[-4:]
    if len(tail) < 4:
        raise InvalidInput("order_id: needs at least four letters or digits", field="order_id")
    return tail


def _short_text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"details.{name}: must be text", field=f"details.{name}")
    text = " ".join(unicodedata.normalize("NFKC", value).split())
    longest = _SHORT_TEXT_MAX[name]
    if not text or len(text) > longest:
        raise InvalidInput(f"details.{name}: must be 1-{longest} characters", field=f"details.{name}")
    if not all(ch.isalnum() or ch in " -.·/()" for ch in text):
        raise InvalidInput(
            f"details.{name}: only letters, digits, spaces and - . · / ( ) are allowed", field=f"details.{name}"
        )
    kind = ids.personal_kind(text)
    if kind is not None:
        raise InvalidInput(f"details.{name}: {ids.personal_rule(kind)}", field=f"details.{name}")
    return text


def _pattern(value: object, name: str, shape: re.Pattern[str], rule: str) -> str:
    if not isinstance(value, str) or not shape.fullmatch(value):
        raise InvalidInput(f"details.{name}: {rule}", field=f"details.{name}")
    return value


def _choice(value: object, name: str, kind: type[_E]) -> _E:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):  # not a member: the refusal below names the detail
            return kind(value)
    raise InvalidInput(f"details.{name}: one of {', '.join(kind)}", field=f"details.{name}")


def _field_list(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise InvalidInput(f"details.{name}: a non-empty list of field names", field=f"details.{name}")
    if not all(isinstance(v, str) and v in ALL_FIELDS for v in value) or len(set(value)) != len(value):
        raise InvalidInput(f"details.{name}: each of {', '.join(ALL_FIELDS)} at most once", field=f"details.{name}")
    # In the policy's order, so the same set always reads the same.
    return tuple(f for f in ALL_FIELDS if f in value)


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_COUNT:
        raise InvalidInput(f"details.{name}: a whole number from 1 to {_MAX_COUNT}", field=f"details.{name}")
    return value


def _detail(name: str, value: object) -> object:
    match name:
        case "device" | "place" | "partner":
            return _short_text(value, name)
        case "order_ref":
            return _pattern(value, name, _ORDER_TAIL, "the last four letters or digits of the order id")
        case "mobile":
            return _pattern(value, name, _MASKED_MOBILE, "a masked mobile such as 138****5678")
        case "email":
            return _pattern(value, name, _MASKED_EMAIL, "a masked e-mail address such as l***@qq.com")
        case "role" | "purpose":
            return _pattern(value, name, _CODE, "a code of lower-case letters, digits and '_'")
        case "contact":
            return _choice(value, name, ContactKind)
        case "reason":
            return _choice(value, name, ResetReason)
        case "pattern":
            return _choice(value, name, ScamPattern)
        case "fields":
            return _field_list(value, name)
        case "count":
            return _count(value, name)
    raise AssertionError(f"no check for detail {name}")  # the catalogue names only known details


def parse_details(event: Event, raw: object) -> Details:
    """``raw`` (a JSON object, or None for no details) checked against what ``event`` accepts:
    unknown or missing details, and values of the wrong shape, raise ``InvalidInput`` naming the
    detail, never its value."""
    entry = CATALOGUE[event]
    if raw is not None and not isinstance(raw, Mapping):
        raise InvalidInput("details: must be an object", field="details")
    given: dict[str, object] = dict(raw or {})
    unknown = sorted(name for name in given if name not in entry.accepted)
    if unknown:
        accepted = ", ".join(sorted(entry.accepted)) or "none"
        raise InvalidInput(f"details: {event} does not take a detail given; it takes: {accepted}", field="details")
    missing = sorted(entry.required - given.keys())
    if missing:
        raise InvalidInput(f"details.{missing[0]}: required for {event}", field=f"details.{missing[0]}")
    # Each value has the type of its field: _detail checks by the field's name.
    checked: dict[str, Any] = {name: _detail(name, value) for name, value in given.items()}
    return Details(**checked)
