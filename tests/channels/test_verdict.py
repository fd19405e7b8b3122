"""The verification's rules over plain facts, and the window a logged contact counts in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shopshield.channels.catalogue import Reason, Verdict
from shopshield.channels.verdict import Facts, Window, decide

V, NV, U = Verdict.VERIFIED, Verdict.NOT_VERIFIED, Verdict.UNKNOWN


@pytest.mark.parametrize(
    ("facts", "verdict", "reasons"),
    [
        (Facts(from_official=True, contact_found=True), V, (Reason.CONTACT_LOGGED,)),
        (Facts(from_official=True, contact_found=False), NV, (Reason.OFFICIAL_NO_RECORD,)),
        (Facts(from_official=False, contact_found=False), NV, (Reason.NOT_OFFICIAL,)),
        (Facts(from_official=None, contact_found=False), U, (Reason.FROM_UNREADABLE,)),
        # A genuine call that asks for money to another account is not verified: the account wins.
        (Facts(from_official=True, contact_found=True, payee_official=False), NV, (Reason.PAYEE_NOT_OFFICIAL,)),
        (Facts(from_official=True, contact_found=True, url_official=False), NV, (Reason.URL_NOT_OFFICIAL,)),
        (
            Facts(from_official=True, contact_found=True, payee_official=True, url_official=True),
            V,
            (Reason.CONTACT_LOGGED,),
        ),
        (
            Facts(from_official=None, contact_found=False, payee_official=False),
            NV,
            (Reason.FROM_UNREADABLE, Reason.PAYEE_NOT_OFFICIAL),
        ),
        (
            Facts(from_official=False, contact_found=False, payee_official=False, url_official=False),
            NV,
            (Reason.NOT_OFFICIAL, Reason.PAYEE_NOT_OFFICIAL, Reason.URL_NOT_OFFICIAL),
        ),
    ],
)
def test_decide(facts: Facts, verdict: Verdict, reasons: tuple[Reason, ...]) -> None:
    decision = decide(facts)
    assert decision.verdict is verdict
    assert decision.reasons == reasons
    assert decision.describes_contact == (verdict is V)


START = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
WINDOW = Window(slack=timedelta(minutes=15), open_max=timedelta(minutes=120))


def minutes(n: float) -> datetime:
    return START + timedelta(minutes=n)


@pytest.mark.parametrize(
    ("at", "ended", "now", "covered"),
    [
        (minutes(-15), minutes(5), minutes(60), True),  # the slack before the start
        (minutes(-15.1), minutes(5), minutes(60), False),
        (minutes(20), minutes(5), minutes(60), True),  # the slack after the end
        (minutes(20.1), minutes(5), minutes(60), False),
        (minutes(30), None, minutes(30), True),  # in progress
        (minutes(44), None, minutes(30), True),
        (minutes(46), None, minutes(30), False),  # past now and its slack
        (minutes(134), None, minutes(300), True),  # never ended: counts up to open_max and the slack
        (minutes(136), None, minutes(300), False),
    ],
)
def test_the_window(at: datetime, ended: datetime | None, now: datetime, covered: bool) -> None:
    assert WINDOW.covers(started_at=START, ended_at=ended, at=at, now=now) is covered
    assert WINDOW.earliest_start(at) <= START or not covered


def test_in_progress_ends_with_the_contact_or_open_max() -> None:
    assert WINDOW.in_progress(started_at=START, ended_at=None, now=minutes(119))
    assert not WINDOW.in_progress(started_at=START, ended_at=None, now=minutes(121))
    assert not WINDOW.in_progress(started_at=START, ended_at=minutes(5), now=minutes(4))
