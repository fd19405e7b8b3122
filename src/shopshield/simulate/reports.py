"""Scam reports in the shared "Scam reports" format, one per victim of a plan.

One gang works each case, as in 2016: a handful of caller numbers and SMS senders, one or two
lookalike domains, two or three accounts the money goes to. Reports cluster on those, which is
what lets an analyst tell one campaign from background fraud.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from shopshield.simulate.events import DAY, HOUR, MINUTE, iso_local
from shopshield.simulate.scenarios import Plan
from shopshield.simulate.world import World

Report = dict[str, str | int | None]

CLAIMED_IDENTITIES: Final = ("淘宝客服", "customer service", "商城售后客服", "退款专员")
LOOKALIKE_DOMAINS: Final = (
    "taobao-refund.cc",
    "tb-tuikuan.top",
    "refund-kefu.vip",
    "shop-return.cn.com",
    "tmall-refund.xyz",
    "kefu-tuikuan.cc",
)
_LINK_ALPHABET: Final = "abcdefghijkmnpqrstuvwxyz23456789"


def build_reports(world: World, plan: Plan, rng: np.random.Generator) -> list[Report]:
    n = len(plan.victims)
    callers = [
        f"+8620{rng.integers(30_000_000, 89_999_999)}",
        *(f"+86{p}{rng.integers(0, 10**8):08d}" for p in (170, 171)),
    ]
    senders = [f"1069{rng.integers(10**7, 10**8)}" for _ in range(2)]
    domains = [LOOKALIKE_DOMAINS[i] for i in rng.choice(len(LOOKALIKE_DOMAINS), size=2, replace=False)]
    payees = [f"{rng.integers(10**14, 10**15)}" for _ in range(int(rng.integers(2, 4)))]
    identity = np.array([0.45, 0.2, 0.2, 0.15])

    # Most victims report the same day, once the card is emptied; some over the next three days,
    # in waking hours.
    later = rng.choice(4, size=n, p=[0.55, 0.25, 0.12, 0.08])
    contact_day = (plan.contacted - world.origin) // DAY
    same_day = plan.contacted + rng.integers(20 * MINUTE, 4 * HOUR, n)
    another_day = world.origin + (contact_day + later) * DAY + rng.integers(8 * HOUR, 23 * HOUR, n)
    reported = np.minimum(np.where(later == 0, same_day, another_day), plan.contacted + 3 * DAY)
    # A fifth hang up or call their bank in time; the rest lose thousands, a few tens of thousands
    # (30 victims come to about 200,000 yuan, as in the 2016 case).
    lost = np.clip(np.round(rng.lognormal(np.log(4800), 0.85, n)), 300, 48_000).astype(np.int64)
    lost[rng.random(n) < 0.2] = 0
    sms: list[bool] = (rng.random(n) < 0.2).tolist()
    contact_iso, report_iso = iso_local(plan.contacted), iso_local(reported)
    reports: list[Report] = []
    for i in np.argsort(reported, kind="stable").tolist():
        token = "".join(_LINK_ALPHABET[k] for k in rng.integers(0, len(_LINK_ALPHABET), 6))
        link = rng.random() < 0.9
        reports.append(
            {
                "report_id": "",
                "reported_at": report_iso[i],
                "customer_id": world.customers.ids[int(plan.victims[i])],
                "contacted_at": contact_iso[i],
                "channel": "sms" if sms[i] else "call",
                "contact_from": senders[int(rng.integers(2))]
                if sms[i]
                else callers[int(rng.choice(3, p=[0.5, 0.3, 0.2]))],
                "claimed_identity": CLAIMED_IDENTITIES[int(rng.choice(len(CLAIMED_IDENTITIES), p=identity))],
                "knew": plan.knew[i],
                "url": f"http://{domains[int(rng.integers(2))]}/r/{token}" if link else None,
                "payee_account": payees[int(rng.integers(len(payees)))] if lost[i] else None,
                "loss_amount": int(lost[i]),
                "currency": "CNY",
            }
        )
    for number, report in enumerate(reports, start=1):
        report["report_id"] = f"sr-{number:05d}"
    return reports
