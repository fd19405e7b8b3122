"""Canaries: which customers are decoys for which recipient, the contacts that reached them (who
recorded each, when, how), and planting more, through ``canary.service`` as ``/v1/canaries`` does.

The list shows no decoy's values, only its id: reading them would be an access to a "customer"
recorded under the analyst, and a canary whose access report shows a security analyst stands out
from the customers beside it (decision 0016). The recipient's export rows stay with
``GET /v1/canaries/export`` and ``shopshield canary list --format csv``, where they are recorded as
an export.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from shopshield.canary import service
from shopshield.canary.schemas import KINDS, MAX_COUNT, PlantIn
from shopshield.console import charts
from shopshield.console.pages import _forms
from shopshield.console.views import View, page
from shopshield.core import ids
from shopshield.core.db import unit_of_work
from shopshield.core.permissions import Permission


def _recipient(view: View) -> str | None:
    recipient = view.query("recipient")
    if recipient is not None:
        ids.check(recipient, "recipient", shape=ids.ACTOR, rule=ids.ACTOR_RULE)
    return recipient


def _listing(view: View, recipient: str | None) -> dict[str, Any]:
    ctx = view.ctx
    with unit_of_work(ctx.sessions) as session:
        planted = [service.canary_json(row) for row in service.canaries(session=session, recipient=recipient)]
        hits = service.hits(vault=ctx.vault, session=session, recipient=recipient)
    # Per recipient: how many decoys its copy carries and how many contacts reached one of them.
    per: dict[str, dict[str, int]] = {}
    for row in planted:
        per.setdefault(row["recipient"], {"canaries": 0, "hits": 0})["canaries"] += 1
    for hit in hits:
        per.setdefault(hit["recipient"], {"canaries": 0, "hits": 0})["hits"] += 1
    recipients: list[dict[str, Any]] = [{"recipient": name, **counts} for name, counts in sorted(per.items())]
    return {
        "recipient": recipient,
        "canaries": planted,
        "hits": list(reversed(hits)),  # newest first: a fresh hit is what the page is opened for
        "recipients": recipients,
        "hits_chart": charts.bars(
            "Contacts that reached a canary, by recipient", [(r["recipient"], float(r["hits"])) for r in recipients]
        ),
        "may_plant": view.may(Permission.CANARIES_PLANT),
        "kinds": KINDS,
        "max_count": MAX_COUNT,
        "configured": ctx.settings.canary_mobile_prefix is not None,
        "planted": None,
    }


@page("/canaries", title="Canaries", template="canaries.html", permission=Permission.CANARIES_READ, nav=True)
def canaries(view: View) -> dict[str, Any]:
    return _listing(view, _recipient(view))


@page(
    "/canaries/plant",
    title="Canaries",
    template="canaries.html",
    permission=Permission.CANARIES_PLANT,
    method="POST",
)
def plant(view: View) -> dict[str, Any]:
    form = view.form
    fields: dict[str, Any] = {
        "recipient": _forms.text(form, "recipient", max_length=64) or "",
        "kind": _forms.text(form, "kind", max_length=32) or "export",
    }
    count = _forms.whole(form, "count", low=1, high=MAX_COUNT)
    if count is not None:
        fields["count"] = count
    for name in ("merchant_id", "courier_id", "id_prefix"):
        value = _forms.text(form, name, max_length=64)
        if value is not None:
            fields[name] = value
    try:
        request = PlantIn.model_validate(fields)
    except ValidationError as exc:
        raise _forms.refusal(exc, "plant") from None
    ctx = view.ctx
    settings = ctx.settings
    with unit_of_work(ctx.sessions) as session:
        planted = service.plant(
            vault=ctx.vault,
            session=session,
            caller=view.caller,
            request=request,
            mobile_prefix=settings.canary_mobile_prefix,
            email_domain=settings.canary_email_domain,
            backend=settings.canary_backend,
        )
    return {**_listing(view, None), "planted": planted.json()}
