"""What every domain's input schemas share: the base model that refuses unknown fields and caps
strings. Record ids and their check are ``core.ids.RecordId``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2000)
