"""What a decoy looks like, without a database: numbers from the store's block, a coherent address,
an order in the past and a return after it."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from shopshield.canary.decoys import PRODUCTS, REGIONS, DecoyMaker, mobile_capacity
from shopshield.core.normalize import normalize_mobile

NOW = datetime(2016, 7, 20, 4, 0, tzinfo=UTC)


def maker(prefix: str = "1700000", seed: int = 7, **kw: object) -> DecoyMaker:
    options: dict[str, object] = {
        "mobile_prefix": prefix,
        "email_domain": None,
        "id_prefix": "c",
        "merchant_id": "m-001",
        "courier_id": None,
        "now": NOW,
        "tz": ZoneInfo("Asia/Shanghai"),
        "rng": random.Random(seed),
    }
    options.update(kw)
    return DecoyMaker(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize("prefix", ["1700000", "17000", "1391234567"])
def test_numbers_come_from_the_block_and_are_valid_mobiles(prefix: str) -> None:
    source = maker(prefix)

    numbers = {source.mobile() for _ in range(200)}

    assert all(n.startswith(prefix) and len(n) == 11 and normalize_mobile(n) == n for n in numbers)
    # The seeded draws are fixed: a 10-number block is used up, a larger one hardly repeats.
    assert len(numbers) == 10 if mobile_capacity(prefix) == 10 else len(numbers) > 190


def test_block_capacity() -> None:
    assert mobile_capacity("1700000") == 10_000
    assert mobile_capacity("1700000000") == 10


def test_a_decoy_reads_like_a_customer_with_a_recent_order_and_return() -> None:
    source = maker(email_domain="canary.example.cn")

    for _ in range(50):
        decoy = source.make(source.customer_id(), source.mobile())
        customer, order, returned = decoy.customer, decoy.order, decoy.return_request
        address = customer.addresses[0]
        assert (address.province, address.city, address.district) in REGIONS
        assert address.recipient == customer.name and address.phone == customer.mobile
        assert customer.email is not None and customer.email.endswith("@canary.example.cn")
        assert customer.id_number is None  # a made-up ID number could be a real person's
        assert order.customer_id == customer.customer_id and order.address_id == address.address_id
        assert customer.customer_id[0] == "c" and customer.customer_id[1:] not in order.order_id
        assert {i.title for i in order.items} <= {p[0] for p in PRODUCTS}
        assert returned.requested_at is not None
        assert order.placed_at < returned.requested_at <= NOW
        assert 8 <= order.placed_at.astimezone(ZoneInfo("Asia/Shanghai")).hour < 23


def test_the_operating_systems_randomness_is_the_default() -> None:
    first, second = maker(rng=None), maker(rng=None)

    assert [first.mobile() for _ in range(5)] != [second.mobile() for _ in range(5)]
