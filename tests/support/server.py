"""``shopshield`` as a real process: the installed command, a server and waiting for it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

EXECUTABLE = Path(sys.executable).parent / "shopshield"
STARTUP_SECONDS = 20.0


@dataclass
class Server:
    """A ``shopshield serve`` process and where to reach it."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    env: dict[str, str]
    data_dir: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(env: dict[str, str], *args: str) -> str:
    """Run the installed ``shopshield`` command; fail the test unless it exits 0; its stdout."""
    done = subprocess.run([str(EXECUTABLE), *args], env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode()


def wait_until_up(server: Server) -> None:
    """Return once the server answers /healthz; fail the test if it exits or takes too long."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"shopshield serve exited with {server.process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet: poll again
        time.sleep(0.1)  # polling interval while the process starts, not synchronisation
    pytest.fail(f"shopshield serve did not answer /healthz within {STARTUP_SECONDS}s:\n{server.output()}")


def printed_token(output: str) -> str:
    """The token ``shopshield principals create`` printed (the only time it is shown)."""
    return next(line.split(": ", 1)[1] for line in output.splitlines() if line.startswith("token: "))


def ensure_stopped(process: subprocess.Popen[bytes]) -> None:
    """Stop ``process`` if it still runs: SIGTERM, then SIGKILL if it has not exited in 10 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
