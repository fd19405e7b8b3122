"""A ShopShield server in a thread and Debian's Chromium driven by Playwright, for the console's
browser tests. Playwright's own browser download is never used: the tests launch
``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run`` installs it)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import uvicorn
from fastapi import FastAPI

from tests.support.server import free_port

CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
STARTUP_SECONDS: Final = 20.0


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free port of 127.0.0.1 in a thread; its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="console-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)  # polling while uvicorn binds, not synchronisation
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def screenshots_dir(default: Path) -> Path:
    """Where screenshots go: ``SHOPSHIELD_SCREENSHOTS`` if set, else ``default``."""
    folder = Path(os.environ.get("SHOPSHIELD_SCREENSHOTS") or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
