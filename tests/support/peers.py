"""Real peers for delivery tests: an SMTP server (aiosmtpd) and an HTTP endpoint that checks
signatures and idempotency keys, both on 127.0.0.1 in the test process."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shopshield.notify.adapters import IDEMPOTENCY_HEADER, SIGNATURE_HEADER
from tests.support.server import free_port


@dataclass
class Mailbox:
    """What the SMTP server received: every message, in order, duplicates included."""

    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Answer RCPT TO with this code (e.g. 550 for "no such user") when set.
    refuse_with: int | None = None

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_with is not None:
            return f"{self.refuse_with} refused by the test"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        with self.lock:
            self.messages.append(message_from_bytes(content))
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


@contextmanager
def smtp_server(box: Mailbox | None = None, port: int | None = None) -> Iterator[tuple[Mailbox, int]]:
    box = box or Mailbox()
    port = port or free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@dataclass
class Received:
    body: dict[str, Any]
    key: str
    signed: bool


@dataclass
class Endpoint:
    """An HTTP endpoint: verifies each POST's HMAC and keeps one copy per idempotency key."""

    secret: bytes
    url: str = ""
    received: list[Received] = field(default_factory=list)
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Statuses to answer with, one per request, before answering 200.
    script: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Every request (answered 200 or not), and the client connections they came on.
    requests: int = 0
    connections: set[tuple[str, int]] = field(default_factory=set)
    # Close each connection after answering without saying so (as a gateway's idle timeout does).
    close_silently: bool = False


@contextmanager
def http_endpoint(secret: bytes) -> Iterator[Endpoint]:
    endpoint = Endpoint(secret)

    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as real gateways do: several requests may come on one connection.
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            expected = "sha256=" + hmac.new(endpoint.secret, raw, hashlib.sha256).hexdigest()
            signed = hmac.compare_digest(expected, self.headers.get(SIGNATURE_HEADER, ""))
            key = self.headers.get(IDEMPOTENCY_HEADER, "")
            with endpoint.lock:
                endpoint.requests += 1
                endpoint.connections.add((str(self.client_address[0]), int(self.client_address[1])))
                status = endpoint.script.pop(0) if endpoint.script else 200
                if status == 200:
                    body = json.loads(raw)
                    endpoint.received.append(Received(body, key, signed))
                    endpoint.by_key.setdefault(key, body)
            if not signed:
                status = 401
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            if endpoint.close_silently:
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/send"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()


def self_signed(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh certificate for 127.0.0.1, and a client context trusting it
    (the certificate is ``directory / "cert.pem"``, a CA file for the sender's settings)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


@contextmanager
def smtps_server(tls: ssl.SSLContext, box: Mailbox | None = None) -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server that speaks TLS from the first byte (smtps, as on port 465)."""
    box = box or Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, ssl_context=tls)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@contextmanager
def starttls_smtp_server(tls: ssl.SSLContext) -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server that refuses mail until the client has started TLS."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()
