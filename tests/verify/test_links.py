"""The link checker's verdicts, family by family, and what it leaves alone (verify/links.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopshield.verify.distance import slip
from shopshield.verify.links import FOREIGN, GENERIC, HOME, OWN, RESTRICTED, RISKY, check_link, check_links, ending_kind
from shopshield.verify.official import BadOfficial, Official
from shopshield.verify.reasons import TEXTS

JD = Official.of(["jd.com"], ["京东"])
AMAZON = Official.of(["https://www.amazon.com/"])


def verdict(url: str, official: Official = JD) -> tuple[str, str | None, str]:
    found = check_link(url, official)
    return found.verdict, found.imitates, found.reasons[0].code


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("amazn.com", "typo"),
        ("amazoon.com", "typo"),
        ("amzaon.com", "typo"),
        ("amazom.com", "typo"),
        ("arnazon.com", "visual_swap"),
        ("amaz0n.com", "visual_swap"),
        ("аmazon.com", "homoglyph"),
        ("xn--mazon-3ve.com", "homoglyph"),
        ("amazon-refund.top", "brand_with_words"),
        ("login-amazon.xyz", "brand_with_words"),
        ("smile-amazon.com", "brand_with_words"),
        ("amazon.net", "tld_swap"),
        ("amazon.top", "tld_swap"),
        ("amazon.com.cn", "tld_swap"),
        ("http://www.amazon.com.account-verify.top/signin", "official_in_subdomain"),
        ("https://amazon.com@evil.top/", "userinfo_trick"),
    ],
)
def test_lookalikes_of_a_global_brand(url: str, code: str) -> None:
    assert verdict(url, AMAZON) == ("lookalike", "amazon.com", code)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("jd-kefu.top", "brand_with_words"),
        ("jdrefund.com", "brand_with_words"),
        ("refund-jd.top", "brand_with_words"),
        ("jd-com.vip", "brand_with_words"),
        ("jingdong.com", "brand_pinyin"),
        ("jingdong-tuikuan.cn", "brand_pinyin"),
        ("jingdnog.com", "typo"),
        ("京东客服.com", "brand_chinese"),
        ("xn--xhq9m.top", "brand_chinese"),
        ("jd.top", "tld_swap"),
        ("jd.com.cn", "tld_swap"),
        ("www.jd.com.refund-cn.top", "official_in_subdomain"),
        ("jd.refund-cn.top", "official_in_subdomain"),
    ],
)
def test_lookalikes_of_a_chinese_store(url: str, code: str) -> None:
    assert verdict(url) == ("lookalike", "jd.com", code)


def test_the_report_s_own_link_is_a_lookalike() -> None:
    jumei = Official.of(["jumei.com"], ["聚美优品"])
    assert verdict("http://refund.jumei-help.com.cn/login", jumei) == ("lookalike", "jumei.com", "brand_with_words")
    assert verdict("jumeiyoupin-kefu.top", jumei)[0] == "lookalike"
    assert verdict("jmyp-tuikuan.cn", jumei)[0] == "lookalike"


@pytest.mark.parametrize("url", ["http://3232235777/jd", "http://0xC0A80101/", "http://192.168.1.1/", "http://[::1]/"])
def test_a_bare_ip_address_is_a_lookalike_that_borrows_no_name(url: str) -> None:
    found = check_link(url, JD)
    assert (found.verdict, found.imitates) == ("lookalike", None)
    assert found.reasons[0].code == "ip_host"


def test_subdomains_of_an_official_domain_are_official_whatever_their_spelling() -> None:
    for url in ("https://www.jd.com/", "HTTPS://ITEM.JD.COM/1.html", "passport.jd.com:443/login", "ｊｄ．ｃｏｍ"):
        assert verdict(url) == ("official", "jd.com", "official_domain")
    assert verdict("https://help.jd.com@jd.com/")[0] == "official"


@pytest.mark.parametrize(
    "url",
    [
        "google.com",
        "je.com",  # one letter from a two-letter brand: every two-letter name is
        "jdd.com",
        "jdsports.com",  # the brand with a word that is not a scam's
        "tb.org",
        "baidu.com",
        "https://example.org/jd.com/refund",  # the name in the path goes nowhere
    ],
)
def test_unrelated_domains_stay_unknown(url: str) -> None:
    assert verdict(url)[0] == "unknown"


def test_a_shortener_is_unknown_with_its_reason() -> None:
    assert verdict("https://t.cn/A6abc") == ("unknown", None, "shortener")


def test_a_mixed_script_name_that_borrows_nothing_is_unknown_and_says_so() -> None:
    found = check_link("pаypal-x.com", JD)
    assert found.verdict == "unknown"
    assert "mixed_script" in {r.code for r in found.reasons}


def test_short_initials_alone_are_not_the_store_but_longer_ones_are() -> None:
    pdd = Official.of(["pinduoduo.com"], ["拼多多"])
    assert verdict("pdd.top", pdd)[0] == "lookalike"
    taobao = Official.of(["taobao.com"], ["淘宝"])
    assert verdict("tb.top", taobao)[0] == "unknown"
    assert verdict("tb-tuikuan.top", taobao)[0] == "lookalike"


def test_answers_keep_the_input_order_and_the_contract_shape() -> None:
    urls = ["jd-kefu.top", "", "https://www.jd.com/", "google.com"]
    found = [v.as_json() for v in check_links(urls, JD)]
    assert [f["url"] for f in found] == urls
    assert [f["verdict"] for f in found] == ["lookalike", "malformed", "official", "unknown"]
    for answer in found:
        assert set(answer) == {"url", "verdict", "imitates", "reasons"}
        reasons = answer["reasons"]
        assert isinstance(reasons, list) and reasons
        for r in reasons:
            assert r["code"] in TEXTS and r["message"] and r["message_zh"]


def test_every_reason_has_english_and_chinese() -> None:
    for code, (english, chinese) in TEXTS.items():
        assert english.isascii(), code
        assert any("\u4e00" <= c <= "\u9fff" for c in chinese), code


@pytest.mark.parametrize(
    ("domains", "brands"),
    [([], []), (["localhost"], []), (["1.2.3.4"], []), (["jd.com"], ["!!"]), (["jd.com"], ["x" * 41])],
)
def test_bad_official_values_are_refused(domains: list[str], brands: list[str]) -> None:
    with pytest.raises(BadOfficial):
        Official.of(domains, brands)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_the_checker_never_raises(text: str) -> None:
    found = check_link(text, JD)
    assert found.verdict in {"official", "lookalike", "unknown", "malformed"}
    assert found.reasons


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.аеорсіνο京东@:/%[]", max_size=40), max_size=5))
def test_the_checker_never_raises_on_host_like_text(parts: list[str]) -> None:
    for url in ("".join(parts), "http://" + ".".join(parts), ".".join(parts) + ".com"):
        assert check_link(url, JD).verdict in {"official", "lookalike", "unknown", "malformed"}


# The rules of the 2026-12-05 revision (decision 0030): each with a real lookalike it still
# catches and a legitimate close name it leaves alone.

EBAY = Official.of(["ebay.com"])
WALMART = Official.of(["walmart.com"])
JUMEI = Official.of(["jumei.com"], ["聚美优品"])
VIP = Official.of(["vip.com"], ["唯品会"])
RAKUTEN = Official.of(["rakuten.co.jp"])


@pytest.mark.parametrize(
    ("seen", "meant", "kind"),
    [
        ("amazom", "amazon", "adjacent_key"),
        ("amazonn", "amazon", "repetition"),
        ("amzaon", "amazon", "transposition"),
        ("amazn", "amazon", "omission"),
        ("amazonh", "amazon", "insertion"),  # h is beside n
        ("jymei", "jumei", "adjacent_key"),  # y is a thumb's slip from u on a phone
        ("jumex", "jumei", None),  # x is nowhere near i: another word
        ("epay", "ebay", None),
        ("walmark", "walmart", None),
        ("amazonq", "amazon", None),
        ("amazon", "amazon", None),
        ("amzn", "amazon", None),  # two edits
    ],
)
def test_a_slip_is_a_mistake_of_the_hand(seen: str, meant: str, kind: str | None) -> None:
    assert slip(seen, meant) == kind


def test_one_edit_counts_only_as_a_slip_of_the_hand() -> None:
    assert verdict("amazom.com", AMAZON) == ("lookalike", "amazon.com", "typo")
    assert verdict("wallmart.com", WALMART) == ("lookalike", "walmart.com", "typo")
    assert verdict("jumie.com", JUMEI) == ("lookalike", "jumei.com", "typo")
    # Real names one edit away, the edit no slip of the hand: left unknown.
    for url, official in (("walmark.com", WALMART), ("jumex.com", JUMEI), ("epay.com", EBAY), ("amazona.com", AMAZON)):
        assert verdict(url, official) == ("unknown", None, "not_official"), url
    # Long names still allow two edits of any kind.
    assert verdict("jumeiyuopin.com", JUMEI)[0] == "lookalike"


def test_a_name_of_three_letters_or_fewer_is_not_judged_by_edits() -> None:
    assert verdict("bay.com", EBAY)[0] == "unknown"
    assert verdict("eay.com", EBAY)[0] == "unknown"
    assert verdict("ebya.com", EBAY) == ("lookalike", "ebay.com", "typo")
    assert verdict("ebay-refund.top", EBAY) == ("lookalike", "ebay.com", "brand_with_words")


def test_a_slip_under_another_ending_needs_a_risky_or_the_market_s_ending() -> None:
    for url, official in (("amazone.de", AMAZON), ("embay.org", EBAY), ("wallmart.org", WALMART)):
        assert verdict(url, official)[0] == "unknown", url
    assert verdict("amazonn.top", AMAZON) == ("lookalike", "amazon.com", "typo")
    assert verdict("jingdnog.cn") == ("lookalike", "jd.com", "typo")
    assert verdict("wallmart.com.cn", WALMART) == ("lookalike", "walmart.com", "typo")
    # Look-alike letters are a deception whatever the ending.
    assert verdict("arnazon.de", AMAZON) == ("lookalike", "amazon.com", "visual_swap")


def test_the_exact_name_under_another_country_s_ending_is_left_to_the_store() -> None:
    for url, official in (
        ("amazon.de", AMAZON),
        ("https://www.amazon.co.uk/", AMAZON),
        ("jd.hk", JD),
        ("amazon.jobs", AMAZON),
        ("walmart.com.mx", WALMART),
    ):
        found = check_link(url, official)
        assert found.verdict == "unknown", url
        assert found.reasons[0].code == "same_name_elsewhere"
        assert official.domains[0] in found.reasons[0].message
    # Generic endings, endings sold as generic ones and the store's market's are still caught.
    for url, official in (("amazon.net", AMAZON), ("amazon.cc", AMAZON), ("amazon.cn", AMAZON), ("jd.com.cn", JD)):
        assert verdict(url, official)[0:2] == ("lookalike", official.domains[0]), url
    assert verdict("rakuten.jp", RAKUTEN) == ("lookalike", "rakuten.co.jp", "tld_swap")
    # Scam words make it a lookalike whatever the ending.
    assert verdict("amazon-refund.de", AMAZON) == ("lookalike", "amazon.com", "brand_with_words")
    assert verdict("jd-kefu.hk") == ("lookalike", "jd.com", "brand_with_words")


def test_the_brand_beside_unknown_words_under_another_country_s_ending_is_left_alone() -> None:
    assert verdict("ebay-kleinanzeigen.de", EBAY)[0] == "unknown"
    assert verdict("ebay-kleinanzeigen.top", EBAY) == ("lookalike", "ebay.com", "brand_with_words")
    assert verdict("sale-ebay.com", EBAY) == ("lookalike", "ebay.com", "brand_with_words")


def test_the_brand_glued_to_a_product_word_needs_a_risky_ending_a_hyphen_or_a_scam_word() -> None:
    assert verdict("vipshop.com", VIP)[0] == "unknown"
    assert verdict("amazonmobile.com", AMAZON)[0] == "unknown"
    assert verdict("vipshop.top", VIP) == ("lookalike", "vip.com", "brand_with_words")
    assert verdict("amazonmobile.cn", AMAZON) == ("lookalike", "amazon.com", "brand_with_words")
    assert verdict("vip-shop.com", VIP) == ("lookalike", "vip.com", "brand_with_words")
    assert verdict("vipshop-refund.com", VIP) == ("lookalike", "vip.com", "brand_with_words")
    # The issue's own words stay evidence alone, though brands use them too.
    assert verdict("jdpay.com") == ("lookalike", "jd.com", "brand_with_words")
    assert verdict("amazonvip.com", AMAZON) == ("lookalike", "amazon.com", "brand_with_words")


@pytest.mark.parametrize(
    ("suffix", "kind"),
    [
        ("com", OWN),
        ("cn", HOME),
        ("com.cn", HOME),
        ("中国", HOME),
        ("top", RISKY),
        ("cc", RISKY),
        ("jobs", RESTRICTED),
        ("de", FOREIGN),
        ("co.uk", FOREIGN),
        ("com.mx", FOREIGN),
        ("net", GENERIC),
        ("org", GENERIC),
        ("io", GENERIC),
    ],
)
def test_what_an_ending_says(suffix: str, kind: str) -> None:
    assert ending_kind(suffix, AMAZON) == kind


def test_the_store_s_own_country_is_its_market() -> None:
    assert ending_kind("jp", RAKUTEN) == HOME
    assert ending_kind("co.jp", RAKUTEN) == OWN
    assert ending_kind("de", RAKUTEN) == FOREIGN


def test_one_letter_of_another_script_outside_the_confusables_is_still_a_homoglyph() -> None:
    # Greek beta and tau are not joined to b and t by Unicode's data; one of them in the name is
    # no slip of the hand, but no namesake either.
    taobao = Official.of(["taobao.com"], ["淘宝"])
    assert verdict("taoβao.com", taobao) == ("lookalike", "taobao.com", "homoglyph")
    assert verdict("xn--taoao-l9d.com", taobao) == ("lookalike", "taobao.com", "homoglyph")
    assert verdict("eτsy.com", Official.of(["etsy.com"])) == ("lookalike", "etsy.com", "homoglyph")
    # A plain ASCII word one non-slip edit away is still left alone.
    assert verdict("jumex.com", JUMEI)[0] == "unknown"


KAOLA = Official.of(["kaola.com"], ["考拉海购"])
OTTO = Official.of(["otto.de"])
CHEWY = Official.of(["chewy.com"])


def test_a_slip_that_spells_a_common_word_is_a_different_name() -> None:
    # koala and chew are English words, lotto a German one (otto.de's market); each is one slip
    # from the brand, and a site under it is the word's, not a typo registered to pass for it.
    for url, official in (("koala.com", KAOLA), ("chew.com", CHEWY), ("lotto.de", OTTO)):
        assert verdict(url, official) == ("unknown", None, "not_official"), url
    # A slip that spells no word is still caught.
    assert verdict("kaloa.com", KAOLA) == ("lookalike", "kaola.com", "typo")
    assert verdict("chewwy.com", CHEWY) == ("lookalike", "chewy.com", "typo")
    assert verdict("ottto.de", OTTO) == ("lookalike", "otto.de", "typo")


def test_a_word_slip_with_a_risky_ending_or_a_scam_word_is_still_a_lookalike() -> None:
    assert verdict("koala.top", KAOLA) == ("lookalike", "kaola.com", "typo")
    assert verdict("https://refund.koala.com/", KAOLA) == ("lookalike", "kaola.com", "typo")
    assert verdict("https://kefu-help.chew.com/", CHEWY) == ("lookalike", "chewy.com", "typo")
    # The labels every site has are no scam words.
    assert verdict("https://www.koala.com/", KAOLA)[0] == "unknown"
    assert verdict("https://m.chew.com/", CHEWY)[0] == "unknown"
    # Added words are judged as before: the brand, mistyped, beside a scam word.
    assert verdict("koala-kefu.com", KAOLA) == ("lookalike", "kaola.com", "brand_with_words")


def test_the_word_test_asks_english_and_the_market_s_language_only() -> None:
    from shopshield.verify.words import is_common_word, market_languages

    assert market_languages(frozenset({"de"})) == ("en", "de")
    assert market_languages(frozenset({"com"})) == ("en",)
    assert market_languages(frozenset({"com.cn", "co.uk"})) == ("en",)
    assert is_common_word("lotto", ("en", "de"))
    assert not is_common_word("kaloa", ("en", "de"))
    # The brands' own misspellings are in the web text wordfreq counts, but rarely: below the line.
    assert not is_common_word("amazin", ("en",))
    assert not is_common_word("wallmart", ("en",))
    # Only plain words are looked up.
    assert not is_common_word("k0ala", ("en",))


def test_greek_and_cyrillic_letters_the_confusables_data_leaves_apart_read_as_latin() -> None:
    from shopshield.verify.skeleton import skeleton

    for seen, meant in (("οττο", "otto"), ("κaola", "kaola"), ("βay", "bay"), ("тoто", "toto"), ("χyz", "xyz")):
        assert skeleton(seen) == skeleton(meant), seen
    # A whole name in Greek letters is the brand's look-alike, under any ending.
    assert verdict("οττο.de", OTTO) == ("lookalike", "otto.de", "homoglyph")
    assert verdict("xn--0xaaoa.de", OTTO) == ("lookalike", "otto.de", "homoglyph")
    assert verdict("κaοla.com", KAOLA) == ("lookalike", "kaola.com", "homoglyph")
    # Greek written as Greek, with no Latin look-alike of the brand, is no lookalike.
    assert verdict("λογος.gr", OTTO)[0] == "unknown"


def test_a_three_letter_brand_lengthened_by_one_slip_is_a_typo() -> None:
    yhd = Official.of(["yhd.com"])
    for url in ("yhdd.com", "yyhd.com", "yhjd.com", "yhdd.top", "yhdd.cn"):
        assert verdict(url, yhd) == ("lookalike", "yhd.com", "typo"), url
    # Shortened, transposed or changed, three letters stay three letters: all of them are someone's.
    for url in ("yh.com", "hyd.com", "yhf.com"):
        assert verdict(url, yhd)[0] == "unknown", url
    # A letter added away from the keys it touches, a common word, or another ending: left alone.
    assert verdict("yhdq.com", yhd)[0] == "unknown"
    assert verdict("viper.com", VIP)[0] == "unknown"
    assert verdict("viip.org", VIP)[0] == "unknown"
    assert verdict("boil.com", Official.of(["bol.com"]))[0] == "unknown"
    # Initials of a Chinese name are not lengthened: only the official name and given names are.
    assert verdict("pddd.com", Official.of(["pinduoduo.com"], ["拼多多"]))[0] == "unknown"


def test_a_short_official_name_apart_beside_any_word_needs_a_risky_or_the_market_s_ending() -> None:
    assert verdict("jd-sale.cc") == ("lookalike", "jd.com", "brand_with_words")
    assert verdict("vip-global.cn", VIP) == ("lookalike", "vip.com", "brand_with_words")
    assert verdict("orders-track-jd.site") == ("lookalike", "jd.com", "brand_with_words")
    # Under an ordinary ending it is left alone; initials are not the official name.
    assert verdict("jd-sale.com")[0] == "unknown"
    assert verdict("vip-club.org", VIP)[0] == "unknown"
    assert verdict("tb-sale.top", Official.of(["taobao.com"], ["淘宝"]))[0] == "unknown"


def test_a_digit_in_a_chinese_name_is_read_as_its_numeral() -> None:
    yhd = Official.of(["yhd.com"], ["1号店"])
    assert verdict("yihaodian.com", yhd) == ("lookalike", "yhd.com", "brand_pinyin")
    assert verdict("yihaodian-kefu.cn", yhd) == ("lookalike", "yhd.com", "brand_pinyin")
