"""``generate_logins``: a store's login attempts over some days, in the shared "Login attempts"
format: its customers logging in as people do (typos, forgotten passwords, new phones, travel,
shared mobile-carrier addresses) and four planted attacks (distributed credential stuffing, brute
force on one account, password spraying, an attempt to lock a customer out), with the truth and
the attackers' inputs beside them (see docs/simulator.md, "Login attempts").

The seed feeds one ``numpy.random.SeedSequence`` split by purpose (the customers, their logins,
the leaked list and each attack), so the same seed and options write the same bytes, and a larger
or smaller attack leaves the customers and their own logins as they were. Scalar draws come from a
``random.Random`` seeded from each purpose's stream: the generation is per session and per
attempt, where numpy's per-call overhead would cost ten times as much.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import ipaddress
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Final, NamedTuple

import numpy as np
import orjson

from shopshield.core.errors import InvalidInput
from shopshield.simulate.world import HOSTING_OCTETS, MOBILE_PREFIXES

ACTORS: Final = ("legit", "stuffing", "brute_force", "spraying", "lockout")
LEGIT, STUFFING, BRUTE_FORCE, SPRAYING, LOCKOUT = range(len(ACTORS))
ATTACKS: Final = ACTORS[1:]

LOCAL: Final = timezone(timedelta(hours=8))  # the store is in China: no daylight saving
DEFAULT_START: Final = date(2026, 10, 1)
MAX_DAYS: Final = 366
SECOND: Final = 1000  # times are whole milliseconds since local midnight of the first day
MINUTE: Final = 60 * SECOND
HOUR: Final = 60 * MINUTE
DAY: Final = 24 * HOUR

_WORLD, _LEGIT, _LEAK, _STUFFING, _BRUTE_FORCE, _SPRAYING, _LOCKOUT, _HISTORY = range(8)
HISTORY_DAYS: Final = 30  # the store's own login history before the log, for ``history.jsonl``

# -- the customers' passwords ----------------------------------------------------------------------

# What people in China actually choose, most common first (digit runs, "I love you" as 5201314 and
# woaini, keyboard walks, a letter before 123456). The rest of the list is generated below.
_TOP_PASSWORDS: Final = (
    "123456", "123456789", "111111", "000000", "a123456", "12345678", "123123", "5201314", "666666",
    "888888", "123321", "654321", "1234567890", "abc123", "woaini1314", "qq123456", "a123456789",
    "password", "1234567", "112233", "147258369", "123654", "aa123456", "1qaz2wsx", "qwerty",
    "iloveyou", "woaini", "520520", "woaini520", "asd123", "qwe123", "zxcvbnm", "111222", "159357",
    "7758521", "1314520", "abc123456", "a12345678", "q123456", "159753", "789456", "qwertyuiop",
    "asdasd", "1q2w3e4r", "aaaaaa", "qqqqqq", "wang123456", "zhang123", "li123456", "password1",
    "admin123", "147258", "258369", "321321", "147852", "987654321", "100200", "131313", "5211314",
    "1314521", "qazwsx", "asdfghjkl", "zxc123", "a111111", "w123456", "000000a", "12qwaszx", "1a2b3c",
    "abcd1234", "aini1314", "iloveyou1", "1qazxsw2", "superman", "dragon", "monkey", "football",
    "welcome", "sunshine", "shadow", "master", "hello123", "qwe123456", "asd123456", "zxc123456",
)  # fmt: skip
_SURNAMES: Final = (
    "wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma",
    "zhu", "hu", "guo", "he", "lin", "gao", "luo", "zheng", "liang", "xie", "song", "tang", "han",
)  # fmt: skip
_GIVEN: Final = (
    "wei", "fang", "na", "min", "jing", "li", "qiang", "lei", "jun", "yang", "yong", "yan", "jie",
    "tao", "ming", "chao", "xiu", "hua", "hong", "ping", "gang", "fei", "xin", "yu", "hao", "yi",
    "lin", "jia", "qing", "bo", "xiao", "dan", "ting", "rui", "kai", "peng", "hui", "ying", "long",
)  # fmt: skip
_SUFFIXES: Final = ("123456", "123", "888", "520", "1314", "666", "111", "000", "12345", "123456789")


def common_passwords() -> list[str]:
    """The common-passwords list, most common first: the top list, digit runs, surname+digits and
    birthdays (YYYYMMDD, 1960-2008; millions of Chinese passwords are a date of birth)."""
    ranked = list(_TOP_PASSWORDS)
    ranked += [str(d) * n for n in (6, 7, 8) for d in range(10)]
    ranked += ["".join(str((first + i) % 10) for i in range(n)) for first in range(10) for n in (6, 8)]
    ranked += [s + x for x in _SUFFIXES for s in _SURNAMES]
    ranked += [f"{s}{g}{x}" for x in ("", "123", "520") for s in _SURNAMES[:12] for g in _GIVEN[:20]]
    first, last = date(1960, 1, 1), date(2008, 12, 31)
    # Dates from the most common birth years outwards, as a cracking list orders them.
    years = sorted(range(first.year, last.year + 1), key=lambda y: (abs(y - 1988), y))
    for year in years:
        day = date(year, 1, 1)
        while day.year == year:
            ranked.append(day.strftime("%Y%m%d"))
            day += timedelta(days=1)
    return list(dict.fromkeys(ranked))  # first occurrence wins: the rank is where it was first listed


def _personal_password(rng: random.Random) -> str:
    """A password nobody else is likely to have: pinyin, digits, sometimes a symbol or capitals."""
    shape = rng.random()
    if shape < 0.45:
        stem = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        return stem + str(rng.randrange(10, 10 ** rng.randint(3, 6)))
    if shape < 0.7:
        stem = rng.choice(_GIVEN).capitalize() + rng.choice(_GIVEN)
        return f"{stem}{rng.choice('@#._!')}{rng.randrange(100, 100000)}"
    letters = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(rng.choice(letters) for _ in range(rng.randint(8, 12)))


def _typo(password: str, rng: random.Random) -> str:
    """What a hurried thumb types instead: a character dropped, doubled, swapped or changed."""
    for _ in range(10):
        i = rng.randrange(len(password))
        kind = rng.randrange(4)
        if kind == 0:
            wrong = password[:i] + password[i + 1 :]
        elif kind == 1:
            wrong = password[:i] + password[i] + password[i:]
        elif kind == 2 and i + 1 < len(password):
            wrong = password[:i] + password[i + 1] + password[i] + password[i + 2 :]
        else:
            wrong = password[:i] + rng.choice("1234567890qwertyasdf") + password[i + 1 :]
        if wrong and wrong != password:
            return wrong
    return password + "1"


# -- networks and devices ---------------------------------------------------------------------------

# First octets of the synthetic address plan: home broadband (where residential proxies live too),
# the three carriers' mobile gateways (CGNAT: one public address for many phones), addresses
# abroad, and hosting space (the brute-forcer's and sprayers' servers).
_BROADBAND: Final = (27, 36, 42, 49, 58, 59, 60, 61, 101, 106, 110, 111, 113, 114, 115, 116, 118, 119, 120, 121, 122,
                     123, 124, 125, 180, 182, 183, 218, 219, 220, 221, 222)  # fmt: skip
_CARRIERS: Final = (
    ("China Mobile", 0.46, (223, 104)),
    ("China Telecom", 0.30, (117, 136)),
    ("China Unicom", 0.24, (112, 96)),
)
_CARRIER_V6: Final = (0x2409, 0x240E, 0x2408)  # the carriers' home broadband IPv6 blocks
_REGIONS: Final = 8  # carrier gateways are regional: a customer's phone egresses in its region
_ABROAD: Final = (24, 71, 73, 81, 86, 92, 94, 98, 126, 133, 153, 175)
_CGNAT_CUSTOMERS_PER_ADDRESS: Final = 100

_IOS: Final = ("16.7.8", "17.4.1", "17.5.1", "17.6", "18.0", "18.1.1", "18.3")
_ANDROID: Final = (
    ("13", "M2012K11AC", "TKQ1.220829.002"), ("14", "23127PN0CC", "UKQ1.230804.001"),
    ("12", "V2118A", "SP1A.210812.003"), ("14", "PHB110", "UKQ1.230924.001"), ("13", "ALN-AL00", "HUAWEIALN-AL00"),
    ("14", "V2309A", "UP1A.231005.007"), ("12", "PGJM10", "SP1A.210812.016"), ("13", "2210132C", "TKQ1.221114.001"),
    ("14", "PJD110", "UKQ1.231108.001"),
)  # fmt: skip
_APP_VERSIONS: Final = ("7.2.0", "7.3.0", "7.3.1", "7.4.0")
_CHROME: Final = ("120.0.0.0", "122.0.0.0", "124.0.0.0", "126.0.0.0", "128.0.0.0", "130.0.0.0")


def _phone_agent(rng: random.Random) -> str:
    app = rng.choice(_APP_VERSIONS)
    if rng.random() < 0.3:
        ios = rng.choice(_IOS).replace(".", "_")
        return (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"Mobile/15E148 ShopApp/{app}"
        )
    version, model, build = rng.choice(_ANDROID)
    return (
        f"Mozilla/5.0 (Linux; Android {version}; {model} Build/{build}; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Version/4.0 Chrome/{rng.choice(_CHROME)} Mobile Safari/537.36 ShopApp/{app}"
    )


def _desktop_agent(rng: random.Random) -> str:
    chrome = rng.choice(_CHROME)
    shape = rng.random()
    if shape < 0.55:
        return (
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome} "
            "Safari/537.36"
        )
    if shape < 0.8:
        return (
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome} "
            f"Safari/537.36 Edg/{chrome}"
        )
    return (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
        "Safari/605.1.15"
    )


def _device_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _ipv4(value: int) -> str:
    return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def _random_net(rng: random.Random, octets: Sequence[int]) -> int:
    """A random /24 (as its address >> 8) under one of ``octets``."""
    return rng.choice(octets) << 16 | rng.randrange(1, 255) << 8 | rng.randrange(256)


class Device(NamedTuple):
    device_id: str
    user_agent: str
    phone: bool


@dataclass
class Customer:
    username: str
    password: str  # at the start of the log; see ``LoginWorld.password_at`` for changes
    devices: list[Device]
    home_net: int  # the home broadband /24, as its address >> 8
    home_host: int
    home_v6: int | None  # the home /64 prefix (upper 64 bits), for about a quarter of customers
    carrier: int
    region: int
    activity: float  # relative login rate, heavy-tailed, mean 1
    common: bool  # the password is on the common-passwords list
    other_site: str | None  # this customer's password on the breached site, if on its list


@dataclass
class LoginWorld:
    customers: list[Customer]
    by_username: dict[str, int]
    cgnat: list[list[list[int]]]  # [carrier][region] -> gateway addresses
    leaked: list[tuple[str, str]]  # the breach list from the other site, in its file order
    dictionary: list[str]  # the common-passwords list, most common first
    brute_force_target: int
    lockout_victim: int
    changes: dict[int, list[tuple[int, str]]] = dataclasses.field(default_factory=dict)  # (from ms, password)

    def password_at(self, customer: int, at: int) -> str:
        history = self.changes.get(customer)
        if not history:
            return self.customers[customer].password
        i = bisect.bisect_right(history, (at, "\U0010ffff")) - 1
        return history[i][1] if i >= 0 else self.customers[customer].password


# -- configuration ---------------------------------------------------------------------------------


class InvalidLoginSimConfig(InvalidInput, ValueError):
    """Arguments no simulation can be built from; ``problems`` pairs each field with what is wrong."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in problems))
        self.problems = problems


MIN_CUSTOMERS: Final = 100  # enough for shared gateways, a spraying list and the two targeted victims


@dataclass(frozen=True)
class LoginSimConfig:
    seed: int
    customers: int = 20_000
    days: int = 7
    leaked: int = 50_000  # pairs on the other site's breach list
    logins_per_day: float = 1.2  # sessions a customer starts a day, on average
    start: date = DEFAULT_START
    on_list_share: float = 0.15  # customers whose username is on the breach list
    reuse_share: float = 0.2  # of those, the share whose password here is the leaked one
    common_share: float = 0.03  # customers whose password is on the common-passwords list

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        if self.seed < 0:
            problems.append(("seed", f"must be 0 or more, not {self.seed}"))
        if self.customers < MIN_CUSTOMERS:
            problems.append(("customers", f"must be at least {MIN_CUSTOMERS}, not {self.customers}"))
        if not 1 <= self.days <= MAX_DAYS:
            problems.append(("days", f"must be between 1 and {MAX_DAYS}, not {self.days}"))
        if self.leaked < 1:
            problems.append(("leaked", f"must be at least 1, not {self.leaked}"))
        if not 0 < self.logins_per_day <= 50:
            problems.append(("logins_per_day", f"must be more than 0 and at most 50, not {self.logins_per_day}"))
        for name in ("on_list_share", "reuse_share", "common_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                problems.append((name, f"must be between 0 and 1, not {value}"))
        if problems:
            raise InvalidLoginSimConfig(problems)

    def as_json(self) -> dict[str, object]:
        values = dataclasses.asdict(self)
        values["start"] = self.start.isoformat()
        return values


@dataclass(frozen=True)
class LoginSimPaths:
    """The files one simulation writes, all beside ``attempts``."""

    attempts: Path
    truth: Path
    summary: Path
    leaked_pairs: Path
    breached_passwords: Path
    history: Path

    @classmethod
    def beside(cls, attempts: Path) -> LoginSimPaths:
        stem = attempts.name[: -len(attempts.suffix)] if attempts.suffix else attempts.name
        return cls(
            attempts=attempts,
            truth=attempts.with_name(f"{stem}.truth.jsonl"),
            summary=attempts.with_name(f"{stem}.summary.json"),
            leaked_pairs=attempts.with_name(f"{stem}.leaked-pairs.txt"),
            breached_passwords=attempts.with_name(f"{stem}.breached-passwords.txt"),
            history=attempts.with_name(f"{stem}.history.jsonl"),
        )

    def all(self) -> tuple[Path, ...]:
        return (self.attempts, self.truth, self.summary, self.leaked_pairs, self.breached_passwords, self.history)


@dataclass(frozen=True)
class LoginSimSummary:
    paths: LoginSimPaths
    attempts: int
    counts: dict[str, int]  # attempts per actor
    summary: dict[str, object]  # what <stem>.summary.json holds


def _stream(seed: int, purpose: int) -> random.Random:
    state = np.random.SeedSequence(seed, spawn_key=(purpose,)).generate_state(4, dtype=np.uint32)
    return random.Random(int.from_bytes(state.tobytes(), "little"))  # noqa: S311 - simulation, not secrets


# -- the world ---------------------------------------------------------------------------------------


def _mobile(rng: random.Random) -> str:
    return f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"


def _email(rng: random.Random) -> str:
    local = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + ("" if rng.random() < 0.3 else str(rng.randrange(1, 10000)))
    if rng.random() < 0.35:
        return f"{rng.randrange(10**5, 10**10)}@qq.com"  # QQ mail addresses are the QQ number
    domain = rng.choices(("163.com", "126.com", "qq.com", "sina.com", "foxmail.com", "gmail.com"), (5, 3, 4, 1, 1, 1))
    return f"{local}@{domain[0]}"


def _username(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = _mobile(rng) if rng.random() < 0.7 else _email(rng)
        if name not in taken:
            taken.add(name)
            return name


def build_world(config: LoginSimConfig) -> LoginWorld:
    """The customers, their passwords, devices and networks, the shared mobile gateways, and the
    breach list from the other site (which knows some of the same people)."""
    rng = _stream(config.seed, _WORLD)
    dictionary = common_passwords()
    top = dictionary[: len(_TOP_PASSWORDS)]
    # People with a weak password mostly pick one of the very top ones (a Zipf curve), else a birthday.
    top_weights = [1 / (rank + 1) for rank in range(len(top))]
    birthdays = [p for p in dictionary if len(p) == 8 and p.isdigit() and p[:2] in ("19", "20")]
    taken: set[str] = set()
    per_address = _CGNAT_CUSTOMERS_PER_ADDRESS * len(_CARRIERS) * _REGIONS
    pool = max(2, config.customers // per_address)
    cgnat = [
        [
            [(a << 24 | b << 16 | rng.randrange(256) << 8 | rng.randrange(1, 255)) for _ in range(pool)]
            for _ in range(_REGIONS)
        ]
        for _, _, (a, b) in _CARRIERS
    ]
    activity = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(_WORLD, 1))).lognormal(
        0.0, 1.0, config.customers
    )
    activity /= activity.mean()
    customers: list[Customer] = []
    neighbours: list[int] = []  # about three customers share a home /24, as neighbours on one ISP do
    for i in range(config.customers):
        username = _username(rng, taken)
        common = rng.random() < config.common_share
        if common:
            password = rng.choices(top, top_weights)[0] if rng.random() < 0.7 else rng.choice(birthdays)
        else:
            password = _personal_password(rng)
        devices: list[Device] = []
        if rng.random() < 0.85:
            devices.append(Device(_device_id(rng), _phone_agent(rng), True))
        if not devices or rng.random() < 0.35:
            devices.append(Device(_device_id(rng), _desktop_agent(rng), False))
        if neighbours and rng.random() < 0.66:
            home_net = rng.choice(neighbours[-50:])
        else:
            home_net = _random_net(rng, _BROADBAND)
            neighbours.append(home_net)
        carrier = rng.choices(range(len(_CARRIERS)), [share for _, share, _ in _CARRIERS])[0]
        home_v6 = None
        if rng.random() < 0.25:
            home_v6 = _CARRIER_V6[carrier] << 48 | rng.getrandbits(48)
        customers.append(
            Customer(
                username=username,
                password=password,
                devices=devices,
                home_net=home_net,
                home_host=rng.randrange(2, 254),
                home_v6=home_v6,
                carrier=carrier,
                region=rng.randrange(_REGIONS),
                activity=float(activity[i]),
                common=common,
                other_site=None,
            )
        )
    by_username = {c.username: i for i, c in enumerate(customers)}

    # The two targeted victims: an active customer on a phone at home (the lockout victim, who keeps
    # logging in through the attack), and an account whose password is in the brute-forcer's
    # dictionary somewhere between ranks 300 and 1,200 (found after many tries, without a defence).
    order = sorted(range(len(customers)), key=lambda k: -customers[k].activity)
    phones = [k for k in order[: max(10, len(order) // 10)] if customers[k].devices[0].phone]
    lockout_victim = phones[0] if phones else order[0]
    brute_force_target = rng.choice([k for k in range(len(customers)) if k != lockout_victim])
    customers[brute_force_target].password = dictionary[rng.randrange(300, 1200)]
    customers[brute_force_target].common = True

    # The other site's breach list: some of this store's customers (a share of whom use the same
    # password in both places), the rest people who never shopped here.
    on_list = min(round(config.on_list_share * len(customers)), round(0.3 * config.leaked))
    candidates = [k for k in range(len(customers)) if k not in (lockout_victim, brute_force_target)]
    listed = rng.sample(candidates, min(on_list, len(candidates)))
    pairs: list[tuple[str, str]] = []
    for k in listed:
        c = customers[k]
        c.other_site = c.password if rng.random() < config.reuse_share else _personal_password(rng)
        pairs.append((c.username, c.other_site))
    leak = _stream(config.seed, _LEAK)
    while len(pairs) < config.leaked:
        password = leak.choice(top) if leak.random() < 0.05 else _personal_password(leak)
        pairs.append((_username(leak, taken), password))
    leak.shuffle(pairs)
    return LoginWorld(
        customers=customers,
        by_username=by_username,
        cgnat=cgnat,
        leaked=pairs,
        dictionary=dictionary,
        brute_force_target=brute_force_target,
        lockout_victim=lockout_victim,
    )


# -- attempts ------------------------------------------------------------------------------------------


class Row(NamedTuple):
    """One attempt before it is written; ``at`` and ``order`` sort the file."""

    at: int
    order: int
    actor: int
    username: str
    ip: str
    user_agent: str
    device_id: str | None
    password: str
    user_exists: bool
    password_ok: bool
    challenge_passed: bool
    customer: str | None


# Share of each hour's sessions (China time): quiet at night, a lunch peak and an evening peak.
_HOUR_WEIGHTS: Final = (
    2,
    1,
    0.6,
    0.4,
    0.4,
    0.6,
    1.5,
    3,
    4,
    4.5,
    5,
    5.5,
    6.5,
    6,
    5,
    4.5,
    4.5,
    5,
    5.5,
    6.5,
    8,
    8.5,
    7,
    4,
)
_CHALLENGE_FAIL: Final = 0.01  # legitimate attempts whose person would abandon a challenge


class _Rows:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(
        self,
        at: int,
        actor: int,
        username: str,
        ip: str,
        agent: str,
        device: str | None,
        password: str,
        exists: bool,
        ok: bool,
        challenge: bool,
        customer: str | None,
    ) -> None:
        self.rows.append(
            Row(at, len(self.rows), actor, username, ip, agent, device, password, exists, ok, challenge, customer)
        )


class _Network:
    """Where one customer is on one day: home broadband (IPv4, or IPv6 with a daily privacy
    address), the carrier's shared mobile gateway, or a trip's hotel and roaming addresses."""

    def __init__(self, world: LoginWorld, customer: Customer, rng: random.Random) -> None:
        self.world, self.c, self.rng = world, customer, rng
        self.host = customer.home_host
        self.v6_suffix = rng.getrandbits(64)
        self.trip: tuple[int, int, int, bool] | None = None  # (first day, last day, hotel /24, abroad)
        self.trip_region = customer.region

    def new_day(self, day: int) -> None:
        if self.rng.random() < 0.1:
            self.host = self.rng.randrange(2, 254)  # the broadband line got another address
        self.v6_suffix = self.rng.getrandbits(64)

    def travelling(self, day: int) -> bool:
        return self.trip is not None and self.trip[0] <= day <= self.trip[1]

    def address(self, day: int, device: Device) -> str:
        rng, c = self.rng, self.c
        if self.travelling(day):
            assert self.trip is not None
            _, _, hotel, abroad = self.trip
            if rng.random() < 0.6 or not device.phone:
                return _ipv4(hotel << 8 | rng.randrange(2, 254))
            # Roaming data egresses through the home carrier; at home in China, another region's gateway.
            region = self.c.region if abroad else self.trip_region
            return _ipv4(rng.choice(self.world.cgnat[c.carrier][region]))
        if device.phone and rng.random() < 0.5:
            return _ipv4(rng.choice(self.world.cgnat[c.carrier][c.region]))
        if c.home_v6 is not None and rng.random() < 0.6:
            return str(ipaddress.IPv6Address(c.home_v6 << 64 | self.v6_suffix))
        return _ipv4(c.home_net << 8 | self.host)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw by counting exponential gaps (means here are small: a few sessions a day)."""
    if mean > 50:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


class _Session:
    """One sitting at one device and address: the attempts a customer makes in it."""

    def __init__(self, rows: _Rows, rng: random.Random, customer: str, where: tuple[str, str, str | None]) -> None:
        self.rows, self.rng, self.customer = rows, rng, customer
        self.ip, self.agent, self.device = where

    def attempt(self, at: int, password: str, *, ok: bool, username: str | None = None, exists: bool = True) -> None:
        challenge = self.rng.random() >= _CHALLENGE_FAIL
        name = self.customer if username is None else username
        self.rows.add(at, LEGIT, name, self.ip, self.agent, self.device, password, exists, ok, challenge, self.customer)


def _legit(config: LoginSimConfig, world: LoginWorld, rows: _Rows) -> dict[str, int]:
    """Every customer's own sessions, day by day; returns how many of each kind of event happened."""
    rng = _stream(config.seed, _LEGIT)
    hours = list(range(24))
    counts = dict.fromkeys(("typos", "forgotten", "resets", "wrong_username", "new_phones", "trips", "abroad"), 0)
    never_reset = {world.brute_force_target, world.lockout_victim}
    for k, c in enumerate(world.customers):
        net = _Network(world, c, rng)
        devices = list(c.devices)
        if rng.random() < 0.02 * config.days / 7:
            first = rng.randrange(config.days)
            abroad = rng.random() < 0.3
            hotel = _random_net(rng, _ABROAD if abroad else _BROADBAND)
            net.trip = (first, first + rng.randint(0, 3), hotel, abroad)
            net.trip_region = (c.region + rng.randrange(1, _REGIONS)) % _REGIONS
            counts["trips"] += 1
            counts["abroad"] += abroad
        new_phone_day = rng.randrange(config.days) if devices[0].phone and rng.random() < 0.02 * config.days / 7 else -1
        password, old = c.password, [c.password]
        rate = c.activity * config.logins_per_day
        for day in range(config.days):
            net.new_day(day)
            if day == new_phone_day:
                devices[0] = Device(_device_id(rng), _phone_agent(rng), True)
                counts["new_phones"] += 1
            sessions = _poisson(rng, rate)
            starts = sorted(
                day * DAY + rng.choices(hours, _HOUR_WEIGHTS)[0] * HOUR + rng.randrange(HOUR) for _ in range(sessions)
            )
            for at in starts:
                device = devices[0] if len(devices) == 1 or rng.random() < 0.75 else devices[1]
                device_id = None if (not device.phone and rng.random() < 0.1) else device.device_id
                where = (net.address(day, device), device.user_agent, device_id)
                session = _Session(rows, rng, c.username, where)
                kind = rng.random()
                if kind < 0.05:  # a typo, then the right password seconds later
                    session.attempt(at, _typo(password, rng), ok=False)
                    session.attempt(at + rng.randint(4, 30) * SECOND, password, ok=True)
                    counts["typos"] += 1
                elif kind < 0.06:  # forgotten: old passwords, variants, the one from the other site
                    wrong = [p for p in (*old[:-1], c.other_site) if p and p != password]
                    for _ in range(rng.randint(2, 6)):
                        guess = rng.choice(wrong) if wrong and rng.random() < 0.4 else _typo(password, rng)
                        session.attempt(at, guess, ok=False)
                        at += rng.randint(10, 120) * SECOND
                    counts["forgotten"] += 1
                    if rng.random() < 0.45 and k not in never_reset:
                        # Reset by SMS code (not a login attempt), then in with the new password.
                        password = _personal_password(rng)
                        old.append(password)
                        at += rng.randint(60, 600) * SECOND
                        world.changes.setdefault(k, []).append((at, password))
                        counts["resets"] += 1
                    session.attempt(at, password, ok=True)
                elif kind < 0.066:  # the wrong username (a mistyped number or address), then the right one
                    typo = _typo(c.username, rng)
                    other = world.by_username.get(typo)
                    ok = other is not None and world.password_at(other, at) == password
                    session.attempt(at, password, ok=ok, username=typo, exists=other is not None)
                    session.attempt(at + rng.randint(5, 30) * SECOND, password, ok=True)
                    counts["wrong_username"] += 1
                elif kind < 0.074:  # one wrong try, then gives up (back later, or not at all)
                    session.attempt(at, _typo(password, rng), ok=False)
                else:
                    session.attempt(at, password, ok=True)
    return counts


def _span(config: LoginSimConfig) -> int:
    return config.days * DAY


def _window(config: LoginSimConfig, rng: random.Random, position: tuple[float, float], length: int) -> tuple[int, int]:
    """An attack's [start, end) inside the log: begun somewhere in ``position`` (shares of the log)."""
    span = _span(config)
    length = min(length, span // 3)
    first = int(span * rng.uniform(*position))
    first = max(0, min(first, span - length - 1))
    return first, first + length


def _history(
    config: LoginSimConfig, world: LoginWorld, origin: datetime, digests: dict[str, str]
) -> list[dict[str, object]]:
    """The store's own record of successful logins in the 30 days before the log: each customer on
    each of their devices, once or twice, from where that device usually is. A store that starts
    using ShopShield has this history; loading it (``guard replay --history``) is how the engine
    starts out knowing its customers' devices instead of meeting every one of them as new."""
    rng = _stream(config.seed, _HISTORY)
    rows: list[tuple[int, dict[str, object]]] = []
    for k, c in enumerate(world.customers):
        net = _Network(world, c, rng)
        for device in c.devices:
            for _ in range(rng.randint(1, 2)):
                at = -rng.randrange(1, HISTORY_DAYS * DAY)
                record: dict[str, object] = {
                    "id": f"lh-{k}-{len(rows)}",
                    "ts": (origin + timedelta(milliseconds=at)).isoformat(timespec="milliseconds"),
                    "username": c.username,
                    "ip": net.address(0, device),
                    "user_agent": device.user_agent,
                    "device_id": device.device_id,
                    "password_sha1": _sha1(digests, world.password_at(k, 0)),
                    "user_exists": True,
                    "password_ok": True,
                    "challenge_passed": True,
                }
                rows.append((at, record))
    rows.sort(key=lambda row: (row[0], str(row[1]["id"])))
    return [record for _, record in rows]


def _check(world: LoginWorld, username: str, password: str, at: int) -> tuple[bool, bool, str | None]:
    """What the store's authentication would find: (user exists, password right, customer)."""
    k = world.by_username.get(username)
    if k is None:
        return False, False, None
    return True, world.password_at(k, at) == password, username


def _residential_proxies(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct addresses in home broadband space, about three to a /24 (proxy pools
    cluster in the ISPs whose customers installed their software)."""
    nets = [_random_net(rng, _BROADBAND) for _ in range(max(1, count // 3))]
    seen: set[str] = set()
    while len(seen) < count:
        seen.add(_ipv4(rng.choice(nets) << 8 | rng.randrange(2, 254)))
    found = sorted(seen)
    rng.shuffle(found)
    return found


def _attack_agents(rng: random.Random, count: int) -> list[str]:
    """The few browser user agents an attack tool rotates: ordinary desktop browsers."""
    return list(dict.fromkeys(_desktop_agent(rng) for _ in range(count * 3)))[:count]


def _stuffing(config: LoginSimConfig, world: LoginWorld, rows: _Rows) -> dict[str, object]:
    """Every pair of the breach list tried once (a tenth retried at once through another proxy),
    over a few hours, one or two tries per residential proxy address."""
    rng = _stream(config.seed, _STUFFING)
    first, last = _window(config, rng, (0.35, 0.65), 4 * HOUR)
    tries: list[tuple[str, str]] = []
    for pair in world.leaked:
        tries.append(pair)
        if rng.random() < 0.1:
            tries.append(pair)
    times = sorted(rng.randrange(first, last) for _ in tries)
    ips = _residential_proxies(rng, len(tries))
    agents = _attack_agents(rng, 4)
    used = 0
    i = 0
    while i < len(tries):
        # One proxy takes one or two tries, never the same pair twice (a retry goes elsewhere).
        take = 2 if rng.random() < 0.5 and i + 1 < len(tries) and tries[i + 1] != tries[i] else 1
        ip = ips[used]
        used += 1
        for j in range(i, i + take):
            username, password = tries[j]
            exists, ok, customer = _check(world, username, password, times[j])
            device = None if rng.random() < 0.5 else _device_id(rng)
            rows.add(
                times[j], STUFFING, username, ip, rng.choice(agents), device, password, exists, ok, False, customer
            )
        i += take
    return {"window": [first, last], "ips": used, "slash24s": len({ip.rsplit(".", 1)[0] for ip in ips[:used]})}


BRUTE_FORCE_TRIES: Final = 1500


def _brute_force(config: LoginSimConfig, world: LoginWorld, rows: _Rows) -> dict[str, object]:
    """The dictionary's first passwords against one account from two servers, a couple of seconds
    apart (sometimes under a second): the tool runs its whole list, as it cannot tell a refusal
    from a wrong password."""
    rng = _stream(config.seed, _BRUTE_FORCE)
    target = world.customers[world.brute_force_target].username
    first, _ = _window(config, rng, (0.1, 0.3), 2 * HOUR)
    ips = [_ipv4(_random_net(rng, HOSTING_OCTETS) << 8 | rng.randrange(2, 254)) for _ in range(2)]
    agent = _attack_agents(rng, 1)[0]
    at = first
    for n, password in enumerate(world.dictionary[:BRUTE_FORCE_TRIES]):
        exists, ok, customer = _check(world, target, password, at)
        rows.add(at, BRUTE_FORCE, target, ips[n % 2], agent, None, password, exists, ok, False, customer)
        at += max(50, int(rng.lognormvariate(np.log(2000), 0.6)))
    return {"window": [first, at], "target": target, "ips": ips}


SPRAY_PASSWORDS: Final = 5
SPRAY_IPS: Final = 40


def _spraying(config: LoginSimConfig, world: LoginWorld, rows: _Rows) -> dict[str, object]:
    """The five most common passwords, one round each, against a list of usernames (four in five
    of them customers here) from forty addresses, slowly: each address tries a few a quarter hour."""
    rng = _stream(config.seed, _SPRAYING)
    accounts = min(2000, max(50, len(world.customers) // 10))
    existing = rng.sample(range(len(world.customers)), int(accounts * 0.8))
    taken = set(world.by_username)
    usernames = [world.customers[k].username for k in existing]
    usernames += [_username(rng, taken) for _ in range(accounts - len(usernames))]
    rng.shuffle(usernames)
    first, last = _window(config, rng, (0.15, 0.3), 30 * HOUR)
    ips = [_ipv4(_random_net(rng, HOSTING_OCTETS) << 8 | rng.randrange(2, 254)) for _ in range(SPRAY_IPS * 3 // 4)]
    ips += _residential_proxies(rng, SPRAY_IPS - len(ips))
    agents = _attack_agents(rng, 3)
    round_length = (last - first) // SPRAY_PASSWORDS
    n = 0
    for r, password in enumerate(world.dictionary[:SPRAY_PASSWORDS]):
        begin = first + r * round_length
        # Each round takes four fifths of its share of the window, then the sprayer pauses.
        times = sorted(rng.randrange(begin, begin + round_length * 4 // 5) for _ in usernames)
        for at, username in zip(times, usernames, strict=True):
            exists, ok, customer = _check(world, username, password, at)
            device = None if rng.random() < 0.7 else _device_id(rng)
            rows.add(
                at,
                SPRAYING,
                username,
                ips[n % len(ips)],
                rng.choice(agents),
                device,
                password,
                exists,
                ok,
                False,
                customer,
            )
            n += 1
    return {"window": [first, last], "accounts": accounts, "ips": len(ips), "passwords": SPRAY_PASSWORDS}


LOCKOUT_TRIES: Final = 600


def _lockout(config: LoginSimConfig, world: LoginWorld, rows: _Rows) -> dict[str, object]:
    """Wrong passwords against one customer's account from hundreds of proxies for six hours,
    about one a half minute, while the customer keeps logging in from their own phone at home."""
    rng = _stream(config.seed, _LOCKOUT)
    victim = world.customers[world.lockout_victim]
    first, last = _window(config, rng, (0.5, 0.8), 6 * HOUR)
    ips = _residential_proxies(rng, LOCKOUT_TRIES // 2)
    agents = _attack_agents(rng, 4)
    times = sorted(rng.randrange(first, last) for _ in range(LOCKOUT_TRIES))
    guesses = [p for p in world.dictionary[:5000] if p != victim.password]
    for n, at in enumerate(times):
        password = rng.choice(guesses)
        exists, ok, customer = _check(world, victim.username, password, at)
        rows.add(
            at, LOCKOUT, victim.username, ips[n // 2], rng.choice(agents), None, password, exists, ok, False, customer
        )
    # The victim's own logins through the attack (the ordinary ones go on too), every 20-40 minutes.
    phone = victim.devices[0]
    home = _ipv4(victim.home_net << 8 | victim.home_host)
    at = first + rng.randrange(20 * MINUTE)
    own = 0
    while at < min(last + HOUR, _span(config)):
        password = world.password_at(world.lockout_victim, at)
        challenge = rng.random() >= _CHALLENGE_FAIL
        rows.add(
            at,
            LEGIT,
            victim.username,
            home,
            phone.user_agent,
            phone.device_id,
            password,
            True,
            True,
            challenge,
            victim.username,
        )
        own += 1
        at += rng.randrange(20 * MINUTE, 40 * MINUTE)
    return {"window": [first, last], "victim": victim.username, "ips": len(ips), "victim_logins": own}


# -- writing -------------------------------------------------------------------------------------------


def _sha1(cache: dict[str, str], password: str) -> str:
    digest = cache.get(password)
    if digest is None:
        # Upper case, as Have I Been Pwned's files and range API write it (the format accepts both).
        digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
        cache[password] = digest
    return digest


def generate_logins(
    config: LoginSimConfig, attempts: Path, progress: Callable[[int], None] | None = None
) -> LoginSimSummary:
    """Write ``attempts`` (the shared "Login attempts" format, in time order) and beside it
    ``<stem>.truth.jsonl``, ``<stem>.summary.json``, ``<stem>.leaked-pairs.txt`` and
    ``<stem>.breached-passwords.txt``. ``progress`` is called with the number of attempts written."""
    world = build_world(config)
    rows = _Rows()
    happened = _legit(config, world, rows)
    attacks = {
        "stuffing": _stuffing(config, world, rows),
        "brute_force": _brute_force(config, world, rows),
        "spraying": _spraying(config, world, rows),
        "lockout": _lockout(config, world, rows),
    }
    rows.rows.sort()
    paths = LoginSimPaths.beside(attempts)
    attempts.parent.mkdir(parents=True, exist_ok=True)
    origin = datetime.combine(config.start, time(), LOCAL)
    counts = dict.fromkeys(ACTORS, 0)
    exposed: dict[str, set[str]] = {name: set() for name in ATTACKS}
    digests: dict[str, str] = {}
    width = max(8, len(str(len(rows.rows))))
    with paths.attempts.open("wb") as out, paths.truth.open("wb") as truth:
        for n, row in enumerate(rows.rows):
            attempt_id = f"la-{n + 1:0{width}d}"
            moment = origin + timedelta(milliseconds=row.at)
            record = {
                "id": attempt_id,
                "ts": moment.isoformat(timespec="milliseconds"),
                "username": row.username,
                "ip": row.ip,
                "user_agent": row.user_agent,
                "device_id": row.device_id,
                "password_sha1": _sha1(digests, row.password),
                "user_exists": row.user_exists,
                "password_ok": row.password_ok,
                "challenge_passed": row.challenge_passed,
            }
            out.write(orjson.dumps(record) + b"\n")
            actor = ACTORS[row.actor]
            truth.write(orjson.dumps({"id": attempt_id, "actor": actor, "customer": row.customer}) + b"\n")
            counts[actor] += 1
            if row.actor != LEGIT and row.password_ok:
                exposed[actor].add(row.username)
            if progress is not None and (n + 1) % 50_000 == 0:
                progress(50_000)
    if progress is not None:
        progress(len(rows.rows) % 50_000)
    history = _history(config, world, origin, digests)
    paths.history.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in history))
    paths.leaked_pairs.write_text("".join(f"{u}:{p}\n" for u, p in world.leaked), encoding="utf-8")
    corpus = dict.fromkeys(world.dictionary)
    corpus.update(dict.fromkeys(p for _, p in world.leaked))
    paths.breached_passwords.write_text("".join(f"{p}\n" for p in corpus), encoding="utf-8")

    def iso(ms: object) -> str:
        assert isinstance(ms, int)
        return (origin + timedelta(milliseconds=ms)).isoformat(timespec="seconds")

    for detail in attacks.values():
        window = detail["window"]
        assert isinstance(window, list)
        detail["window"] = [iso(window[0]), iso(window[1])]
    customers = world.customers
    summary: dict[str, object] = {
        "seed": config.seed,
        "config": config.as_json(),
        "counts": {"attempts": len(rows.rows), **counts},
        "customers": {
            "total": len(customers),
            "on_leaked_list": sum(c.other_site is not None for c in customers),
            "reused_password": sum(c.other_site is not None and c.other_site == c.password for c in customers),
            "common_password": sum(c.common for c in customers),
            "with_ipv6_home": sum(c.home_v6 is not None for c in customers),
            "cgnat_addresses": sum(len(r) for carrier in world.cgnat for r in carrier),
        },
        "legit_events": happened,
        # Accounts an attack would take over with no defence: its right password was tried.
        "exposed": {name: len(found) for name, found in exposed.items()},
        "attacks": attacks,
        "files": {
            "history": len(history),
            "leaked_pairs": len(world.leaked),
            "breached_passwords": len(corpus),
            "common_passwords": len(world.dictionary),
        },
    }
    paths.summary.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
    return LoginSimSummary(paths=paths, attempts=len(rows.rows), counts=counts, summary=summary)
