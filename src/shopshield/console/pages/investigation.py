"""Investigation: the leak-source attribution over the access log for a chosen set of scam reports,
the suspects with their evidence in words, a suspect's accesses against the victims' contact
times, an actor's accesses, insider alerts with their reasons, and the case file as a download.

Every analysis is the investigate domain's (``investigate.service`` runs ``attribution`` and
``insiders`` over the instance's own log); this module chooses the reports, words the results for
a supervisor, and draws them. Customers appear by id only, each linked to the Customers page,
where the vault decides what the role sees and records the read.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

import orjson
from fastapi.responses import Response

from shopshield.alerts import service as alerts
from shopshield.console import charts
from shopshield.console.views import PREFIX, View, page
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.errors import AccessDenied, Forbidden, InvalidInput, NotFound
from shopshield.core.events import DENIED, OK
from shopshield.core.ids import check as check_id
from shopshield.core.permissions import Permission, require
from shopshield.core.times import Window, iso, parse_window
from shopshield.investigate import insiders
from shopshield.investigate import service as investigate
from shopshield.investigate.attribution import Attribution, Config, Suspect, Victim, victims_from_reports
from shopshield.scams import service as scams
from shopshield.scams.casefile import SOURCES
from shopshield.scams.formats import ScamReport
from shopshield.scams.summary import Cluster, clusters, losses_text

PATH: Final = "/investigation"
PAGE_SIZE: Final = 50
MAX_REPORT_IDS: Final = 500
_CLUSTER = re.compile(r"[0-9]{1,6}")
_SPLIT = re.compile(r"[\s,]+")
EXPORT_KIND: Final = "shopshield.investigation/1"


def _require_reports(view: View) -> None:
    """The reports are ``scam_reports.read`` data, which the page's permission does not imply: a
    role without it is refused, and the refusal recorded as the frame records a page's."""
    try:
        require(view.ctx.policies, view.who, Permission.SCAM_REPORTS_READ)
    except Forbidden as refused:
        ctx = view.ctx
        with transaction(ctx.engine) as tx:
            reason = f"{refused.message} (page {PREFIX}{PATH})"[:200]
            ctx.audit.append(tx, view.caller.event("console", DENIED, reason=reason), now=ctx.vault.clock())
            raise AccessDenied(refused.message) from None


# -- choosing the reports ------------------------------------------------------------------------


def _selection(view: View) -> dict[str, str]:
    """The query values that choose the reports, as given (for links and the export)."""
    return {name: value for name in ("since", "until", "cluster", "reports") if (value := view.query(name)) is not None}


def _window(view: View) -> Window:
    return parse_window(since=view.query("since"), until=view.query("until"), tz=view.ctx.settings.timezone)


def _report_ids(text: str) -> list[str]:
    ids = [part for part in _SPLIT.split(text) if part]
    if not ids:
        raise InvalidInput("reports: give one or more report ids, separated by commas or spaces", field="reports")
    if len(ids) > MAX_REPORT_IDS:
        raise InvalidInput(f"reports: at most {MAX_REPORT_IDS} report ids at a time", field="reports")
    for value in ids:
        check_id(value, "reports")
    return list(dict.fromkeys(ids))


def _cluster_number(text: str) -> int:
    if _CLUSTER.fullmatch(text) is None or int(text) < 1:
        raise InvalidInput("cluster: must be a cluster's number (1, 2, ...) from the list of clusters", field="cluster")
    return int(text)


def _load(view: View) -> tuple[Window, list[ScamReport], list[Cluster]]:
    """The reports contacted in the chosen window (all of them without one) and their clusters."""
    window = _window(view)
    with unit_of_work(view.ctx.sessions) as session:
        reports = scams.load(session=session, window=window)
    return window, reports, clusters(reports)


def _chosen(view: View, reports: list[ScamReport], found: list[Cluster]) -> list[ScamReport]:
    """The reports the selection names: a cluster's, the listed ids, or the whole window; the
    reasons when it names none that exist."""
    chosen = reports
    cluster = view.query("cluster")
    if cluster is not None:
        number = _cluster_number(cluster)
        if number > len(found):
            raise NotFound(
                f"cluster: there is no cluster {number} among the reports of this window "
                f"({len(found)} cluster{'s' if len(found) != 1 else ''}); pick one from the list"
            )
        chosen = found[number - 1].reports
    listed = view.query("reports")
    if listed is not None:
        ids = _report_ids(listed)
        by_id = {r.report_id: r for r in chosen}
        missing = sum(1 for i in ids if i not in by_id)
        if missing:
            raise NotFound(
                f"reports: {missing} of the {len(ids)} report ids given are not stored reports"
                + (" of this cluster and window" if cluster is not None else " of this window")
            )
        chosen = [by_id[i] for i in ids]
    if not chosen:
        raise NotFound("there are no scam reports in this window: widen the dates or clear them")
    return sorted(chosen, key=lambda r: (r.contacted_at, r.report_id))


# -- words ---------------------------------------------------------------------------------------


def _duration(hours: float) -> str:
    if hours < 1:
        return f"{max(round(hours * 60), 1)} minutes"
    if hours < 48:
        return f"{hours:.0f} hours"
    return f"{hours / 24:.1f} days"


def _in_words(s: Suspect, config: Config, tested: int) -> str:
    """What a supervisor needs to read about one suspect, without statistics."""
    if not s.victims_covered:
        return (
            f"This {s.actor_kind} account opened {s.accessed_without_match} of the {s.victims_total} victims' records "
            "before the scammers contacted them, but what it saw there does not cover what the scammers knew "
            "(a courier's label shows no price): nothing here points at it."
        )
    parts = [
        f"This {s.actor_kind} account opened the records of {s.victims_covered} of the {s.victims_total} victims "
        "before the scammers contacted them, and what it saw there covers what the scammers knew."
    ]
    if s.median_lag_hours is not None:
        parts.append(f"Typically {_duration(s.median_lag_hours)} passed between its last look and the call.")
    parts.append(
        f"It reads {s.customers_accessed:,} customers in the period; an account reading that many would have "
        f"reached about {s.expected:.2f} of the victims by chance."
    )
    if s.accessed_without_match:
        parts.append(f"It also opened {s.accessed_without_match} more victims' records without seeing what was known.")
    if s.adjusted_p_value < config.alpha and s.victims_covered >= config.min_victims:
        parts.append(f"Far beyond chance, even among the {tested:,} accounts checked: a strong lead, not proof.")
    else:
        parts.append("This could still be chance: not enough on its own to act on.")
    return " ".join(parts)


def _local(moment: datetime, view: View) -> str:
    return moment.astimezone(_window(view).tz).strftime("%Y-%m-%d %H:%M")


# -- the timeline --------------------------------------------------------------------------------


def _timeline(
    view: View, accesses: list[investigate.Access], victims: list[Victim], actor_id: str, config: Config
) -> dict[str, Any]:
    """The chart of ``actor_id``'s accesses to each victim against the victim's contact time, and
    the numbers behind it (per victim, and every access)."""
    ordered = sorted(victims, key=lambda v: (v.contacted_at, v.customer_id))
    lane = {v.customer_id: n for n, v in enumerate(ordered)}
    contact = {v.customer_id: v.contacted_at for v in ordered}
    moments: list[tuple[int, datetime, str, str]] = [
        (lane[v.customer_id], v.contacted_at, "contact", f"{v.customer_id}: contacted {_local(v.contacted_at, view)}")
        for v in ordered
    ]
    for a in accesses:
        kind = "access" if a.ts < contact[a.customer_id] else "after"
        moments.append((lane[a.customer_id], a.ts, kind, f"{a.customer_id}: {a.action} {_local(a.ts, view)}"))
    first = min([v.contacted_at for v in ordered] + [a.ts for a in accesses])
    last = max([v.contacted_at for v in ordered] + [a.ts for a in accesses])
    pad = max((last - first) / 20, timedelta(hours=6))
    chart = charts.timeline(
        f"{actor_id}'s accesses to the victims (dots) and the scam contacts (bars)",
        [v.customer_id for v in ordered],
        moments,
        start=first - pad,
        end=last + pad,
    )
    rows = []
    for v in ordered:
        mine = [a for a in accesses if a.customer_id == v.customer_id]
        before = [a for a in mine if a.ts < v.contacted_at]
        last_before = max((a.ts for a in before), default=None)
        rows.append(
            {
                "customer_id": v.customer_id,
                "contacted_at": _local(v.contacted_at, view),
                "before": len(before),
                "after": len(mine) - len(before),
                "last_before": "" if last_before is None else _local(last_before, view),
                "lead": "" if last_before is None else _duration((v.contacted_at - last_before).total_seconds() / 3600),
            }
        )
    return {
        "actor_id": actor_id,
        "chart": chart,
        "rows": rows,
        "accesses": [
            {
                "at": _local(a.ts, view),
                "customer_id": a.customer_id,
                "action": a.action,
                "order_id": a.order_id or "",
                "fields": a.fields.replace("|", ", "),
                "outcome": a.outcome or "",
                "before_contact": a.ts < contact[a.customer_id],
            }
            for a in accesses
        ],
        "window_days": config.window.total_seconds() / 86400,
    }


# -- pages ---------------------------------------------------------------------------------------


@page(PATH, title="Investigation", template="investigation.html", permission=Permission.AUDIT_READ, nav=True)
def investigation(view: View) -> dict[str, Any]:
    _require_reports(view)
    selection = _selection(view)
    window, reports, found = _load(view)
    values: dict[str, Any] = {
        "selection": selection,
        "reports_in_window": len(reports),
        "clusters": [
            {
                "number": c.number,
                "reports": len(c.reports),
                "victims": c.victims,
                "losses": losses_text(c.losses),
                "first": _local(c.first_contact, view),
                "last": _local(c.last_contact, view),
                "indicators": ", ".join(f"{i.kind} ({i.reports} reports)" for i in c.indicators[:4]),
                "link": _link(PATH, {**_window_only(selection), "cluster": str(c.number)}),
            }
            for c in found
        ],
        "result": None,
        "tz": window.tz.key,
    }
    if not {"cluster", "reports"} & selection.keys() and "run" not in view.request.query_params:
        return values
    chosen = _chosen(view, reports, found)
    config = Config()
    victims = victims_from_reports(chosen)
    wanted = view.query("suspect")
    if wanted is not None:
        check_id(wanted, "suspect")
    with investigate.own_log(view.ctx.sessions) as con:
        result = investigate.attribute_log(con, victims, config)
        shown = wanted or (result.suspects[0].actor_id if result.suspects else None)
        accesses = (
            []
            if shown is None
            else investigate.accesses_to_victims(con, actor_id=shown, victims=victims, window=config.window)
        )
    values["result"] = _result(view, result, config, chosen, victims, selection)
    values["timeline"] = None if shown is None else _timeline(view, accesses, victims, shown, config)
    return values


def _window_only(selection: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in selection.items() if k in ("since", "until")}


def _link(path: str, query: dict[str, str]) -> str:
    return f"{PREFIX}{path}" + (f"?{urlencode(query)}" if query else "")


def _result(
    view: View,
    result: Attribution,
    config: Config,
    chosen: list[ScamReport],
    victims: list[Victim],
    selection: dict[str, str],
) -> dict[str, Any]:
    return {
        "conclusive": result.conclusive,
        "source": SOURCES[result.likely_source],
        "explanation": result.explanation,
        "victims": len(victims),
        "reports": [
            {
                "report_id": r.report_id,
                "customer_id": r.customer_id,
                "contacted_at": _local(r.contacted_at, view),
                "channel": r.channel,
                "knew": ", ".join(r.knew),
            }
            for r in chosen
        ],
        "actors_tested": result.actors_tested,
        "population": result.population,
        "period": [_local(result.period[0], view), _local(result.period[1], view)],
        "suspects": [
            {
                "rank": rank,
                "actor_id": s.actor_id,
                "actor_kind": s.actor_kind,
                "covered": f"{s.victims_covered} of {s.victims_total}",
                "expected": f"{s.expected:.2f}",
                "p_value": f"{s.p_value:.1e}",
                "adjusted": f"{s.adjusted_p_value:.1e}",
                "words": _in_words(s, config, result.actors_tested),
                "explanation": s.explanation,
                "actor_link": _link(f"{PATH}/actors/{s.actor_id}", {}),
                "timeline_link": _link(PATH, {**selection, "suspect": s.actor_id}),
            }
            for rank, s in enumerate(result.suspects, start=1)
        ],
        "stuffing": result.stuffing.explanation,
        "notes": result.notes,
        "export_link": _link(f"{PATH}/export", selection),
    }


@page(
    f"{PATH}/actors/{{actor_id}}",
    title="Actor's accesses",
    template="investigation_actor.html",
    permission=Permission.AUDIT_READ,
)
def actor(view: View) -> dict[str, Any]:
    actor_id = view.path_value("actor_id")
    cursor = view.query("before")
    if cursor is not None and (not cursor.isdigit() or len(cursor) > 19):
        raise InvalidInput("before: must be the next page's cursor from the previous page", field="before")
    with unit_of_work(view.ctx.sessions) as session:
        events, following = investigate.actor_events(
            session, actor_id=actor_id, before=None if cursor is None else int(cursor), limit=PAGE_SIZE
        )
        raised = (
            alerts.list_alerts(session=session, actor_id=actor_id, limit=50) if view.may(Permission.ALERTS_READ) else []
        )
    counts = Counter(e.action for e in events)
    return {
        "actor_id": actor_id,
        "events": [
            {
                "leaf_index": e.leaf_index,
                "at": _local(e.ts, view),
                "action": e.action,
                "outcome": e.outcome,
                "customer_id": e.customer_id or "",
                "order_id": e.order_id or "",
                "fields": e.fields.replace("|", ", "),
                "channel": e.channel,
                "purpose": e.purpose or "",
                "ticket_id": e.ticket_id or "",
            }
            for e in events
        ],
        "counts": sorted(counts.items()),
        "next_link": None if following is None else _link(f"{PATH}/actors/{actor_id}", {"before": str(following)}),
        "first_page": cursor is None,
        "alerts": raised,
        "tz": _window(view).tz.key,
    }


@page(
    f"{PATH}/insiders",
    title="Insider alerts",
    template="investigation_insiders.html",
    permission=Permission.AUDIT_READ,
)
def insider_alerts(view: View) -> dict[str, Any]:
    threshold_text = view.query("threshold")
    threshold = insiders.DEFAULT_THRESHOLD
    if threshold_text is not None:
        try:
            threshold = float(threshold_text)
        except ValueError:
            raise InvalidInput("threshold: must be a number such as 8 or 2.5", field="threshold") from None
        if not 0 < threshold <= 100:
            raise InvalidInput("threshold: must be above 0 and at most 100", field="threshold")
    config = insiders.Config(tz=view.ctx.settings.timezone, threshold=threshold)
    with investigate.own_log(view.ctx.sessions) as con:
        days = investigate.insider_days(con, config)
    stored: list[dict[str, Any]] = []
    if view.may(Permission.ALERTS_READ):
        with unit_of_work(view.ctx.sessions) as session:
            stored = alerts.list_alerts(session=session, limit=100)
    return {
        "threshold": threshold,
        "default_threshold": insiders.DEFAULT_THRESHOLD,
        "days": [
            {
                "actor_id": d.actor_id,
                "role": d.role,
                "day": d.day.isoformat(),
                "score": f"{d.score:.1f}",
                "reasons": [r.words() for r in d.reasons],
                "history_days": d.history_days,
                "link": _link(f"{PATH}/actors/{d.actor_id}", {}),
            }
            for d in days[:200]
        ],
        "more": max(len(days) - 200, 0),
        "stored": stored,
    }


@page(f"{PATH}/export", title="Investigation", template="error.html", permission=Permission.AUDIT_READ)
def export(view: View) -> Response:
    """The case file as JSON: the reports, the attribution, the top suspect's accesses to the
    victims, and the audit log's signed state it was computed from. The download is recorded."""
    _require_reports(view)
    selection = _selection(view)
    if not {"cluster", "reports"} & selection.keys() and "run" not in view.request.query_params:
        raise InvalidInput("choose the reports first: a cluster, report ids, or dates with run", field="cluster")
    _, reports, found = _load(view)
    chosen = _chosen(view, reports, found)
    config = Config()
    victims = victims_from_reports(chosen)
    with investigate.own_log(view.ctx.sessions) as con:
        result = investigate.attribute_log(con, victims, config)
        top = result.suspects[0].actor_id if result.suspects else None
        accesses = (
            []
            if top is None
            else investigate.accesses_to_victims(con, actor_id=top, victims=victims, window=config.window)
        )
    ctx, now = view.ctx, datetime.now(UTC)
    cluster_of = {r.report_id: c.number for c in found for r in c.reports}
    with transaction(ctx.engine) as tx:
        latest = ctx.audit.latest_checkpoint(tx)
        size = ctx.audit.size(tx)
        # The download is an export of the investigation's data: on the record, like a read.
        reason = f"investigation case file: {len(chosen)} reports, {len(victims)} victims"
        ctx.audit.append(tx, view.caller.event("export", OK, reason=reason), now=ctx.vault.clock())
    document = {
        "kind": EXPORT_KIND,
        "generated_at": iso(now),
        "generated_by": {"principal_id": view.who.principal_id, "role": view.who.role},
        "selection": selection,
        "audit_log": {
            "size": size,
            "checkpoint": None
            if latest is None
            else {
                "tree_size": latest.tree_size,
                "signed_at": iso(latest.signed_at),
                "root_hash": latest.root_hash.hex(),
            },
        },
        "reports": [{**r.shared_row(), "cluster": cluster_of.get(r.report_id)} for r in chosen],
        "victims": [
            {"customer_id": v.customer_id, "contacted_at": iso(v.contacted_at), "knew": sorted(v.knew)} for v in victims
        ],
        "attribution": result.to_json(),
        "top_suspect_accesses": {
            "actor_id": top,
            "accesses": [
                {
                    "ts": iso(a.ts),
                    "customer_id": a.customer_id,
                    "action": a.action,
                    "order_id": a.order_id,
                    "fields": a.fields.split("|") if a.fields else [],
                    "outcome": a.outcome,
                }
                for a in accesses
            ],
        },
    }
    name = f"investigation-{now:%Y%m%dT%H%M%SZ}.json"
    return Response(
        orjson.dumps(document, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
