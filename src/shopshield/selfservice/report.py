"""The access report (``access.report``) read out for the customer: one plain line per access, in
Simplified Chinese or English, in the customer's own time zone.

Pure: report items in, rows of words out. A row says who by role (``words.ROLES``), what was done
to which of the customer's details, why (the purpose code's words), when, through what, and the
outcome. The actor's id is never used, so no staff member's name or id reaches the page, even
where a store names its principals after people.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shopshield.selfservice.words import (
    ACCESSED,
    ACTIONS,
    CHANNELS,
    FIELDS,
    NO_PURPOSE,
    OUTCOMES,
    PURPOSES,
    ROLES,
    SOMEONE,
    YOUR_DATA,
    Lang,
    Words,
    text,
)

# Actions whose words say everything: the fields they record ("notification_preferences" for
# prefs_view) would only repeat them.
_COMPLETE: frozenset[str] = frozenset(
    {
        "login",
        "report",
        "ticket",
        "contact",
        "contact_report",
        "call",
        "notify",
        "scope",
        "warn",
        "prefs_view",
        "prefs_write",
        "code_set",
        "code_clear",
        "page_link",
    }
)


@dataclass(frozen=True, slots=True)
class Row:
    when: str
    who: str
    what: str
    why: str
    result: str
    refused: bool


def _say(table: Mapping[str, Words], code: str | None, fallback: Words, lang: Lang) -> str:
    found = table.get(code or "")
    return (found or fallback).say(lang)


def _fields(codes: Sequence[str], lang: Lang) -> str:
    names = [FIELDS[c].say(lang) if c in FIELDS else YOUR_DATA.say(lang) for c in codes]
    unique = list(dict.fromkeys(names))
    return ("、" if lang is Lang.ZH else ", ").join(unique)


def when_text(at: str, zone: ZoneInfo) -> str:
    """An event's time (ISO 8601 with offset) as the customer reads it, in their zone, to the minute."""
    moment = datetime.fromisoformat(at).astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M")


def row(item: Mapping[str, Any], lang: Lang, zone: ZoneInfo) -> Row:
    """One access event of the report as a customer reads it."""
    actor = item.get("actor") or {}
    role = str(actor.get("role") or "")
    action = str(item.get("action") or "")
    fields = [str(f) for f in item.get("fields") or ()]
    space = "" if lang is Lang.ZH else " "
    what = _say(ACTIONS, action, ACCESSED, lang)
    if action not in _COMPLETE:
        what = f"{what}{space}{_fields(fields, lang) if fields else YOUR_DATA.say(lang)}"
    channel = CHANNELS.get(str(item.get("channel") or ""))
    if channel is not None:
        via = text("via", lang, channel=channel.say(lang))
        what = f"{what}（{via}）" if lang is Lang.ZH else f"{what} ({via})"
    purpose = item.get("purpose")
    why = _say(PURPOSES, str(purpose), NO_PURPOSE, lang) if purpose else NO_PURPOSE.say(lang)
    outcome = str(item.get("outcome") or "ok")
    return Row(
        when=when_text(str(item["at"]), zone),
        who=_say(ROLES, role, SOMEONE, lang),
        what=what,
        why=why,
        result=_say(OUTCOMES, outcome, OUTCOMES["ok"], lang),
        refused=outcome != "ok",
    )


def rows(items: Iterable[Mapping[str, Any]], lang: Lang, zone: ZoneInfo) -> list[Row]:
    return [row(item, lang, zone) for item in items]
