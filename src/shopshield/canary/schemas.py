"""Inputs of the canary routes. Errors name the field and the rule, never the value."""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints, model_validator

from shopshield.core.ids import ACTOR_PATTERN, NotPersonal, RecordId
from shopshield.core.schemas import Strict
from shopshield.vault.schemas import Mobile

KINDS: Final = ("export", "partner-feed", "courier", "merchant", "staff", "other")
CHANNELS: Final = ("call", "sms", "im", "email", "other")  # as in the shared "Scam reports" format
ID_PREFIX_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9_-]{0,15}$"
MAX_COUNT: Final = 100
MAX_NOTE: Final = 500

_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

# An identifier (partner id, export job, principal id), not a person's name or number: it is
# stored and logged in plaintext.
Recipient = Annotated[str, StringConstraints(pattern=ACTOR_PATTERN), NotPersonal]
Kind = Literal["export", "partner-feed", "courier", "merchant", "staff", "other"]
Channel = Literal["call", "sms", "im", "email", "other"]


def _plain_text(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters other than tab and newline")
    return value


Note = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_NOTE, strip_whitespace=True), AfterValidator(_plain_text)
]


class PlantIn(Strict):
    recipient: Recipient
    count: int = Field(default=3, ge=1, le=MAX_COUNT)
    kind: Kind = "export"
    # The decoys' order must look like the store's own: a real merchant id, and a courier when
    # the store's exports carry one. The id prefix matches the store's customer ids ("c" + digits).
    merchant_id: RecordId = "store"
    courier_id: RecordId | None = None
    id_prefix: Annotated[str, StringConstraints(pattern=ID_PREFIX_PATTERN), NotPersonal] = "c"


class ContactIn(Strict):
    """A contact that reached a number or a customer: exactly one of ``mobile`` and ``customer_id``."""

    mobile: Mobile | None = None
    customer_id: RecordId | None = None
    contacted_at: AwareDatetime | None = None
    channel: Channel | None = None
    note: Note | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ContactIn:
        if (self.mobile is None) == (self.customer_id is None):
            raise ValueError("give exactly one of mobile and customer_id")
        return self
