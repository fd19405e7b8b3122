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
import http.client
import json
import smtplib
import ssl
import threading
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
    "tls_context",
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
    # The gateway itself failed (unreachable, timed out, dropped the connection, "service not
    # available", 5xx or 429 from an HTTP gateway), not this message: what the worker's circuit
    # breaker counts (``notify.circuit``). A refused recipient is the message's own problem.
    gateway_failure: bool = False

    @classmethod
    def sent(cls) -> Outcome:
        return cls(Result.SENT)

    @classmethod
    def temporary(cls, reason: str, *, gateway_failure: bool = False) -> Outcome:
        return cls(Result.TEMPORARY, reason[:_REASON_MAX], gateway_failure)

    @classmethod
    def permanent(cls, reason: str) -> Outcome:
        return cls(Result.PERMANENT, reason[:_REASON_MAX])


class Sender(Protocol):
    """Delivers messages of one channel. Called from one worker thread at a time."""

    def send(self, message: Message, address: str, idempotency_key: str) -> Outcome: ...

    def idle(self) -> None:
        """The worker has nothing due: end what is kept open between messages (the SMTP session,
        the HTTP connection). The next message opens it again."""
        ...

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
    # smtps://: TLS from the first byte (port 465, RFC 8314), instead of STARTTLS after a plain hello.
    implicit_tls: bool = False


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp://[user:pass@]host:port[?starttls=true]`` or ``smtps://[user:pass@]host:port``;
    ``ValueError`` without the URL in it."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(
            "an SMTP URL such as smtp://user:pass@mail.example:587?starttls=true or smtps://user:pass@mail.example:465"
        )
    implicit = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if implicit else 25)
    except ValueError:
        raise ValueError("an SMTP URL whose port is a number between 1 and 65535") from None
    query = parse_qs(parts.query)
    if implicit and query:
        # TLS is already on from the start: a starttls option would say something that cannot hold.
        raise ValueError("an smtps:// URL takes no query options (it is TLS from the start)")
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
        implicit_tls=implicit,
    )


def tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """A client context that verifies the server's certificate and host name: against the system's
    trust store, or against ``ca_file`` alone (a private CA, a self-signed test server). There is
    deliberately no way to turn verification off: a mail or SMS gateway that anyone on the path can
    impersonate would receive customers' addresses and anti-phishing codes."""
    context = ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class SmtpSender:
    """E-mail over SMTP, one session for as long as the worker has messages due: opened at the first
    message, kept across the batches of a busy worker, ended (QUIT) by ``idle`` when a round finds
    nothing due. A fresh session per message would cost a TCP handshake, a hello and, with TLS, a
    TLS negotiation every time (bench notify: about 17 times slower); one kept across idle periods
    would be dropped by the server's idle timeout and fail the next message's first command. A
    session the server drops or ends (421, its per-session limits) while in use is opened again
    once for the message in hand (decision 0031).

    ``sessions`` counts the sessions opened (tests and the bench read it)."""

    def __init__(self, target: SmtpTarget, sender: str, *, tls: ssl.SSLContext | None = None) -> None:
        self._target = target
        self._from = sender
        # Message-IDs live under the sending domain, as RFC 5322 recommends.
        self._domain = sender.rpartition("@")[2] or "shopshield.invalid"
        self._tls = tls
        self._smtp: smtplib.SMTP | None = None
        self.sessions = 0

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            tls = self._tls or tls_context()
            smtp: smtplib.SMTP
            if self._target.implicit_tls:
                smtp = smtplib.SMTP_SSL(self._target.host, self._target.port, timeout=_TIMEOUT, context=tls)
            else:
                smtp = smtplib.SMTP(self._target.host, self._target.port, timeout=_TIMEOUT)
            self.sessions += 1
            try:
                if self._target.starttls and not self._target.implicit_tls:
                    smtp.starttls(context=tls)
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
            fresh = self._smtp is None
            try:
                self._connection().sendmail(self._from, [address], data)
                return Outcome.sent()
            except smtplib.SMTPRecipientsRefused as exc:
                codes = sorted({code for code, _msg in exc.recipients.values()})
                return self._by_code(codes[0] if codes else 550, "recipient refused")
            except smtplib.SMTPResponseException as exc:
                self._drop()
                if exc.smtp_code == 421 and not fresh and attempt == 1:
                    # "Closing the session" on a session we had kept (too many messages on it, the
                    # server's idle limit): a fresh session for this message.
                    continue
                return self._by_code(exc.smtp_code, "server answered")
            except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
                # A session the server closed under us (its idle or per-session limits, a restart):
                # one fresh session for this message. The message keeps its Message-ID, so if the
                # server had taken it before dropping us, the copy is one the receiver can drop.
                self._drop()
                if attempt == 2 or fresh:
                    return Outcome.temporary(f"smtp connection lost ({type(exc).__name__})", gateway_failure=True)
            except ssl.SSLCertVerificationError:
                # Not a gateway that is down: one we must not talk to until the setting is fixed.
                self._drop()
                return Outcome.temporary("smtp server certificate not trusted", gateway_failure=True)
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                return Outcome.temporary(f"smtp error ({type(exc).__name__})", gateway_failure=True)
        return Outcome.temporary("smtp connection lost", gateway_failure=True)  # pragma: no cover (the loop returns)

    @staticmethod
    def _by_code(code: int, what: str) -> Outcome:
        if 500 <= code < 600:
            return Outcome.permanent(f"smtp {what} {code}")
        # 421: the server is shutting the session down or not taking mail now: its problem, not
        # the message's.
        return Outcome.temporary(f"smtp {what} {code}", gateway_failure=code == 421)

    def idle(self) -> None:
        self.close()

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
    and 5xx and network errors are temporary (and failures of the gateway), any other status
    permanent.

    Each worker thread keeps one HTTP/1.1 connection to the gateway open between requests while it
    has messages due (keep-alive), so a thousand SMS cost one TCP (and TLS) handshake, not a
    thousand; ``idle`` closes it.
    A kept connection the gateway closed while idle is opened again once for the request in hand.
    ``connections`` counts the connections opened (tests and the bench read it)."""

    def __init__(self, url: str, secret: bytes, channel: Channel, *, tls: ssl.SSLContext | None = None) -> None:
        if channel is Channel.EMAIL:
            raise ValueError("e-mail goes by SMTP or the file sender")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("an http:// or https:// URL with a host")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._tls = tls
        self._secret = secret
        self._channel = channel
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[http.client.HTTPConnection] = set()
        self.connections = 0

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

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it is new."""
        found: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if found is not None:
            return found, False
        made: http.client.HTTPConnection
        if self._https:
            made = http.client.HTTPSConnection(
                self._host, self._port, timeout=_TIMEOUT, context=self._tls or tls_context()
            )
        else:
            made = http.client.HTTPConnection(self._host, self._port, timeout=_TIMEOUT)
        self._local.connection = made
        with self._lock:
            self._open.add(made)
            self.connections += 1
        return made, True

    def _drop(self) -> None:
        found: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        self._local.connection = None
        if found is not None:
            with self._lock:
                self._open.discard(found)
            found.close()

    def send(self, message: Message, address: str, idempotency_key: str) -> Outcome:
        body = self._body(message, address, idempotency_key)
        if body is None:
            return Outcome.permanent(f"{self._channel} sender got a message of another channel")
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body),
            IDEMPOTENCY_HEADER: idempotency_key,
        }
        for attempt in (1, 2):
            connection, fresh = self._connection()
            try:
                connection.request("POST", self._path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
                if response.will_close:
                    self._drop()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                # A kept connection the gateway closed while idle: one fresh connection. Had the
                # gateway taken the request before closing, the repeat carries the same
                # Idempotency-Key and the gateway drops it.
                self._drop()
                if attempt == 2 or fresh:
                    return Outcome.temporary(
                        f"{self._channel} endpoint unreachable ({type(exc).__name__})", gateway_failure=True
                    )
                continue
            except ssl.SSLCertVerificationError:
                self._drop()
                return Outcome.temporary(f"{self._channel} endpoint certificate not trusted", gateway_failure=True)
            except (http.client.HTTPException, OSError) as exc:
                self._drop()
                return Outcome.temporary(
                    f"{self._channel} endpoint unreachable ({type(exc).__name__})", gateway_failure=True
                )
            if 200 <= status < 300:
                return Outcome.sent()
            if status == 429 or status >= 500:
                return Outcome.temporary(f"{self._channel} endpoint answered {status}", gateway_failure=True)
            return Outcome.permanent(f"{self._channel} endpoint answered {status}")
        return Outcome.temporary(f"{self._channel} endpoint unreachable", gateway_failure=True)  # pragma: no cover

    def idle(self) -> None:
        # This thread's connection: a gateway closes idle connections itself, and one closed under
        # us would cost the next message a failed first try.
        self._drop()

    def close(self) -> None:
        with self._lock:
            held, self._open = self._open, set()
        for connection in held:
            connection.close()
        self._local = threading.local()


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

    def idle(self) -> None:
        return None

    def close(self) -> None:
        return None
