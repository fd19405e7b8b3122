"""The link and message checks as the routes and commands call them, and where the store's
official values come from when a caller names none.

The checks are pure (``links``, ``message``); this module turns what a caller gave into an
``Official``, turns the engines' refusals into the project's errors, and holds the one seam to
the official-channel registry: an ``OfficialSource``, a callable from a kind (``web_domain``,
``brand_name``, ``phone``, ``sms_sender``, ``payee_account``) to the store's values of that kind.
``Container.official_source`` chooses it: the registry's values of a kind (``registry_source``),
else the settings' (``static_source``); see ``first_of``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final, Protocol

from sqlalchemy.engine import Engine

from shopshield.core.db import Tx, transaction
from shopshield.core.errors import InvalidInput, NotConfigured
from shopshield.verify import links, message
from shopshield.verify.official import BadOfficial, Official

WEB_DOMAIN: Final = "web_domain"
BRAND_NAME: Final = "brand_name"
PHONE: Final = "phone"
SMS_SENDER: Final = "sms_sender"
PAYEE_ACCOUNT: Final = "payee_account"
KINDS: Final = (WEB_DOMAIN, BRAND_NAME, PHONE, SMS_SENDER, PAYEE_ACCOUNT)

MAX_URLS: Final = 1000


class OfficialSource(Protocol):
    """The store's official values of one kind (one of ``KINDS``)."""

    def __call__(self, kind: str) -> Sequence[str]: ...


def static_source(values: Mapping[str, Sequence[str]]) -> OfficialSource:
    """Fixed official values by kind (what ``SHOPSHIELD_OFFICIAL_*`` name, or a test's)."""
    by_kind = {kind: tuple(found) for kind, found in values.items()}

    def read(kind: str) -> Sequence[str]:
        return by_kind.get(kind, ())

    return read


def registry_source(engine: Engine, values: Callable[[Tx, str], list[str]]) -> OfficialSource:
    """The official values a registry function reads (``channels.service.official_values``), each
    look-up in its own read-only snapshot."""

    def read(kind: str) -> Sequence[str]:
        with transaction(engine, read_only=True) as tx:
            return values(tx, kind)

    return read


def first_of(*sources: OfficialSource) -> OfficialSource:
    """For each kind, the values of the first source that has any: the registry before the
    settings, so an instance set up from ``SHOPSHIELD_OFFICIAL_*`` answers before anyone has
    filled its registry, and a kind the registry holds is the registry's alone (a domain removed
    there stops being official even if the settings still name it)."""

    def read(kind: str) -> Sequence[str]:
        for source in sources:
            found = source(kind)
            if found:
                return found
        return ()

    return read


def official_for(
    *, source: OfficialSource, domains: Sequence[str] | None, brand_names: Sequence[str] | None = None
) -> Official:
    """The official domains and brand names a caller gave, or else the source's.

    A caller's bad value is the caller's error (422 / exit 2); a source without web domains is
    the instance's missing configuration (409 / exit 2), named so the operator can set it.
    """
    if domains:
        try:
            return Official.of(domains, brand_names or ())
        except BadOfficial as exc:
            raise InvalidInput(f"official: {exc}", field="official") from None
    configured = source(WEB_DOMAIN)
    if not configured:
        raise NotConfigured(
            "no official web domains are configured: set SHOPSHIELD_OFFICIAL_DOMAINS (comma-separated), "
            "or name them in the request (official) or the command (--official)"
        )
    names = list(brand_names) if brand_names else list(source(BRAND_NAME))
    try:
        return Official.of(configured, names)
    except BadOfficial as exc:
        raise NotConfigured(f"the configured official values are unusable: {exc}") from None


def check_links(*, urls: Sequence[str], official: Official) -> list[dict[str, object]]:
    """The contract's list: one ``{"url", "verdict", "imitates", "reasons"}`` per link, in order."""
    if len(urls) > MAX_URLS:
        raise InvalidInput(f"urls: at most {MAX_URLS} links per check", field="urls")
    return [verdict.as_json() for verdict in links.check_links(urls, official)]


def check_message(*, text: str, official: Official, source: OfficialSource) -> dict[str, object]:
    """The message's verdict, reasons, and each link, number and account found, checked."""
    try:
        verdict = message.check_message(
            text, official, phones=[*source(PHONE), *source(SMS_SENDER)], payee_accounts=source(PAYEE_ACCOUNT)
        )
    except message.MessageTooLong as exc:
        raise InvalidInput(f"text: {exc}", field="text") from None
    return verdict.as_json()
