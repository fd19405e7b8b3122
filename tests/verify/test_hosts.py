"""Where a link really goes, however it is written (verify/hosts.py)."""

from __future__ import annotations

import ipaddress

import pytest

from shopshield.verify.hosts import Malformed, parse


@pytest.mark.parametrize(
    ("raw", "host", "registered"),
    [
        ("jd.com", "jd.com", "jd.com"),
        ("https://www.JD.com:8443/x?y=1#z", "www.jd.com", "jd.com"),
        ("//item.jd.com/1.html", "item.jd.com", "jd.com"),
        ("https://ｗｗｗ．ｊｄ．ｃｏｍ／", "www.jd.com", "jd.com"),
        ("京东客服。com", "京东客服.com", "京东客服.com"),
        ("http://%6a%64.com/", "jd.com", "jd.com"),
        ("xn--fiq228c.com", "中文.com", "中文.com"),
        ("hxxps://jd-kefu[.]top/", "jd-kefu.top", "jd-kefu.top"),
        ("shop.example.com.refund-cn.top", "shop.example.com.refund-cn.top", "refund-cn.top"),
        ("a.b.jd.com.cn.", "a.b.jd.com.cn", "jd.com.cn"),
        ("x.github.io", "x.github.io", "x.github.io"),
        ("ftp://files.jd.com", "files.jd.com", "jd.com"),
    ],
)
def test_links_are_read_as_a_browser_would(raw: str, host: str, registered: str) -> None:
    link = parse(raw)
    assert (link.host, link.registered) == (host, registered)


def test_the_part_before_at_is_not_where_the_link_goes() -> None:
    link = parse("https://www.jd.com:login@evil.top/refund")
    assert (link.userinfo, link.registered) == ("www.jd.com:login", "evil.top")


@pytest.mark.parametrize(
    ("raw", "address", "obfuscated"),
    [
        ("http://192.168.1.1/jd", "192.168.1.1", False),
        ("http://3232235777/", "192.168.1.1", True),
        ("http://0xC0A80101/", "192.168.1.1", True),
        ("http://0300.0250.01.01/", "192.168.1.1", True),
        ("http://192.168.257/", "192.168.1.1", True),
        ("http://[2001:db8::1]:8080/", "2001:db8::1", False),
    ],
)
def test_ip_addresses_in_every_form_a_browser_takes(raw: str, address: str, obfuscated: bool) -> None:
    link = parse(raw)
    assert link.ip == ipaddress.ip_address(address)
    assert link.ip_obfuscated is obfuscated
    assert link.registered is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 2049, "too_long"),
        ("javascript:alert(1)", "unsupported_scheme"),
        ("data:text/html,hi", "unsupported_scheme"),
        ("weixin://dl/business", "unsupported_scheme"),
        ("http://", "no_host"),
        ("http://a..com", "bad_host"),
        ("http://a b.com", "bad_host"),
        ("http://<script>.com", "bad_host"),
        ("http://" + "a" * 64 + ".com", "label_too_long"),
        ("http://" + ".".join(["abcdefghi"] * 30) + ".com", "bad_host"),
        ("jd.com:99999", "bad_port"),
        ("jd.com:8o", "bad_port"),
        ("http://1.2.3.999/", "bad_ip"),
        ("http://08.1.1.1/", "bad_ip"),
        ("http://[::g]/", "bad_ip"),
        ("http://[::1/", "bad_host"),
        ("http://xn--jd-.com", "bad_punycode"),
        ("http://xn--99999999999.com", "bad_punycode"),
        ("foo.zzzz", "no_public_suffix"),
        ("localhost", "no_public_suffix"),
        ("http://com/", "no_public_suffix"),
        ("http://%ff.com", "bad_host"),
    ],
)
def test_what_cannot_be_a_web_link_says_why(raw: str, code: str) -> None:
    with pytest.raises(Malformed) as caught:
        parse(raw)
    assert caught.value.code == code
