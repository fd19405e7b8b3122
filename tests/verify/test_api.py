"""POST /v1/verify/links and /v1/verify/message on SQLite and PostgreSQL: the contract, the
official values from the request or the settings, and bad input as a 4xx with a reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shopshield.bootstrap import build
from shopshield.settings import Settings
from tests.support.world import World, make_world


@pytest.fixture
def configured(settings: Settings) -> Iterator[World]:
    """A world whose settings name the store's official values (SHOPSHIELD_OFFICIAL_*)."""
    configured = settings.model_copy(
        update={
            "official_domains": ("jumei.com",),
            "official_brand_names": ("聚美优品",),
            "official_phones": ("400-123-4567",),
            "official_payee_accounts": ("6222000011112222",),
        }
    )
    container = build(configured)
    w = make_world(container)
    yield w
    w.client.close()
    container.close()


def test_links_answer_the_contract_in_input_order(world: World) -> None:
    urls = ["https://www.jd.com/", "jd-kefu.top", "", "google.com", "http://3232235777/"]
    response = world.post(
        "service", "/v1/verify/links", {"urls": urls, "official": ["jd.com"], "brand_names": ["京东"]}
    )
    assert response.status_code == 200, response.text
    found = response.json()
    assert [f["url"] for f in found] == urls
    assert [f["verdict"] for f in found] == ["official", "lookalike", "malformed", "unknown", "lookalike"]
    assert [f["imitates"] for f in found] == ["jd.com", "jd.com", None, None, None]
    assert all(set(f) == {"url", "verdict", "imitates", "reasons"} for f in found)


def test_any_principal_may_check_and_nobody_without_a_token(world: World) -> None:
    body = {"urls": ["jd.com"], "official": ["jd.com"]}
    for who in ("agent", "partner", "courier", "service"):
        assert world.post(who, "/v1/verify/links", body).status_code == 200
    assert world.client.post("/v1/verify/links", json=body).status_code == 401


def test_without_official_values_configured_the_answer_says_what_to_set(world: World) -> None:
    response = world.post("service", "/v1/verify/links", {"urls": ["jd.com"]})
    assert response.status_code == 409
    assert "SHOPSHIELD_OFFICIAL_DOMAINS" in response.json()["message"]


def test_the_configured_values_are_used_when_the_request_names_none(configured: World) -> None:
    found = configured.post("service", "/v1/verify/links", {"urls": ["jumeiyoupin-kefu.top", "www.jumei.com"]}).json()
    assert [(f["verdict"], f["imitates"]) for f in found] == [("lookalike", "jumei.com"), ("official", "jumei.com")]
    answer = configured.post(
        "service",
        "/v1/verify/message",
        {"text": "退款失败，请致电 400-123-4567，或把钱转到 6222 0000 1111 2222 以外的账户 6222 0202 0000 1234 567"},
    ).json()
    assert answer["verdict"] == "scam_likely"
    assert [n["official"] for n in answer["numbers"]] == [True]
    assert [a["official"] for a in answer["accounts"]] == [True, False]


def test_the_registry_s_values_come_before_the_settings_kind_by_kind(configured: World) -> None:
    """Once admins register web domains, the links checked without ``official`` are judged
    against the registry alone; a kind the registry has none of (payee accounts here) still
    comes from the settings, and a removed domain stops being official."""
    added = {
        value: configured.post("admin", "/v1/channels", {"kind": kind, "value": value}).json()["channel_id"]
        for kind, value in (("web_domain", "example-shop.cn"), ("brand_name", "示例商城"), ("phone", "400-820-1234"))
    }
    links = {"urls": ["https://item.example-shop.cn/1", "www.jumei.com", "shilishangcheng-refund.top"]}
    found = configured.post("service", "/v1/verify/links", links).json()
    assert [(f["verdict"], f["imitates"]) for f in found] == [
        ("official", "example-shop.cn"),
        ("unknown", None),
        ("lookalike", "example-shop.cn"),
    ]
    text = "退款请致电 400 820 1234 或 400-123-4567，账户 6222 0000 1111 2222"
    answer = configured.post("service", "/v1/verify/message", {"text": text}).json()
    assert [n["official"] for n in answer["numbers"]] == [True, False]
    assert [a["official"] for a in answer["accounts"]] == [True]

    assert configured.delete("admin", f"/v1/channels/{added['example-shop.cn']}").status_code == 200
    again = configured.post("service", "/v1/verify/links", {"urls": ["www.jumei.com"]}).json()
    assert again[0]["verdict"] == "official"


def test_a_message_check_answers_its_verdict_and_what_it_found(world: World) -> None:
    text = "【聚美优品】您的退货订单出现异常，退款失败，请登录 http://refund.jumei-help.com.cn/login 并提供验证码"
    response = world.post("agent", "/v1/verify/message", {"text": text, "official": ["jumei.com"]})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["verdict"] == "scam_likely"
    assert answer["links"][0]["verdict"] == "lookalike"
    assert {"link_lookalike", "refund_problem", "code_request"} <= {r["code"] for r in answer["reasons"]}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/verify/links", {"urls": [], "official": ["jd.com"]}, "urls"),
        ("/v1/verify/links", {"urls": ["a.com"] * 1001, "official": ["jd.com"]}, "urls"),
        ("/v1/verify/links", {"urls": ["http://jd.com/" + "a" * 2040], "official": ["jd.com"]}, "urls.0"),
        ("/v1/verify/links", {"urls": [17], "official": ["jd.com"]}, "urls.0"),
        ("/v1/verify/links", {"urls": ["jd.com"], "official": ["localhost"]}, "official"),
        ("/v1/verify/links", {"urls": ["jd.com"], "official": ["a" * 254]}, "official.0"),
        ("/v1/verify/links", {"urls": ["jd.com"], "official": ["jd.com"], "extra": 1}, "extra"),
        ("/v1/verify/message", {"text": "退" * 10_001, "official": ["jd.com"]}, "text"),
        ("/v1/verify/message", {"text": "", "official": ["jd.com"]}, "text"),
    ],
)
def test_bad_input_is_a_422_that_names_the_field(world: World, path: str, body: dict[str, object], field: str) -> None:
    response = world.post("service", path, body)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_a_body_past_the_server_s_limit_is_a_413(world: World) -> None:
    huge = "x" * (world.container.settings.max_body_bytes + 1)
    response = world.post("service", "/v1/verify/message", {"text": huge})
    assert response.status_code == 413


def test_not_json_is_a_400(world: World) -> None:
    response = world.client.post(
        "/v1/verify/links",
        content=b"{not json",
        headers={**world.headers("service"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
