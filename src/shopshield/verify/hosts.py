"""A link as a browser would open it: where it really goes, however it is written.

Pure: no network, no name resolution. Reads links with or without a scheme, with full-width
punctuation or ideographic dots, percent-encoded or punycode (``xn--``) host names, ports,
user-info before ``@`` (which is not where the link goes), IPv6 literals, and IPv4 addresses in
every form a browser accepts (dotted, one number, hexadecimal, octal; the WHATWG URL standard's
rules). The registered domain (eTLD+1) comes from the Public Suffix List that the
``publicsuffixlist`` package ships, read from the package, never downloaded.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from shopshield.core import domains
from shopshield.core.errors import InvalidInput

MAX_LINK_CHARS: Final = 2048
MAX_LABEL: Final = 63
MAX_HOST: Final = 253
WEB_SCHEMES: Final = frozenset({"http", "https", "ftp", "ws", "wss"})

_DOTS: Final = str.maketrans({"。": ".", "．": ".", "｡": "."})
_SCHEME: Final = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*)://")
# Schemes written without "//" that are never web links (``jd.com:8080`` has no scheme).
_OPAQUE: Final = re.compile(r"(javascript|vbscript|data|mailto|tel|sms|file|blob|about):", re.IGNORECASE)
_ASCII_LABEL: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_\-]*[a-z0-9_])?|[a-z0-9_]")
_NUMBER_PART: Final = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


class Malformed(InvalidInput, ValueError):
    """The link cannot be read as a web address; ``code`` is the reason's code. The checker turns
    it into a ``malformed`` verdict; only an official domain that is not one reaches an edge."""

    def __init__(self, code: str) -> None:
        super().__init__(f"not a web link ({code})")
        self.code = code


@dataclass(frozen=True, slots=True)
class Link:
    """Where a link goes. ``host`` is in Unicode, lower case, punycode decoded; ``registered``
    its registered domain (None for an IP address)."""

    scheme: str
    userinfo: str | None
    host: str
    port: int | None
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    ip_obfuscated: bool
    punycode: bool
    registered: str | None
    suffix: str | None

    @property
    def name(self) -> str:
        """The registered domain without its public suffix (``jd`` of ``jd.com``)."""
        if self.registered is None or self.suffix is None:
            return self.host
        return self.registered[: -len(self.suffix) - 1]

    @property
    def subdomain_labels(self) -> tuple[str, ...]:
        """The labels in front of the registered domain (``www``, ``shop``)."""
        if self.registered is None:
            return ()
        front = self.host[: -len(self.registered)].rstrip(".")
        return tuple(front.split(".")) if front else ()


# The one reading of the Public Suffix List, shared with the scam-report clusters.
registered_domain = domains.registered_domain


def clean_text(text: str) -> str:
    """Full-width forms as ASCII (NFKC), ideographic dots as dots."""
    return unicodedata.normalize("NFKC", text).translate(_DOTS)


def parse(raw: str) -> Link:
    """Read ``raw`` as a web link; ``Malformed`` says why it cannot be one."""
    text = raw.strip()
    if not text:
        raise Malformed("empty")
    if len(text) > MAX_LINK_CHARS:
        raise Malformed("too_long")
    text = clean_text(text)
    # Defanged links, as security people and some chat tools write them.
    text = text.replace("[.]", ".").replace("(.)", ".")
    text = re.sub(r"^hxxp", "http", text, flags=re.IGNORECASE)
    scheme = "http"
    found = _SCHEME.match(text)
    if found is not None:
        scheme = found.group(1).lower()
        if scheme not in WEB_SCHEMES:
            raise Malformed("unsupported_scheme")
        rest = text[found.end() :]
    elif _OPAQUE.match(text):
        raise Malformed("unsupported_scheme")
    else:
        rest = text[2:] if text.startswith("//") else text
    # Browsers end the authority at "/", "?", "#" and, for web schemes, "\".
    authority = re.split(r"[/?#\\]", rest, maxsplit=1)[0]
    userinfo: str | None = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
    host, port = _host_and_port(authority)
    return _link(scheme, userinfo or None, host, port)


def _host_and_port(authority: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise Malformed("bad_host")
        host, after = authority[: end + 1], authority[end + 1 :]
        if after and not after.startswith(":"):
            raise Malformed("bad_host")
        return host, _port(after[1:] if after else None)
    host, colon, port_text = authority.rpartition(":")
    if not colon:
        return authority, None
    return host, _port(port_text)


def _port(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isascii() or not text.isdigit() or int(text) > 65535:
        raise Malformed("bad_port")
    return int(text)


def _link(scheme: str, userinfo: str | None, raw_host: str, port: int | None) -> Link:
    if raw_host.startswith("["):
        try:
            six = ipaddress.IPv6Address(raw_host[1:-1].split("%", 1)[0])
        except ValueError:
            raise Malformed("bad_ip") from None
        return Link(scheme, userinfo, str(six), port, six, False, False, None, None)
    try:
        host = unquote(raw_host, errors="strict")
    except UnicodeDecodeError:
        raise Malformed("bad_host") from None
    host = clean_text(host).lower()
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise Malformed("no_host")
    labels = host.split(".")
    if any(not label for label in labels):
        raise Malformed("bad_host")
    ipv4 = _ipv4(labels)
    if ipv4 is not None:
        address, obfuscated = ipv4
        return Link(scheme, userinfo, str(address), port, address, obfuscated, False, None, None)
    decoded, punycode = _decode(labels)
    host = ".".join(decoded)
    if _ascii_length(decoded) > MAX_HOST:
        raise Malformed("bad_host")
    found = registered_domain(host)
    if found is None:
        raise Malformed("no_public_suffix")
    registered, suffix = found
    return Link(scheme, userinfo, host, port, None, False, punycode, registered, suffix)


def _ascii_length(labels: list[str]) -> int:
    """How long the host is in its ASCII (punycode) form."""
    total = sum(len(label) if label.isascii() else 4 + len(label.encode("punycode")) for label in labels)
    return total + len(labels) - 1


def _ipv4(labels: list[str]) -> tuple[ipaddress.IPv4Address, bool] | None:
    """The WHATWG URL standard's IPv4 parser: a host whose last label is a number is an address
    (1-4 parts, each decimal, ``0x`` hexadecimal or ``0``-led octal); an impossible one is an error."""
    if not _NUMBER_PART.fullmatch(labels[-1]):
        return None
    if len(labels) > 4 or not all(_NUMBER_PART.fullmatch(label) for label in labels):
        raise Malformed("bad_ip")
    parts: list[int] = []
    obfuscated = len(labels) != 4
    for label in labels:
        if label[:2].lower() == "0x":
            parts.append(int(label[2:] or "0", 16))
            obfuscated = True
        elif len(label) > 1 and label.startswith("0"):
            if any(c not in "01234567" for c in label):
                raise Malformed("bad_ip")
            parts.append(int(label, 8))
            obfuscated = True
        else:
            parts.append(int(label))
    if any(part > 255 for part in parts[:-1]) or parts[-1] >= 256 ** (5 - len(parts)):
        raise Malformed("bad_ip")
    value = parts[-1]
    for index, part in enumerate(parts[:-1]):
        value += part << (8 * (3 - index))
    return ipaddress.IPv4Address(value), obfuscated


def _decode(labels: list[str]) -> tuple[list[str], bool]:
    """Each label in Unicode (punycode decoded) and checked; whether any was punycode."""
    decoded: list[str] = []
    punycode = False
    for label in labels:
        if label.startswith("xn--"):
            try:
                label = label[4:].encode("ascii").decode("punycode").lower()
            except (UnicodeError, ValueError):
                raise Malformed("bad_punycode") from None
            # An all-ASCII label has no business in punycode: browsers refuse "xn--jd-".
            if not label or label.isascii():
                raise Malformed("bad_punycode")
            punycode = True
        if label.isascii():
            if len(label) > MAX_LABEL:
                raise Malformed("label_too_long")
            if not _ASCII_LABEL.fullmatch(label):
                raise Malformed("bad_host")
        else:
            label = unicodedata.normalize("NFKC", label).lower()
            if 4 + len(label.encode("punycode")) > MAX_LABEL:
                raise Malformed("label_too_long")
            if not all(c == "-" or unicodedata.category(c)[0] in "LMN" for c in label):
                raise Malformed("bad_host")
        decoded.append(label)
    return decoded, punycode
