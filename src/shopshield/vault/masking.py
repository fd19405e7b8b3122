"""Masks for personal fields in views that must not show the whole value, following Chinese
conventions, and ``MASKERS``: the one registry of which mask each field gets.

The maskers are plain functions from a value to its masked form. Views take their masks from
``MASKERS`` only (``vault/render.py`` builds each role's view plan from it), so a field's mask is
changed, and a new field given one, here and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "COMPOUND_SURNAMES",
    "MASKERS",
    "PUBLIC_MAIL_DOMAINS",
    "Masker",
    "mask_email",
    "mask_free_text",
    "mask_id_number",
    "mask_mobile",
    "mask_name",
    "mask_street",
]

Masker = Callable[[str], str]

_HIDDEN: Final = "****"
_ID_MIDDLE: Final = "*" * 11

# Two-character surnames, so that 欧阳娜娜 keeps 欧阳 rather than leaking 阳 as if it were part of the
# surname-less given name. A few of these (钟离, 梁丘, 左丘, 单于, 申屠, 夏侯) also begin with a common
# one-character surname; for such a name we show one character more than needed, which is the lesser
# evil next to hiding part of every compound surname. Traditional forms are listed for customers who
# write their names that way.
COMPOUND_SURNAMES: Final[frozenset[str]] = frozenset(
    {
        # Simplified
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
        "宇文", "司徒", "夏侯", "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "澹台",
        "申屠", "太史", "百里", "呼延", "万俟", "闻人", "钟离", "公冶", "赫连", "拓跋",
        "第五", "左丘", "东郭", "濮阳", "单于", "羊舌", "微生", "梁丘", "谷梁", "宰父",
        "司空", "司寇", "淳于", "鲜于", "闾丘", "仲孙", "公羊", "宗政", "太叔", "亓官",
        "颛孙", "巫马", "公西", "漆雕", "乐正", "壤驷", "公良", "夹谷", "段干", "子车",
        "南门", "东门", "呼衍", "完颜", "耶律",
        # Traditional
        "歐陽", "司馬", "諸葛", "東方", "尉遲", "公孫", "長孫", "軒轅", "獨孤", "南宮",
        "西門", "澹臺", "鍾離", "東郭", "單于", "閭丘", "仲孫", "顓孫", "巫馬", "樂正",
        "壤駟", "夾谷", "子車", "南門", "東門", "鮮于",
    }
)  # fmt: skip

# Mail providers anyone can sign up with. A masked address keeps such a domain: it says as little
# about the person as the provider's name does, and agents use it ("your QQ mailbox?"). Any other
# domain is hidden: it names the customer's employer or school, or the store's own canary domain
# (docs/canaries.md), which would tell a canary from a customer at a glance. Lower case, exact
# domains only (a subdomain is listed when providers hand out addresses under it).
PUBLIC_MAIL_DOMAINS: Final[frozenset[str]] = frozenset(
    {
        # Mainland China
        "qq.com", "vip.qq.com", "foxmail.com", "163.com", "vip.163.com", "126.com", "vip.126.com",
        "yeah.net", "188.com", "sina.com", "sina.cn", "vip.sina.com", "sohu.com", "139.com", "189.cn",
        "wo.cn", "aliyun.com", "tom.com", "21cn.com",
        # Elsewhere
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
        "icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "mail.com",
        "yandex.ru", "mail.ru", "naver.com",
    }
)  # fmt: skip

# CJK Unified Ideographs, Extension A, compatibility ideographs and the supplementary-plane extensions.
_HAN: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af]")


def mask_mobile(value: str) -> str:
    """Mask a normalised mobile number, keeping its ends and hiding its middle behind four stars.

    - 11 or more digits (every Chinese mobile, most international numbers): the first 3 and last 4
      digits are kept, so ``13812345678`` becomes ``138****5678`` and ``+447700900123`` becomes
      ``+447****0123`` (the ``+`` is kept and not counted as a digit).
    - 8 to 10 digits: only the first 2 and last 2 are kept, so at least four digits stay hidden.
    - Shorter input: every character becomes a star.

    The star count is always four, never the number of hidden digits: for a Chinese mobile that is
    also the true count, for other numbers it avoids revealing the length.
    """
    if value.startswith("+"):
        prefix, digits = "+", value[1:]
    else:
        prefix, digits = "", value
    count = len(digits)
    if count >= 11:
        return f"{prefix}{digits[:3]}{_HIDDEN}{digits[-4:]}"
    if count >= 8:
        return f"{prefix}{digits[:2]}{_HIDDEN}{digits[-2:]}"
    return "*" * len(value)


def mask_name(value: str) -> str:
    """Mask a name: Chinese names keep the surname, other names keep each word's first letter.

    A name starting with a Han character keeps its surname (two characters if it starts with one of
    COMPOUND_SURNAMES and is longer than that) and every other character becomes a star: 刘小明 →
    刘**, 欧阳娜娜 → 欧阳**. A name that is only a compound surname keeps one character (欧阳 → 欧*),
    because it may as well be a one-character surname and a given name. Other names keep the first
    character of each whitespace-separated word: ``Alice Smith`` → ``A**** S****``. A one-character
    name is shown as ``*``.
    """
    name = value.strip()
    length = len(name)
    if length <= 1:
        return "*" * length
    if _HAN.match(name):
        kept = 2 if length > 2 and name[:2] in COMPOUND_SURNAMES else 1
        return name[:kept] + "*" * (length - kept)
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def mask_id_number(value: str) -> str:
    """Mask an identity number, keeping its length.

    An 18-character resident ID keeps its first 3 (province and city) and last 4 characters:
    ``110101199003071234`` → ``110***********1234``. Other values of 6 or more characters keep only the
    first and last character; shorter ones are all stars.
    """
    length = len(value)
    if length == 18:
        return f"{value[:3]}{_ID_MIDDLE}{value[-4:]}"
    if length < 6:
        return "*" * length
    return value[0] + "*" * (length - 2) + value[-1]


def mask_email(value: str) -> str:
    """Mask an e-mail address as its first character, exactly three stars and a domain that only a
    public mail provider's keeps.

    ``liujie@qq.com`` → ``l***@qq.com`` (a domain in PUBLIC_MAIL_DOMAINS, compared without case);
    ``liujie@example.cn`` → ``l***@***.cn`` (any other domain: only its last label is kept, and
    ``***`` if it has no dot). The fixed star counts hide the lengths. A value without an ``@`` is
    not an address and is shown as ``****``.
    """
    local, at, domain = value.rpartition("@")
    if not at:
        return _HIDDEN
    return f"{local[:1]}***@{_mask_domain(domain)}"


def _mask_domain(domain: str) -> str:
    if domain.lower() in PUBLIC_MAIL_DOMAINS:
        return domain
    _rest, dot, last = domain.rpartition(".")
    return f"***.{last}" if dot and last else "***"


def mask_street(_: str) -> str:
    """Hide the street line entirely: masked views show an address down to the district only."""
    return _HIDDEN


def mask_free_text(_: str) -> str:
    """Hide free text entirely: it can hold any personal data, so no part of it is safe to show."""
    return _HIDDEN


# Field -> its mask, for every personal field a view can show masked. A recipient is masked as a
# name and a phone as a mobile. An address's region is not here: its masked form is the region
# itself (province, city, district), which is what a masked address shows. Orders' items and returns
# are lists, not one value; render.py hides their free text with mask_free_text.
MASKERS: Final[Mapping[str, Masker]] = MappingProxyType(
    {
        "name": mask_name,
        "mobile": mask_mobile,
        "email": mask_email,
        "id_number": mask_id_number,
        "recipient": mask_name,
        "phone": mask_mobile,
        "street": mask_street,
    }
)
