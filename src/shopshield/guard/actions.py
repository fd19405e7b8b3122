"""What the guard asks the store to do after a login, and how the request reaches the store.

The outcome response carries the actions, so a store can act on them at once; a configured webhook
also receives them, signed, so that session revocation and customer notices do not depend on the
login path remembering to act.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import orjson

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ShopShield-Signature"


class ActionKind(StrEnum):
    REQUIRE_PASSWORD_RESET = "require_password_reset"  # noqa: S105 - an action name, not a secret
    REVOKE_SESSIONS = "revoke_sessions"
    NOTIFY_CUSTOMER = "notify_customer"


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    reason: str  # a code the store maps to its own bilingual notice text

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind.value, "reason": self.reason}


class ActionSink(Protocol):
    def deliver(self, *, attempt_id: str, username: str, actions: Sequence[Action], at: float) -> None: ...


class ReturnOnly:
    """A server without a webhook: the actions go back in the outcome response only, and nothing
    (no username) is kept."""

    def deliver(self, *, attempt_id: str, username: str, actions: Sequence[Action], at: float) -> None:
        """The outcome response already carries them."""


class MemorySink:
    """Keeps the latest deliveries (bounded): replays and tests read them back."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.delivered: deque[tuple[str, str, tuple[Action, ...]]] = deque(maxlen=capacity)

    def deliver(self, *, attempt_id: str, username: str, actions: Sequence[Action], at: float) -> None:
        self.delivered.append((attempt_id, username, tuple(actions)))


def sign(secret: bytes, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over the exact body bytes, as GitHub-style webhooks sign."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookSink:
    """POSTs each batch of actions as JSON to the store, from a background thread.

    A login never waits for the store's endpoint: deliveries queue (bounded) and a worker sends
    them with a few retries. Failures are logged by attempt id and status only; the body, which
    names the account, is never logged.
    """

    def __init__(self, url: str, secret: bytes, *, timeout: float = 5.0, retries: int = 3, capacity: int = 10_000):
        if not url.startswith(("https://", "http://")):
            raise ValueError("guard webhook URL must be http(s)")
        self._url = url
        self._secret = secret
        self._timeout = timeout
        self._retries = retries
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=capacity)
        self._worker = threading.Thread(target=self._run, name="guard-webhook", daemon=True)
        self._worker.start()
        self.sent = 0
        self.failed = 0

    def deliver(self, *, attempt_id: str, username: str, actions: Sequence[Action], at: float) -> None:
        body: dict[str, Any] = {
            "event": "login.actions",
            "attempt_id": attempt_id,
            "username": username,
            "actions": [a.as_json() for a in actions],
            "at": at,
        }
        try:
            self._queue.put_nowait((attempt_id, orjson.dumps(body)))
        except queue.Full:
            self.failed += 1
            log.error("guard webhook: queue full, actions for attempt %s dropped", attempt_id)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            attempt_id, body = item
            for attempt in range(self._retries):
                if self._post(body):
                    self.sent += 1
                    break
                time.sleep(0.2 * 2**attempt)
            else:
                self.failed += 1
                log.error("guard webhook: actions for attempt %s not delivered", attempt_id)

    def _post(self, body: bytes) -> bool:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self._url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(self._secret, body)},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                return 200 <= int(response.status) < 300
        except (urllib.error.URLError, OSError) as exc:
            log.warning("guard webhook: %s", type(exc).__name__)
            return False

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._worker.join(timeout)
