"""The store itself: places, customers, the people and programs that read their data, products
and orders with every step of their life (placed, shipped, delivered, returned) timed in advance.

Timing each order's steps up front is what lets the traffic be generated one day at a time: a
day's courier scans are the orders whose delivery falls on that day, whatever day they were placed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
from faker import Faker
from numpy.typing import NDArray

from shopshield.simulate.events import (
    COURIER,
    DAY,
    F64,
    HOUR,
    I32,
    I64,
    JOB,
    MERCHANT,
    MINUTE,
    NEVER,
    PARTNER,
    R_ADMIN,
    R_AGENT,
    R_ANALYST,
    R_COURIER,
    R_MERCHANT,
    R_PARTNER,
    R_SERVICE,
    R_SUPERVISOR,
    STAFF,
    U32,
    US,
    Bools,
    epoch_us,
)

# Per-actor volumes are stated for a store of this many customers and scale with the store, so a
# small test store is read by its agents as thoroughly as the default one (no more, no less).
REFERENCE_CUSTOMERS: Final = 50_000
HISTORY_DAYS: Final = 14  # orders placed before the log starts, still being delivered or returned
ORDERS_PER_CUSTOMER_MONTH: Final = 0.8
KEY_SPAN: Final = 400 * 86_400  # seconds: more than any history plus log (see Orders.customer_key)

# (province, city, share of customers in percent, districts): the larger e-commerce markets.
GAZETTEER: Final[tuple[tuple[str, str, float, tuple[str, ...]], ...]] = (
    ("广东省", "广州市", 5.0, ("天河区", "越秀区", "海珠区", "白云区", "番禺区")),
    ("广东省", "深圳市", 5.0, ("南山区", "福田区", "宝安区", "龙岗区", "罗湖区")),
    ("广东省", "东莞市", 2.0, ("东城街道", "南城街道", "长安镇", "虎门镇")),
    ("广东省", "佛山市", 2.0, ("禅城区", "南海区", "顺德区")),
    ("浙江省", "杭州市", 5.0, ("西湖区", "上城区", "拱墅区", "滨江区", "余杭区")),
    ("浙江省", "宁波市", 2.5, ("海曙区", "鄞州区", "江北区")),
    ("浙江省", "温州市", 1.5, ("鹿城区", "瓯海区", "龙湾区")),
    ("江苏省", "南京市", 3.5, ("玄武区", "鼓楼区", "秦淮区", "建邺区")),
    ("江苏省", "苏州市", 3.5, ("姑苏区", "吴中区", "相城区", "虎丘区")),
    ("江苏省", "无锡市", 1.5, ("梁溪区", "滨湖区", "锡山区")),
    ("上海市", "上海市", 6.0, ("浦东新区", "徐汇区", "静安区", "黄浦区", "闵行区", "杨浦区")),
    ("北京市", "北京市", 5.0, ("朝阳区", "海淀区", "东城区", "西城区", "丰台区")),
    ("天津市", "天津市", 1.5, ("和平区", "南开区", "河西区")),
    ("重庆市", "重庆市", 2.5, ("渝中区", "江北区", "沙坪坝区", "九龙坡区")),
    ("四川省", "成都市", 4.0, ("锦江区", "青羊区", "武侯区", "成华区", "金牛区")),
    ("四川省", "绵阳市", 0.8, ("涪城区", "游仙区")),
    ("湖北省", "武汉市", 3.5, ("江汉区", "武昌区", "洪山区", "汉阳区")),
    ("湖北省", "宜昌市", 0.6, ("西陵区", "伍家岗区")),
    ("湖南省", "长沙市", 3.0, ("岳麓区", "芙蓉区", "天心区", "开福区")),
    ("湖南省", "株洲市", 0.6, ("天元区", "芦淞区")),
    ("河南省", "郑州市", 3.0, ("金水区", "二七区", "中原区", "管城回族区")),
    ("河南省", "洛阳市", 0.9, ("西工区", "洛龙区")),
    ("山东省", "济南市", 2.0, ("历下区", "市中区", "槐荫区")),
    ("山东省", "青岛市", 2.5, ("市南区", "市北区", "崂山区", "黄岛区")),
    ("福建省", "福州市", 1.8, ("鼓楼区", "台江区", "仓山区")),
    ("福建省", "厦门市", 1.8, ("思明区", "湖里区", "集美区")),
    ("安徽省", "合肥市", 2.5, ("蜀山区", "包河区", "庐阳区", "瑶海区")),
    ("河北省", "石家庄市", 2.0, ("长安区", "桥西区", "新华区", "裕华区")),
    ("陕西省", "西安市", 2.5, ("雁塔区", "碑林区", "新城区", "未央区")),
    ("辽宁省", "沈阳市", 1.5, ("和平区", "沈河区", "皇姑区")),
    ("辽宁省", "大连市", 1.2, ("中山区", "沙河口区", "甘井子区")),
    ("江西省", "南昌市", 1.8, ("东湖区", "西湖区", "青山湖区")),
    ("广西壮族自治区", "南宁市", 1.8, ("青秀区", "兴宁区", "西乡塘区")),
    ("云南省", "昆明市", 1.8, ("五华区", "盘龙区", "官渡区")),
    ("黑龙江省", "哈尔滨市", 1.5, ("南岗区", "道里区", "香坊区")),
    ("吉林省", "长春市", 1.0, ("朝阳区", "南关区", "绿园区")),
    ("山西省", "太原市", 1.2, ("小店区", "迎泽区", "杏花岭区")),
    ("贵州省", "贵阳市", 1.2, ("南明区", "云岩区", "观山湖区")),
)
PROVINCES: Final = tuple(dict.fromkeys(p for p, _, _, _ in GAZETTEER))
CITY_PROVINCE: Final = np.array([PROVINCES.index(p) for p, _, _, _ in GAZETTEER], dtype=np.int32)
CITY_WEIGHT: Final = np.array([w for _, _, w, _ in GAZETTEER]) / sum(w for _, _, w, _ in GAZETTEER)

_STREET_STEMS: Final = (
    "人民", "解放", "中山", "建设", "和平", "新华", "胜利", "文化", "朝阳", "长江", "黄河", "学府", "滨江",
    "东风", "青年", "健康", "光明", "幸福", "工业", "迎宾", "花园", "金桥", "友谊", "振兴", "团结", "环城",
)  # fmt: skip
_STREET_DIRECTIONS: Final = ("", "", "", "东", "西", "南", "北", "中")
_STREET_SUFFIXES: Final = ("路", "路", "路", "街", "大道")

# Valid mainland mobile prefixes (1[3-9]x), the three carriers' common ones.
MOBILE_PREFIXES: Final = (
    *range(130, 140), *range(150, 154), *range(155, 160), 166, *range(175, 179), 173, 177,
    *range(180, 190), 191, 193, 195, 198, 199,
)  # fmt: skip

# (category, share of merchants, share of its orders returned, price range in yuan, items, spec)
CATEGORIES: Final[tuple[tuple[str, float, float, tuple[int, int], tuple[str, ...], str], ...]] = (
    (
        "服装",
        0.28,
        0.16,
        (49, 899),
        ("连衣裙", "半身裙", "针织开衫", "衬衫", "牛仔裤", "羽绒服", "卫衣", "风衣", "羊毛大衣"),
        "size",
    ),
    ("鞋包", 0.10, 0.12, (89, 1299), ("运动鞋", "小白鞋", "马丁靴", "双肩包", "托特包", "斜挎包"), "shoe"),
    ("美妆", 0.12, 0.05, (39, 799), ("口红", "粉底液", "面霜", "精华液", "面膜", "防晒霜"), "volume"),
    ("数码", 0.12, 0.07, (29, 4999), ("蓝牙耳机", "手机壳", "充电宝", "智能手表", "平板电脑", "机械键盘"), "colour"),
    ("家电", 0.08, 0.06, (99, 2999), ("电饭煲", "空气炸锅", "吸尘器", "电动牙刷", "加湿器", "破壁机"), "colour"),
    ("食品", 0.12, 0.01, (19, 399), ("坚果礼盒", "龙井茶", "咖啡豆", "牛肉干", "月饼礼盒"), "weight"),
    ("母婴", 0.06, 0.04, (49, 599), ("纸尿裤", "婴儿推车", "奶瓶", "儿童绘本"), "none"),
    ("家居", 0.12, 0.06, (19, 699), ("四件套", "乳胶枕", "收纳箱", "香薰蜡烛", "珊瑚绒毛毯"), "colour"),
)
_COLOURS: Final = ("黑色", "白色", "藏青色", "米白色", "酒红色", "卡其色", "浅灰色", "雾霾蓝", "焦糖色", "豆沙粉")
_TITLE_PREFIXES: Final = ("", "", "", "2026秋冬新款 ", "官方正品 ", "热卖 ", "限时特惠 ")
RETURN_REASONS: Final = ("尺码不合适", "质量问题", "与描述不符", "不想要了", "发错货", "商品破损")
_RETURN_REASON_WEIGHTS: Final = np.array([0.3, 0.2, 0.15, 0.2, 0.08, 0.07])

STATUSES: Final = ("cancelled", "paid", "shipped", "delivered", "return_requested", "returned")
CANCELLED, PAID, SHIPPED, DELIVERED, RETURN_REQUESTED, RETURNED = range(len(STATUSES))

# (actor role, share of --actors); couriers take what is left. Jobs are the four below, always.
ROLE_SHARES: Final = (
    (R_AGENT, 0.06),
    (R_SUPERVISOR, 0.005),
    (R_ANALYST, 0.001),
    (R_ADMIN, 0.0006),
    (R_PARTNER, 0.01),
    (R_MERCHANT, 0.30),
)
JOBS: Final = (
    ("job-nightly-sync", "nightly CRM sync: reads name and mobile of every customer who has ordered"),
    ("job-marketing", "twice-weekly marketing campaign: name and mobile of about a third of customers"),
    ("job-sms-notify", "shipping SMS: the mobile of each shipped order"),
    ("job-einvoice", "e-invoice (fapiao) issuer: name, items and price of each delivered order"),
)
NIGHTLY, MARKETING, SMS_NOTIFY, EINVOICE = range(len(JOBS))
_ROLE_PREFIX: Final = {
    R_AGENT: "agent",
    R_SUPERVISOR: "sup",
    R_ANALYST: "sec",
    R_ADMIN: "admin",
    R_COURIER: "courier",
    R_MERCHANT: "merchant",
    R_PARTNER: "partner",
}
_ROLE_KIND: Final = {
    R_AGENT: STAFF,
    R_SUPERVISOR: STAFF,
    R_ANALYST: STAFF,
    R_ADMIN: STAFF,
    R_COURIER: COURIER,
    R_MERCHANT: MERCHANT,
    R_PARTNER: PARTNER,
    R_SERVICE: JOB,
}

# First octets the synthetic address plan draws from: residential broadband, the carriers' mobile
# gateways, and hosting/proxy space that no customer ever uses (where stuffing comes from).
_BROADBAND_OCTETS: Final = (27, 36, 42, 49, 58, 59, 60, 61, 101, 106, 110, 111, 113, 114, 115, 116, 118, 119, 120)
_BROADBAND_OCTETS_2: Final = (121, 122, 123, 124, 125, 180, 182, 183, 218, 219, 220, 221, 222)
_MOBILE_SLASH16: Final = ((223, 104), (117, 136), (112, 96), (39, 144))
HOSTING_OCTETS: Final = (5, 23, 31, 37, 43, 45, 46, 62, 77, 89, 91, 103, 104, 141, 146, 154, 156, 176, 185, 193)


@dataclass
class Customers:
    ids: list[str]
    names: list[str]
    mobiles: I64
    city: I32
    districts: list[str]
    streets: list[str]
    registered: I64
    activity: F64  # relative shopping and browsing rate, heavy-tailed, mean 1
    home_net: U32  # the /24 of the customer's home broadband
    home_host: U32
    courier: I32  # the courier of the customer's address (most of their parcels)
    first_order: I64  # NEVER for customers who have not ordered

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Actors:
    """Everyone but the customers, in one table: a role's actors are one contiguous range."""

    ids: list[str]
    kind: I32
    role: I32
    region: list[str]
    merchant_ids: list[str]
    notes: list[str]
    ip: U32  # the stable address (office, batch host, API client, shop broadband); 0 for couriers
    work_offset: I32  # staff: which days of the week are off (a five-day week)
    late_shift: Bools  # staff: 14:00-23:00 rather than 09:00-18:00
    volume: F64  # staff: items a working day for the reference store
    first: dict[int, int]  # role -> index of its first actor
    count: dict[int, int]  # role -> how many

    def __len__(self) -> int:
        return len(self.ids)

    def of(self, role: int) -> NDArray[np.int32]:
        return np.arange(self.first[role], self.first[role] + self.count[role], dtype=np.int32)

    def works(self, actor: NDArray[np.int32], day: int) -> Bools:
        """Whether each staff member works on log day ``day`` (five days in seven, staggered)."""
        return (day + self.work_offset[actor]) % 7 < 5


@dataclass
class Merchants:
    city: I32
    weight: F64  # share of the store's orders
    category: I32
    partner: I32  # the partner that syncs its orders (index among partners), or -1
    sku_first: I32
    sku_count: I32


@dataclass
class Catalogue:
    titles: list[str]
    price_cents: I64
    category: I32


@dataclass
class Orders:
    """Orders in time order, each step of their life timed (NEVER when it does not happen)."""

    ids: list[str]
    customer: I32
    merchant: I32  # index among merchants
    courier: I32  # index among couriers
    sku: I32
    quantity: I32
    placed: I64
    checkout_login: I64
    merchant_view: I64
    partner_sync: I64
    shipped: I64  # the merchant prints the waybill
    sms: I64
    out_for_delivery: I64  # the courier's first look at the label
    courier_call: I64
    delivered: I64
    delivered_login: I64
    delivered_view: I64
    einvoice: I64
    return_login: I64
    return_requested: I64
    merchant_return_view: I64
    return_pickup: I64
    return_reason: NDArray[np.int8]
    status: NDArray[np.int8]
    by_customer: NDArray[np.intp]  # order indexes grouped by customer, in time order
    customer_first: NDArray[np.intp]  # customer c's orders are by_customer[customer_first[c]:[c+1]]
    customer_key: I64  # customer x KEY_SPAN + seconds since the history began, in by_customer order
    key_base: int

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class World:
    origin: int  # local midnight of the first logged day, µs since the epoch
    days: int
    intensity: float  # traffic relative to the default volumes (--events-per-day)
    staff_scale: float  # customers / REFERENCE_CUSTOMERS x intensity: per-actor reading volumes
    customers: Customers
    actors: Actors
    merchants: Merchants
    catalogue: Catalogue
    orders: Orders
    mobile_nets: U32  # the carriers' gateway /24s shared by every phone

    @property
    def end(self) -> int:
        return self.origin + self.days * DAY

    def actor_of_customer(self, customer: NDArray[np.integer] | int) -> NDArray[np.int32]:
        return np.asarray(len(self.actors) + np.asarray(customer), dtype=np.int32)

    def courier_actor(self, courier: NDArray[np.integer]) -> NDArray[np.int32]:
        return np.asarray(self.actors.first[R_COURIER] + courier, dtype=np.int32)

    def merchant_actor(self, merchant: NDArray[np.integer]) -> NDArray[np.int32]:
        return np.asarray(self.actors.first[R_MERCHANT] + merchant, dtype=np.int32)

    def partner_actor(self, partner: NDArray[np.integer] | int) -> NDArray[np.int32]:
        return np.asarray(self.actors.first[R_PARTNER] + np.asarray(partner), dtype=np.int32)

    def order_before(self, customer: I32, at: I64, rng: np.random.Generator | None) -> I64:
        """One of each customer's orders placed before ``at``, the latest most often (always,
        without ``rng``); -1 if none."""
        o = self.orders
        pos = np.searchsorted(o.customer_key, customer.astype(np.int64) * KEY_SPAN + (at - o.key_base) // US)
        first = o.customer_first[customer]
        before = pos - first
        back = 0 if rng is None else np.minimum(rng.geometric(0.6, customer.shape[0]) - 1, np.maximum(before - 1, 0))
        pick = np.clip(first + before - 1 - back, 0, max(len(o) - 1, 0))
        found = o.by_customer[pick] if len(o) else np.zeros(customer.shape[0], dtype=np.intp)
        return np.where(before > 0, found, -1).astype(np.int64)

    def job_actor(self, job: int) -> int:
        return self.actors.first[R_SERVICE] + job

    def mobile_ips(self, rng: np.random.Generator, n: int) -> U32:
        """Addresses behind the carriers' mobile gateways (CGNAT: any phone, any of them)."""
        nets = self.mobile_nets[rng.integers(0, self.mobile_nets.shape[0], n)]
        return (nets | rng.integers(1, 255, n).astype(np.uint32)).astype(np.uint32)

    def home_ips(self, rng: np.random.Generator, customer: NDArray[np.int32]) -> U32:
        """The customer's home address; now and then the router gets another one in the same /24."""
        host = np.where(
            rng.random(customer.shape[0]) < 0.9,
            self.customers.home_host[customer],
            rng.integers(2, 255, customer.shape[0]).astype(np.uint32),
        )
        return (self.customers.home_net[customer] | host).astype(np.uint32)


# Local hour-of-day profiles (each sums to 1): when each kind of traffic happens.
def _profile(weights: list[float]) -> F64:
    array = np.array(weights, dtype=np.float64)
    return np.asarray(array / array.sum(), dtype=np.float64)


CUSTOMER_HOURS: Final = _profile(
    [2, 1, 0.6, 0.4, 0.3, 0.4, 1, 2, 3, 4, 5, 5, 6, 5, 5, 5, 5, 5, 6, 7, 9, 10, 9, 5]
)  # fmt: skip


def times_in_day(rng: np.random.Generator, day_start: int, hours: F64, n: int) -> I64:
    """``n`` moments on one local day, hour by the profile, uniform within the hour."""
    hour = rng.choice(24, size=n, p=hours)
    return np.asarray(day_start + hour * HOUR + rng.integers(0, HOUR, n), dtype=np.int64)


def padded(prefix: str, n: int, width: int = 4) -> list[str]:
    """``prefix`` + 1..n, zero-padded to at least ``width`` digits so ids sort as numbers."""
    digits = max(width, len(str(n)))
    return [f"{prefix}{i:0{digits}d}" for i in range(1, n + 1)]


def build_world(
    rng: np.random.Generator, *, seed: int, customers: int, actors: int, days: int, start: date, intensity: float
) -> World:
    """The store: ``rng`` draws everything but the names, which come from Faker seeded with ``seed``."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    origin = epoch_us(start)
    nets = _address_plan(rng, customers // 3 + actors + 16)
    actor_table = _actors(rng, actors, nets[customers // 3 :])
    merchants, catalogue = _merchants(rng, actor_table)
    people = _customers(rng, fake, customers, origin, nets[: max(1, customers // 3)], actor_table)
    orders = _orders(rng, people, merchants, catalogue, actor_table, origin, days, intensity)
    people.first_order = np.full(customers, NEVER, dtype=np.int64)
    has = orders.customer_first[1:] > orders.customer_first[:-1]
    people.first_order[has] = orders.placed[orders.by_customer[orders.customer_first[:-1][has]]]
    people.registered = np.minimum(people.registered, people.first_order - rng.integers(HOUR, 30 * DAY, customers))
    mobile_nets = np.array(
        [(a << 24) | (b << 16) | (c << 8) for a, b in _MOBILE_SLASH16 for c in range(256)], dtype=np.uint32
    )
    return World(
        origin=origin,
        days=days,
        intensity=intensity,
        staff_scale=customers / REFERENCE_CUSTOMERS * intensity,
        customers=people,
        actors=actor_table,
        merchants=merchants,
        catalogue=catalogue,
        orders=orders,
        mobile_nets=mobile_nets,
    )


def _address_plan(rng: np.random.Generator, n: int) -> U32:
    """``n`` distinct broadband /24s (network addresses), none inside the mobile gateways' /16s."""
    octets = np.array(_BROADBAND_OCTETS + _BROADBAND_OCTETS_2, dtype=np.uint32)
    mobile16 = {(a << 8) | b for a, b in _MOBILE_SLASH16}
    found: list[int] = []
    seen: set[int] = set()
    while len(found) < n:
        batch = (rng.choice(octets, size=n) << 24) | (rng.integers(0, 1 << 16, n).astype(np.uint32) << 8)
        for net in batch.tolist():
            if net not in seen and (net >> 16) not in mobile16:
                seen.add(net)
                found.append(net)
    return np.array(found[:n], dtype=np.uint32)


def _actors(rng: np.random.Generator, n: int, nets: U32) -> Actors:
    counts = {role: max(1, round(n * share)) for role, share in ROLE_SHARES}
    counts[R_COURIER] = max(1, n - len(JOBS) - sum(counts.values()))
    counts[R_SERVICE] = len(JOBS)
    order = (R_AGENT, R_SUPERVISOR, R_ANALYST, R_ADMIN, R_COURIER, R_MERCHANT, R_PARTNER, R_SERVICE)
    ids: list[str] = []
    roles: list[int] = []
    first: dict[int, int] = {}
    for each in order:
        first[each] = len(ids)
        if each == R_SERVICE:
            ids.extend(name for name, _ in JOBS)
        else:
            ids.extend(padded(f"{_ROLE_PREFIX[each]}-", counts[each], 5 if each in (R_COURIER, R_MERCHANT) else 4))
        roles.extend([each] * counts[each])
    total = len(ids)
    role = np.array(roles, dtype=np.int32)
    kind = np.array([_ROLE_KIND[r] for r in roles], dtype=np.int32)
    # Staff sit in two offices' networks; jobs on batch hosts; partners call from their clouds;
    # merchants from their shops' broadband; couriers from phones (no stable address).
    ip = np.zeros(total, dtype=np.uint32)
    staff = np.flatnonzero(kind == STAFF)
    ip[staff] = (10 << 24) | (20 << 16) | ((staff // 250) << 8) | (staff % 250 + 2)
    jobs = np.arange(first[R_SERVICE], first[R_SERVICE] + len(JOBS))
    ip[jobs] = (10 << 24) | (8 << 8) | (jobs - first[R_SERVICE] + 10)
    partners = np.arange(first[R_PARTNER], first[R_PARTNER] + counts[R_PARTNER])
    ip[partners] = (47 << 24) | (rng.integers(96, 120, partners.size) << 16) | rng.integers(256, 65534, partners.size)
    merchants = np.arange(first[R_MERCHANT], first[R_MERCHANT] + counts[R_MERCHANT])
    ip[merchants] = nets[rng.integers(0, nets.size, merchants.size)] | rng.integers(2, 255, merchants.size)
    offices = ("杭州市", "成都市")
    region = [""] * total
    notes = [""] * total
    late = rng.random(total) < 0.3
    for a in staff.tolist():
        region[a] = offices[a % 2]
        notes[a] = "shift 14:00-23:00" if late[a] else "shift 09:00-18:00"
    for j, (_, note) in enumerate(JOBS):
        notes[first[R_SERVICE] + j] = note
    # Items a working day for the reference store: agents 30-300 customers, supervisors about a
    # thousand (a few thousand on the busiest), analysts and admins far fewer.
    volume = np.zeros(total)
    for r, median, sigma, low, high in (
        (R_AGENT, 70.0, 0.55, 30.0, 300.0),
        (R_SUPERVISOR, 1000.0, 0.5, 300.0, 3000.0),
        (R_ANALYST, 80.0, 0.4, 20.0, 300.0),
        (R_ADMIN, 8.0, 0.5, 1.0, 40.0),
    ):
        span = slice(first[r], first[r] + counts[r])
        volume[span] = np.clip(rng.lognormal(np.log(median), sigma, counts[r]), low, high)
    return Actors(
        ids=ids,
        kind=kind,
        role=role,
        region=region,
        merchant_ids=[""] * total,
        notes=notes,
        ip=ip.astype(np.uint32),
        work_offset=rng.integers(0, 7, total).astype(np.int32),
        late_shift=late,
        volume=volume,
        first=first,
        count=counts,
    )


def _merchants(rng: np.random.Generator, actors: Actors) -> tuple[Merchants, Catalogue]:
    m = actors.count[R_MERCHANT]
    shares = np.array([c[1] for c in CATEGORIES])
    category = rng.choice(len(CATEGORIES), size=m, p=shares / shares.sum()).astype(np.int32)
    # Sellers cluster where manufacturing does: the coastal provinces' weight counts double.
    city = rng.choice(len(GAZETTEER), size=m, p=_normal(CITY_WEIGHT**1.5)).astype(np.int32)
    weight = _normal(rng.lognormal(0.0, 1.6, m))  # a few merchants take most orders
    sku_count = rng.integers(3, 40, m).astype(np.int32)
    sku_first = np.concatenate([[0], np.cumsum(sku_count)[:-1]]).astype(np.int32)
    sku_category = np.repeat(category, sku_count)
    total = sku_category.size
    low, high = (np.array([c[3][i] for c in CATEGORIES], dtype=np.float64)[sku_category] for i in (0, 1))
    price = np.exp(rng.uniform(np.log(low), np.log(high)))
    # Prices end in 9 or 0 the way shops set them.
    cents = np.round(price / 10).astype(np.int64) * 1000 - np.where(rng.random(total) < 0.7, 100, 0)
    cents[cents <= 0] = 990
    titles = [
        _title(cat, item, prefix, colour, spec)
        for cat, item, prefix, colour, spec in zip(
            sku_category.tolist(),
            rng.random(total).tolist(),
            rng.integers(0, len(_TITLE_PREFIXES), total).tolist(),
            rng.integers(0, len(_COLOURS), total).tolist(),
            rng.integers(0, 1 << 20, total).tolist(),
            strict=True,
        )
    ]
    p = actors.count[R_PARTNER]
    partner_weight = _normal(rng.lognormal(0.0, 1.0, p))
    partner = np.where(rng.random(m) < 0.4, rng.choice(p, size=m, p=partner_weight), -1).astype(np.int32)
    merchant_ids = actors.ids[actors.first[R_MERCHANT] : actors.first[R_MERCHANT] + m]
    served: list[list[str]] = [[] for _ in range(p)]
    for i, k in enumerate(partner.tolist()):
        if k >= 0:
            served[k].append(merchant_ids[i])
    for i in range(m):
        a = actors.first[R_MERCHANT] + i
        actors.region[a] = GAZETTEER[int(city[i])][0]
        actors.merchant_ids[a] = merchant_ids[i]
        actors.notes[a] = f"sells {CATEGORIES[int(category[i])][0]}"
    for k in range(p):
        a = actors.first[R_PARTNER] + k
        actors.merchant_ids[a] = "|".join(served[k])
        actors.notes[a] = f"order-sync API key for {len(served[k])} merchants"
    return (
        Merchants(
            city=city, weight=weight, category=category, partner=partner, sku_first=sku_first, sku_count=sku_count
        ),
        Catalogue(titles=titles, price_cents=cents.astype(np.int64), category=sku_category.astype(np.int32)),
    )


def _title(category: int, item: float, prefix: int, colour: int, spec: int) -> str:
    """A product title from its draws: which item of the category, prefix, colour, and a number
    that picks the size, volume or weight."""
    _, _, _, _, items, kind = CATEGORIES[category]
    tint = _COLOURS[colour]
    detail = {
        "size": f"{tint} {('S', 'M', 'L', 'XL', 'XXL')[spec % 5]}",
        "shoe": f"{tint} {35 + spec % 10}码",
        "volume": f"{(15, 30, 50, 100)[spec % 4]}ml",
        "colour": tint,
        "weight": f"{(250, 500, 1000)[spec % 3]}g",
        "none": "",
    }[kind]
    return f"{_TITLE_PREFIXES[prefix]}{items[int(item * len(items))]} {detail}".strip()


def _normal(weights: NDArray[np.float64]) -> F64:
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def _customers(rng: np.random.Generator, fake: Faker, n: int, origin: int, nets: U32, actors: Actors) -> Customers:
    # Faker draws surnames by their real frequency; pools keep it to a few thousand calls.
    surnames = np.array([fake.last_name() for _ in range(2000)])
    given = np.array([fake.first_name() for _ in range(3000)])
    names = np.char.add(surnames[rng.integers(0, surnames.size, n)], given[rng.integers(0, given.size, n)]).tolist()
    city = rng.choice(len(GAZETTEER), size=n, p=CITY_WEIGHT).astype(np.int32)
    district_pick = rng.random(n)
    districts = [
        GAZETTEER[c][3][int(u * len(GAZETTEER[c][3]))]
        for c, u in zip(city.tolist(), district_pick.tolist(), strict=True)
    ]
    stems = rng.integers(0, len(_STREET_STEMS), n)
    directions = rng.integers(0, len(_STREET_DIRECTIONS), n)
    suffixes = rng.integers(0, len(_STREET_SUFFIXES), n)
    numbers = rng.integers(1, 999, n)
    flats = rng.random(n) < 0.75
    building, unit, floor, room = (
        rng.integers(1, 30, n),
        rng.integers(1, 6, n),
        rng.integers(1, 33, n),
        rng.integers(1, 5, n),
    )
    streets = [
        f"{_STREET_STEMS[s]}{_STREET_DIRECTIONS[d]}{_STREET_SUFFIXES[x]}{num}号"
        + (f"{b}栋{u}单元{f}{r:02d}室" if flat else "")
        for s, d, x, num, flat, b, u, f, r in zip(
            stems.tolist(), directions.tolist(), suffixes.tolist(), numbers.tolist(), flats.tolist(),
            building.tolist(), unit.tolist(), floor.tolist(), room.tolist(), strict=True,
        )
    ]  # fmt: skip
    prefixes = np.array(MOBILE_PREFIXES, dtype=np.int64)
    mobiles = prefixes[rng.integers(0, prefixes.size, n)] * 100_000_000 + rng.integers(0, 100_000_000, n)
    while np.unique(mobiles).size < n:  # one number, one customer
        _, first_seen = np.unique(mobiles, return_index=True)
        again = np.setdiff1d(np.arange(n), first_seen)
        mobiles[again] = prefixes[rng.integers(0, prefixes.size, again.size)] * 100_000_000 + rng.integers(
            0, 100_000_000, again.size
        )
    registered = origin - rng.integers(1, 2000, n) * DAY + rng.integers(0, DAY, n)
    # Neighbours on one ISP share a /24: about three customers per home network.
    home_net = nets[rng.integers(0, nets.size, n)]
    courier = _couriers_for(rng, city, actors)
    return Customers(
        ids=padded("c", n, 7),
        names=names,
        mobiles=mobiles.astype(np.int64),
        city=city,
        districts=districts,
        streets=streets,
        registered=registered.astype(np.int64),
        activity=_normal(rng.lognormal(0.0, 1.1, n)) * n,
        home_net=home_net.astype(np.uint32),
        home_host=rng.integers(2, 255, n).astype(np.uint32),
        courier=courier,
        first_order=np.full(n, NEVER, dtype=np.int64),
    )


def _couriers_for(rng: np.random.Generator, city: I32, actors: Actors) -> I32:
    """Each customer's courier: one of the couriers of their city, the busy ones more often."""
    k = actors.count[R_COURIER]
    cities = len(GAZETTEER)
    courier_city = rng.choice(cities, size=k, p=CITY_WEIGHT).astype(np.int32)
    by_weight = np.argsort(-CITY_WEIGHT, kind="stable")
    courier_city[: min(k, cities)] = by_weight[: min(k, cities)]  # every city has one when there are enough
    busy = rng.lognormal(0.0, 0.8, k)
    result = np.asarray(rng.integers(0, k, city.shape[0]), dtype=np.int32)  # cities without a courier of their own
    for c in range(cities):
        mine = np.flatnonzero(courier_city == c)
        who = np.flatnonzero(city == c)
        if mine.size and who.size:
            result[who] = rng.choice(mine, size=who.size, p=_normal(busy[mine]))
    first = actors.first[R_COURIER]
    for i, c in enumerate(courier_city.tolist()):
        actors.region[first + i] = f"{GAZETTEER[c][0]}{GAZETTEER[c][1]}"
    return result


def _orders(
    rng: np.random.Generator,
    people: Customers,
    merchants: Merchants,
    catalogue: Catalogue,
    actors: Actors,
    origin: int,
    days: int,
    intensity: float,
) -> Orders:
    n_customers = len(people)
    total_days = HISTORY_DAYS + days
    day_weight = rng.lognormal(0.0, 0.2, total_days)
    n = int(rng.poisson(ORDERS_PER_CUSTOMER_MONTH * n_customers * total_days / 30 * intensity))
    day = rng.choice(total_days, size=n, p=_normal(day_weight))
    placed = np.sort(
        origin - HISTORY_DAYS * DAY + day * DAY + rng.choice(24, n, p=CUSTOMER_HOURS) * HOUR + rng.integers(0, HOUR, n)
    )
    customer = rng.choice(n_customers, size=n, p=_normal(people.activity)).astype(np.int32)
    merchant = rng.choice(merchants.weight.size, size=n, p=merchants.weight).astype(np.int32)
    sku = (
        merchants.sku_first[merchant]
        + np.minimum(
            (rng.random(n) ** 2 * merchants.sku_count[merchant]).astype(np.int32), merchants.sku_count[merchant] - 1
        )
    ).astype(np.int32)
    quantity = rng.choice([1, 2, 3], size=n, p=[0.8, 0.15, 0.05]).astype(np.int32)
    # One parcel in ten comes with another express company than the customer's usual courier.
    courier = np.where(
        rng.random(n) < 0.9, people.courier[customer], rng.integers(0, actors.count[R_COURIER], n)
    ).astype(np.int32)

    def minutes(low: float, high: float) -> I64:
        return (rng.uniform(low, high, n) * MINUTE).astype(np.int64)

    cancelled = rng.random(n) < 0.03
    live = ~cancelled
    checkout_login = placed - minutes(1, 20)
    merchant_view = placed + np.clip(rng.lognormal(np.log(40), 1.0, n), 2, 1200).astype(np.int64) * MINUTE
    partner_sync = np.where(merchants.partner[merchant] >= 0, placed + minutes(0.5, 10), NEVER)
    shipped = np.where(live, placed + minutes(120, 1800), NEVER)
    sms = np.where(live, shipped + minutes(0.1, 2), NEVER)
    # Delivery one to three calendar days after the order: the courier looks at the label on the
    # morning round, calls now and then, and delivers within the day.
    placed_day = (placed - origin) // DAY
    shipped_day = (np.minimum(shipped, placed + 2 * DAY) - origin) // DAY
    delivery_day = np.maximum(placed_day + rng.choice([1, 2, 3], size=n, p=[0.45, 0.4, 0.15]), shipped_day + 1)
    out = np.where(live, origin + delivery_day * DAY + minutes(7.5 * 60, 11 * 60), NEVER)
    delivered = np.where(live, out + minutes(30, 480), NEVER)
    call = np.where(live & (rng.random(n) < 0.4), delivered - minutes(5, 30), NEVER)
    looks = live & (rng.random(n) < 0.4)
    delivered_view = np.where(looks, delivered + minutes(5, 720), NEVER)
    delivered_login = np.where(looks, delivered_view - minutes(0.2, 3), NEVER)
    einvoice = np.where(live, delivered + minutes(60, 720), NEVER)
    return_rate = np.array([c[2] for c in CATEGORIES])[catalogue.category[sku]]
    returns = live & (rng.random(n) < return_rate)
    wait = (np.minimum(rng.exponential(2.5, n), 10) * DAY).astype(np.int64) + minutes(60, 600)
    return_requested = np.where(returns, delivered + wait, NEVER).astype(np.int64)
    return_login = np.where(returns, return_requested - minutes(0.5, 10), NEVER)
    merchant_return_view = np.where(returns, return_requested + minutes(10, 1200), NEVER)
    pickup_day = (return_requested - origin) // DAY + rng.choice([1, 2], size=n)
    return_pickup = np.where(returns, origin + pickup_day * DAY + minutes(9 * 60, 18 * 60), NEVER)
    return_reason = np.where(returns, rng.choice(len(RETURN_REASONS), size=n, p=_RETURN_REASON_WEIGHTS), -1).astype(
        np.int8
    )

    end = origin + days * DAY
    status = np.full(n, PAID, dtype=np.int8)
    status[shipped < end] = SHIPPED
    status[delivered < end] = DELIVERED
    status[return_requested < end] = RETURN_REQUESTED
    status[return_pickup < end] = RETURNED
    status[cancelled] = CANCELLED

    by_customer = np.argsort(customer, kind="stable")
    customer_first = np.searchsorted(customer[by_customer], np.arange(n_customers + 1)).astype(np.intp)
    key_base = origin - HISTORY_DAYS * DAY
    customer_key = customer[by_customer].astype(np.int64) * KEY_SPAN + (placed[by_customer] - key_base) // US
    return Orders(
        ids=padded("o", n, 9),
        customer=customer,
        merchant=merchant,
        courier=courier,
        sku=sku,
        quantity=quantity,
        placed=placed.astype(np.int64),
        checkout_login=checkout_login.astype(np.int64),
        merchant_view=merchant_view.astype(np.int64),
        partner_sync=partner_sync.astype(np.int64),
        shipped=shipped.astype(np.int64),
        sms=sms.astype(np.int64),
        out_for_delivery=out.astype(np.int64),
        courier_call=call.astype(np.int64),
        delivered=delivered.astype(np.int64),
        delivered_login=delivered_login.astype(np.int64),
        delivered_view=delivered_view.astype(np.int64),
        einvoice=einvoice.astype(np.int64),
        return_login=return_login.astype(np.int64),
        return_requested=return_requested,
        merchant_return_view=merchant_return_view.astype(np.int64),
        return_pickup=return_pickup.astype(np.int64),
        return_reason=return_reason,
        status=status,
        by_customer=by_customer,
        customer_first=customer_first,
        customer_key=customer_key.astype(np.int64),
        key_base=key_base,
    )
