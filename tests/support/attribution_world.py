"""Small hand-built stores for attribution tests: every actor and victim placed on purpose.

``World`` writes access events as a Parquet file in the shared format and keeps the victims; a
test then asks the attribution who explains them. Sizes are small (a few thousand customers) so
each test runs in a second, but the proportions are a store's: a job that touches everyone, a
supervisor who reads a large share, agents and couriers who each see a small share.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shopshield.access.export import SCHEMA as EXPORT_SCHEMA
from shopshield.investigate.attribution import Victim
from shopshield.investigate.events import OPTIONAL, REQUIRED
from shopshield.scams.formats import ScamReport, write_reports

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 30
ORDER_VIEW = "name|mobile|items|price|returns"
LABEL = "name|mobile|address"

# The shared format's columns, typed as ShopShield's own export types them.
SCHEMA = pa.schema([EXPORT_SCHEMA.field(name) for name in (*REQUIRED, *OPTIONAL)])


@dataclass
class World:
    seed: int
    customers: int = 2_000
    rows: list[tuple[object, ...]] = field(default_factory=list)
    victims: list[Victim] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def customer(self, n: int) -> str:
        return f"c{n:05d}"

    def moment(self, first_day: float = 0, last_day: float = DAYS) -> datetime:
        return START + timedelta(days=self.rng.uniform(first_day, last_day))

    def access(
        self,
        actor: str,
        kind: str,
        customer: str,
        at: datetime,
        fields: str,
        *,
        order: bool = True,
        action: str = "view",
        ip: str | None = None,
    ) -> None:
        order_id = f"o-{customer}-{at:%m%d}" if order else None
        self.rows.append((at, actor, kind, action, customer, order_id, fields, "cs-console", ip))

    def background(self) -> None:
        """A job over everyone every 3 days, a supervisor over 40%, 20 agents, 30 couriers."""
        for day in range(0, DAYS, 3):
            for n in range(self.customers):
                self.access("job-nightly", "job", self.customer(n), START + timedelta(days=day, hours=2), "name|mobile")
        for n in self.rng.sample(range(self.customers), int(self.customers * 0.4)):
            self.access("sup-01", "staff", self.customer(n), self.moment(), ORDER_VIEW)
        for a in range(1, 21):
            for n in self.rng.sample(range(self.customers), self.rng.randint(30, 60)):
                self.access(f"agent-{a:02d}", "staff", self.customer(n), self.moment(), ORDER_VIEW)
        for k in range(1, 31):
            for n in self.rng.sample(range(self.customers), self.rng.randint(50, 80)):
                self.access(f"courier-{k:02d}", "courier", self.customer(n), self.moment(), LABEL)

    def leak_through(
        self, actor: str, kind: str, fields: str, knew: str, *, reads: int = 150, victims: int = 10
    ) -> None:
        """``actor`` reads ``reads`` customers in days 8-20; ``victims`` of them are called 1-4 days later."""
        read = self.rng.sample(range(self.customers), reads)
        times = {n: self.moment(8, 20) for n in read}
        for n in read:
            self.access(actor, kind, self.customer(n), times[n], fields)
        for n in read[:victims]:
            contacted = times[n] + timedelta(days=self.rng.uniform(1, 4))
            self.victims.append(Victim(self.customer(n), contacted, frozenset(knew.split("|"))))

    def random_victims(self, count: int = 10, knew: str = "name|mobile|items|price") -> None:
        for n in self.rng.sample(range(self.customers), count):
            self.victims.append(Victim(self.customer(n), self.moment(12, DAYS), frozenset(knew.split("|"))))

    def logins(self, new_network_share: float = 0.02) -> None:
        """Every customer logs in from home every 5 days; a few also once from a new network."""
        for n in range(self.customers):
            home = f"10.{n // 250}.{n % 250}.7"
            for day in range(0, DAYS, 5):
                self.access(
                    self.customer(n),
                    "customer",
                    self.customer(n),
                    START + timedelta(days=day, hours=20),
                    "",
                    order=False,
                    action="login",
                    ip=home,
                )
            if self.rng.random() < new_network_share:
                self.access(
                    self.customer(n),
                    "customer",
                    self.customer(n),
                    self.moment(1, DAYS),
                    "",
                    order=False,
                    action="login",
                    ip=f"172.16.{self.rng.randrange(256)}.9",
                )

    def stuffed(self, count: int = 10) -> None:
        """``count`` customers' accounts are logged into from proxies 1-3 days before the call."""
        for n in self.rng.sample(range(self.customers), count):
            attack = self.moment(10, 25)
            self.access(
                self.customer(n),
                "customer",
                self.customer(n),
                attack,
                "",
                order=False,
                action="login",
                ip=f"198.51.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}",
            )
            self.access(
                self.customer(n),
                "customer",
                self.customer(n),
                attack + timedelta(minutes=2),
                "name|mobile|address|items|price",
                action="view",
            )
            contacted = attack + timedelta(days=self.rng.uniform(1, 3))
            self.victims.append(Victim(self.customer(n), contacted, frozenset({"name", "mobile", "items", "price"})))

    def write_reports(self, path: Path) -> Path:
        """The victims as scam reports in the shared format (CSV or JSON lines, by extension)."""
        reports = [
            ScamReport(
                report_id=f"r-{n:04d}",
                reported_at=v.contacted_at + timedelta(hours=6),
                customer_id=v.customer_id,
                contacted_at=v.contacted_at,
                channel="call",
                contact_from="+86 171 0000 0001",
                claimed_identity="customer service",
                knew=tuple(sorted(v.knew)),
                url=None,
                payee_account=None,
                loss_amount=Decimal("1200.00"),
                currency="CNY",
            )
            for n, v in enumerate(self.victims)
        ]
        write_reports(path, reports)
        return path

    def write(self, path: Path) -> Path:
        rows = sorted(self.rows, key=lambda r: r[0])  # type: ignore[arg-type,return-value]
        columns = list(zip(*rows, strict=True))
        table = pa.table({name: list(col) for name, col in zip(SCHEMA.names, columns, strict=True)}, schema=SCHEMA)
        pq.write_table(table, path)
        return path
