"""Delivery operations over HTTP for security staff, and the notification metrics: the queue by
state and channel, dead letters with their reasons, a dead letter sent again; refusals for the
roles without the permission; counters and gauges named as Prometheus wants them."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from shopshield.core.db import transaction
from shopshield.notify import service
from shopshield.notify.catalogue import Event
from shopshield.notify.models import QUEUED
from testkit import factories
from tests.support.clock import last_noon
from tests.support.outbox import dead_sms
from tests.support.world import World

# Daytime for the default zone: SMS and push queued at night would wait for the morning.
WHEN = last_noon()


def _dead_sms(world: World, tmp_path: Path) -> str:
    return dead_sms(world, tmp_path, when=WHEN)


def _customer() -> dict[str, object]:
    return factories.customer(42)


def test_security_staff_see_the_queue_and_send_a_dead_letter_again(world: World, tmp_path: Path) -> None:
    dead_id = _dead_sms(world, tmp_path)
    (dead,) = world.get("analyst", "/v1/notifications/dead-letters?channel=sms").json()["dead_letters"]
    assert dead == {
        "notification_id": dead_id,
        "customer_id": "c0000042",
        "event": "scam.warning",
        "channel": "sms",
        "source": "test",
        "created_at": dead["created_at"],
        "attempts": 1,
        "reason": "no sender for channel sms",
    }
    assert world.get("analyst", "/v1/notifications/dead-letters?channel=push").json() == {"dead_letters": []}
    status = world.get("analyst", "/v1/notifications/status").json()
    assert status["dead"] == {"sms": 1, "email": 0, "push": 0}
    assert status["queued"] == {"sms": 0, "email": 0, "push": 0}
    retried = world.post("analyst", f"/v1/notifications/{dead_id}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json() == {"notification_id": dead_id, "state": QUEUED}
    status = world.get("admin", "/v1/notifications/status").json()
    assert status["queued"]["sms"] == 1 and status["dead"]["sms"] == 0
    assert status["oldest_due_age_seconds"] >= 0
    again = world.post("analyst", f"/v1/notifications/{dead_id}/retry")
    assert again.status_code == 409 and "only a dead letter" in again.json()["message"]
    assert world.post("analyst", "/v1/notifications/n-none/retry").status_code == 404


def test_bad_input_and_roles_without_the_permission_are_refused(world: World) -> None:
    bad = world.get("analyst", "/v1/notifications/dead-letters?channel=fax")
    assert bad.status_code == 422 and "channel: one of sms, email, push" in bad.json()["message"]
    assert world.get("analyst", "/v1/notifications/dead-letters?limit=0").status_code == 422
    for who in ("agent", "courier", "merchant", "service"):
        assert world.get(who, "/v1/notifications/status").status_code == 403
        assert world.get(who, "/v1/notifications/dead-letters").status_code == 403
        assert world.post(who, "/v1/notifications/n-none/retry").status_code == 403


def test_metrics_count_deliveries_by_channel_and_age_the_oldest_due(world: World, tmp_path: Path) -> None:
    _dead_sms(world, tmp_path)
    text = world.client.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {(s.name, s.labels.get("channel")): s.value for f in families.values() for s in f.samples}
    assert samples[("shopshield_notifications_sent_total", "push")] == 1
    assert samples[("shopshield_notifications_dead_total", "sms")] == 1
    # The attempt that failed for good counts as failed, and its message as dead.
    assert samples[("shopshield_notifications_failed_total", "sms")] == 1
    assert samples[("shopshield_notifications_dead_letters", "sms")] == 1
    assert samples[("shopshield_notifications_queued", "sms")] == 0
    assert samples[("shopshield_notifications_oldest_due_age_seconds", None)] == 0
    # promtool's rules: counters end in _total, names are snake case, and no personal value is there.
    for family in families.values():
        if not family.name.startswith("shopshield_notifications"):
            continue
        assert re.fullmatch(r"[a-z_]+", family.name)
        for sample in family.samples:
            if family.type == "counter" and not sample.name.endswith("_created"):
                assert sample.name.endswith("_total"), sample.name
    assert "c0000042" not in text
    # A message due an hour ago and still queued ages the gauge.
    with transaction(world.container.engine) as tx:
        service.enqueue(
            tx,
            customer_id="c0000042",
            event=Event.SCAM_WARNING,
            details={"pattern": "refund"},
            source="test",
            source_ref="w-2",
            occurred_at=WHEN - timedelta(hours=1),
            now=WHEN - timedelta(hours=1),
        )
    text = world.client.get("/metrics").text
    (age,) = [
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "shopshield_notifications_oldest_due_age_seconds"
    ]
    assert age >= 3500
