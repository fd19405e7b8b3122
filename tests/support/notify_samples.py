"""One sample customer and details for every event, shared by the notification tests.

The customer's full values are what a message must never show; the details are the masked
references the vault's maskers make from them, so the tests check both halves of the contract: the
catalogue takes the masked forms, and a rendered message holds none of the full ones.
"""

from __future__ import annotations

import random
from typing import Final

from shopshield.notify.catalogue import CATALOGUE, Details, Event, order_tail, parse_details
from shopshield.vault.masking import mask_email, mask_mobile
from testkit import factories

CUSTOMER: Final = factories.customer(7, random.Random(7))
MOBILE: Final[str] = CUSTOMER["mobile"]
EMAIL: Final[str] = "liujie.example@qq.com"
ID_NUMBER: Final[str] = CUSTOMER["id_number"]
NAME: Final[str] = CUSTOMER["name"]
# A UnionPay number with a valid Luhn check digit, and a price as the report's victims saw theirs.
CARD: Final = "6222020200112233446"
PRICE: Final = "299.00"
ORDER_ID: Final = "o-2016-07-14-88123"
FULL_VALUES: Final = (MOBILE, EMAIL, ID_NUMBER, CARD, PRICE, ORDER_ID, NAME)

# Every detail any event takes, at its longest sensible form (the SMS budget is tested with these).
ALL_DETAILS: Final[dict[str, object]] = {
    "device": "Xiaomi 14 Ultra · Android 14 (MIUI) app",
    "place": "广东省广州市天河区",
    "order_ref": order_tail(ORDER_ID),
    "mobile": mask_mobile(MOBILE),
    "email": mask_email(EMAIL),
    "contact": "mobile",
    "role": "cs_supervisor",
    "purpose": "identity_verification",
    "fields": ["name", "mobile", "email", "id_number", "recipient", "phone", "region", "street", "items", "returns"],
    "partner": "顺丰速运华南分拨中心第十二站点合作方",
    "reason": "breached_password",
    "pattern": "refund",
    "count": 10,
}


def details_for(event: Event) -> Details:
    """Every detail ``event`` accepts, from ``ALL_DETAILS``."""
    return parse_details(event, {name: ALL_DETAILS[name] for name in CATALOGUE[event].accepted})


def required_only(event: Event) -> Details:
    return parse_details(event, {name: ALL_DETAILS[name] for name in CATALOGUE[event].required})
