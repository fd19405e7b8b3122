"""The store's webhook receives signed actions, from a background queue, and retries."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import orjson
import pytest

from shopshield.guard.actions import SIGNATURE_HEADER, Action, ActionKind, WebhookSink, sign

SECRET = b"webhook-secret-0123456789"


class Store:
    """A real HTTP endpoint on localhost that records what it receives (and fails when told to)."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, str]] = []
        self.fail_first = 0
        store = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if store.fail_first > 0:
                    store.fail_first -= 1
                    self.send_response(503)
                else:
                    store.received.append((body, self.headers[SIGNATURE_HEADER]))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet: the stdlib server would print every request to stderr."""

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/shopshield"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture
def store() -> Iterator[Store]:
    running = Store()
    yield running
    running.server.shutdown()


def test_actions_arrive_signed(store: Store) -> None:
    sink = WebhookSink(store.url, SECRET)
    actions = [Action(ActionKind.REQUIRE_PASSWORD_RESET, "breached_password")]
    sink.deliver(attempt_id="att-1", username="13800138000", actions=actions, at=1_800_000_000.0)
    store.wait(1)
    sink.close()
    [(body, signature)] = store.received
    assert signature == "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest() == sign(SECRET, body)
    assert orjson.loads(body) == {
        "event": "login.actions",
        "attempt_id": "att-1",
        "username": "13800138000",
        "actions": [{"kind": "require_password_reset", "reason": "breached_password"}],
        "at": 1_800_000_000.0,
    }


def test_a_failing_endpoint_is_retried(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    store.fail_first = 2
    sink = WebhookSink(store.url, SECRET, retries=3)
    sink.deliver(attempt_id="att-2", username="alice@example.cn", actions=[], at=0.0)
    store.wait(1)
    sink.close()
    assert len(store.received) == 1 and sink.sent == 1 and sink.failed == 0
    assert "alice" not in caplog.text


def test_only_http_urls() -> None:
    with pytest.raises(ValueError, match="http"):
        WebhookSink("file:///etc/passwd", SECRET)
