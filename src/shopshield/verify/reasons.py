"""The reasons a link or message verdict gives, each a stable code with a message in English and
Chinese: the customer reads one of them, a tool reads the code.

Messages never quote the link or the message back (the caller has them); where a reason names
something, it is the store's own official domain that was imitated, which is public.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason of a verdict: ``code`` for tools, ``message`` (English) and ``message_zh``."""

    code: str
    message: str
    message_zh: str

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "message_zh": self.message_zh}


# Each code with its English and Chinese message; ``{domain}`` is the official domain imitated.
TEXTS: Final[dict[str, tuple[str, str]]] = {
    # link verdicts
    "official_domain": ("the link goes to the store's official domain {domain}", "链接指向商城官方域名 {domain}"),
    "not_official": ("the link does not go to any of the store's official domains", "链接不指向商城的任何官方域名"),
    "known_unrelated": (
        "a well-known site that is not the store's; it does not imitate it",
        "这是与本商城无关的知名网站，并非仿冒",
    ),
    "typo": (
        "the name is a misspelling of {domain} (a key slip, a letter left out, doubled or swapped)",
        "域名是 {domain} 的错拼（按错键、漏字母、重复或颠倒字母）",
    ),
    "visual_swap": (
        "the name swaps letters that look alike (such as rn for m, 0 for o, 1 for l) to pass for {domain}",
        "域名用形似字符冒充 {domain}（如 rn 代替 m、0 代替 o、1 代替 l）",
    ),
    "homoglyph": (
        "the name uses look-alike letters from another alphabet to pass for {domain}",
        "域名用其他文字中的形似字母冒充 {domain}",
    ),
    "mixed_script": (
        "the name mixes alphabets (such as Latin and Cyrillic), a common disguise",
        "域名混用多种文字（如拉丁字母与西里尔字母），常用于伪装",
    ),
    "punycode": (
        "the name is an internationalised (punycode) name that displays differently from how it is spelled",
        "域名为国际化域名（punycode），显示的样子与实际拼写不同",
    ),
    "brand_with_words": (
        "the name adds words such as refund, customer service or login to the brand of {domain}",
        "域名在 {domain} 的品牌名上加了“退款”“客服”“登录”等词",
    ),
    "brand_pinyin": (
        "the name spells the store's Chinese name in pinyin or its initials, but is not {domain}",
        "域名是商城中文名的拼音或缩写，但不是官方域名 {domain}",
    ),
    "brand_chinese": (
        "the name contains the store's Chinese name, but is not {domain}",
        "域名含有商城的中文名，但不是官方域名 {domain}",
    ),
    "tld_swap": (
        "the name is the store's with another ending than {domain} (for example .top or .com.cn)",
        "域名与商城相同但后缀不同，官方为 {domain}（如改为 .top 或 .com.cn）",
    ),
    "same_name_elsewhere": (
        "the name is the store's under another country's or a restricted ending, not one of its official "
        "domains such as {domain}: it may be the store's site for that country or a namesake; ask the store",
        "域名与商城名相同，但使用其他国家或受限的后缀，不在官方域名（如 {domain}）之列：可能是商城在当地的网站，"
        "也可能是同名的其他机构，请向商城核实",
    ),
    "official_in_subdomain": (
        "the store's name {domain} stands in front of someone else's domain",
        "商城域名 {domain} 被放在了别人的域名前面",
    ),
    "userinfo_trick": (
        "the part before @ is not where the link goes; it goes to someone else's site",
        "链接中 @ 前面的部分只是伪装，实际打开的是别人的网站",
    ),
    "ip_host": ("the link goes to a bare IP address, not to the store's name", "链接指向裸 IP 地址，而不是商城域名"),
    "ip_obfuscated": (
        "the IP address is written in a disguised form (one number, hexadecimal or octal)",
        "IP 地址以伪装形式书写（整数、十六进制或八进制）",
    ),
    "shortener": (
        "a shortened link: where it leads cannot be told from the link itself",
        "这是短链接，无法从链接本身看出真实去向",
    ),
    # malformed
    "empty": ("the link is empty", "链接为空"),
    "too_long": ("the link is longer than {limit} characters", "链接超过 {limit} 个字符"),
    "unsupported_scheme": (
        "not a web link (only http and https links are checked)",
        "不是网页链接（只检查 http 和 https）",
    ),
    "no_host": ("the link has no host name", "链接没有主机名"),
    "bad_host": (
        "the host name has characters or labels a domain cannot have",
        "主机名含有域名中不能出现的字符或格式",
    ),
    "label_too_long": ("a part of the host name is longer than 63 characters", "主机名的某一段超过 63 个字符"),
    "bad_punycode": ("the internationalised name cannot be decoded", "国际化域名无法解码"),
    "bad_port": ("the port is not a number from 0 to 65535", "端口不是 0 到 65535 之间的数字"),
    "bad_ip": ("the IP address is out of range", "IP 地址超出范围"),
    "no_public_suffix": (
        "the name does not end in a known domain ending",
        "域名不以已知的顶级域名结尾",
    ),
    # message checks
    "link_lookalike": ("a link imitates the store's site {domain}", "消息中的链接仿冒商城网站 {domain}"),
    "link_unknown": ("a link goes to a site that is not the store's", "消息中的链接指向非商城网站"),
    "link_official": ("a link goes to the store's official site {domain}", "消息中的链接指向商城官方网站 {domain}"),
    "link_malformed": ("a link in the message is malformed", "消息中的链接格式异常"),
    "number_official": ("a phone number in the message is one of the store's", "消息中的电话号码是商城官方号码"),
    "number_not_official": (
        "a phone number in the message is not one of the store's",
        "消息中的电话号码不是商城官方号码",
    ),
    "account_official": ("an account number in the message is one of the store's", "消息中的账号是商城官方收款账户"),
    "account_not_official": (
        "an account number in the message is not the store's; refunds never go to such an account",
        "消息中的账号不是商城账户；退款从不要求打款到此类账户",
    ),
    "refund_problem": (
        "claims a problem with a refund or return, the opening of the fake-refund scam",
        "声称退款或退货出了问题，这是假冒退款诈骗的惯用开场",
    ),
    "login_link": ("asks you to log in through a link", "要求通过链接登录"),
    "card_request": ("asks for a bank card number", "索要银行卡号"),
    "id_request": ("asks for an ID number", "索要身份证号码"),
    "code_request": (
        "asks for an SMS verification code; the store never asks for one",
        "索要短信验证码；商城从不索要验证码",
    ),
    "payment_request": (
        "asks you to transfer money, pay a fee or open a loan",
        "要求转账、缴费或开通借款",
    ),
    "screen_share": ("asks you to share your screen or install an app", "要求共享屏幕或下载安装应用"),
    "service_claim": ("claims to be customer service", "自称客服"),
    "urgency": ("presses you to act at once", "催促立即处理"),
    "no_signs": (
        "no signs of a scam were found; this does not prove the message is from the store",
        "未发现诈骗迹象，但这并不能证明消息来自商城",
    ),
}


def reason(code: str, **values: object) -> Reason:
    """The reason ``code`` with its placeholders filled."""
    english, chinese = TEXTS[code]
    return Reason(code, english.format(**values), chinese.format(**values))
