"""How the HTTP server process runs: uvicorn with ShopShield's options, the start-up heap frozen.

``shopshield serve`` runs through here, and so do the benchmark's servers (bench/serve_app.py
and, for the same settings, the bare-endpoint baseline bench/bare_app.py).
"""

from __future__ import annotations

import gc
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from shopshield.core.files import restrict_umask


def run(app: ASGIApp, *, host: str, port: int, log_level: str) -> None:
    """Serve ``app`` until a signal stops it.

    uvicorn's access log is off: ShopShield's own request log (``app.RequestLog``) leaves query
    strings out, and searches carry phone numbers there. uvicorn's proxy headers are off too: by
    default it believed X-Forwarded-For from any local client; ``edge.EdgeGuard`` reads it only from
    the configured trusted proxies (decision 0018).

    Just before listening, the heap built at start-up (modules, the app and its schemas, the wired
    container) is collected once and frozen (``gc.freeze``), so the cyclic garbage collector no
    longer walks it. Requests keep a few thousand objects alive at any moment; every collection of
    the middle generation promoted them to the oldest, whose collections then walked the whole heap
    every couple of seconds under load, pausing every request for 70-110 ms (p99 of masked views
    over HTTP about 70 ms; about 20 ms frozen). Objects made later (caches filling up) are still
    collected as usual; frozen ones are still freed when their reference count drops to zero.
    """
    # A server process writes the databases' WAL files, keys and the witness: owner-only.
    restrict_umask()
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, access_log=False, proxy_headers=False, log_level=log_level)


def run_bound(app: ASGIApp, sock: socket.socket, *, log_level: str, ready: Callable[[], None]) -> None:
    """Serve ``app`` on a socket already bound (so ``--port 0`` is known before the server starts)
    with the options of ``run``, and call ``ready`` from another thread once it accepts
    connections: ``shopshield demo`` prints its URL then. Raises ``RuntimeError`` when the server
    could not start (uvicorn has logged why).

    SIGINT and SIGTERM are noted here rather than left to uvicorn, which re-raises the signal it
    caught once it has shut down: inside asyncio's runner a re-raised SIGINT becomes a
    KeyboardInterrupt in the loop, and the app's lifespan logs a traceback on its way out. Noted,
    the shutdown is the same graceful one, and a SIGINT is raised as ``KeyboardInterrupt`` after
    the loop has ended (the command line's exit 130); a SIGTERM returns normally.
    """
    restrict_umask()
    gc.collect()
    gc.freeze()
    server = uvicorn.Server(uvicorn.Config(app, access_log=False, proxy_headers=False, log_level=log_level))

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        if server.started:
            ready()

    caught: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)
        server.handle_exit(signum, frame)

    threading.Thread(target=announce, name="shopshield-ready", daemon=True).start()
    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if signal.SIGINT in caught:
        raise KeyboardInterrupt
    if not server.started:
        raise RuntimeError("the server did not start; its log says why")
