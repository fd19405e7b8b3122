"""Synthetic customers for the tests and the benchmarks: realistic Chinese names, mobiles and
valid ID numbers."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from shopshield.core.normalize import id_number_check_char

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红鹏辉玲建华飞鑫波宁"
REGIONS = [
    ("广东省", "广州市", "天河区"),
    ("湖北省", "武汉市", "洪山区"),
    ("浙江省", "绍兴市", "越城区"),
    ("北京市", "北京市", "朝阳区"),
    ("上海市", "上海市", "浦东新区"),
]


def id_number(rng: random.Random) -> str:
    area = rng.choice(["110101", "440106", "420111", "330602", "310115"])
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(0, 365 * 45))
    first17 = f"{area}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return first17 + id_number_check_char(first17)


def mobile(rng: random.Random) -> str:
    return rng.choice(["138", "139", "150", "186", "177", "199"]) + f"{rng.randrange(0, 10**8):08d}"


def _street(rng: random.Random) -> str:
    return f"幸福路{rng.randrange(1, 999)}号{rng.randrange(1, 30)}栋{rng.randrange(101, 2999)}室"


def customer(n: int, rng: random.Random | None = None, *, addresses: int = 1) -> dict[str, Any]:
    rng = rng or random.Random(n)
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
    phone = mobile(rng)
    return {
        "customer_id": f"c{n:07d}",
        "name": name,
        "mobile": phone,
        "email": f"user{n}.{rng.randrange(10**6)}@example.cn",
        "id_number": id_number(rng),
        "addresses": [
            {
                "address_id": f"a{n:07d}-{i}",
                "recipient": name,
                "phone": phone,
                "province": region[0],
                "city": region[1],
                "district": region[2],
                "street": _street(rng),
            }
            for i, region in enumerate(rng.sample(REGIONS, addresses))
        ],
    }


def order(
    n: int,
    customer_id: str,
    address_id: str | None,
    *,
    merchant: str = "m-001",
    courier: str | None = "k-001",
) -> dict[str, Any]:
    return {
        "order_id": f"o{n:08d}",
        "customer_id": customer_id,
        "merchant_id": merchant,
        "courier_id": courier,
        "address_id": address_id,
        "placed_at": "2026-11-20T10:15:00+08:00",
        "status": "delivered",
        "items": [{"title": "真丝连衣裙", "model": "M 藏青", "price": "499.00", "quantity": 1}],
    }
