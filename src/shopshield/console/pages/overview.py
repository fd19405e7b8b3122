"""Overview: open alerts, scam reports and losses per day, the audit log's health, the guard's mode."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from shopshield.alerts import service as alerts
from shopshield.canary import service as canary
from shopshield.channels import service as channels
from shopshield.console import charts
from shopshield.console.pages.logins import last_hours
from shopshield.console.views import View, page
from shopshield.core import times
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.permissions import Permission
from shopshield.core.times import iso, parse_window
from shopshield.scams import service as scams
from shopshield.scams.summary import money, summarize

OVERVIEW_DAYS: Final = 14
# Logins decided per hour: the last day; Login protection shows up to the week the guard keeps.
OVERVIEW_HOURS: Final = 24
OVERVIEW_HITS: Final = 10


@page("/overview", title="Overview", template="overview.html", permission=Permission.ALERTS_READ, nav=True)
def overview(view: View) -> dict[str, Any]:
    ctx = view.ctx
    with unit_of_work(ctx.sessions) as session:
        open_alerts = alerts.list_alerts(session=session, status="open", limit=50)
    values: dict[str, Any] = {"alerts": open_alerts}
    # Scam reports and losses per day, over the last two weeks in the store's time zone.
    if view.may(Permission.SCAM_REPORTS_READ):
        today = datetime.now(UTC).astimezone(parse_window(since=None, until=None, tz=ctx.settings.timezone).tz).date()
        first = today - timedelta(days=OVERVIEW_DAYS - 1)
        window = parse_window(since=first.isoformat(), until=None, tz=ctx.settings.timezone)
        with unit_of_work(ctx.sessions) as session:
            summary = summarize(scams.load(session=session, window=window), window)
        by_day = {d.day: d for d in summary.days}
        days: list[dict[str, Any]] = []
        for n in range(OVERVIEW_DAYS):
            day: date = first + timedelta(days=n)
            found = by_day.get(day)
            losses = {x.currency: x.total for x in found.losses} if found else {}
            days.append(
                {
                    "day": day.isoformat(),
                    "reports": found.reports if found else 0,
                    "victims": found.victims if found else 0,
                    "losses": ", ".join(f"{money(v)} {c}" for c, v in sorted(losses.items())) or "0",
                    "cny": float(losses.get("CNY", 0)),
                }
            )
        values["scams"] = {
            "days": days,
            "reports_chart": charts.bars("Scam reports per day", [(d["day"][5:], float(d["reports"])) for d in days]),
            "losses_chart": charts.bars("Losses per day (CNY)", [(d["day"][5:], d["cny"]) for d in days]),
            "total": summary.reports,
            "clusters": len(summary.clusters),
        }
    # Alerts that are not rows of security_alerts: contacts that reached a canary, and customers
    # told "not verified" by the contact check (each a call or message that was not the store's).
    since = datetime.now(UTC) - timedelta(days=OVERVIEW_DAYS)
    if view.may(Permission.CANARIES_READ):
        with unit_of_work(ctx.sessions) as session:
            hits = canary.hits(vault=ctx.vault, session=session)
        hit_rows = [h for h in hits if times.stored(h["recorded_at"]) >= since]
        values["canary_hits"] = hit_rows[-OVERVIEW_HITS:][::-1]
        values["canary_hit_count"] = len(hit_rows)
    if view.may(Permission.CHANNELS_READ):
        with transaction(ctx.engine, read_only=True) as tx:
            failed = channels.not_verified_since(tx, since=since)
        values["not_verified"] = {"answers": len(failed), "reported": sum(1 for _at, reported in failed if reported)}
    # The audit log's health: the latest checkpoint, and how far the log has run ahead of it.
    with transaction(ctx.engine, read_only=True) as tx:
        latest = ctx.audit.latest_checkpoint(tx)
        size = ctx.audit.size(tx)
    values["audit"] = {
        "size": size,
        "checkpoint_size": latest.tree_size if latest else None,
        "signed_at": iso(latest.signed_at) if latest else None,
        "age_seconds": int((datetime.now(UTC) - latest.signed_at).total_seconds()) if latest else None,
        "unsigned": size - (latest.tree_size if latest else 0),
    }
    values["guard"] = None
    if view.may(Permission.LOGINS_READ):
        zone = parse_window(since=None, until=None, tz=ctx.settings.timezone).tz
        recent = last_hours(ctx.guard, OVERVIEW_HOURS, datetime.now(UTC), zone)
        values["guard"] = {
            **ctx.guard.status(),
            "hours": recent.rows,
            "chart": recent.chart(),
            "periods": len(recent.periods),
        }
    return values
