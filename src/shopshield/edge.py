"""The edge of every HTTP request, in front of FastAPI: which address the client has, who the
caller is, and how much body the request may bring (decision 0018).

- The client address that access events record is the connection's peer, unless the peer is one
  of the trusted proxies (``SHOPSHIELD_TRUSTED_PROXIES``, none by default): then X-Forwarded-For
  names it, read from the right past the trusted proxies. Only a valid IP address, normalised, is
  ever kept; an entry that is not one stops the walk at the nearest address that is known.
- The bearer token is checked before any body is read, so a caller without a valid token cannot
  make the server read, or hold, what it sends. Public routes (``web.public_routes``, the one list:
  health, metrics, the API docs, the password range API while it is public) take no token and have
  no body read here.
- The console (``/console``) takes no bearer token either: it authenticates people by its session
  cookie (``console.views``); its bodies are limited like any other. So do the customers' own pages
  (``/me``, ``selfservice.views``), by the customer's session cookie.
- A body larger than ``SHOPSHIELD_MAX_BODY_BYTES`` is refused with 413: at once when its declared
  length says so, and as soon as a chunked body passes the limit.

The principal found here is left in the request's scope for ``web.call``, which does not look the
token up again.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopshield.core.errors import Unauthenticated
from shopshield.principals.service import Authenticator
from shopshield.settings import Network
from shopshield.web import PRINCIPAL, bearer_token, cookie_authenticated, error_response

log = logging.getLogger(__name__)

# The longest text an IP address can take with a port ("[ffff:...:255.255.255.255]:65535" is 53):
# anything longer is refused before it is parsed or cached.
_MAX_ADDRESS_TEXT: Final = 64
# Forwarded hops examined from the right; a chain longer than any real proxy path stops there.
_MAX_HOPS: Final = 16
_PORT: Final = re.compile(r"[0-9]{1,5}")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Address | None:
    if text.startswith("["):
        # [2001:db8::1] or [2001:db8::1]:443
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not (rest[0] == ":" and _PORT.fullmatch(rest[1:]))):
            return None
        text = host
    elif text.count(":") == 1:
        # 203.0.113.7:443
        text, _, port = text.partition(":")
        if not _PORT.fullmatch(port):
            return None
    if "%" in text:
        # A zone index names an interface of the sender's host: meaningless here, and unbounded.
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_address(text: str) -> Address | None:
    """``text`` as an IP address (IPv4-mapped IPv6 as IPv4; a port after it dropped), or None."""
    text = text.strip()
    if not text or len(text) > _MAX_ADDRESS_TEXT:
        return None
    return _parse(text)


class TrustedProxies:
    """The configured proxies, and the client they name in X-Forwarded-For."""

    def __init__(self, networks: Sequence[Network]) -> None:
        self._networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self._networks)

    def trust(self, address: Address) -> bool:
        return any(address in network for network in self._networks)

    def client(self, proxy: Address, forwarded: Sequence[bytes]) -> Address:
        """The client named by ``forwarded`` (every X-Forwarded-For header, in order) as received
        from the trusted ``proxy``."""
        # Each proxy appends the address it received from, so the client is the rightmost entry
        # that is not itself a trusted proxy; entries left of it are whatever the client claimed.
        hops = b",".join(forwarded).decode("latin-1").split(",")
        address = proxy
        for hop in reversed(hops[-_MAX_HOPS:]):
            if not self.trust(address):
                break
            found = parse_address(hop)
            if found is None:
                log.warning("a trusted proxy forwarded an entry that is no IP address; its own address is recorded")
                break
            address = found
        return address


class EdgeGuard:
    """Pure ASGI middleware in front of the app: client address, authentication before any body,
    and the body's size limit. See the module's description."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        trusted_proxies: Sequence[Network],
        max_body_bytes: int,
        public: Iterable[str],
    ) -> None:
        """``public``: the path templates of the routes that take no token (``web.public_routes``)."""
        self.app = app
        self._authenticator = authenticator
        self._proxies = TrustedProxies(trusted_proxies)
        self._max_body = max_body_bytes
        templates = frozenset(public)
        # A plain path is one set lookup; a template ("/range/{prefix}") is matched as the router
        # matches it, so a path that would reach another route is never public by its prefix.
        self._public = frozenset(t for t in templates if "{" not in t)
        self._public_patterns = tuple(compile_path(t)[0] for t in sorted(templates) if "{" in t)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authorization: bytes | None = None
        length: bytes | None = None
        chunked = False
        forwarded: list[bytes] = []
        proto: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"x-forwarded-for":
                forwarded.append(value)
            elif name == b"x-forwarded-proto":
                proto = value
        self._set_client(scope, forwarded, proto)
        has_body = chunked or (length is not None and length.strip() != b"0")

        path: str = scope["path"]
        public = path in self._public
        if not public:
            # A plain loop: this runs for every request, and a generator would cost more than the match.
            for pattern in self._public_patterns:
                if pattern.match(path):
                    public = True
                    break
        # The console (/console/...) authenticates people by its session cookie, in console.views,
        # and the customer pages (/me/...) customers by theirs, not by a bearer token: their
        # requests pass without one. Their bodies are still limited below.
        console = cookie_authenticated(path)
        if not public and not console:
            token = bearer_token(authorization.decode("latin-1")) if authorization is not None else None
            who = self._authenticator.cached(token)
            if who is None:
                try:
                    who = await run_in_threadpool(self._authenticator.authenticate, token)
                except Unauthenticated as exc:
                    await _refuse(scope, receive, send, 401, "unauthenticated", exc.message, close=has_body)
                    return
            scope[PRINCIPAL] = who

        if chunked:
            if public and not console:
                # No public route reads a body: it is left unread, never buffered for nobody.
                await self.app(scope, receive, send)
                return
            body = await _read_at_most(receive, self._max_body)
            if body is None:
                await self._too_large(scope, receive, send)
                return
            receive = _replay(body, receive)
        elif length is not None:
            declared = int(length) if length.strip().isdigit() else None
            if declared is None:
                await _refuse(scope, receive, send, 400, "bad_request", "Content-Length is not a number", close=True)
                return
            if declared > self._max_body:
                await self._too_large(scope, receive, send)
                return
            # A declared length is enforced by the server's HTTP parser: no more can arrive.
        await self.app(scope, receive, send)

    def _set_client(self, scope: Scope, forwarded: list[bytes], proto: bytes | None) -> None:
        """Leave in ``scope["client"]`` the normalised client address (None when the peer has no IP
        address, as over a Unix socket), and the scheme a trusted proxy received."""
        peer = scope.get("client")
        address = parse_address(peer[0]) if peer and isinstance(peer[0], str) else None
        if peer is None or address is None:
            scope["client"] = None
            return
        if self._proxies and self._proxies.trust(address):
            if proto is not None and proto.strip() in (b"http", b"https"):
                scope["scheme"] = proto.strip().decode()
            if forwarded:
                # The client's port is not known here.
                scope["client"] = (str(self._proxies.client(address, forwarded)), 0)
                return
        scope["client"] = (str(address), peer[1])

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body is larger than the limit of {self._max_body} bytes"
        await _refuse(scope, receive, send, 413, "body_too_large", message, close=True)


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str, *, close: bool
) -> None:
    # Connection: close makes the server drop the connection instead of reading the rest of a
    # body that nobody will use.
    headers = {"Connection": "close"} if close else None
    await error_response(status, code, message, headers=headers)(scope, receive, send)


async def _read_at_most(receive: Receive, limit: int) -> list[Message] | None:
    """The body's messages up to the client's last one, or None as soon as it passes ``limit``."""
    messages: list[Message] = []
    total = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            # The client went away: the app sees that as it would have.
            return messages
        total += len(message.get("body", b""))
        if total > limit:
            return None
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(reversed(messages))

    async def replayed() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replayed
