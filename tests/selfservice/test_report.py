"""The access report read out for the customer (``selfservice.report``): pure, no database."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from shopshield.selfservice import report
from shopshield.selfservice.words import Lang

SHANGHAI = ZoneInfo("Asia/Shanghai")


def item(
    action: str, fields: list[str], *, role: str = "cs_agent", purpose: str | None = None, **kw: str
) -> dict[str, object]:
    return {
        "at": "2026-12-05T01:02:03.000000Z",
        "actor": {"id": "wang-xiaoming", "role": role, "kind": "staff"},
        "action": action,
        "fields": fields,
        "purpose": purpose,
        "ticket_id": "tk-1",
        "channel": kw.get("channel", "cs-console"),
        "outcome": kw.get("outcome", "ok"),
        "leaf_index": 7,
    }


def test_a_reveal_reads_as_role_fields_purpose_and_local_time() -> None:
    found = report.row(item("reveal", ["mobile", "street"], purpose="refund_dispute"), Lang.EN, SHANGHAI)
    assert found == report.Row(
        when="2026-12-05 09:02",
        who="a customer-service agent",
        what="saw in full mobile number, street address (through the customer-service console)",
        why="to settle a refund dispute",
        result="done",
        refused=False,
    )
    zh = report.row(item("reveal", ["mobile", "street"], purpose="refund_dispute"), Lang.ZH, SHANGHAI)
    assert (zh.who, zh.what, zh.why) == ("客服人员", "查看了完整的手机号、详细地址（通过客服后台）", "处理退款争议")


def test_no_actor_id_or_name_and_complete_actions_are_not_repeated() -> None:
    rows = report.rows(
        [
            item("code_set", ["anti_phishing_code"], role="customer", channel="web"),
            item("view", [], role="partner", outcome="denied"),
            item("frobnicate", ["secret_field"], role="unknown_role", channel="nowhere"),
        ],
        Lang.EN,
        SHANGHAI,
    )
    assert rows[0].who == "you" and rows[0].what == "set your anti-phishing code (through the web)"
    assert rows[1].what.endswith("your details (through the customer-service console)") and rows[1].refused
    assert (rows[2].who, rows[2].what) == ("store staff", "accessed your details")
    assert not any("wang" in value for r in rows for value in (r.who, r.what, r.why, r.result))
