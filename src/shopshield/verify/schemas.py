"""Inputs of the link and message checks. Limits are part of the contract: a longer list, link or
message is a 422 that names the field and the limit, never the value."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from shopshield.core.schemas import Strict
from shopshield.verify.hosts import MAX_LINK_CHARS
from shopshield.verify.message import MAX_MESSAGE_CHARS
from shopshield.verify.official import MAX_OFFICIAL
from shopshield.verify.service import MAX_URLS

Url = Annotated[str, StringConstraints(max_length=MAX_LINK_CHARS)]
Domain = Annotated[str, StringConstraints(min_length=1, max_length=253)]
BrandName = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class OfficialGiven(Strict):
    official: list[Domain] | None = Field(
        default=None,
        max_length=MAX_OFFICIAL,
        description="The store's official web domains; left out, the configured ones (the registry's).",
    )
    brand_names: list[BrandName] | None = Field(
        default=None,
        max_length=20,
        description="The store's brand names (京东, JD); a Chinese one brings its pinyin and initials.",
    )


class LinksCheck(OfficialGiven):
    urls: list[Url] = Field(min_length=1, max_length=MAX_URLS, description="Links as received, with or without scheme")


class MessageCheck(OfficialGiven):
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="The SMS or chat message as received")
