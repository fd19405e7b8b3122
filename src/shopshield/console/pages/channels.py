"""Official channels: the registry of the store's numbers, SMS senders, mail and web domains,
payee accounts and brand names that customers are told are genuine, its history, and adding or
retiring an entry, through ``channels.service`` as ``/v1/channels`` does. Each change is kept in
the history and raises an alert, whoever makes it and from wherever."""

from __future__ import annotations

from typing import Any, Final

from pydantic import ValidationError

from shopshield.channels import service
from shopshield.channels.numbers import Kind
from shopshield.channels.schemas import ChannelIn
from shopshield.console.pages import _forms
from shopshield.console.views import View, page
from shopshield.core import ids
from shopshield.core.db import Tx, unit_of_work
from shopshield.core.errors import InvalidInput
from shopshield.core.permissions import Permission

CHANGES_SHOWN: Final = 50


def _kind(value: str | None, field: str = "kind") -> Kind | None:
    if value is None:
        return None
    try:
        return Kind(value)
    except ValueError:
        raise InvalidInput(f"{field}: one of {', '.join(Kind)}", field=field) from None


def _page(view: View, kind: Kind | None, done: dict[str, Any] | None) -> dict[str, Any]:
    with unit_of_work(view.ctx.sessions) as session:
        tx = Tx.of_session(session)
        found = service.list_channels(tx, kind=kind)
        changes = service.list_changes(tx, limit=CHANGES_SHOWN)
    return {
        "channels": found,
        "changes": changes,
        "kind": "" if kind is None else str(kind),
        "kinds": [str(k) for k in Kind],
        "may_manage": view.may(Permission.CHANNELS_MANAGE),
        "done": done,
    }


@page("/channels", title="Official channels", template="channels.html", permission=Permission.CHANNELS_READ, nav=True)
def channels(view: View) -> dict[str, Any]:
    return _page(view, _kind(_forms.text(view.request.query_params, "kind", max_length=32)), None)


@page(
    "/channels/add",
    title="Official channels",
    template="channels.html",
    permission=Permission.CHANNELS_MANAGE,
    method="POST",
)
def add(view: View) -> dict[str, Any]:
    """``POST /v1/channels``: normalised, 409 when it is there already."""
    form = view.form
    kind = _kind(_forms.text(form, "kind", max_length=32))
    if kind is None:
        raise InvalidInput(f"kind: one of {', '.join(Kind)}", field="kind")
    try:
        channel = ChannelIn(kind=kind, value=form.get("value", "").strip(), label=_forms.text(form, "label"))
    except ValidationError as exc:
        raise _forms.refusal(exc, "add") from None
    ctx = view.ctx
    with unit_of_work(ctx.sessions) as session:
        added = service.add_channel(
            Tx.of_session(session),
            caller=view.caller,
            channel=channel,
            now=ctx.vault.clock(),
            metrics=ctx.vault.alert_metrics,
        )
    return _page(view, None, {"action": "added", **added})


@page(
    "/channels/retire",
    title="Official channels",
    template="channels.html",
    permission=Permission.CHANNELS_MANAGE,
    method="POST",
)
def retire(view: View) -> dict[str, Any]:
    """``DELETE /v1/channels/{channel_id}``: the entry leaves the registry, its history stays."""
    channel_id = _forms.text(view.form, "channel_id", max_length=64)
    if channel_id is None:
        raise InvalidInput("channel_id: choose the channel to retire", field="channel_id")
    ids.check(channel_id, "channel_id")
    ctx = view.ctx
    with unit_of_work(ctx.sessions) as session:
        removed = service.remove_channel(
            Tx.of_session(session),
            caller=view.caller,
            channel_id=channel_id,
            now=ctx.vault.clock(),
            metrics=ctx.vault.alert_metrics,
        )
    return _page(view, None, {"action": "retired", **removed})
