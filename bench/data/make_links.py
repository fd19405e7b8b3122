"""Write ``bench/data/links.jsonl``: the labelled links the link checker is measured on.

``python -m bench.data.make_links`` rewrites it, byte for byte the same for the same seed.

Split by brand *before* any rule was tuned (decision 0030): the rules were written and tried on
the development brands only; the held-out brands, their lookalikes and their unrelated domains
were not looked at until the benchmark's one run. Each row names its split.

Rows: ``{"split", "brand", "official", "brand_zh", "url", "label", "family", "params"}`` with
``label`` one of ``official``, ``lookalike``, ``unrelated``. The first line is the meta row
(``{"meta": ...}``): seed, split, and how the rows were made.

Lookalikes come in families, each with its parameters, made here by transformations written for
this file (not by ``shopshield.verify.lookalikes``, which would only measure the checker against
itself), and some written by hand in the 2016 report's style. Unrelated domains are popular sites
and real domains close in spelling to a brand; each is checked against every brand of its split.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

SEED = 30
OUT = Path(__file__).with_name("links.jsonl")


@dataclass(frozen=True)
class BrandCase:
    domain: str
    zh: str | None
    pinyin: str | None
    initials: str | None
    handwritten: tuple[str, ...]


DEV = (
    BrandCase(
        "jd.com",
        "京东",
        "jingdong",
        "jd",
        (
            "http://www.jd.com.refund-cn.top/login",
            "https://jd-kefu.cn/tuikuan",
            "jingdong-tuikuan.com/verify",
            "http://jd.com-vip.top/",
            "https://京东客服.com/",
        ),
    ),
    BrandCase(
        "jumei.com",
        "聚美优品",
        "jumeiyoupin",
        "jmyp",
        (
            "http://refund.jumei-help.com.cn/login",
            "http://www.jumei-help.com.cn/r",
            "jumeiyoupin-kefu.top",
            "https://jumei.refund-cn.top/order",
            "http://jmyp-tuikuan.cn/",
        ),
    ),
    BrandCase(
        "vip.com",
        "唯品会",
        "weipinhui",
        "wph",
        (
            "https://vip-refund.top/",
            "http://weipinhui-kefu.com/",
            "https://www.vip.com.tuikuan-cn.xyz/",
            "唯品会退款.com",
            "http://wph-service.cn/login",
        ),
    ),
    BrandCase(
        "amazon.com",
        None,
        None,
        None,
        (
            "https://amazon-refund-center.com/",
            "http://amazon.com.account-verify.top/signin",
            "https://secure-amazon-login.xyz/",
        ),
    ),
    BrandCase(
        "ebay.com",
        None,
        None,
        None,
        ("https://ebay-refund.top/", "http://signin.ebay.com.session-verify.cc/", "https://ebay-help-center.net/"),
    ),
    BrandCase(
        "walmart.com",
        None,
        None,
        None,
        ("https://walmart-refund.top/", "http://walmart.com.order-help.xyz/", "https://www-walmart-support.com/"),
    ),
)
HELD_OUT = (
    BrandCase(
        "taobao.com",
        "淘宝",
        "taobao",
        "tb",
        (
            "http://taobao-kefu.top/refund",
            "https://www.taobao.com.tuikuan-cn.top/",
            "http://tb-tuikuan.cn/login",
            "淘宝客服.cn",
            "https://taobao.com.cn/",
        ),
    ),
    BrandCase(
        "pinduoduo.com",
        "拼多多",
        "pinduoduo",
        "pdd",
        (
            "http://pdd-kefu.top/",
            "https://pinduoduo-refund.cn/login",
            "http://www.pinduoduo.com.service-cn.xyz/",
            "拼多多退款.com",
            "https://pinduodou.com/",
        ),
    ),
    BrandCase(
        "suning.com",
        "苏宁易购",
        "suningyigou",
        "snyg",
        (
            "http://suning-tuikuan.top/",
            "https://suningyigou-kefu.cn/",
            "http://suning.com.refund-help.top/login",
            "https://snyg-service.com/",
            "苏宁易购客服.com",
        ),
    ),
    BrandCase(
        "dangdang.com",
        "当当",
        "dangdang",
        "dd",
        (
            "http://dangdang-refund.top/",
            "https://dd-kefu.cn/",
            "http://www.dangdang.com.tuikuan.xyz/",
            "当当客服.com",
            "https://dangdnag.com/login",
        ),
    ),
    BrandCase(
        "rakuten.co.jp",
        None,
        None,
        None,
        ("https://rakuten-card-login.top/", "http://rakuten.co.jp.account-secure.xyz/", "https://rakuten-support.com/"),
    ),
    BrandCase(
        "etsy.com",
        None,
        None,
        None,
        ("https://etsy-refund.top/", "http://etsy.com.payment-verify.cc/", "https://etsy-help.net/"),
    ),
    BrandCase(
        "bestbuy.com",
        None,
        None,
        None,
        ("https://bestbuy-refund.top/", "http://bestbuy.com.order-help.xyz/", "https://bestbuy-geeksquad-renewal.com/"),
    ),
)

# Popular sites, each checked against every brand of its split (half each, fixed).
POPULAR_DEV = (
    "google.com", "youtube.com", "baidu.com", "qq.com", "weibo.com", "bilibili.com", "zhihu.com", "douban.com",
    "github.com", "stackoverflow.com", "wikipedia.org", "apple.com", "microsoft.com", "netflix.com", "spotify.com",
    "163.com", "sohu.com", "ctrip.com", "meituan.com", "alipay.com", "tmall.com", "aliexpress.com", "target.com",
    "costco.com", "ikea.com", "nike.com", "zara.com", "booking.com", "airbnb.com", "paypal.com", "reddit.com",
    "linkedin.com", "xiaohongshu.com", "douyin.com", "kuaishou.com", "iqiyi.com", "csdn.net", "sf-express.com",
    "cainiao.com", "icbc.com.cn", "ccb.com", "cmbchina.com", "mi.com", "huawei.com", "lenovo.com", "oppo.com",
)  # fmt: skip
POPULAR_HELD_OUT = (
    "bing.com", "yahoo.com", "twitter.com", "instagram.com", "facebook.com", "tiktok.com", "twitch.tv",
    "discord.com", "telegram.org", "pinterest.com", "tumblr.com", "quora.com", "imdb.com", "adobe.com",
    "dropbox.com", "shopify.com", "samsung.com", "sony.com", "adidas.com", "uniqlo.com", "shein.com", "temu.com",
    "flipkart.com", "mercadolibre.com", "coupang.com", "lazada.com", "shopee.com", "ozon.ru", "allegro.pl",
    "asos.com", "wayfair.com", "macys.com", "nordstrom.com", "ups.com", "fedex.com", "dhl.com", "usps.com",
    "toutiao.com", "sogou.com", "so.com", "hao123.com", "youku.com", "dianping.com", "ele.me", "zto.com", "boc.cn",
)  # fmt: skip
# Real domains close in spelling to a brand of the split (a typo, a shared name, a word added).
CLOSE_DEV = (
    "jw.org", "jdsports.com", "jdpower.com", "jdate.com", "jumia.com", "vk.com", "vipkid.com", "vimeo.com",
    "vivo.com", "amazonaws.com", "amazonia.org", "ebags.com", "walgreens.com", "walmartcareers.com", "embay.org",
)  # fmt: skip
# More real domains close in spelling to a development brand, added after the first run showed the
# development set too easy (15 close names, one flagged) beside the held-out set's (126, ten
# flagged). Chosen for closeness, from general knowledge, to cover the kinds of closeness real
# names have: a real word or name one or two edits away (amazone.de, jumex.com, vipp.com, epay.com),
# the brand's name under another ending, owned by someone else or by the brand itself (jd.hk,
# amazon.jobs, walmart.org, ebay.de), initials and short names (jdl.com, vio.com), the brand with
# corporate or product words (ebayinc.com, walmartstores.com, aboutamazon.com, jdcloud.com,
# amazontrust.com), and names that hold the brand inside another word (jumeirah.com, vipre.com).
# Their own random draws (the link's form) come from a separate generator, so every earlier row
# is unchanged. A few are not known to exist but are built in the shape of real corporate names
# (jumeiinc.com, vipholdings.com, amazonmobile.com, walmartmobile.com, walmartholdings.com,
# jdcareers.com, ebaycareers.com): plausible names a brand or a namesake would register.
CLOSE_DEV_MORE = (
    "jdrf.org", "jdsupra.com", "jdoodle.com", "jdwilliams.co.uk", "jdsports.co.uk", "jdcloud.com", "jdl.com",
    "jdpay.com", "jd.hk", "jd.co.th", "jd.id", "jdcareers.com", "jdgroup.co.za",
    "jumex.com", "jumeirah.com", "jumbo.com", "jumia.com.ng", "jumia.co.ke", "juneau.org", "jumeiinc.com",
    "vipp.com", "vio.com", "via.com", "vipre.com", "vipps.no", "viparis.com", "vipkid.com.cn", "viper.com",
    "vips.com", "vipshop.com", "vipholdings.com",
    "amazon.jobs", "amazon.science", "amazon.co.uk", "amazon.de", "aboutamazon.com", "amazontrust.com",
    "amazon-adsystem.com", "amazone.de", "amazona.com", "amazonaws.com.cn", "amazing.com", "amazonmobile.com",
    "ebayinc.com", "ebaymotors.com", "ebayimg.com", "ebay-kleinanzeigen.de", "ebay.co.uk", "ebay.de", "epay.com",
    "ebanx.com", "ebay.org", "bay.com", "obey.com", "ebaycareers.com",
    "walmart.ca", "walmart.com.mx", "walmart.org", "walmartimages.com", "walmartstores.com", "walmartethics.com",
    "walmark.com", "walmartone.com", "wallmart.org", "walmartmobile.com", "walmartholdings.com",
)  # fmt: skip
CLOSE_HELD_OUT = (
    "taobaoke.net", "toabao.org", "pinduoduo.tw", "duoduo.com", "sunny.com", "suningholdings.com", "dangdai.com",
    "dingdang.com", "rakutenmobile.us", "rakuen.jp", "ets.org", "easy.com", "betsy.com", "bestbuyinc.org",
    "bestbuyer.com", "tb.org", "pdd.net", "dd.com",
)  # fmt: skip

# The fresh held-out split (revision of 2026-12-05). The first held-out half was scored once and
# its false flags were read, so it is "seen": a rule changed after that run could be tuned to it.
# These brands were never used before (none is in the lists above), and their rows, with the close
# names below, were written and committed before any rule was changed and before any score was
# run on them; the benchmark scores them once, at the end.
FRESH = (
    BrandCase(
        "kaola.com",
        "考拉海购",
        "kaolahaigou",
        "klhg",
        (
            "http://kaola-kefu.top/refund",
            "https://www.kaola.com.tuikuan-cn.top/",
            "kaolahaigou-tuikuan.cn/login",
            "考拉海购客服.com",
            "https://klhg-service.cn/",
        ),
    ),
    BrandCase(
        "vmall.com",
        "华为商城",
        "huaweishangcheng",
        "hwsc",
        (
            "http://vmall-refund.top/",
            "https://huaweishangcheng-kefu.cn/",
            "http://www.vmall.com.service-cn.xyz/login",
            "华为商城退款.com",
            "https://vmal1.com/order",
        ),
    ),
    BrandCase(
        "yhd.com",
        "1号店",
        "yihaodian",
        "yhd",
        (
            "http://yhd-tuikuan.top/",
            "https://yihaodian-kefu.cn/",
            "http://yhd.com.refund-help.top/login",
            "1号店客服.com",
        ),
    ),
    BrandCase(
        "gome.com.cn",
        "国美",
        "guomei",
        "gm",
        (
            "http://gome-kefu.top/",
            "https://guomei-tuikuan.cn/",
            "http://www.gome.com.cn.refund-cn.xyz/",
            "国美退款.com",
            "https://gm-kefu.cn/login",
        ),
    ),
    BrandCase(
        "zalando.com",
        None,
        None,
        None,
        ("https://zalando-refund.top/", "http://zalando.com.account-verify.cc/", "https://zalando-retoure.net/"),
    ),
    BrandCase(
        "otto.de",
        None,
        None,
        None,
        ("https://otto-kundenservice.top/", "http://otto.de.konto-login.xyz/", "https://otto-rueckerstattung.com/"),
    ),
    BrandCase(
        "chewy.com",
        None,
        None,
        None,
        ("https://chewy-refund.top/", "http://chewy.com.order-help.xyz/", "https://chewy-autoship-support.com/"),
    ),
)
# Popular sites for the fresh split, none in the lists above.
POPULAR_FRESH = (
    "whatsapp.com", "office.com", "live.com", "icloud.com", "zoom.us", "slack.com", "canva.com", "roblox.com",
    "espn.com", "weather.com", "cnn.com", "bbc.co.uk", "nytimes.com", "theguardian.com", "medium.com",
    "wordpress.com", "gitlab.com", "salesforce.com", "duckduckgo.com", "yandex.ru", "mail.ru", "naver.com",
    "yahoo.co.jp", "expedia.com", "tripadvisor.com", "newegg.com", "homedepot.com", "kohls.com", "tokopedia.com",
    "wildberries.ru", "jianshu.com", "zhipin.com", "58.com", "autohome.com.cn", "eastmoney.com", "qunar.com",
    "fliggy.com", "ifeng.com", "people.com.cn", "xinhuanet.com", "cctv.com", "12306.cn", "tencent.com",
    "ximalaya.com", "zhaopin.com", "pconline.com.cn",
)  # fmt: skip
# Real domains close in spelling to a fresh brand, written down before any score on them: a real
# word or name one edit away, the brand's name under another ending (its own or someone else's),
# two-letter initials, the brand with corporate words, the brand inside another word. A few are
# plausible names not known to exist (kaola.net, yhd.org, chew.com, mall.com).
CLOSE_FRESH = (
    "koala.com", "kola.com", "kakao.com", "kaolin.com", "kaola.net",
    "hmall.com", "mall.com", "huaweicloud.com",
    "yhd.org",
    "gnome.org", "game.com", "home.com", "gm.com",
    "zalando.de", "zalando.co.uk", "orlando.com",
    "lotto.de", "toto.com", "ottobock.com", "ottogroup.com", "motto.com",
    "chevy.com", "chew.com",
)  # fmt: skip

# The second fresh split (revision of 2026-12-05, "fresh2"). The fresh split was scored once and
# its false flags and misses were read, so it is seen too. These brands were never used before
# (none is a brand, a popular site or a close name above), three Chinese and four international
# from four markets; their rows, the popular sites and the close names below were written and
# committed before any rule was changed and before any score was run on them. The benchmark
# scores them once, at the end.
FRESH2 = (
    BrandCase(
        "dhgate.com",
        "敦煌网",
        "dunhuangwang",
        "dhw",
        (
            "http://dhgate-refund.top/",
            "https://dunhuangwang-kefu.cn/",
            "http://www.dhgate.com.order-verify.xyz/login",
            "敦煌网客服.com",
            "https://dhgate-buyer-help.com/",
        ),
    ),
    BrandCase(
        "womai.com",
        "我买网",
        "womaiwang",
        "wmw",
        (
            "http://womai-tuikuan.top/",
            "https://womaiwang-kefu.cn/",
            "http://womai.com.refund-cn.top/login",
            "我买网退款.com",
            "https://wmw-service.cn/",
        ),
    ),
    BrandCase(
        "vancl.com",
        "凡客诚品",
        "fankechengpin",
        "fkcp",
        (
            "http://vancl-kefu.top/",
            "https://fanke-tuikuan.cn/",
            "http://www.vancl.com.refund-help.xyz/",
            "凡客诚品客服.com",
            "https://vanc1.com/order",
        ),
    ),
    BrandCase(
        "tesco.com",
        None,
        None,
        None,
        (
            "https://tesco-clubcard-refund.top/",
            "http://tesco.com.account-verify.xyz/signin",
            "https://tesco-delivery-help.com/",
        ),
    ),
    BrandCase(
        "bol.com",
        None,
        None,
        None,
        ("https://bol-klantenservice.top/", "http://bol.com.betaling-verify.xyz/", "https://bol-terugbetaling.com/"),
    ),
    BrandCase(
        "kmart.com.au",
        None,
        None,
        None,
        ("https://kmart-refund.top/", "http://kmart.com.au.order-help.xyz/", "https://kmart-afterpay-support.com/"),
    ),
    BrandCase(
        "wish.com",
        None,
        None,
        None,
        ("https://wish-refund.top/", "http://wish.com.account-verify.cc/", "https://wish-order-help.net/"),
    ),
)
# Popular sites for the fresh2 split, none in the lists above, and none on the checker's own list
# of well-known sites (vocabulary.WELL_KNOWN) at the time they were written down.
POPULAR_FRESH2 = (
    "openai.com", "chatgpt.com", "forbes.com", "reuters.com", "bloomberg.com", "wsj.com",
    "washingtonpost.com", "hulu.com", "disneyplus.com", "steampowered.com", "epicgames.com",
    "playstation.com", "nintendo.com", "zillow.com", "indeed.com", "craigslist.org", "yelp.com", "uber.com",
    "doordash.com", "instacart.com", "chase.com", "wellsfargo.com", "capitalone.com", "americanexpress.com",
    "visa.com", "mastercard.com", "stripe.com", "notion.so", "figma.com", "cloudflare.com", "mozilla.org",
    "archive.org", "xueqiu.com", "thepaper.cn", "pingan.com", "10086.cn", "bytedance.com", "dingtalk.com",
    "aliyun.com", "smzdm.com", "mafengwo.cn", "ke.com", "lianjia.com", "hupu.com", "douyu.com", "kugou.com",
)  # fmt: skip
# Real, well-known domains close in spelling to a fresh2 brand, written down before any score on
# them and chosen by how such names occur in the world: dictionary words one or two slips away
# (woman.com, women.com, bowl.com, wise.com, dish.com, wash.com, smart.com), other companies'
# names one slip away (tessco.com, testo.com, hmart.com, bolt.eu, bolt.com, wisc.edu) or two
# (tesla.com, vans.com, wix.com), the same name under another ending owned by someone else
# (kmart.com, the US chain; bol.com.br, a Brazilian portal) or by the brand itself (tesco.ie,
# kmart.co.nz), the brand inside a longer real name (tescobank.com, tescomobile.com,
# wishpond.com, vancity.com) and the name with a part dropped (gate.io).
CLOSE_FRESH2 = (
    "woman.com", "women.com",
    "vans.com", "vancity.com",
    "tessco.com", "testo.com", "tesla.com", "tescobank.com", "tescomobile.com", "tesco.ie",
    "bol.com.br", "bolt.eu", "bowl.com", "bolt.com",
    "kmart.com", "hmart.com", "smart.com", "kmart.co.nz",
    "wise.com", "dish.com", "wisc.edu", "wash.com", "wishpond.com", "wix.com",
    "gate.io",
)  # fmt: skip

WORDS_LISTED = ("refund", "kefu", "tuikuan", "login", "vip", "pay", "service", "help", "cs", "客服")
WORDS_OTHER = ("deals", "promo", "club", "express", "global", "orders-track", "giftcard", "sale")
TLDS = ("com", "cn", "com.cn", "net", "top", "xyz", "vip", "shop", "cc", "online", "site", "info", "co", "cn.com")
KEYS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
SCRIPTS = {
    "cyrillic": {"a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "i": "і", "j": "ј", "s": "ѕ"},
    "greek": {"o": "ο", "i": "ι", "k": "κ", "v": "ν", "u": "υ", "n": "η", "t": "τ", "a": "α", "b": "β"},
    "latin_ext": {"a": "ɑ", "g": "ɡ", "i": "ı", "o": "ȯ", "e": "ė", "u": "ų", "n": "ń", "d": "ď"},
}
VISUAL = (("m", "rn"), ("w", "vv"), ("d", "cl"), ("o", "0"), ("l", "1"), ("i", "1"), ("i", "l"), ("l", "I"))


def _near(char: str, rng: random.Random) -> str:
    for row_index, row in enumerate(KEYS):
        col = row.find(char)
        if col >= 0:
            options = [row[c] for c in (col - 1, col + 1) if 0 <= c < len(row)]
            for other in (row_index - 1, row_index + 1):
                if 0 <= other < len(KEYS):
                    options += [KEYS[other][c] for c in (col, col + 1, col - 1) if 0 <= c < len(KEYS[other])]
            return rng.choice(options)
    return char


def _one_typo(name: str, op: str, rng: random.Random) -> str:
    i = rng.randrange(len(name))
    if op == "omission":
        return name[:i] + name[i + 1 :]
    if op == "repetition":
        return name[: i + 1] + name[i] + name[i + 1 :]
    if op == "transposition":
        i = rng.randrange(len(name) - 1)
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if op == "adjacent_key":
        return name[:i] + _near(name[i], rng) + name[i + 1 :]
    return name[: i + 1] + _near(name[i], rng) + name[i + 1 :]  # insertion beside the key


def _ascii(host: str) -> str:
    return ".".join(
        label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii") for label in host.split(".")
    )


def _rand_label(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(5, 9)))


def lookalikes(case: BrandCase, rng: random.Random) -> list[tuple[str, str, dict[str, Any]]]:
    name, _, suffix = case.domain.partition(".")
    out: list[tuple[str, str, dict[str, Any]]] = []
    ops = ("omission", "repetition", "transposition", "adjacent_key", "insertion")
    family = "typo" if len(name) > 3 else "typo_short_brand"
    for op in ops:
        for _ in range(3):
            typo = _one_typo(name, op, rng)
            if typo != name and typo:
                out.append((f"{typo}.{suffix}", family, {"op": op, "edits": 1}))
    if len(name) >= 8:
        for _ in range(4):
            first, second = rng.sample(ops, 2)
            typo = _one_typo(_one_typo(name, first, rng), second, rng)
            if typo != name:
                out.append((f"{typo}.{suffix}", "typo", {"op": f"{first}+{second}", "edits": 2}))
    for letter, looks in VISUAL:
        if letter in name:
            swapped = name.replace(letter, looks, 1)
            out.append((f"{swapped}.{suffix}".lower(), "visual_swap", {"swap": f"{letter}->{looks}"}))
    for script, table in SCRIPTS.items():
        places = [i for i, c in enumerate(name) if c in table]
        if not places:
            continue
        i = rng.choice(places)
        one = name[:i] + table[name[i]] + name[i + 1 :]
        every = "".join(table.get(c, c) for c in name)
        for spelled, count in ((one, 1), (every, len(places))):
            for encoding in ("unicode", "punycode"):
                host = f"{spelled}.{suffix}"
                out.append(
                    (
                        host if encoding == "unicode" else _ascii(host),
                        "homoglyph",
                        {"script": script, "letters": count, "encoding": encoding},
                    )
                )
    for tld in rng.sample([t for t in TLDS if t != suffix], 5):
        out.append((f"{name}.{tld}", "tld_swap", {"tld": tld}))
    for word in WORDS_LISTED:
        position = rng.choice(("prefix", "suffix", "hyphen_prefix", "hyphen_suffix"))
        tld = rng.choice(TLDS)
        spelled = {
            "prefix": f"{word}{name}",
            "suffix": f"{name}{word}",
            "hyphen_prefix": f"{word}-{name}",
            "hyphen_suffix": f"{name}-{word}",
        }[position]
        out.append((f"https://{spelled}.{tld}/", "brand_words", {"word": word, "position": position, "tld": tld}))
    for word in rng.sample(WORDS_OTHER, 3):
        position = rng.choice(("hyphen_prefix", "hyphen_suffix"))
        spelled = f"{word}-{name}" if position == "hyphen_prefix" else f"{name}-{word}"
        out.append((f"{spelled}.{rng.choice(TLDS)}", "brand_other_words", {"word": word, "position": position}))
    for _ in range(3):
        word = rng.choice(WORDS_LISTED[:9])
        form = rng.choice(("full_domain", "brand_label", "www_full"))
        evil = f"{word}-{_rand_label(rng)}.{rng.choice(('top', 'xyz', 'cc', 'com'))}"
        host = {
            "full_domain": f"{case.domain}.{evil}",
            "brand_label": f"{name}.{evil}",
            "www_full": f"www.{case.domain}.{evil}",
        }[form]
        out.append((f"http://{host}/login", "subdomain", {"form": form}))
    for form in ("plain", "www_path"):
        evil = f"{_rand_label(rng)}.{rng.choice(('top', 'xyz', 'ru'))}"
        userinfo = case.domain if form == "plain" else f"www.{case.domain}"
        out.append((f"https://{userinfo}@{evil}/refund", "userinfo", {"form": form}))
    address = rng.getrandbits(32) | (1 << 31)
    dotted = ".".join(str((address >> s) & 255) for s in (24, 16, 8, 0))
    for form, host in (
        ("dotted", dotted),
        ("decimal", str(address)),
        ("hex", hex(address)),
        ("octal_dotted", ".".join("0" + oct((address >> s) & 255)[2:] for s in (24, 16, 8, 0))),
    ):
        out.append((f"http://{host}/{name}/refund", "ip_literal", {"form": form}))
    if case.pinyin and case.initials:
        spellings = [(case.pinyin, "pinyin"), (case.initials, "initials")]
        for spelled, kind in spellings:
            if spelled == name:
                continue
            out.append((f"{spelled}.{rng.choice(TLDS)}", "pinyin", {"spelling": kind, "word": None}))
            word = rng.choice(WORDS_LISTED[:9])
            out.append((f"{spelled}-{word}.{rng.choice(TLDS)}", "pinyin", {"spelling": kind, "word": word}))
    if case.zh:
        for word in ("", "客服", "退款", "官网"):
            tld = rng.choice(("com", "cn", "top", "中国"))
            host = f"{case.zh}{word}.{tld}"
            encoding = rng.choice(("unicode", "punycode"))
            out.append(
                (host if encoding == "unicode" else _ascii(host), "chinese_name", {"word": word, "encoding": encoding})
            )
    for url in case.handwritten:
        out.append((url, "handwritten", {}))
    return out


def officials(case: BrandCase) -> list[tuple[str, dict[str, Any]]]:
    d = case.domain
    return [
        (f"https://www.{d}/", {"form": "www"}),
        (f"http://{d}", {"form": "bare_scheme"}),
        (d, {"form": "bare"}),
        (f"https://m.{d}/item/10001.html?from=sms", {"form": "mobile_path"}),
        (f"HTTPS://WWW.{d.upper()}/Orders", {"form": "upper"}),
        (f"https://passport.{d}:443/login", {"form": "port"}),
        (f"https://help.{d}/refund#status", {"form": "help"}),
        (f"https://ｗｗｗ.{d}/", {"form": "full_width"}),
    ]


def rows() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    out: list[dict[str, Any]] = []
    # The rows added in the revision draw from their own generators, so the earlier rows are the same.
    more_rng = random.Random(f"{SEED}:dev-close-more")
    fresh_rng = random.Random(f"{SEED}:fresh")
    fresh2_rng = random.Random(f"{SEED}:fresh2")
    splits = (
        ("dev", DEV, POPULAR_DEV, CLOSE_DEV, CLOSE_DEV_MORE),
        ("held_out", HELD_OUT, POPULAR_HELD_OUT, CLOSE_HELD_OUT, ()),
        ("fresh", FRESH, POPULAR_FRESH, CLOSE_FRESH, ()),
        ("fresh2", FRESH2, POPULAR_FRESH2, CLOSE_FRESH2, ()),
    )
    for split, cases, popular, close, close_more in splits:
        if split == "fresh":
            rng = fresh_rng
        elif split == "fresh2":
            rng = fresh2_rng
        for case in cases:
            base = {"split": split, "brand": case.domain, "official": [case.domain], "brand_zh": case.zh}
            for url, params in officials(case):
                out.append({**base, "url": url, "label": "official", "family": "official", "params": params})
            seen: set[str] = set()
            for url, family, params in lookalikes(case, rng):
                if url in seen or url.removeprefix("https://").removeprefix("http://").rstrip("/") == case.domain:
                    continue
                seen.add(url)
                out.append({**base, "url": url, "label": "lookalike", "family": family, "params": params})
            for group, domains in (("popular", popular), ("close_spelling", close)):
                for domain in domains:
                    url = rng.choice((f"https://{domain}/", f"https://www.{domain}/", domain))
                    out.append({**base, "url": url, "label": "unrelated", "family": group, "params": {}})
            for domain in close_more:
                url = more_rng.choice((f"https://{domain}/", f"https://www.{domain}/", domain))
                out.append({**base, "url": url, "label": "unrelated", "family": "close_spelling", "params": {}})
    return out


def main() -> None:
    meta = {
        "meta": {
            "seed": SEED,
            "split_by": "brand",
            "dev": [c.domain for c in DEV],
            "held_out": [c.domain for c in HELD_OUT],
            "fresh": [c.domain for c in FRESH],
            "fresh2": [c.domain for c in FRESH2],
            "made_by": "python -m bench.data.make_links",
            "note": (
                "rules tuned on dev only; held_out was scored once and its false flags read (seen); "
                "fresh was written before the 2026-12-05 rule changes, scored once and read (seen); "
                "fresh2 was written before the second revision of 2026-12-05 and is scored once, at the end"
            ),
        }
    }
    lines = [orjson.dumps(meta)] + [orjson.dumps(row) for row in rows()]
    OUT.write_bytes(b"\n".join(lines) + b"\n")
    print(f"{len(lines) - 1} rows -> {OUT}")


if __name__ == "__main__":
    main()
