"""``GET /range/{prefix}``: the breached-password corpus through HIBP's range API, byte for byte,
so that HIBP clients (password managers, sign-up forms, libraries) can point at ShopShield instead.

Answers are plain text, never this app's JSON: a client written for HIBP reads the body as lines,
and a bad prefix gets HIBP's status (400) and message. No bearer token is needed unless
``SHOPSHIELD_PASSWORDS_RANGE_PUBLIC`` is false: HIBP clients send none, and a range of 5 hex digits
tells the server nothing about which password was meant (decision 0011).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from shopshield.bootstrap import Container
from shopshield.core.permissions import any_principal
from shopshield.passwords import hibp
from shopshield.web import call, needs

router = APIRouter(tags=["passwords"])


def _text(body: bytes | str, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=hibp.MEDIA_TYPE)


@router.get(
    "/range/{prefix}",
    summary="Breached-password hashes under a 5-hex-digit SHA-1 prefix (HIBP's range API)",
    response_class=Response,
    responses={200: {"content": {hibp.MEDIA_TYPE: {}}}, 400: {"content": {hibp.MEDIA_TYPE: {}}}},
)
@needs(
    any_principal(
        why="public (web.public_routes) unless SHOPSHIELD_PASSWORDS_RANGE_PUBLIC is false; then any valid token"
    )
)
async def range_search(
    prefix: str,
    request: Request,
    add_padding: Annotated[
        str | None, Header(alias="Add-Padding", description="true: pad to 800-1,000 entries with count 0")
    ] = None,
    mode: Annotated[str | None, Query(description="HIBP's hash mode; only SHA-1 (the default) is served")] = None,
) -> Response:
    container: Container = request.app.state.container
    if not container.settings.passwords_range_public:
        await call(request)  # any valid bearer token; raises Unauthenticated otherwise
    if mode is not None and mode.lower() == "ntlm":
        return _text(hibp.NTLM_UNSUPPORTED, 400)
    try:
        hibp.parse_prefix(prefix)
    except hibp.BadPrefix as exc:
        return _text(str(exc), 400)
    # In the thread pool: a cold page of the on-disk store is a disk read.
    body = await run_in_threadpool(container.passwords.range_body, prefix, padding=hibp.wants_padding(add_padding))
    return _text(body)
