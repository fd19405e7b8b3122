"""The notify domain's store side: queueing a notification in the transaction of its cause, and
reading what the customer chose.

``enqueue`` is the one way any producer (a reveal, a contact change, the guard, a breach scope,
``POST /v1/notifications/events``) raises a notification. It writes outbox rows on the caller's
``Tx``, so a notification commits exactly when the event behind it does, and a rolled-back reveal
leaves no message behind. It runs on the hot read path (every reveal calls it), so it is raw
``Statement`` SQL: one read of the customer's settings, one read of their recent digest rows for
events that may be digested, and one insert per channel.

Nothing here writes a personal value: an outbox row holds ids, codes and the checked details
(masked references only, ``catalogue.parse_details``). The anti-phishing code is sealed with the
customer's data key and unsealed only by ``anti_phishing_code``, for the worker that renders the
message; no route returns it.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shopshield.core import ids, times
from shopshield.core.callers import Caller
from shopshield.core.db import Statement, Tx
from shopshield.core.errors import InvalidInput, StoredDataTampered
from shopshield.core.events import OK, EventLog
from shopshield.core.notices import PreviousAddress
from shopshield.keys import envelope
from shopshield.notify import antiphishing, preferences, schedule
from shopshield.notify.catalogue import CATALOGUE, DIGEST_WINDOW_SECONDS, Channel, Details, Event, parse_details
from shopshield.notify.messages import Language
from shopshield.notify.models import QUEUED, SENDING, SENT

log = logging.getLogger(__name__)

__all__ = [
    "ACTIONS",
    "DEFAULT_LANGUAGE",
    "Preferences",
    "Settings",
    "anti_phishing_code",
    "clear_anti_phishing_code",
    "code_aad",
    "digest_key",
    "effective_preferences",
    "enqueue",
    "has_anti_phishing_code",
    "read_preferences",
    "set_anti_phishing_code",
    "set_preferences",
    "settings_for",
    "settings_json",
]

DEFAULT_LANGUAGE: Final = Language.ZH_CN
Preferences = Mapping[Event, tuple[Channel, ...]]


class Settings(NamedTuple):
    """What ``settings_for`` answers: every event's channels (the customer's choice, else the
    default), and the language and zone messages are written in (defaults when none stored)."""

    preferences: Preferences
    language: Language
    zone: ZoneInfo


# -- statements -----------------------------------------------------------------------------------


class _SettingsRow(NamedTuple):
    events: str
    language: str | None
    timezone: str | None


class _CodeRow(NamedTuple):
    anti_phishing_code_ct: bytes | None


class _DigestRow(NamedTuple):
    channel: str
    last_at: Any
    pending_due: Any


class _Inserted(NamedTuple):
    notification_id: str


class _Intent(NamedTuple):
    intent_id: int
    customer_id: str
    event: str
    details: str
    source: str
    source_ref: str
    occurred_at: Any


_SETTINGS = Statement(
    "SELECT events, language, timezone FROM notification_settings WHERE customer_id = :customer_id",
    row=_SettingsRow,
)

_CODE = Statement(
    "SELECT anti_phishing_code_ct FROM notification_settings WHERE customer_id = :customer_id",
    row=_CodeRow,
)

# Per channel, for one customer and event: when the last message went (or is going) out, and
# when the digest already waiting is due. Only rows created within two windows can matter (a
# waiting digest is due at most one window after the message before it), which keeps the read to
# a few rows of the customer's index however long their history.
_DIGESTS = Statement(
    "SELECT channel, "
    "MAX(CASE WHEN state IN (:sent, :sending, :queued) AND due_at <= :now "
    "THEN COALESCE(sent_at, due_at) END) AS last_at, "
    "MIN(CASE WHEN state = :queued AND due_at > :now THEN due_at END) AS pending_due "
    "FROM notifications "
    "WHERE customer_id = :customer_id AND created_at >= :since AND event = :event AND digest_key IS NOT NULL "
    "GROUP BY channel",
    row=_DigestRow,
)

# A repeat of (source, source_ref, customer, event, channel) inserts nothing and returns no row:
# a producer that retries, or a store system that sends the same event_id twice, queues one
# message, not two.
_INSERT = Statement(
    "INSERT INTO notifications (notification_id, customer_id, event, channel, details, source, source_ref, "
    "occurred_at, created_at, state, due_at, attempts, digest_key, address_ct) "
    "VALUES (:notification_id, :customer_id, :event, :channel, :details, :source, :source_ref, "
    ":occurred_at, :created_at, :state, :due_at, 0, :digest_key, :address_ct) "
    "ON CONFLICT (source, source_ref, customer_id, event, channel) DO NOTHING "
    "RETURNING notification_id",
    row=_Inserted,
)


# One row per event, its channels left for the worker (``expand_pending``): what a hot path pays.
_INSERT_INTENT = Statement(
    "INSERT INTO notification_intents (customer_id, event, details, source, source_ref, occurred_at, created_at) "
    "VALUES (:customer_id, :event, :details, :source, :source_ref, :occurred_at, :now)"
)

_INTENT_COLUMNS: Final = "intent_id, customer_id, event, details, source, source_ref, occurred_at"
_INTENTS = Statement(
    f"SELECT {_INTENT_COLUMNS} FROM notification_intents ORDER BY intent_id LIMIT :limit",  # noqa: S608 (constant)
    row=_Intent,
)
# Two workers on PostgreSQL take different intents; the other's are skipped, not waited for.
_INTENTS_PG = Statement(
    f"SELECT {_INTENT_COLUMNS} FROM notification_intents ORDER BY intent_id LIMIT :limit "  # noqa: S608 (constant)
    "FOR UPDATE SKIP LOCKED",
    row=_Intent,
)
_DELETE_INTENT = Statement("DELETE FROM notification_intents WHERE intent_id = :intent_id")


# -- reading the customer's settings --------------------------------------------------------------


_EVENT_CODES: Final = frozenset(str(e) for e in Event)
_CHANNEL_NAMES: Final = frozenset(str(c) for c in Channel)
_LANGUAGES: Final = frozenset(str(lang) for lang in Language)


def stored_choices(events: str) -> Preferences:
    """The choices a settings row holds, read leniently: an event code or channel the catalogue no
    longer knows is skipped rather than failing every message to that customer. ``preferences.
    effective`` then restores the default where a security event would be left silent."""
    try:
        raw = json.loads(events)
    except ValueError:
        log.error("notification settings hold choices that are not JSON; the defaults apply")
        return {}
    if not isinstance(raw, dict):
        return {}
    choices: dict[Event, tuple[Channel, ...]] = {}
    for code, channels in raw.items():
        if code in _EVENT_CODES and isinstance(channels, list):
            known = {c for c in channels if isinstance(c, str) and c in _CHANNEL_NAMES}
            choices[Event(code)] = tuple(c for c in Channel if c in known)
    return choices


def _language(value: str | None) -> Language:
    if value in _LANGUAGES:
        return Language(value)
    return DEFAULT_LANGUAGE


def _zone(value: str | None) -> ZoneInfo:
    if value:
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            log.error("notification settings name a time zone that is not known; the default applies")
    return schedule.DEFAULT_ZONE


def settings_for(tx: Tx, *, customer_id: str) -> Settings:
    """The customer's effective preferences, language and zone: defaults for what they never set,
    and for a customer with no settings row at all."""
    row = tx.one(_SETTINGS, {"customer_id": customer_id})
    if row is None:
        return Settings(_effective(None), DEFAULT_LANGUAGE, schedule.DEFAULT_ZONE)
    return Settings(_effective(row.events), _language(row.language), _zone(row.timezone))


@functools.lru_cache(maxsize=4096)
def _effective(events: str | None) -> Mapping[Event, tuple[Channel, ...]]:
    """The effective preferences of a stored choice (None: nothing stored), worked out once per
    distinct choice: every reveal asks, most customers keep the defaults, and the few distinct
    choices repeat. The result is read-only, so sharing it is safe."""
    return preferences.effective({} if events is None else stored_choices(events))


# -- the anti-phishing code -----------------------------------------------------------------------

CODE_FIELD: Final = "anti_phishing_code"


def code_aad(customer_id: str) -> bytes:
    """The associated data the code is sealed with, ``customer_id|anti_phishing_code``: its
    ciphertext opens only as this customer's code, so one copied to another customer's row, or
    into a vault field, fails authentication."""
    return f"{customer_id}|{CODE_FIELD}".encode()


def seal_code(data_key: AESGCM, customer_id: str, code: str) -> bytes:
    """``code`` sealed with the customer's data key as the vault seals a field (``keys.envelope``):
    AES-256-GCM, associated data ``code_aad``."""
    return envelope.seal(data_key, code.encode(), code_aad(customer_id))


def open_code(data_key: AESGCM, customer_id: str, sealed: bytes) -> str:
    """What ``seal_code`` sealed; ``StoredDataTampered`` when it does not authenticate (another
    key or customer, or altered bytes)."""
    try:
        return envelope.open_sealed(data_key, sealed, code_aad(customer_id)).decode()
    except envelope.DecryptionError:
        log.error("the anti-phishing code of customer %s failed authentication", customer_id)
        raise StoredDataTampered(f"stored {CODE_FIELD} of customer {customer_id} failed authentication") from None


def anti_phishing_code(tx: Tx, *, data_key: AESGCM | None, customer_id: str) -> str | None:
    """The customer's code in the clear, for the worker rendering a message to them, and nothing
    else (no route or command returns it). None when they set none, or when their data key is
    gone (``data_key`` None: an erased customer), which shreds the code with the rest of them."""
    if data_key is None:
        return None
    row = tx.one(_CODE, {"customer_id": customer_id})
    if row is None or row.anti_phishing_code_ct is None:
        return None
    return open_code(data_key, customer_id, bytes(row.anti_phishing_code_ct))


def has_anti_phishing_code(tx: Tx, *, customer_id: str) -> bool:
    """Whether the customer has set a code: for the customer's own settings page, which says so
    and never shows the code (it is not unsealed here)."""
    row = tx.one(_CODE, {"customer_id": customer_id})
    return row is not None and row.anti_phishing_code_ct is not None


# -- what the customer chooses -------------------------------------------------------------------

# The access events these write (``access_events.action`` holds at most 16 characters), and the
# names they record as fields: what a customer's access report shows was read or changed.
ACTION_PREFS_VIEW: Final = "prefs_view"
ACTION_PREFS_WRITE: Final = "prefs_write"
ACTION_CODE_CHECK: Final = "code_check"
ACTION_CODE_SET: Final = "code_set"
ACTION_CODE_CLEAR: Final = "code_clear"
ACTIONS: Final = (ACTION_PREFS_VIEW, ACTION_PREFS_WRITE, ACTION_CODE_CHECK, ACTION_CODE_SET, ACTION_CODE_CLEAR)
PREFERENCES_FIELD: Final = "notification_preferences"

_PUT_SETTINGS = Statement(
    "INSERT INTO notification_settings (customer_id, events, language, timezone, updated_at) "
    "VALUES (:customer_id, :events, :language, :timezone, :now) "
    "ON CONFLICT (customer_id) DO UPDATE SET events = excluded.events, language = excluded.language, "
    "timezone = excluded.timezone, updated_at = excluded.updated_at"
)
_PUT_CODE = Statement(
    "INSERT INTO notification_settings (customer_id, events, anti_phishing_code_ct, updated_at) "
    "VALUES (:customer_id, '{}', :code_ct, :now) "
    "ON CONFLICT (customer_id) DO UPDATE SET anti_phishing_code_ct = excluded.anti_phishing_code_ct, "
    "updated_at = excluded.updated_at"
)
_CLEAR_CODE = Statement(
    "UPDATE notification_settings SET anti_phishing_code_ct = NULL, updated_at = :now "
    "WHERE customer_id = :customer_id AND anti_phishing_code_ct IS NOT NULL"
)


def effective_preferences(tx: Tx, *, customer_id: str) -> Preferences:
    """Every event with the channels it goes out on for the customer (defaults filled in)."""
    return settings_for(tx, customer_id=customer_id).preferences


def read_preferences(tx: Tx, *, log: EventLog, caller: Caller, customer_id: str, now: datetime) -> Settings:
    """``settings_for`` for a caller (channels per event, language, zone), the read recorded in ``tx``."""
    found = settings_for(tx, customer_id=customer_id)
    log.append(tx, caller.event(ACTION_PREFS_VIEW, OK, customer_id=customer_id, fields=(PREFERENCES_FIELD,)), now=now)
    return found


def set_preferences(
    tx: Tx, *, log: EventLog, caller: Caller, customer_id: str, body: object, now: datetime
) -> Settings:
    """Replace the customer's choices, language and zone with those of a PUT body
    (``preferences.parse_put``; what it leaves out goes back to its default) and answer the
    effective settings. A bad body raises ``InvalidInput`` before anything is written. The write
    is recorded in ``tx``."""
    put = preferences.parse_put(body)
    stored = json.dumps({str(e): [str(c) for c in channels] for e, channels in put.choices.items()})
    language = None if put.language is None else str(put.language)
    tx.execute(
        _PUT_SETTINGS,
        {
            "customer_id": customer_id,
            "events": stored,
            "language": language,
            "timezone": put.timezone,
            "now": tx.timestamp(now),
        },
    )
    log.append(tx, caller.event(ACTION_PREFS_WRITE, OK, customer_id=customer_id, fields=(PREFERENCES_FIELD,)), now=now)
    return Settings(preferences.effective(put.choices), _language(language), _zone(put.timezone))


def settings_json(found: Settings) -> dict[str, object]:
    """The effective settings as the API answers them: channels per event, language, time zone."""
    return {**preferences.to_json(found.preferences), "language": str(found.language), "timezone": found.zone.key}


def set_anti_phishing_code(
    tx: Tx,
    *,
    log: EventLog,
    caller: Caller,
    data_key: AESGCM,
    customer_id: str,
    raw: str,
    personal: Iterable[str],
    now: datetime,
) -> None:
    """Set the customer's code: ``raw`` normalised (``antiphishing.normalize_code``, which refuses
    codes built from ``personal``, the customer's own name, mobile, e-mail and ID number) and
    sealed with their data key, replacing any earlier one. Nothing is written when it is refused.
    Erasing the customer shreds their key, and the code with it."""
    code = antiphishing.normalize_code(raw, personal=personal)
    tx.execute(
        _PUT_CODE,
        {"customer_id": customer_id, "code_ct": seal_code(data_key, customer_id, code), "now": tx.timestamp(now)},
    )
    log.append(tx, caller.event(ACTION_CODE_SET, OK, customer_id=customer_id, fields=(CODE_FIELD,)), now=now)


def clear_anti_phishing_code(tx: Tx, *, log: EventLog, caller: Caller, customer_id: str, now: datetime) -> bool:
    """Remove the customer's code; True when there was one. Messages then go without it."""
    cleared = tx.execute(_CLEAR_CODE, {"customer_id": customer_id, "now": tx.timestamp(now)}).rowcount > 0
    log.append(tx, caller.event(ACTION_CODE_CLEAR, OK, customer_id=customer_id, fields=(CODE_FIELD,)), now=now)
    return bool(cleared)


# -- enqueue --------------------------------------------------------------------------------------

_WINDOW: Final = timedelta(seconds=DIGEST_WINDOW_SECONDS)
# The widths of the outbox's columns.
_SOURCE_MAX: Final = 32
_SOURCE_REF_MAX: Final = 64


def digest_key(customer_id: str, event: Event, channel: Channel) -> str:
    """What the outbox rows of one customer, digestible event and channel share. The worker sends
    the due rows of one key as one message (``count`` of them) and marks the rest ``digested``."""
    return f"{customer_id}|{event}|{channel}"


def enqueue(
    tx: Tx,
    *,
    customer_id: str,
    event: Event,
    details: Mapping[str, object],
    source: str,
    source_ref: str,
    occurred_at: datetime,
    now: datetime,
    expand_later: bool = False,
    previous_address: PreviousAddress | None = None,
) -> list[str]:
    """Queue ``event`` for the customer on every channel they get it on, in ``tx``.

    With ``expand_later`` (the reveal's hot path), one intent for the event is written instead
    (``models.NotificationIntentRow``), with its details checked, and the worker expands it into
    the rows below (``expand_pending``); no outbox row exists yet, so no id is returned.

    ``details`` are checked first (``InvalidInput`` naming the detail, before anything is
    written). Each row is due when the schedule says: now, after the quiet hours in the
    customer's zone for SMS and push (unless the event overrides them), or, for an event that may
    be digested, at the end of the window when a message of it went out within the last one (the
    first reveal is told at once, the ones after it in one digest). Rate limits are the worker's,
    which knows what actually went out. A repeat of (``source``, ``source_ref``, customer, event,
    channel) is ignored. Returns the ids of the rows written (empty for a repeat).
    """
    if not 0 < len(source) <= _SOURCE_MAX:
        raise InvalidInput(f"source: 1-{_SOURCE_MAX} characters", field="source")
    if not 0 < len(source_ref) <= _SOURCE_REF_MAX:
        raise InvalidInput(f"source_ref: 1-{_SOURCE_REF_MAX} characters", field="source_ref")
    previous_channel = None
    if previous_address is not None:
        previous_channel = _previous_channel(event, previous_address)
        if len(source_ref) + len(_PREVIOUS_SUFFIX) > _SOURCE_REF_MAX:
            raise InvalidInput(
                f"source_ref: at most {_SOURCE_REF_MAX - len(_PREVIOUS_SUFFIX)} characters", field="source_ref"
            )
    body = _checked_body(event, details)
    if expand_later:
        stamp = tx.timestamp(times.utc(now))
        tx.execute(
            _INSERT_INTENT,
            {
                "customer_id": customer_id,
                "event": str(event),
                "details": body,
                "source": source,
                "source_ref": source_ref,
                # A reveal's event happens as it is queued: one conversion serves both.
                "occurred_at": stamp if occurred_at is now else tx.timestamp(times.utc(occurred_at)),
                "now": stamp,
            },
        )
        return []
    chosen = settings_for(tx, customer_id=customer_id)
    channels = chosen.preferences[event]
    now = times.utc(now)
    digestible = CATALOGUE[event].digest
    recent: dict[str, _DigestRow] = {}
    if digestible:
        rows = tx.all(
            _DIGESTS,
            {
                "customer_id": customer_id,
                "event": str(event),
                "since": tx.timestamp(now - 2 * _WINDOW),
                "now": tx.timestamp(now),
                "sent": SENT,
                "sending": SENDING,
                "queued": QUEUED,
            },
        )
        recent = {row.channel: row for row in rows}
    created: list[str] = []
    for channel in channels:
        start = now
        key: str | None = None
        if digestible:
            key = digest_key(customer_id, event, channel)
            found = recent.get(str(channel))
            decision = schedule.digest_decision(
                event,
                now=now,
                last_sent_at=None if found is None or found.last_at is None else times.stored(found.last_at),
                pending_due=None if found is None or found.pending_due is None else times.stored(found.pending_due),
            )
            start = decision.due
        due_at = schedule.deliver_at(event, channel, start, chosen.zone)
        row = tx.one(
            _INSERT,
            {
                "notification_id": ids.new_uuid(),
                "customer_id": customer_id,
                "event": str(event),
                "channel": str(channel),
                "details": body,
                "source": source,
                "source_ref": source_ref,
                "occurred_at": tx.timestamp(times.utc(occurred_at)),
                "created_at": tx.timestamp(now),
                "state": QUEUED,
                "due_at": tx.timestamp(due_at),
                "digest_key": key,
                "address_ct": None,
            },
        )
        if row is not None:
            created.append(row.notification_id)
    if previous_address is not None and previous_channel is not None:
        row = tx.one(
            _INSERT,
            {
                "notification_id": ids.new_uuid(),
                "customer_id": customer_id,
                "event": str(event),
                "channel": str(previous_channel),
                "details": body,
                "source": source,
                "source_ref": source_ref + _PREVIOUS_SUFFIX,
                "occurred_at": tx.timestamp(times.utc(occurred_at)),
                "created_at": tx.timestamp(now),
                "state": QUEUED,
                "due_at": tx.timestamp(schedule.deliver_at(event, previous_channel, now, chosen.zone)),
                "digest_key": None,
                "address_ct": previous_address.sealed,
            },
        )
        if row is not None:
            created.append(row.notification_id)
    return created


_PREVIOUS_SUFFIX: Final = ":previous"
# The channel that reaches each kind of contact a change can replace.
_PREVIOUS_CHANNELS: Final = {str(Channel.SMS): Channel.SMS, str(Channel.EMAIL): Channel.EMAIL}


def _previous_channel(event: Event, previous: PreviousAddress) -> Channel:
    if event is not Event.CONTACT_CHANGED:
        raise InvalidInput("previous_address: only for contact.changed", field="previous_address")
    channel = _PREVIOUS_CHANNELS.get(previous.channel)
    if channel is None or not previous.sealed:
        raise InvalidInput("previous_address: a sealed mobile (sms) or e-mail (email)", field="previous_address")
    return channel


def _checked_body(event: Event, details: Mapping[str, object]) -> str:
    """The details checked (``parse_details``) as the row stores them. A reveal's details repeat
    (a handful of roles, purposes and field sets), so the check runs once per distinct set."""
    try:
        # orjson for the memo's key: the stdlib encoder was a fifth of what queueing cost a reveal.
        given = orjson.dumps(details, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        given = None  # not JSON as given (a caller's own types): checked without the memo
    if given is None:
        return _body(parse_details(event, details))
    return _checked_json(event, given)


@functools.lru_cache(maxsize=1024)
def _checked_json(event: Event, given: bytes) -> str:
    # A refusal raises and is not remembered; only bodies that passed are.
    return _body(parse_details(event, orjson.loads(given)))


def _body(checked: Details) -> str:
    return json.dumps(checked.given(), sort_keys=True, ensure_ascii=False)


def expand_pending(tx: Tx, *, now: datetime, limit: int = 500) -> int:
    """Turn up to ``limit`` intents written with ``expand_later`` into outbox rows, one per
    channel, as ``enqueue`` would have written them, and delete each; how many were expanded.

    The rows and the deletion commit together, so an intent is expanded once. Should it be
    expanded twice all the same (a worker that lost its transaction after sending nothing),
    ``enqueue`` ignores a repeat of (source, source_ref, customer, event, channel)."""
    rows = tx.all(_INTENTS_PG if tx.dialect == "postgresql" else _INTENTS, {"limit": limit})
    for row in rows:
        enqueue(
            tx,
            customer_id=row.customer_id,
            event=Event(row.event),
            details=json.loads(row.details),
            source=row.source,
            source_ref=row.source_ref,
            occurred_at=times.stored(row.occurred_at),
            now=now,
        )
        tx.execute(_DELETE_INTENT, {"intent_id": row.intent_id})
    return len(rows)
