"""How a rendered message leaves ShopShield: one ``Sender`` per channel, chosen in ``bootstrap``.

Every sender receives the message's idempotency key (``schedule.idempotency_key``), the same on
each attempt, and passes it on where the receiver can see it: the Message-ID of an e-mail, the
``Idempotency-Key`` header of an HTTP request, a field of a JSON line. Delivery is at least once
(decision 0027): a worker killed after sending and before recording sends again, and the receiver
drops the repeat by that key.

A sender answers with an ``Outcome``: sent, a temporary failure (try again later) or a permanent
one (retrying cannot help). Reasons are codes and the receiver's status, never an address or a
message body, because they are stored in ``notifications.last_error`` and shown to operators.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import smtplib
import ssl
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.header import Header
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formatdate
from enum import StrEnum
from pathlib import Path
from typing import Final, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from shopshield.core.files import open_private, private_dir
from shopshield.notify.catalogue import Channel
from shopshield.notify.messages import Email, Message, Push, Sms
from shopshield.notify.schedule import smtp_message_id

__all__ = [
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "FileSender",
    "HttpSender",
    "Outcome",
    "Result",
    "Sender",
    "SmtpSender",
    "SmtpTarget",
    "parse_smtp_url",
    "sign",
]

SIGNATURE_HEADER: Final = "X-ShopShield-Signature"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
_TIMEOUT: Final = 10.0
_REASON_MAX: Final = 300
# SMTP wants CRLF line ends; smtplib passes bytes through as they are.
_WIRE: Final = compat32.clone(linesep="\r\n")


class Result(StrEnum):
    SENT = "sent"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    reason: str | None = None

    @classmethod
    def sent(cls) -> Outcome:
        return cls(Result.SENT)

    @classmethod
    def temporary(cls, reason: str) -> Outcome:
        return cls(Result.TEMPORARY, reason[:_REASON_MAX])

    @classmethod
    def permanent(cls, reason: str) -> Outcome:
        return cls(Result.PERMANENT, reason[:_REASON_MAX])


class Sender(Protocol):
    """Delivers messages of one channel. Called from one worker thread at a time."""

    def send(self, message: Message, address: str, idempotency_key: str) -> Outcome: ...

    def close(self) -> None: ...


def sign(secret: bytes, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 over the exact body, as the guard's webhook signs."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


# SMTP ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp://[user:pass@]host:port[?starttls=true]``; ``ValueError`` without the URL in it."""
    parts = urlsplit(url)
    if parts.scheme != "smtp" or not parts.hostname:
        raise ValueError("an SMTP URL such as smtp://user:pass@mail.example:587?starttls=true")
    try:
        port = parts.port or 25
    except ValueError:
        raise ValueError("an SMTP URL whose port is a number between 1 and 65535") from None
    query = parse_qs(parts.query)
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ValueError("an SMTP URL whose only query option is starttls=true|false")
    flag = query.get("starttls", ["false"])[-1].lower()
    if flag not in ("true", "false", "1", "0"):
        raise ValueError("starttls must be true or false")
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        starttls=flag in ("true", "1"),
    )


class SmtpSender:
    """E-mail over SMTP with one connection kept open between messages (a fresh one per message
    would cost a handshake, and with STARTTLS a TLS negotiation, every time)."""

    def __init__(self, target: SmtpTarget, sender: str, *, tls: ssl.SSLContext | None = None) -> None:
        self._target = target
        self._from = sender
        # Message-IDs live under the sending domain, as RFC 5322 recommends.
        self._domain = sender.rpartition("@")[2] or "shopshield.invalid"
        self._tls = tls
        self._smtp: smtplib.SMTP | None = None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(self._target.host, self._target.port, timeout=_TIMEOUT)
            try:
                if self._target.starttls:
                    smtp.starttls(context=self._tls or ssl.create_default_context())
                if self._target.username is not None:
                    smtp.login(self._target.username, self._target.password or "")
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def send(self, message: Message, address: str, idempotency_key: str) -> Outcome:
        if not isinstance(message, Email):
            return Outcome.permanent("smtp sender got a message that is not an e-mail")
        if not address.isprintable() or any(ch.isspace() or ch in "<>" for ch in address):
            # Never reaches a header: a line break there would be a header of the caller's choosing.
            return Outcome.permanent("e-mail address unusable")
        data = _mail_bytes(self._from, address, message, smtp_message_id(idempotency_key, self._domain))
        for attempt in (1, 2):
            try:
                self._connection().sendmail(self._from, [address], data)
                return Outcome.sent()
            except smtplib.SMTPRecipientsRefused as exc:
                codes = sorted({code for code, _msg in exc.recipients.values()})
                return self._by_code(codes[0] if codes else 550, "recipient refused")
            except smtplib.SMTPResponseException as exc:
                self._drop()
                return self._by_code(exc.smtp_code, "server answered")
            except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
                # A kept connection the server closed while idle: one fresh try before giving up.
                self._drop()
                if attempt == 2:
                    return Outcome.temporary(f"smtp connection lost ({type(exc).__name__})")
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                return Outcome.temporary(f"smtp error ({type(exc).__name__})")
        return Outcome.temporary("smtp connection lost")  # pragma: no cover (the loop returns)

    @staticmethod
    def _by_code(code: int, what: str) -> Outcome:
        if 500 <= code < 600:
            return Outcome.permanent(f"smtp {what} {code}")
        return Outcome.temporary(f"smtp {what} {code}")

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _encoded_word(text: str) -> str:
    """``text`` as RFC 2047 encoded words (UTF-8, base64), each at most 75 characters, split only
    between characters; plain when it is printable ASCII."""
    if text.isascii() and text.isprintable():
        return text
    words, chunk = [], b""
    for ch in text:
        piece = ch.encode()
        # 45 bytes of UTF-8 make 60 characters of base64: 72 with the "=?utf-8?b?" and "?=" around.
        if len(chunk) + len(piece) > 45:
            words.append(chunk)
            chunk = b""
        chunk += piece
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w).decode()}?=" for w in words)


def _mail_bytes(sender: str, address: str, message: Email, message_id: str) -> bytes:
    """The e-mail as it goes on the wire: plain text in UTF-8, base64 (SMTP servers need not take
    8-bit bodies), CRLF line ends. Written out directly: the ``email`` package's header folding
    cost more than the SMTP exchange itself (bench notify). Addresses outside ASCII go through
    the ``email`` package, which knows their rules."""
    if not (sender.isascii() and address.isascii()):
        mail = MIMEText(message.text, "plain", "utf-8")
        mail["From"], mail["To"], mail["Subject"] = sender, address, Header(message.subject, "utf-8").encode()
        mail["Date"], mail["Message-ID"] = formatdate(usegmt=True), message_id
        return mail.as_bytes(policy=_WIRE)
    head = (
        f"From: {sender}\r\nTo: {address}\r\nSubject: {_encoded_word(message.subject)}\r\n"
        f"Date: {formatdate(usegmt=True)}\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    )
    body = base64.encodebytes(message.text.encode()).replace(b"\n", b"\r\n")
    return head.encode() + body


# HTTP (SMS gateway, push webhook) -----------------------------------------------------------------


class HttpSender:
    """A signed JSON POST per message: the SMS gateway (``{"to": mobile, "text": ..., ...}``) or the
    store's push webhook (``{"customer_id": ..., "title": ..., "body": ...}``). 2xx is sent, 429
    and 5xx and network errors are temporary, any other status permanent."""

    def __init__(self, url: str, secret: bytes, channel: Channel) -> None:
        if channel is Channel.EMAIL:
            raise ValueError("e-mail goes by SMTP or the file sender")
        self._url = url
        self._secret = secret
        self._channel = channel

    def _body(self, message: Message, address: str, key: str) -> bytes | None:
        if self._channel is Channel.SMS and isinstance(message, Sms):
            doc: dict[str, object] = {
                "id": key,
                "to": address,
                "text": message.body,
                "encoding": message.encoding,
                "segments": message.segments,
            }
        elif self._channel is Channel.PUSH and isinstance(message, Push):
            # The store's app knows its customers by id: the push address is the customer id.
            doc = {"id": key, "customer_id": address, "title": message.title, "body": message.body}
        else:
            return None
        return orjson.dumps(doc)

    def send(self, message: Message, address: str, idempotency_key: str) -> Outcome:
        body = self._body(message, address, idempotency_key)
        if body is None:
            return Outcome.permanent(f"{self._channel} sender got a message of another channel")
        request = urllib.request.Request(  # noqa: S310 (the URL's scheme is checked at load: http or https)
            self._url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(self._secret, body),
                IDEMPOTENCY_HEADER: idempotency_key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:  # noqa: S310 (checked at load)
                response.read()
                return Outcome.sent()
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 429 or exc.code >= 500:
                return Outcome.temporary(f"{self._channel} endpoint answered {exc.code}")
            return Outcome.permanent(f"{self._channel} endpoint answered {exc.code}")
        except (urllib.error.URLError, OSError) as exc:
            return Outcome.temporary(f"{self._channel} endpoint unreachable ({type(exc).__name__})")

    def close(self) -> None:
        return None


# The embedded default: a JSON-lines file --------------------------------------------------------


def masked_address(address: str) -> str:
    """An address as the file sender writes it: a mobile's first three and last four digits, an
    e-mail's first character and domain. The file is not a gateway, and nothing ShopShield keeps
    for itself holds a personal value in the clear."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(address) >= 8:
        return f"{address[:3]}****{address[-4:]}"
    return "****"


class FileSender:
    """Appends each message as a JSON line to ``<data_dir>/notifications/outbox-<channel>.jsonl``,
    owner-only, with the address masked (``masked_address``). The default when no gateway is
    configured, so that a fresh instance queues and "delivers" without losing anything, and an
    operator can read what would have gone out; real delivery needs a gateway."""

    def __init__(self, directory: Path, channel: Channel) -> None:
        private_dir(directory)
        self.path = directory / f"outbox-{channel}.jsonl"
        self._channel = channel
        self._lock = threading.Lock()

    def send(self, message: Message, address: str, idempotency_key: str) -> Outcome:
        doc: dict[str, object] = {"id": idempotency_key, "channel": str(self._channel), "to": masked_address(address)}
        match message:
            case Sms():
                doc.update(text=message.body, encoding=message.encoding, segments=message.segments)
            case Email():
                doc.update(subject=message.subject, text=message.text)
            case Push():
                doc.update(title=message.title, body=message.body)
        line = json.dumps(doc, ensure_ascii=False) + "\n"
        try:
            with self._lock, open_private(self.path, "a", encoding="utf-8") as out:
                out.write(line)
        except OSError as exc:
            return Outcome.temporary(f"file sender: {type(exc).__name__}")
        return Outcome.sent()

    def close(self) -> None:
        return None
