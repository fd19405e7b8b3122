"""The words lookalikes add to a brand, and well-known sites that are nobody's lookalike.

Both lists are written from what fake-refund and phishing links look like (the 2016 report's
``refund.jumei-help.com.cn``, the words of anti-fraud warnings) and from general knowledge of
popular sites, not from the benchmark's held-out half (decision 0030).
"""

from __future__ import annotations

from typing import Final

# Words a lookalike glues to the brand (jd-kefu, jdrefund, refund-jd, jd-com-vip). English,
# pinyin (kefu 客服, tuikuan 退款, shouhou 售后, guanwang 官网, tuihuo 退货, lipei 理赔, buchang 补偿,
# fuwu 服务, zhongxin 中心, huiyuan 会员, denglu 登录) and their usual abbreviations, and the Chinese.
SCAM_WORDS: Final = frozenset(
    {
        "refund", "refunds", "return", "returns", "kefu", "kf", "tuikuan", "tk", "tuihuo", "shouhou",
        "guanwang", "gw", "lipei", "peifu", "buchang", "fuwu", "zhongxin", "huiyuan", "denglu",
        "login", "signin", "logon", "log", "vip", "svip", "pay", "payment", "service", "services",
        "help", "helpdesk", "cs", "support", "secure", "security", "safe", "account", "accounts",
        "verify", "verification", "update", "online", "official", "app", "apps", "mall", "shop",
        "store", "www", "web", "wap", "h5", "cn", "china", "zh", "member", "members", "user", "users",
        "center", "centre", "order", "orders", "claim", "bonus", "gift", "reward", "card", "bank",
        "cash", "loan", "credit", "auth", "sso", "passport", "my", "home", "mobile", "portal",
        "customer", "care", "com", "net", "info", "plus", "pro", "hk", "new", "go", "get",
        "客服", "退款", "官网", "售后", "退货", "理赔", "登录", "会员", "服务", "中心", "官方", "补偿",
    }
)  # fmt: skip
# Of those, the names of products and shops that brands glue to their own name for their own sites
# (Vipshop's vipshop.com, an operator's brandmobile.com): glued without a hyphen, with no other
# word, they are not evidence alone; they count under an ending scam links favour or the store's
# market's (vipshop.top, vipshop.cn), hyphenated (vip-shop.com) or beside a scam word. "vip" and
# "pay" are left out on purpose, though brands use them too (jdpay.com): they are the issue's own
# words of the fake-refund scam, and the watch list (lookalikes.py) lists brand+vip and brand+pay.
PRODUCT_WORDS: Final = frozenset({"mall", "shop", "store", "app", "apps", "mobile", "plus", "pro", "card"})
# Of those, the labels every site's hosts carry (www.x.com, m.x.com, h5.x.com): in a subdomain they
# say nothing of a scam. The others there (refund.x.com, kefu.x.com, login.x.com) do, and keep a
# one-slip name that spells a common word judged as a slip (words.py).
NEUTRAL_LABELS: Final = frozenset(
    {
        "www", "web", "wap", "h5", "m", "mobile", "app", "apps", "cn", "zh", "com", "net", "info", "hk",
        "china", "home", "my", "new", "go", "get", "plus", "pro", "mall", "shop", "store", "online", "portal",
    }
)  # fmt: skip
# Only these short words may be glued to a brand without a hyphen; single letters ("m", "e")
# only stand apart (jd-m.top), or "jdm" would be jd's lookalike.
MIN_GLUED: Final = 2

# Endings a name's ending is judged by (decision 0030, revised 2026-12-05). A lookalike that changes
# one thing (a letter, or the ending) leans on the customer not noticing it; a real namesake often
# differs in both, and sits under its own country's ending.
#
# Endings scam and phishing links favour: cheap, instant, loosely policed generic endings and the
# country endings sold or given away worldwide as generic ones, from the abuse rankings published
# by Spamhaus and by Interisle's phishing landscape studies, and the endings of the 2016 report.
RISKY_ENDINGS: Final = frozenset(
    {
        "top", "xyz", "vip", "shop", "store", "online", "site", "website", "club", "icu", "buzz", "cyou",
        "cfd", "sbs", "bond", "live", "life", "work", "fun", "space", "click", "link", "rest", "monster",
        "info", "biz", "mobi", "win", "bid", "loan", "cc", "co", "ws", "pw", "tk", "ml", "ga", "cf", "gq", "su",
    }
)  # fmt: skip
# The store's own market: ShopShield protects the customers of a store in China, where the scam
# reaches them with .cn names (the report's jumei-help.com.cn) and the .cn look-alike under .com.
HOME_ENDINGS: Final = frozenset({"cn", "中国", "中國", "cn.com"})
# Two-letter endings that are not one country's in practice: sold worldwide as generic endings.
GENERIC_COUNTRY_ENDINGS: Final = frozenset(
    {"cc", "co", "tv", "me", "io", "ws", "tk", "ml", "ga", "cf", "gq", "pw", "su", "to", "la", "ly", "fm", "ai", "gg"}
)  # fmt: skip
# Endings only an eligible registrant can hold (an employer, a school, a government, a bank): a
# scammer cannot register the store's name there on the spot.
RESTRICTED_ENDINGS: Final = frozenset(
    {"jobs", "edu", "gov", "mil", "int", "museum", "aero", "coop", "post", "bank", "insurance", "pharmacy"}
)  # fmt: skip

# Popular sites people reach every day, whose names may happen to be close to a store's
# (ebay/etsy, jd/jw, vip/vk): never called lookalikes by their registered name. Hosting platforms
# that hand out names under their domain are left out on purpose (their customers' names are
# still checked), and most sit in the Public Suffix List's private section anyway.
WELL_KNOWN: Final = frozenset(
    {
        "google.com", "youtube.com", "facebook.com", "instagram.com", "whatsapp.com", "twitter.com",
        "x.com", "wikipedia.org", "yahoo.com", "bing.com", "live.com", "microsoft.com", "office.com",
        "apple.com", "icloud.com", "amazon.com", "netflix.com", "linkedin.com", "reddit.com",
        "tiktok.com", "zoom.us", "paypal.com", "ebay.com", "etsy.com", "walmart.com", "target.com",
        "bestbuy.com", "costco.com", "homedepot.com", "ikea.com", "aliexpress.com", "alibaba.com",
        "taobao.com", "tmall.com", "jd.com", "pinduoduo.com", "yangkeduo.com", "vip.com", "suning.com",
        "dangdang.com", "jumei.com", "baidu.com", "qq.com", "weibo.com", "sina.com.cn", "sohu.com",
        "163.com", "126.com", "douyin.com", "bilibili.com", "zhihu.com", "douban.com", "xiaohongshu.com",
        "meituan.com", "dianping.com", "ele.me", "ctrip.com", "alipay.com", "wechat.com", "weixin.qq.com",
        "csdn.net", "toutiao.com", "iqiyi.com", "youku.com", "360.cn", "so.com", "sogou.com",
        "hao123.com", "mi.com", "huawei.com", "vivo.com", "oppo.com", "lenovo.com", "jw.org", "vk.com",
        "yandex.ru", "mail.ru", "ok.ru", "naver.com", "daum.net", "rakuten.co.jp", "yahoo.co.jp",
        "zalando.de", "otto.de", "booking.com", "airbnb.com", "expedia.com", "tripadvisor.com",
        "github.com", "gitlab.com", "stackoverflow.com", "medium.com", "wordpress.com", "cnn.com",
        "bbc.co.uk", "bbc.com", "nytimes.com", "theguardian.com", "spotify.com", "twitch.tv",
        "discord.com", "telegram.org", "pinterest.com", "tumblr.com", "quora.com", "imdb.com",
        "adobe.com", "dropbox.com", "salesforce.com", "shopify.com", "samsung.com", "sony.com",
        "nike.com", "adidas.com", "zara.com", "hm.com", "uniqlo.com", "shein.com", "temu.com",
        "jumia.com", "flipkart.com", "mercadolibre.com", "coupang.com", "gmarket.co.kr", "lazada.com",
        "shopee.com", "tokopedia.com", "ozon.ru", "wildberries.ru", "allegro.pl", "asos.com",
        "wish.com", "newegg.com", "wayfair.com", "macys.com", "kohls.com", "nordstrom.com",
        "jdsports.com", "jdpower.com", "vipkid.com", "ups.com", "fedex.com", "dhl.com", "usps.com",
        "sf-express.com", "yto.net.cn", "zto.com", "sto.cn", "ems.com.cn", "cainiao.com",
        "icbc.com.cn", "ccb.com", "abchina.com", "boc.cn", "bankcomm.com", "cmbchina.com",
        "gov.cn", "mps.gov.cn", "12315.cn",
    }
)  # fmt: skip
