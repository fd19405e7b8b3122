"""Tests for the masks shown in views that must not reveal whole personal values."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shopshield.core.policy import ADDRESS_FIELDS, CUSTOMER_FIELDS
from shopshield.vault.masking import (
    COMPOUND_SURNAMES,
    MASKERS,
    PUBLIC_MAIL_DOMAINS,
    mask_email,
    mask_free_text,
    mask_id_number,
    mask_mobile,
    mask_name,
    mask_street,
)

# No deadline: the first example pays for compiling regex strategies, and shared CI runners stall.
_property = settings(deadline=None)

_cn_mobiles = st.from_regex(r"\A1[3-9][0-9]{9}\Z")


# Mobile numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "138****5678"),
        ("19900001111", "199****1111"),
        ("+447700900123", "+447****0123"),
        ("+14155552671", "+141****2671"),
        ("+123456789012345", "+123****2345"),  # 15 digits still show four stars only
        ("+4930123456", "+49****56"),  # 10 digits: two kept at each end
        ("+12345678", "+12****78"),  # 8 digits: four of them hidden
        ("12345678", "12****78"),
        ("+1234567", "********"),  # too short to show any part
        ("1234567", "*******"),
        ("12", "**"),
        ("", ""),
    ],
)
def test_mobile_masks(value: str, expected: str) -> None:
    assert mask_mobile(value) == expected


@_property
@given(number=_cn_mobiles)
def test_masked_chinese_mobile_keeps_length_and_hides_the_middle_four(number: str) -> None:
    masked = mask_mobile(number)
    assert len(masked) == 11
    assert masked[3:7] == "****"
    assert masked[:3] == number[:3]
    assert masked[7:] == number[7:]


@_property
@given(number=_cn_mobiles, middle=st.from_regex(r"\A[0-9]{4}\Z"))
def test_masked_mobile_does_not_depend_on_the_middle_digits(number: str, middle: str) -> None:
    other = number[:3] + middle + number[7:]
    assert mask_mobile(other) == mask_mobile(number)


@_property
@given(digits=st.from_regex(r"\A[1-9][0-9]{7,14}\Z"))
def test_masked_e164_number_hides_at_least_four_digits(digits: str) -> None:
    masked = mask_mobile("+" + digits)
    assert masked.startswith("+")
    assert masked.count("*") == 4
    shown = sum(char.isdigit() for char in masked)
    assert shown <= len(digits) - 4
    assert masked.endswith(digits[-2:])


# Names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("刘杰", "刘*"),
        ("刘小明", "刘**"),
        ("欧阳娜娜", "欧阳**"),
        ("司马光", "司马*"),
        ("诸葛亮", "诸葛*"),
        ("上官婉儿", "上官**"),
        ("歐陽娜娜", "歐陽**"),  # traditional characters
        ("司馬光", "司馬*"),
        ("欧阳", "欧*"),  # only the compound surname: keep one character
        ("司马", "司*"),
        ("刘", "*"),
        ("王一二三四", "王****"),
        ("买买提·艾力", "买*****"),
        ("  刘小明 ", "刘**"),
        ("Alice Smith", "A**** S****"),
        ("Alice", "A****"),
        ("Jean-Luc Picard", "J******* P*****"),
        ("J Smith", "J S****"),
        ("Ólafur Arnalds", "Ó***** A******"),
        ("Иван Петров", "И*** П*****"),
        ("A", "*"),
        ("", ""),
    ],
)
def test_name_masks(value: str, expected: str) -> None:
    assert mask_name(value) == expected


_BRIEF_SURNAMES = [
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
    "宇文", "司徒", "夏侯", "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "澹台",
    "申屠", "太史", "百里", "呼延", "万俟", "闻人", "钟离", "公冶", "赫连", "拓跋",
    "第五", "左丘", "东郭", "濮阳", "单于", "羊舌", "微生", "梁丘", "谷梁", "宰父",
]  # fmt: skip


def test_compound_surnames_cover_the_common_ones() -> None:
    assert len(COMPOUND_SURNAMES) >= 40
    assert set(_BRIEF_SURNAMES) <= COMPOUND_SURNAMES
    assert isinstance(COMPOUND_SURNAMES, frozenset)


def test_compound_surnames_are_two_han_characters() -> None:
    han = re.compile(r"[\u4e00-\u9fff]{2}")
    assert all(han.fullmatch(surname) for surname in COMPOUND_SURNAMES)


@pytest.mark.parametrize("surname", sorted(COMPOUND_SURNAMES))
def test_every_compound_surname_is_kept_whole(surname: str) -> None:
    assert mask_name(surname + "明") == surname + "*"
    assert mask_name(surname + "小明") == surname + "**"


_han = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)


@_property
@given(name=st.text(alphabet=_han, min_size=1, max_size=8))
def test_masked_chinese_name_keeps_length_and_shows_only_the_surname(name: str) -> None:
    masked = mask_name(name)
    assert len(masked) == len(name)
    visible = len(masked.rstrip("*"))
    assert set(masked[visible:]) <= {"*"}
    assert masked[:visible] == name[:visible]
    if len(name) == 1:
        assert masked == "*"
    elif len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        assert visible == 2
    else:
        assert visible == 1


@_property
@given(words=st.lists(st.from_regex(r"\A[A-Za-z]{1,12}\Z"), min_size=2, max_size=4))
def test_masked_latin_name_keeps_initials_and_word_lengths(words: list[str]) -> None:
    masked = mask_name(" ".join(words))
    masked_words = masked.split(" ")
    assert [len(word) for word in masked_words] == [len(word) for word in words]
    assert [word[0] for word in masked_words] == [word[0] for word in words]
    assert all(set(word[1:]) <= {"*"} for word in masked_words)


# Identity numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("110101199003071234", "110***********1234"),
        ("11010519491231002X", "110***********002X"),
        ("110105491231002", "1*************2"),  # 15-digit first-generation ID
        ("123456", "1****6"),
        ("12345", "*****"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_id_number_masks(value: str, expected: str) -> None:
    assert mask_id_number(value) == expected


@_property
@given(value=st.text(alphabet="0123456789X", max_size=30))
def test_masked_id_number_keeps_length_and_hides_the_birth_date(value: str) -> None:
    masked = mask_id_number(value)
    assert len(masked) == len(value)
    if len(value) == 18:
        assert masked[6:14] == "********"
    if len(value) >= 6:
        assert masked.count("*") >= len(value) - 7


# E-mail addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("liujie@qq.com", "l***@qq.com"),
        ("Liujie@Gmail.COM", "L***@Gmail.COM"),
        ("a@163.com", "a***@163.com"),
        ("liujie@example.cn", "l***@***.cn"),
        ("a@x.cn", "a***@***.cn"),
        ("very.long.local.part@mail.example.com", "v***@***.com"),
        ("s.canary@qq.com.example.cn", "s***@***.cn"),
        ("刘杰@例子.中国", "刘***@***.中国"),
        ("someone@localhost", "s***@***"),
        ("@example.cn", "***@***.cn"),
        ("not-an-address", "****"),
        ("", "****"),
    ],
)
def test_email_masks(value: str, expected: str) -> None:
    assert mask_email(value) == expected


@_property
@given(local=st.from_regex(r"\A[a-z0-9._+-]{1,64}\Z"), domain=st.sampled_from(sorted(PUBLIC_MAIL_DOMAINS)))
def test_a_public_providers_domain_stays_readable(local: str, domain: str) -> None:
    assert mask_email(f"{local}@{domain}") == f"{local[0]}***@{domain}"


@_property
@given(
    local=st.from_regex(r"\A[a-z0-9._+-]{1,64}\Z"),
    name=st.from_regex(r"\A[a-z0-9]{1,20}(\.[a-z0-9]{1,20}){0,2}\Z"),
    tld=st.from_regex(r"\A[a-z]{2,6}\Z"),
)
def test_any_other_domain_shows_only_its_last_label(local: str, name: str, tld: str) -> None:
    domain = f"{name}.{tld}"
    assume(domain not in PUBLIC_MAIL_DOMAINS)
    assert mask_email(f"{local}@{domain}") == f"{local[0]}***@***.{tld}"


# Street and free text ---------------------------------------------------------------------------


@_property
@given(value=st.text())
def test_street_and_free_text_are_hidden_entirely(value: str) -> None:
    assert mask_street(value) == "****"
    assert mask_free_text(value) == "****"


def test_street_mask_for_a_real_address() -> None:
    assert mask_street("朝阳区建国路88号SOHO现代城5号楼1001室") == "****"


# Registry ---------------------------------------------------------------------------------------


def test_maskers_registry_gives_each_maskable_field_its_mask() -> None:
    # The one registry the views use (render.ViewPlan): a recipient is masked as a name, a phone as
    # a mobile; a region is shown as it is stored, so it has no mask.
    assert dict(MASKERS) == {
        "name": mask_name,
        "mobile": mask_mobile,
        "email": mask_email,
        "id_number": mask_id_number,
        "recipient": mask_name,
        "phone": mask_mobile,
        "street": mask_street,
    }


def test_maskers_registry_covers_every_field_a_view_can_mask() -> None:
    shown_as_stored = {"region"}
    assert set(MASKERS) == set(CUSTOMER_FIELDS) | (set(ADDRESS_FIELDS) - shown_as_stored)


def test_maskers_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        MASKERS["mobile"] = mask_street  # type: ignore[index]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("name", "刘小明", "刘**"),
        ("recipient", "欧阳娜娜", "欧阳**"),
        ("mobile", "13812345678", "138****5678"),
        ("phone", "13812345678", "138****5678"),
        ("email", "liujie@example.cn", "l***@***.cn"),
        ("id_number", "110101199003071234", "110***********1234"),
        ("street", "建国路88号", "****"),
    ],
)
def test_each_field_gets_its_mask(field: str, value: str, expected: str) -> None:
    assert MASKERS[field](value) == expected
