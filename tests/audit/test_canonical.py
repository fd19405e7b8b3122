"""Tests for the version-1 canonical encoding of access events (docs/audit-log.md).

The golden vector pins the bytes forever: if it fails, the change broke every stored leaf hash.
The property tests check orjson's output against two independent RFC 8785 (JCS) serialisers: the
standard library's ``json`` and a small one written straight from RFC 8785 §3.2.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopshield.access.models import join_fields, split_fields
from shopshield.audit.canonical import KEYS, VERSION, canonical_bytes, event_leaf_hash
from shopshield.core.events import AccessEvent
from shopshield.core.times import format_ts

# No example database: it would leave a .hypothesis/ folder in every checkout that runs the tests.
PROPERTY = settings(database=None, deadline=None, max_examples=200)

# --- Golden vector: version 1, pinned ------------------------------------------------------------

GOLDEN_EVENT = AccessEvent(
    actor_id="staff-0123456789ab",
    actor_kind="staff",
    actor_role="cs_agent",
    action="reveal",
    channel="api",
    outcome="ok",
    customer_id="c1001",
    order_id=None,
    fields=("name", "mobile"),
    source_ip="203.0.113.7",
    purpose="refund_dispute",
    ticket_id="t-42",
    reason='客服 "quoted" \n tab\t',
)
GOLDEN_INDEX = 7
GOLDEN_MOMENT = datetime(2026, 11, 28, 8, 30, 0, 1, tzinfo=UTC)
GOLDEN_TS = "2026-11-28T08:30:00.000001Z"

# Written out by hand from docs/audit-log.md: keys in ascending order, no whitespace, the two
# CJK characters as raw UTF-8 (客 U+5BA2 = e5 ae a2, 服 U+670D = e6 9c 8d), the quotes, the newline
# and the tab as two-character escapes, None as null, ``fields`` in recorded order.
GOLDEN_BYTES = (
    b'{"action":"reveal",'
    b'"actor_id":"staff-0123456789ab",'
    b'"actor_kind":"staff",'
    b'"actor_role":"cs_agent",'
    b'"channel":"api",'
    b'"customer_id":"c1001",'
    b'"fields":["name","mobile"],'
    b'"i":7,'
    b'"order_id":null,'
    b'"outcome":"ok",'
    b'"purpose":"refund_dispute",'
    b'"reason":"\xe5\xae\xa2\xe6\x9c\x8d \\"quoted\\" \\n tab\\t",'
    b'"source_ip":"203.0.113.7",'
    b'"ticket_id":"t-42",'
    b'"ts":"2026-11-28T08:30:00.000001Z",'
    b'"v":1}'
)
GOLDEN_LEAF_HASH = "c892bf438c4e3a38f730768d9d1252140de1810a8ec340906c1b10ce2450e2d1"


def test_golden_vector_bytes() -> None:
    assert format_ts(GOLDEN_MOMENT) == GOLDEN_TS
    assert canonical_bytes(GOLDEN_INDEX, GOLDEN_TS, GOLDEN_EVENT) == GOLDEN_BYTES
    assert len(GOLDEN_BYTES) == 349


def test_golden_vector_leaf_hash() -> None:
    assert event_leaf_hash(GOLDEN_INDEX, GOLDEN_TS, GOLDEN_EVENT).hex() == GOLDEN_LEAF_HASH
    # The same value from first principles: RFC 9162 leaf hash SHA-256(0x00 || bytes).
    assert hashlib.sha256(b"\x00" + GOLDEN_BYTES).hexdigest() == GOLDEN_LEAF_HASH


def test_golden_vector_decodes_to_the_event() -> None:
    decoded = json.loads(GOLDEN_BYTES)
    assert list(decoded) == list(KEYS)
    assert decoded["v"] == VERSION == 1
    assert decoded["i"] == GOLDEN_INDEX
    assert decoded["ts"] == GOLDEN_TS
    assert decoded["reason"] == GOLDEN_EVENT.reason
    assert decoded["fields"] == ["name", "mobile"]
    assert decoded["order_id"] is None


def test_keys_are_sorted_and_complete() -> None:
    assert list(KEYS) == sorted(KEYS)
    event_keys = {f.name for f in dataclasses.fields(AccessEvent)}
    assert set(KEYS) == event_keys | {"v", "i", "ts"}
    # canonical_bytes writes its object literal in this order rather than sorting at run time.
    assert list(json.loads(canonical_bytes(3, GOLDEN_TS, GOLDEN_EVENT))) == list(KEYS)


def test_rfc8785_string_escaping_example() -> None:
    """The string of RFC 8785's worked example (§3.2.2.2 / its reference README), byte for byte."""
    value = "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/"
    event = dataclasses.replace(GOLDEN_EVENT, reason=value)
    expected = bytes.fromhex("22 e2 82 ac 24 5c 75 30 30 30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22")
    assert b'"reason":' + expected + b"," in canonical_bytes(0, GOLDEN_TS, event)


# --- Property: orjson's bytes are RFC 8785 for our value types ------------------------------------

SPECIAL = st.sampled_from(
    [
        *['"', "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x00", "\x01", "\x1f", "\x7f", "\x80", "\u2028", "\u2029"],
        *["\ufeff", "\ufffd", "\uffff", "\U0001f600", "\U0010ffff", "é", "客"],
    ]
)
# Every code point except surrogates (a lone surrogate is not a Unicode string and cannot be UTF-8).
CHARS = st.one_of(st.characters(exclude_categories=["Cs"]), SPECIAL)
TEXT = st.text(alphabet=CHARS, max_size=40)
OPTIONAL_TEXT = st.none() | TEXT
EVENTS = st.builds(
    AccessEvent,
    actor_id=TEXT,
    actor_kind=TEXT,
    actor_role=TEXT,
    action=TEXT,
    channel=TEXT,
    outcome=TEXT,
    customer_id=OPTIONAL_TEXT,
    order_id=OPTIONAL_TEXT,
    fields=st.lists(TEXT, max_size=5).map(tuple),
    source_ip=OPTIONAL_TEXT,
    purpose=OPTIONAL_TEXT,
    ticket_id=OPTIONAL_TEXT,
    reason=OPTIONAL_TEXT,
)
# JCS numbers are IEEE-754 doubles: integers are exact (and printed plainly) up to 2**53.
INDEXES = st.integers(min_value=0, max_value=2**53)
MOMENTS = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.one_of(st.none(), st.just(UTC), st.timezones()),
)


def as_object(index: int, ts: str, event: AccessEvent) -> dict[str, Any]:
    """The JSON object the version-1 encoding describes, built without the code under test."""
    obj: dict[str, Any] = {name: getattr(event, name) for name in KEYS if name not in ("v", "i", "ts")}
    obj.update(v=1, i=index, ts=ts, fields=list(event.fields))
    return obj


def stdlib_jcs(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


_SHORT_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def _rfc8785_string(value: str) -> str:
    out = []
    for char in value:
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif char < " ":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _rfc8785_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        assert abs(value) <= 2**53
        return str(value)
    if isinstance(value, str):
        return _rfc8785_string(value)
    if isinstance(value, list):
        return "[" + ",".join(_rfc8785_value(item) for item in value) + "]"
    assert isinstance(value, dict)
    # RFC 8785 §3.2.3: members sorted by the UTF-16 code units of their names.
    names = sorted(value, key=lambda name: name.encode("utf-16-be"))
    return "{" + ",".join(f"{_rfc8785_string(name)}:{_rfc8785_value(value[name])}" for name in names) + "}"


def rfc8785(obj: dict[str, Any]) -> bytes:
    """RFC 8785 for null, integers, strings, arrays and objects, written from §3.2; UTF-8 output."""
    return _rfc8785_value(obj).encode("utf-8")


@PROPERTY
@given(index=INDEXES, moment=MOMENTS, event=EVENTS)
def test_bytes_equal_stdlib_json_canonical_form(index: int, moment: datetime, event: AccessEvent) -> None:
    ts = format_ts(moment)
    assert canonical_bytes(index, ts, event) == stdlib_jcs(as_object(index, ts, event))


@PROPERTY
@given(index=INDEXES, moment=MOMENTS, event=EVENTS)
def test_bytes_equal_rfc8785_written_from_the_spec(index: int, moment: datetime, event: AccessEvent) -> None:
    ts = format_ts(moment)
    assert canonical_bytes(index, ts, event) == rfc8785(as_object(index, ts, event))


@PROPERTY
@given(index=INDEXES, event=EVENTS)
def test_bytes_decode_back_to_the_same_values(index: int, event: AccessEvent) -> None:
    decoded = json.loads(canonical_bytes(index, GOLDEN_TS, event).decode("utf-8"))
    assert decoded == as_object(index, GOLDEN_TS, event)


@pytest.mark.parametrize("char", [chr(c) for c in range(0x20)] + ["\x7f", "\u2028", "\u2029", "\U0001f600"])
def test_every_control_character_and_line_separator(char: str) -> None:
    event = dataclasses.replace(GOLDEN_EVENT, reason=f"a{char}b")
    obj = as_object(0, GOLDEN_TS, event)
    assert canonical_bytes(0, GOLDEN_TS, event) == stdlib_jcs(obj) == rfc8785(obj)


@pytest.mark.parametrize("plane", range(17))
def test_every_code_point(plane: int) -> None:
    """Every non-surrogate code point, in 16 strings of 4096 per plane, against both oracles."""
    for start in range(plane << 16, (plane + 1) << 16, 0x1000):
        text = "".join(chr(c) for c in range(start, start + 0x1000) if not 0xD800 <= c <= 0xDFFF)
        event = dataclasses.replace(GOLDEN_EVENT, reason=text, fields=(text[:7], text[-7:]))
        obj = as_object(start, GOLDEN_TS, event)
        assert canonical_bytes(start, GOLDEN_TS, event) == stdlib_jcs(obj) == rfc8785(obj)


def test_lone_surrogates_cannot_be_encoded() -> None:
    """A string that is not valid Unicode never gets a leaf hash (orjson refuses it)."""
    event = dataclasses.replace(GOLDEN_EVENT, reason="\ud800")
    with pytest.raises(TypeError):
        canonical_bytes(0, GOLDEN_TS, event)


# --- format_ts ---------------------------------------------------------------------------------


@pytest.fixture
def local_time_utc_plus_8(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make the process's local time zone UTC+8 so that "naive means local" would show."""
    monkeypatch.setenv("TZ", "CST-8")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("local_time_utc_plus_8")
def test_format_ts_treats_naive_as_utc() -> None:
    assert datetime(2026, 1, 1).astimezone(UTC).hour == 16  # the fixture took effect
    assert format_ts(datetime(2026, 1, 1, 0, 0, 0)) == "2026-01-01T00:00:00.000000Z"
    assert format_ts(datetime(2026, 11, 28, 8, 30, 0, 1)) == GOLDEN_TS


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 28, 16, 30, 0, 1, tzinfo=timezone(timedelta(hours=8))), GOLDEN_TS),
        (datetime(2026, 11, 28, 3, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5, minutes=-30))), GOLDEN_TS),
        (datetime(2027, 1, 1, 1, 59, 59, 999999, tzinfo=timezone(timedelta(hours=2))), "2026-12-31T23:59:59.999999Z"),
        (datetime(2026, 11, 28, 8, 30, tzinfo=UTC), "2026-11-28T08:30:00.000000Z"),
        (datetime(2026, 11, 28, 8, 30, 0, 120000, tzinfo=UTC), "2026-11-28T08:30:00.120000Z"),
    ],
)
def test_format_ts_converts_aware_to_utc(moment: datetime, expected: str) -> None:
    assert format_ts(moment) == expected


@PROPERTY
@given(moment=MOMENTS)
def test_format_ts_shape(moment: datetime) -> None:
    text = format_ts(moment)
    assert len(text) == len("2026-11-28T08:30:00.000001Z")
    assert text[19] == "." and text.endswith("Z") and text[20:26].isdigit()
    parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    # Wall time minus UTC offset, by hand (aware comparisons are unequal inside a DST fold, PEP 495).
    offset = moment.utcoffset() or timedelta(0)
    assert parsed == moment.replace(tzinfo=None) - offset


# --- Every field is bound into the leaf hash -----------------------------------------------------


def _changed(value: Any) -> list[Any]:
    if value is None:
        return ["", "x"]
    if isinstance(value, tuple):
        return [(), (*value, "x"), tuple(reversed(value)), (value[0],)]
    assert isinstance(value, str) and value
    return [None, value + "x", value[:-1], " " + value]


FIELD_CHANGES = [
    pytest.param(f.name, new, id=f"{f.name}-{position}")
    for f in dataclasses.fields(AccessEvent)
    for position, new in enumerate(_changed(getattr(GOLDEN_EVENT, f.name)))
    # Required string columns cannot be None.
    if not (new is None and f.name in ("actor_id", "actor_kind", "actor_role", "action", "channel", "outcome"))
]


@pytest.mark.parametrize(("name", "new"), FIELD_CHANGES)
def test_leaf_hash_changes_with_any_single_field(name: str, new: Any) -> None:
    original = event_leaf_hash(GOLDEN_INDEX, GOLDEN_TS, GOLDEN_EVENT)
    changed = dataclasses.replace(GOLDEN_EVENT, **{name: new})
    assert changed != GOLDEN_EVENT
    assert event_leaf_hash(GOLDEN_INDEX, GOLDEN_TS, changed) != original


def test_all_single_field_changes_give_distinct_hashes() -> None:
    hashes = {event_leaf_hash(GOLDEN_INDEX, GOLDEN_TS, GOLDEN_EVENT)}
    for param in FIELD_CHANGES:
        name, new = param.values
        changed: dict[str, Any] = {str(name): new}
        hashes.add(event_leaf_hash(GOLDEN_INDEX, GOLDEN_TS, dataclasses.replace(GOLDEN_EVENT, **changed)))
    assert len(hashes) == len(FIELD_CHANGES) + 1


@pytest.mark.parametrize("index", [0, 6, 8, 70, 2**31, 2**53])
def test_leaf_hash_changes_with_leaf_index(index: int) -> None:
    assert event_leaf_hash(index, GOLDEN_TS, GOLDEN_EVENT) != event_leaf_hash(GOLDEN_INDEX, GOLDEN_TS, GOLDEN_EVENT)


@pytest.mark.parametrize("delta", [timedelta(microseconds=1), timedelta(seconds=-1), timedelta(days=1)])
def test_leaf_hash_changes_with_timestamp(delta: timedelta) -> None:
    moved = format_ts(GOLDEN_MOMENT + delta)
    assert event_leaf_hash(GOLDEN_INDEX, moved, GOLDEN_EVENT) != event_leaf_hash(GOLDEN_INDEX, GOLDEN_TS, GOLDEN_EVENT)


def test_swapping_two_events_changes_both_leaves() -> None:
    """The index is inside the bytes, so two rows cannot trade places and keep their hashes."""
    other = dataclasses.replace(GOLDEN_EVENT, action="view", fields=())
    assert event_leaf_hash(7, GOLDEN_TS, GOLDEN_EVENT) != event_leaf_hash(8, GOLDEN_TS, GOLDEN_EVENT)
    assert event_leaf_hash(8, GOLDEN_TS, other) != event_leaf_hash(7, GOLDEN_TS, other)


# --- The stored ``fields`` column ---------------------------------------------------------------


@pytest.mark.parametrize(
    "fields", [(), ("name",), ("name", "mobile"), ("mobile", "name"), ("addresses.a1.street", "id_number")]
)
def test_fields_column_round_trips(fields: tuple[str, ...]) -> None:
    """What verification reads back from the ``|``-joined column hashes as what was appended."""
    assert split_fields(join_fields(fields)) == fields
    event = dataclasses.replace(GOLDEN_EVENT, fields=split_fields(join_fields(fields)))
    assert canonical_bytes(1, GOLDEN_TS, event) == canonical_bytes(
        1, GOLDEN_TS, dataclasses.replace(GOLDEN_EVENT, fields=fields)
    )
