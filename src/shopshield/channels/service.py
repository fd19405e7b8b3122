"""The registry of official channels, the contact log, the verification, its one-click report and
the contact status, over one transaction each (``Tx``, or a unit of work's through
``Tx.of_session``).

- A registry change writes its history row and raises a security alert (``channel_registry``) in
  its transaction: the registry decides what customers are told is genuine (decision 0029).
- Logging a contact appends an access event of the agent on the customer (the agent used their
  mobile or e-mail) in the same transaction.
- The verification reads the registry and the contact log only: no personal field, so it records
  no access event; it answers about the one customer asked for, names a role and a reason code,
  never an agent. A ``not_verified`` answer carries a report token (``tokens``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple

from sqlalchemy.orm import Session

from shopshield.alerts.service import Alert, AlertMetrics, hourly_key, raise_alert
from shopshield.channels import numbers, tokens
from shopshield.channels.catalogue import (
    CHANNEL_WORDS,
    FROM_KINDS,
    ORDER_WORDS,
    REASON_WORDS,
    REASONS,
    ContactChannel,
    Language,
    Reason,
    Verdict,
    role_words,
)
from shopshield.channels.models import ADDED, REMOVED
from shopshield.channels.numbers import Kind
from shopshield.channels.schemas import ChannelIn, ContactIn, ReportIn, VerifyIn
from shopshield.channels.verdict import Facts, Window, decide
from shopshield.core import ids, times
from shopshield.core.callers import Caller
from shopshield.core.db import Statement, Tx
from shopshield.core.errors import Conflict, InvalidInput, NotFound
from shopshield.core.events import OK, AccessEvent, EventLog
from shopshield.core.policy import PolicySet
from shopshield.scams import service as scams
from shopshield.scams.formats import parse_report
from shopshield.scams.indicators import PLACEHOLDERS
from shopshield.vault import service as vault_service
from shopshield.vault.service import Vault
from shopshield.verify.links import OFFICIAL, check_link
from shopshield.verify.official import Official

Json = dict[str, Any]

ALERT_KIND: Final = "channel_registry"
CONTACT_ACTION: Final = "contact"
REPORT_ACTION: Final = "contact_report"
# A contact logged ahead of the logging system's clock by more than this is refused: clocks drift
# by seconds, a wrong date by days.
CLOCK_SLACK: Final = timedelta(minutes=5)
EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
# Which of the customer's fields an agent used to make each kind of contact.
USED_FIELD: Final = {ContactChannel.CALL: "mobile", ContactChannel.SMS: "mobile", ContactChannel.EMAIL: "email"}
# A customer asking about one moment has had a handful of contacts around it; the cap bounds the
# read whatever the log holds.
NEARBY_LIMIT: Final = 50
# The scam-report format's channel for each contact channel.
REPORT_CHANNEL: Final = {ContactChannel.CALL: "call", ContactChannel.SMS: "sms", ContactChannel.EMAIL: "email"}


class TokenUnusable(Conflict):
    """A report token that was used already or has expired (409, with which in ``code``)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class VerifyConfig:
    """The verification's settings (``settings.Settings``: ``contact_*``, ``report_token_days``)."""

    window: Window
    status_window: timedelta
    token_ttl: timedelta

    @classmethod
    def of(cls, *, window_minutes: int, open_max_minutes: int, status_minutes: int, token_days: int) -> VerifyConfig:
        return cls(
            window=Window(slack=timedelta(minutes=window_minutes), open_max=timedelta(minutes=open_max_minutes)),
            status_window=timedelta(minutes=status_minutes),
            token_ttl=timedelta(days=token_days),
        )


# -- the registry ----------------------------------------------------------------------------------


class _Channel(NamedTuple):
    channel_id: str
    kind: str
    value: str
    label: str | None
    added_at: Any
    added_by: str


_ADD = Statement(
    "INSERT INTO official_channels (channel_id, kind, value, label, added_at, added_by) "
    "VALUES (:channel_id, :kind, :value, :label, :now, :added_by) ON CONFLICT (kind, value) DO NOTHING "
    "RETURNING channel_id"
)
_FIND = Statement(
    "SELECT channel_id, kind, value, label, added_at, added_by FROM official_channels "
    "WHERE kind = :kind AND value = :value",
    row=_Channel,
)
_REMOVE = Statement(
    "DELETE FROM official_channels WHERE channel_id = :channel_id "
    "RETURNING channel_id, kind, value, label, added_at, added_by",
    row=_Channel,
)
_LIST = Statement(
    "SELECT channel_id, kind, value, label, added_at, added_by FROM official_channels ORDER BY kind, value",
    row=_Channel,
)
_VALUES = Statement("SELECT value FROM official_channels WHERE kind = :kind ORDER BY value")
_CHANGE = Statement(
    "INSERT INTO official_channel_changes (change_id, channel_id, action, kind, value, label, actor_id, actor_role, "
    "changed_at) VALUES (:change_id, :channel_id, :action, :kind, :value, :label, :actor_id, :actor_role, :now)"
)


class _Change(NamedTuple):
    change_id: str
    channel_id: str
    action: str
    kind: str
    value: str
    label: str | None
    actor_id: str
    actor_role: str
    changed_at: Any


_CHANGES = Statement(
    "SELECT change_id, channel_id, action, kind, value, label, actor_id, actor_role, changed_at "
    "FROM official_channel_changes ORDER BY changed_at DESC, change_id LIMIT :limit",
    row=_Change,
)


def _channel_json(row: _Channel) -> Json:
    return {
        "channel_id": row.channel_id,
        "kind": row.kind,
        "value": row.value,
        "label": row.label,
        "added_at": times.iso(times.stored(row.added_at)),
        "added_by": row.added_by,
    }


def _record_change(
    tx: Tx, *, caller: Caller, row: _Channel, action: str, now: datetime, metrics: AlertMetrics | None
) -> None:
    who = caller.principal
    tx.execute(
        _CHANGE,
        {
            "change_id": ids.new_uuid(),
            "channel_id": row.channel_id,
            "action": action,
            "kind": row.kind,
            "value": row.value,
            "label": row.label,
            "actor_id": who.principal_id,
            "actor_role": who.role,
            "now": tx.timestamp(now),
        },
    )
    # One alert per actor and hour, its repeats counted: a script adding fifty numbers is one alert
    # with fifty occurrences, and the history table has each of them.
    raise_alert(
        tx,
        Alert(
            kind=ALERT_KIND,
            actor_id=who.principal_id,
            actor_role=who.role,
            reason=f"official channels changed: a {row.kind} was {action}; customers are told these are genuine",
            details={"action": action, "kind": row.kind, "channel_id": row.channel_id},
            dedup_key=hourly_key(ALERT_KIND, who.principal_id, now),
        ),
        now=now,
        metrics=metrics,
    )


def add_channel(
    tx: Tx, *, caller: Caller, channel: ChannelIn, now: datetime, metrics: AlertMetrics | None = None
) -> Json:
    """Add an official channel in its normalised form; ``Conflict`` (409) when it is there already."""
    value = numbers.normalize(channel.kind, channel.value)
    params = {
        "channel_id": ids.new_id("ch-"),
        "kind": str(channel.kind),
        "value": value,
        "label": channel.label,
        "now": tx.timestamp(now),
        "added_by": caller.principal.principal_id,
    }
    if tx.one(_ADD, params) is None:
        existing = tx.one(_FIND, {"kind": str(channel.kind), "value": value})
        where = f" as {existing.channel_id}" if existing is not None else ""
        raise Conflict(f"this {channel.kind} is already an official channel{where}")
    row = _Channel(params["channel_id"], str(channel.kind), value, channel.label, now, params["added_by"])
    _record_change(tx, caller=caller, row=row, action=ADDED, now=now, metrics=metrics)
    return _channel_json(row)


def remove_channel(
    tx: Tx, *, caller: Caller, channel_id: str, now: datetime, metrics: AlertMetrics | None = None
) -> Json:
    """Remove an official channel; ``NotFound`` (404) when there is none with this id."""
    row = tx.one(_REMOVE, {"channel_id": channel_id})
    if row is None:
        raise NotFound("no official channel with this id")
    _record_change(tx, caller=caller, row=row, action=REMOVED, now=now, metrics=metrics)
    return {**_channel_json(row), "removed_at": times.iso(now)}


def list_channels(tx: Tx, *, kind: Kind | None = None) -> list[Json]:
    return [_channel_json(row) for row in tx.all(_LIST, {}) if kind is None or row.kind == kind]


def list_changes(tx: Tx, *, limit: int = 100) -> list[Json]:
    """The registry's history, newest first."""
    return [
        {**row._asdict(), "changed_at": times.iso(times.stored(row.changed_at))}
        for row in tx.all(_CHANGES, {"limit": limit})
    ]


def official_values(tx: Tx, kind: Kind | str) -> list[str]:
    """The normalised values of ``kind`` in the registry, sorted: what the link checker reads for
    ``web_domain`` and ``brand_name``."""
    return [str(value) for (value,) in tx.all(_VALUES, {"kind": str(Kind(kind))})]


def _official_from(tx: Tx, channel: ContactChannel, raw: str) -> tuple[bool, str | None]:
    """Whether ``raw`` as a ``channel`` sender can be read at all, and the official value it is
    (None: readable but not official). For e-mail the official value is the registry's domain the
    sender's address is within (mail from notice.example.com is example.com's)."""
    if " ".join(raw.casefold().split()) in PLACEHOLDERS:
        return False, None
    if channel is ContactChannel.EMAIL:
        try:
            host = numbers.sender_address_domain(raw)
        except InvalidInput:
            return False, None
        domains = official_values(tx, Kind.EMAIL_DOMAIN)
        return True, next((d for d in domains if numbers.within(host, d)), None)
    readings: list[str] = []
    for kind in FROM_KINDS[channel]:
        with contextlib.suppress(InvalidInput):
            readings.append(numbers.normalize(kind, raw, field="from"))
    if not readings:
        return False, None
    for kind in FROM_KINDS[channel]:
        for value in readings:
            if tx.one(_FIND, {"kind": str(kind), "value": value}) is not None:
                return True, value
    return True, None


# -- the contact log --------------------------------------------------------------------------------


class _Agent(NamedTuple):
    role: str
    disabled_at: Any


class _Ticket(NamedTuple):
    customer_id: str
    order_id: str | None


_AGENT = Statement("SELECT role, disabled_at FROM principals WHERE principal_id = :principal_id", row=_Agent)
_TICKET = Statement("SELECT customer_id, order_id FROM tickets WHERE ticket_id = :ticket_id", row=_Ticket)
_CONTACT_EXISTS = Statement("SELECT contact_id FROM contacts WHERE contact_id = :contact_id")
_LOG = Statement(
    "INSERT INTO contacts (contact_id, customer_id, channel, from_value, agent_id, agent_role, reason, ticket_id, "
    "order_id, started_at, ended_at, logged_at, logged_by) VALUES (:contact_id, :customer_id, :channel, :from_value, "
    ":agent_id, :agent_role, :reason, :ticket_id, :order_id, :started_at, :ended_at, :now, :logged_by)"
)


class _Ended(NamedTuple):
    contact_id: str
    started_at: Any
    ended_at: Any


_CONTACT_TIMES = Statement(
    "SELECT contact_id, started_at, ended_at FROM contacts WHERE contact_id = :contact_id", row=_Ended
)
_END = Statement("UPDATE contacts SET ended_at = :ended_at WHERE contact_id = :contact_id AND ended_at IS NULL")


def _check_time(moment: datetime, field: str, now: datetime) -> None:
    if not EARLIEST <= moment <= now + CLOCK_SLACK:
        raise InvalidInput(f"{field}: must be after 2000-01-01 and not in the future", field=field)


def log_contact(
    tx: Tx, *, audit: EventLog, policies: PolicySet, caller: Caller, contact: ContactIn, now: datetime
) -> Json:
    """Log an outbound contact and record it as the agent's access to the customer.

    Checked first, nothing written on a refusal: the customer exists and is not erased (404), the
    agent is an active principal, the ticket exists and is about this customer, ``from`` is an
    official channel of the contact's kind, the times are sane (422 naming the field).
    """
    if not vault_service.is_live(tx=tx, customer_id=contact.customer_id):
        raise NotFound("no such customer")
    agent = tx.one(_AGENT, {"principal_id": contact.agent})
    if agent is None or agent.disabled_at is not None:
        raise InvalidInput("agent: must be the principal id of an active principal", field="agent")
    ticket = tx.one(_TICKET, {"ticket_id": contact.ticket_id})
    if ticket is None:
        raise InvalidInput("ticket_id: no such ticket", field="ticket_id")
    if ticket.customer_id != contact.customer_id:
        raise InvalidInput("ticket_id: must be a ticket about this customer", field="ticket_id")
    readable, official = _official_from(tx, contact.channel, contact.from_)
    if official is None:
        kinds = " or ".join(FROM_KINDS[contact.channel])
        problem = "is not" if readable else "cannot be read as"
        raise InvalidInput(
            f"from: {problem} an official {kinds} for a {contact.channel} contact; add it to the registry first",
            field="from",
        )
    _check_time(contact.started_at, "started_at", now)
    if contact.ended_at is not None:
        _check_time(contact.ended_at, "ended_at", now)
        if contact.ended_at < contact.started_at:
            raise InvalidInput("ended_at: must not be before started_at", field="ended_at")
    contact_id = contact.contact_id or ids.new_id("ct-")
    if tx.one(_CONTACT_EXISTS, {"contact_id": contact_id}) is not None:
        raise Conflict("a contact with this contact_id is already logged")
    tx.execute(
        _LOG,
        {
            "contact_id": contact_id,
            "customer_id": contact.customer_id,
            "channel": str(contact.channel),
            "from_value": official,
            "agent_id": contact.agent,
            "agent_role": agent.role,
            "reason": contact.reason,
            "ticket_id": contact.ticket_id,
            "order_id": ticket.order_id,
            "started_at": tx.timestamp(contact.started_at),
            "ended_at": None if contact.ended_at is None else tx.timestamp(contact.ended_at),
            "now": tx.timestamp(now),
            "logged_by": caller.principal.principal_id,
        },
    )
    # The agent's access, not the logging system's: the agent used the customer's number. The
    # address is the logging system's, which is where the record came from.
    event = AccessEvent(
        actor_id=contact.agent,
        actor_kind=policies.role(agent.role).actor_kind,
        actor_role=agent.role,
        action=CONTACT_ACTION,
        channel=caller.channel,
        outcome=OK,
        customer_id=contact.customer_id,
        order_id=ticket.order_id,
        fields=(USED_FIELD[contact.channel],),
        source_ip=caller.source_ip,
        ticket_id=contact.ticket_id,
        reason=contact.reason,
    )
    audit.append(tx, event, now=now)
    return {
        "contact_id": contact_id,
        "customer_id": contact.customer_id,
        "channel": str(contact.channel),
        "from": official,
        "agent": contact.agent,
        "reason": contact.reason,
        "ticket_id": contact.ticket_id,
        "started_at": times.iso(contact.started_at),
        "ended_at": None if contact.ended_at is None else times.iso(contact.ended_at),
    }


def end_contact(tx: Tx, *, contact_id: str, ended_at: datetime | None, now: datetime) -> Json:
    """Set a logged contact's end (now by default); 404 for no such contact, 409 when it has one."""
    found = tx.one(_CONTACT_TIMES, {"contact_id": contact_id})
    if found is None:
        raise NotFound("no contact with this contact_id")
    if found.ended_at is not None:
        raise Conflict("the contact has ended already")
    end = ended_at or now
    _check_time(end, "ended_at", now)
    if end < times.stored(found.started_at):
        raise InvalidInput("ended_at: must not be before the contact's started_at", field="ended_at")
    if tx.execute(_END, {"contact_id": contact_id, "ended_at": tx.timestamp(end)}).rowcount != 1:
        raise Conflict("the contact has ended already")
    return {"contact_id": contact_id, "ended_at": times.iso(end)}


# -- verification -----------------------------------------------------------------------------------


class _Nearby(NamedTuple):
    agent_role: str
    reason: str
    order_id: str | None
    started_at: Any
    ended_at: Any


_NEARBY = Statement(
    "SELECT agent_role, reason, order_id, started_at, ended_at FROM contacts "
    "WHERE customer_id = :customer_id AND started_at >= :earliest AND started_at <= :latest "
    "AND channel = :channel AND from_value = :from_value ORDER BY started_at DESC LIMIT :limit",
    row=_Nearby,
)


class _Recent(NamedTuple):
    agent_role: str
    reason: str
    order_id: str | None
    started_at: Any
    ended_at: Any
    channel: str


_RECENT = Statement(
    "SELECT agent_role, reason, order_id, started_at, ended_at, channel FROM contacts "
    "WHERE customer_id = :customer_id AND started_at >= :earliest AND started_at <= :latest "
    "ORDER BY started_at DESC LIMIT :limit",
    row=_Recent,
)
_TOKEN = Statement(
    "INSERT INTO contact_report_tokens (token_digest, customer_id, checked_ct, created_at, created_by, expires_at) "
    "VALUES (:token_digest, :customer_id, :checked_ct, :now, :created_by, :expires_at)"
)


class _Offered(NamedTuple):
    created_at: Any
    report_id: str | None


_OFFERED = Statement(
    "SELECT created_at, report_id FROM contact_report_tokens WHERE created_at >= :since ORDER BY created_at",
    row=_Offered,
)


def not_verified_since(tx: Tx, *, since: datetime) -> list[tuple[datetime, bool]]:
    """Every ``not_verified`` answer given since ``since`` (each offered its one-click report, so
    each left a token row): when, and whether the customer turned it into a scam report. No
    customer and nothing checked: the security team's count of verification failures."""
    rows = tx.all(_OFFERED, {"since": tx.timestamp(since)})
    return [(times.stored(row.created_at), row.report_id is not None) for row in rows]


def order_ref(order_id: str | None) -> str | None:
    """The order as a customer recognises it without it being spelled out: its last four."""
    return None if not order_id else f"****{order_id[-4:]}"


def _describe(row: _Nearby, channel: ContactChannel, language: Language) -> Json:
    started = times.stored(row.started_at)
    return {
        "role": role_words(row.agent_role).say(language),
        "reason": row.reason,
        "reason_text": REASONS[row.reason].say(language) if row.reason in REASONS else row.reason,
        "channel": str(channel),
        "started_at": times.iso(started),
        "ended_at": None if row.ended_at is None else times.iso(times.stored(row.ended_at)),
        "order_ref": order_ref(row.order_id),
    }


def _message(reason: Reason, language: Language, contact: _Nearby | None, channel: ContactChannel) -> str:
    text = REASON_WORDS[reason].say(language)
    if reason is not Reason.CONTACT_LOGGED or contact is None:
        return text
    ref = order_ref(contact.order_id)
    return text.format(
        channel=CHANNEL_WORDS[channel].say(language),
        role=role_words(contact.agent_role).say(language),
        reason=REASONS[contact.reason].say(language) if contact.reason in REASONS else contact.reason,
        order=ORDER_WORDS.say(language).format(ref=ref[-4:]) if ref else "",
    )


def _nearest(
    tx: Tx,
    config: VerifyConfig,
    *,
    customer_id: str,
    channel: ContactChannel,
    official: str,
    at: datetime,
    now: datetime,
) -> _Nearby | None:
    window = config.window
    rows = tx.all(
        _NEARBY,
        {
            "customer_id": customer_id,
            "earliest": tx.timestamp(window.earliest_start(at)),
            "latest": tx.timestamp(at + window.slack),
            "channel": str(channel),
            "from_value": official,
            "limit": NEARBY_LIMIT,
        },
    )
    covering = [
        row
        for row in rows
        if window.covers(
            started_at=times.stored(row.started_at),
            ended_at=None if row.ended_at is None else times.stored(row.ended_at),
            at=at,
            now=now,
        )
    ]
    return min(covering, key=lambda row: abs(times.stored(row.started_at) - at), default=None)


def _payee_official(tx: Tx, raw: str | None) -> bool | None:
    if raw is None:
        return None
    try:
        value = numbers.payee_account(raw, field="payee_account")
    except InvalidInput:
        return False  # every account of the store's is letters and digits
    return value in official_values(tx, Kind.PAYEE_ACCOUNT)


def _url_official(tx: Tx, raw: str | None) -> bool | None:
    """Whether the link the customer was sent is on one of the registry's web domains, by the link
    checker's reading of it (public-suffix registered domain, punycode, userinfo tricks): a
    lookalike, an IP host or a link nobody can read is not one of ours."""
    if raw is None:
        return None
    domains = official_values(tx, Kind.WEB_DOMAIN)
    if not domains:
        return False
    official = Official.of(domains, official_values(tx, Kind.BRAND_NAME))
    return check_link(raw, official).verdict == OFFICIAL


def verify_contact(
    session: Session, *, vault: Vault, caller: Caller, request: VerifyIn, config: VerifyConfig, now: datetime
) -> Json:
    """The answer to "did the store really contact me?" about one customer (see ``verdict``).

    404 for a customer who does not exist or is erased; otherwise a verdict, reasons in the
    requested language, the contact (role, reason, channel, time, order's last four) when
    verified, and a report token when not verified.
    """
    tx = Tx.of_session(session)
    if request.at is not None:
        _check_time(request.at, "at", now)
    if not vault_service.is_live(tx=tx, customer_id=request.customer_id):
        raise NotFound("no such customer")
    at = request.at or now
    readable, official = _official_from(tx, request.channel, request.from_)
    contact = None
    if official is not None:
        contact = _nearest(
            tx, config, customer_id=request.customer_id, channel=request.channel, official=official, at=at, now=now
        )
    decision = decide(
        Facts(
            from_official=None if not readable else official is not None,
            contact_found=contact is not None,
            payee_official=_payee_official(tx, request.payee_account),
            url_official=_url_official(tx, request.url),
        )
    )
    answer: Json = {
        "verdict": str(decision.verdict),
        "reasons": [
            {"code": str(reason), "message": _message(reason, request.language, contact, request.channel)}
            for reason in decision.reasons
        ],
    }
    if decision.describes_contact and contact is not None:
        answer["contact"] = _describe(contact, request.channel, request.language)
    if decision.verdict is Verdict.NOT_VERIFIED:
        answer["report_token"] = _issue_token(
            session,
            vault=vault,
            caller=caller,
            request=request,
            at=at,
            reasons=decision.reasons,
            config=config,
            now=now,
        )
        answer["report_expires_at"] = times.iso(now + config.token_ttl)
    return answer


def _issue_token(
    session: Session,
    *,
    vault: Vault,
    caller: Caller,
    request: VerifyIn,
    at: datetime,
    reasons: tuple[Reason, ...],
    config: VerifyConfig,
    now: datetime,
) -> str:
    key = vault_service.data_key(vault=vault, session=session, customer_id=request.customer_id)
    if key is None:
        raise NotFound("no such customer")
    token = tokens.new_token()
    token_digest = tokens.digest(token)
    checked = {
        "channel": str(request.channel),
        "from": request.from_.strip(),
        "at": times.iso(at),
        "url": request.url,
        "payee_account": request.payee_account,
        "reasons": [str(r) for r in reasons],
    }
    tx = Tx.of_session(session)
    tx.execute(
        _TOKEN,
        {
            "token_digest": token_digest,
            "customer_id": request.customer_id,
            "checked_ct": tokens.seal_checked(
                key, customer_id=request.customer_id, token_digest=token_digest, checked=checked
            ),
            "now": tx.timestamp(now),
            "created_by": caller.principal.principal_id,
            "expires_at": tx.timestamp(now + config.token_ttl),
        },
    )
    return token


# -- the one-click report ----------------------------------------------------------------------------


class _Token(NamedTuple):
    customer_id: str
    checked_ct: Any
    expires_at: Any
    used_at: Any
    report_id: str | None


_FIND_TOKEN = Statement(
    "SELECT customer_id, checked_ct, expires_at, used_at, report_id FROM contact_report_tokens "
    "WHERE token_digest = :token_digest",
    row=_Token,
)
_USE_TOKEN = Statement(
    "UPDATE contact_report_tokens SET used_at = :now, report_id = :report_id "
    "WHERE token_digest = :token_digest AND used_at IS NULL"
)


def report(
    session: Session,
    *,
    vault: Vault,
    audit: EventLog,
    caller: Caller,
    body: ReportIn,
    now: datetime,
    customer_id: str | None = None,
) -> Json:
    """Turn a report token into a scam report, pre-filled with what was checked, through the scam
    reports' own intake (``scams.service.store``): clusters and attribution see it like any other.

    404 for a token that was never given out; 409 for one used already (``token_used``) or expired
    (``token_expired``); 422 for a field the scam-report format refuses. The token is spent in the
    transaction that stores the report, so a report is stored at most once per token. With
    ``customer_id``, a token of another customer's is refused as unknown (404), before anything.
    """
    tx = Tx.of_session(session)
    token_digest = tokens.digest(body.report_token)
    found = tx.one(_FIND_TOKEN, {"token_digest": token_digest})
    # ``customer_id``: the caller acts for this customer only (their own pages, decision 0035), so a
    # token given out for anyone else is as unknown as one never given out.
    if found is None or (customer_id is not None and found.customer_id != customer_id):
        raise NotFound("no such report token")
    if found.used_at is not None:
        raise TokenUnusable("this report token was used already: the report is stored", code="token_used")
    if times.stored(found.expires_at) <= now:
        raise TokenUnusable(
            "this report token has expired: check the contact again for a new one", code="token_expired"
        )
    key = vault_service.data_key(vault=vault, session=session, customer_id=found.customer_id)
    if key is None:
        raise NotFound("no such customer")
    checked = tokens.open_checked(
        key, customer_id=found.customer_id, token_digest=token_digest, sealed=bytes(found.checked_ct)
    )
    report_id = ids.new_id("vr-")
    mapping: dict[str, Any] = {
        "report_id": report_id,
        "reported_at": times.iso(now),
        "customer_id": found.customer_id,
        # A time up to the clock slack ahead of ours was accepted; a report cannot precede its contact.
        "contacted_at": times.iso(min(datetime.fromisoformat(checked["at"]), now)),
        "channel": REPORT_CHANNEL[ContactChannel(checked["channel"])],
        "contact_from": checked["from"],
        "claimed_identity": body.claimed_identity or "the store's customer service",
        "knew": "|".join(body.knew) or None,
        "url": checked.get("url"),
        "payee_account": checked.get("payee_account"),
        "loss_amount": None if body.loss_amount is None else f"{body.loss_amount:.2f}",
    }
    if body.currency is not None:
        mapping["currency"] = body.currency
    scam_report = parse_report(mapping, now=now)
    if (
        tx.execute(
            _USE_TOKEN, {"now": tx.timestamp(now), "report_id": report_id, "token_digest": token_digest}
        ).rowcount
        != 1
    ):
        raise TokenUnusable("this report token was used already: the report is stored", code="token_used")
    scams.store(session=session, reports=[scam_report], received_by=caller.principal.principal_id, now=now)
    # Opening what the customer typed is a read of data sealed under their key: recorded.
    audit.append(
        tx,
        caller.event(REPORT_ACTION, OK, customer_id=found.customer_id, reason="scam report from a contact check"),
        now=now,
    )
    return {"report_id": report_id, "customer_id": found.customer_id, "reasons": checked.get("reasons", [])}


# -- is the store contacting me now? -------------------------------------------------------------


def contact_status(tx: Tx, *, customer_id: str, config: VerifyConfig, language: Language, now: datetime) -> Json:
    """The store's contacts with the customer in progress now or ended within the status window,
    newest first: role, reason, channel and times, for an in-app banner."""
    if not vault_service.is_live(tx=tx, customer_id=customer_id):
        raise NotFound("no such customer")
    window = config.window
    earliest = now - max(window.open_max, config.status_window)
    rows = tx.all(
        _RECENT,
        {
            "customer_id": customer_id,
            "earliest": tx.timestamp(earliest),
            "latest": tx.timestamp(now + CLOCK_SLACK),
            "limit": NEARBY_LIMIT,
        },
    )
    contacts: list[Json] = []
    for found in rows:
        started = times.stored(found.started_at)
        ended = None if found.ended_at is None else times.stored(found.ended_at)
        in_progress = window.in_progress(started_at=started, ended_at=ended, now=now)
        if not in_progress and (ended is None or ended < now - config.status_window):
            continue
        row = _Nearby(found.agent_role, found.reason, found.order_id, found.started_at, found.ended_at)
        contacts.append({**_describe(row, ContactChannel(found.channel), language), "in_progress": in_progress})
    return {"customer_id": customer_id, "contacts": contacts, "as_of": times.iso(now)}
