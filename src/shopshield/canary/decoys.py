"""Decoy customers that read like real ones: a Chinese name, a mobile from the store's own block,
a coherent address, a recent order and a return request.

Plain logic with no database, so tests can check what a decoy looks like. The store-specific parts
(the number block, a mail domain, id prefix, merchant) come in as arguments; randomness comes from
the operating system unless a test passes its own ``random.Random``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Final

from shopshield.core import ids
from shopshield.vault.schemas import AddressIn, CustomerIn, ItemIn, OrderIn, ReturnIn

MOBILE_DIGITS: Final = 11
# Province, city and district that belong together: a decoy with 湖南省 济南市 (a city of another
# province), as a generic address generator writes, would stand out in any export.
REGIONS: Final = (
    ("广东省", "广州市", "天河区"),
    ("广东省", "广州市", "海珠区"),
    ("广东省", "深圳市", "南山区"),
    ("广东省", "深圳市", "福田区"),
    ("广东省", "东莞市", "南城街道"),
    ("湖北省", "武汉市", "洪山区"),
    ("湖北省", "武汉市", "江汉区"),
    ("浙江省", "杭州市", "西湖区"),
    ("浙江省", "绍兴市", "越城区"),
    ("浙江省", "宁波市", "鄞州区"),
    ("江苏省", "南京市", "鼓楼区"),
    ("江苏省", "苏州市", "姑苏区"),
    ("四川省", "成都市", "武侯区"),
    ("湖南省", "长沙市", "岳麓区"),
    ("山东省", "济南市", "历下区"),
    ("山东省", "青岛市", "市南区"),
    ("河南省", "郑州市", "金水区"),
    ("福建省", "厦门市", "思明区"),
    ("陕西省", "西安市", "雁塔区"),
    ("北京市", "北京市", "朝阳区"),
    ("北京市", "北京市", "海淀区"),
    ("上海市", "上海市", "浦东新区"),
    ("上海市", "上海市", "徐汇区"),
    ("天津市", "天津市", "南开区"),
    ("重庆市", "重庆市", "渝中区"),
)
ROADS: Final = (
    "中山路", "人民路", "解放路", "建设路", "和平路", "新华路", "文化路", "青年路", "幸福路", "光明路",
    "长江路", "黄河路", "南京路", "北京路", "学府路", "科技路", "园林路", "滨江路", "花园路", "东风路",
)  # fmt: skip
# Title, models, and a price range in yuan: things a beauty and fashion store sells, and the kind of
# order the 2016 scammers quoted back to their victims.
PRODUCTS: Final = (
    ("保湿补水面膜 10片装", ("经典款", "升级款"), (69, 199)),
    ("丝绒哑光口红", ("#999 正红", "#520 豆沙", "#888 枫叶红"), (159, 320)),
    ("氨基酸洗面奶 120g", ("温和型", "控油型"), (49, 129)),
    ("修护精华液 30ml", ("小棕瓶", "小黑瓶"), (299, 690)),
    ("防晒霜 SPF50+ 50ml", ("清爽型", "水润型"), (89, 260)),
    ("真丝连衣裙", ("S 藏青", "M 藏青", "M 酒红", "L 黑色"), (299, 899)),
    ("休闲运动鞋", ("37 白色", "38 粉色", "39 黑色", "41 灰色"), (199, 699)),
    ("双肩背包", ("黑色", "灰色", "卡其色"), (129, 459)),
    ("淡香水 50ml", ("花香调", "木质调"), (299, 980)),
    ("陶瓷卷发棒", ("28mm", "32mm"), (99, 399)),
)
RETURN_REASONS: Final = ("尺码不合适", "颜色与图片不符", "不想要了", "商品有瑕疵", "使用后过敏", "发错货")
# Prices end the way shop prices do.
_CENTS: Final = (Decimal("0.00"), Decimal("0.90"), Decimal("0.80"), Decimal("0.00"))


def mobile_capacity(prefix: str) -> int:
    """How many numbers the block starting with ``prefix`` holds."""
    return int(10 ** (MOBILE_DIGITS - len(prefix)))


@dataclass(frozen=True, slots=True)
class Decoy:
    """One decoy customer, ready for the vault's own inputs."""

    customer: CustomerIn
    order: OrderIn
    return_request: ReturnIn


class DecoyMaker:
    """Makes decoys for one planting; ``mobile`` is separate so the caller can draw again when a
    number is already taken."""

    def __init__(
        self,
        *,
        mobile_prefix: str,
        email_domain: str | None,
        id_prefix: str,
        merchant_id: str,
        courier_id: str | None,
        now: datetime,
        tz: tzinfo,
        rng: random.Random | None = None,
    ) -> None:
        # SystemRandom: whoever guesses the generator's state could tell canaries from customers.
        self._rng = rng or random.SystemRandom()
        # Imported here, on planting: Faker takes a quarter of a second to import, which every
        # process would pay at start for a command run now and then.
        from faker import Faker

        self._faker = Faker("zh_CN")
        self._faker.seed_instance(self._rng.getrandbits(64))
        self._mobile_prefix = mobile_prefix
        self._email_domain = email_domain
        self._id_prefix = id_prefix
        self._merchant_id = merchant_id
        self._courier_id = courier_id
        self._now = now
        self._tz = tz

    def mobile(self) -> str:
        free = MOBILE_DIGITS - len(self._mobile_prefix)
        return f"{self._mobile_prefix}{self._rng.randrange(10**free):0{free}d}"

    def customer_id(self) -> str:
        while True:
            candidate = f"{self._id_prefix}{self._rng.randrange(10**9, 10**10)}"
            # A prefix that ends in digits joins them to the ten drawn here, which can then read as
            # a mobile number: the id check would refuse the decoy, so draw again.
            if ids.personal_kind(candidate) is None:
                return candidate

    def make(self, customer_id: str, mobile: str) -> Decoy:
        rng = self._rng
        name = str(self._faker.name())
        province, city, district = rng.choice(REGIONS)
        # Ids drawn on their own: an order id that repeated the customer's digits would mark a decoy.
        address_id = f"a{rng.randrange(10**9, 10**10)}"
        street = (
            f"{rng.choice(ROADS)}{rng.randrange(1, 999)}号"
            f"{rng.randrange(1, 30)}栋{rng.randrange(1, 6)}单元{rng.randrange(1, 33)}{rng.randrange(1, 5):02d}室"
        )
        email = None
        if self._email_domain is not None:
            email = f"{self._faker.user_name()}{rng.randrange(10, 9999)}@{self._email_domain}"
        customer = CustomerIn(
            customer_id=customer_id,
            name=name,
            mobile=mobile,
            email=email,
            addresses=[
                AddressIn(
                    address_id=address_id,
                    recipient=name,
                    phone=mobile,
                    province=province,
                    city=city,
                    district=district,
                    street=street,
                )
            ],
        )
        # Placed 5-40 days ago at a waking hour in the store's zone; the return 2-10 days later,
        # never in the future: a recent return is what made the 2016 victims believe the callers.
        days_ago = rng.randrange(5, 41)
        local_day = (self._now - timedelta(days=days_ago)).astimezone(self._tz).date()
        placed = datetime(
            local_day.year,
            local_day.month,
            local_day.day,
            rng.randrange(8, 23),
            rng.randrange(60),
            rng.randrange(60),
            tzinfo=self._tz,
        ).astimezone(UTC)
        requested = placed + timedelta(days=rng.randrange(2, min(10, days_ago - 1) + 1), minutes=rng.randrange(600))
        requested = min(requested, self._now)
        items = []
        for title, models, (low, high) in rng.sample(PRODUCTS, rng.choice((1, 1, 1, 2))):
            price = Decimal(rng.randrange(low, high + 1)) + rng.choice(_CENTS)
            items.append(ItemIn(title=title, model=rng.choice(models), price=price, quantity=rng.choice((1, 1, 1, 2))))
        order = OrderIn(
            order_id=f"o{rng.randrange(10**11, 10**12)}",
            customer_id=customer_id,
            merchant_id=self._merchant_id,
            courier_id=self._courier_id,
            address_id=address_id,
            placed_at=placed,
            status="delivered",
            items=items,
        )
        return_request = ReturnIn(
            kind=rng.choice(("return", "refund")), requested_at=requested, reason=rng.choice(RETURN_REASONS)
        )
        return Decoy(customer, order, return_request)
