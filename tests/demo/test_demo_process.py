"""``shopshield demo`` as a newcomer runs it: a real process that fills, serves, prints where to go
and who to be, answers with the printed tokens, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx

from tests.support.server import EXECUTABLE, ensure_stopped

READY_SECONDS = 120.0  # the fill takes a few seconds at this size; a loaded machine may take longer
URL = re.compile(r"demo is up at (http://127\.0\.0\.1:\d+)")


def _env() -> dict[str, str]:
    # The demo runs on its embedded defaults whatever the environment says; start it without any.
    return {k: v for k, v in os.environ.items() if not k.startswith("SHOPSHIELD_")}


def _lines(stream: object, into: queue.Queue[str | None]) -> None:
    for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
        into.put(raw.decode(errors="replace"))
    into.put(None)


def _banner(process: subprocess.Popen[bytes], log: Path) -> list[str]:
    """Stdout up to the banner's last line, read as it comes; fails if the process ends first."""
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    printed: list[str] = []
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        if line is None:
            raise AssertionError(f"demo exited with {process.wait()} before serving:\n{log.read_text()}")
        printed.append(line.rstrip("\n"))
        if line.startswith("Ctrl-C stops the demo"):
            return printed
    raise AssertionError(f"no banner within {READY_SECONDS:.0f} s; stdout so far: {printed}\n{log.read_text()}")


def _tokens(banner: list[str]) -> dict[str, tuple[str, str]]:
    """role -> (principal id, token) from the printed table."""
    start = next(n for n, line in enumerate(banner) if line.strip().startswith("role "))
    found: dict[str, tuple[str, str]] = {}
    for line in banner[start + 1 :]:
        cells = line.split()
        if not cells:
            break
        found[cells[0]] = (cells[1], cells[2])
    return found


def test_the_demo_serves_with_the_printed_logins_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    with log.open("wb") as sink:
        began = time.monotonic()
        process = subprocess.Popen(
            [str(EXECUTABLE), "demo", "--port", "0", "--customers", "200", "--seed", "5"],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=sink,
            cwd=tmp_path,
        )
    try:
        banner = _banner(process, log)
        ready = time.monotonic() - began
        text = "\n".join(banner)
        found = URL.search(text)
        assert found is not None, text
        url = found.group(1)
        assert f"Console: {url}/console" in text and f"{url}/console/login" in text
        instance = Path(re.search(r"Instance: (\S+)", text).group(1))  # type: ignore[union-attr]
        assert (instance / "var" / "shopshield.db").is_file()
        tokens = _tokens(banner)
        assert set(tokens) == {
            "cs_agent",
            "cs_supervisor",
            "security_analyst",
            "admin",
            "courier",
            "merchant",
            "partner",
            "service",
        }
        # The suspect is the investigation's to name, not the banner's.
        assert "agent-" not in text.split("What to look at", 1)[1]

        with httpx.Client(base_url=url, timeout=10.0) as http:
            assert http.get("/healthz").json()["status"] == "ok"
            agent = {"Authorization": f"Bearer {tokens['cs_agent'][1]}"}
            viewed = http.get("/v1/customers/c0000001", headers=agent)
            assert viewed.status_code == 200, viewed.text
            assert viewed.json()["mobile"].count("*") == 4  # masked for an agent
            analyst = {"Authorization": f"Bearer {tokens['security_analyst'][1]}"}
            reports = http.get("/v1/scam-reports", headers=analyst, params={"limit": 100})
            assert reports.status_code == 200 and reports.json()["items"], reports.text
            assert http.get("/v1/customers/c0000001").status_code == 401

        process.send_signal(signal.SIGINT)
        stopping = time.monotonic()
        assert process.wait(timeout=15) == 130
        assert time.monotonic() - stopping < 15
        output = log.read_text()
        assert "Traceback" not in output, output
        assert output.rstrip().endswith("error: interrupted")
        assert not instance.exists(), "the temporary instance is removed on exit"
        assert ready < READY_SECONDS
    finally:
        ensure_stopped(process)


def test_a_directory_that_is_not_empty_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    done = subprocess.run(
        [str(EXECUTABLE), "demo", "--port", "0", "--dir", str(tmp_path)],
        env=_env(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert b"--dir" in done.stderr and b"not empty" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_port_in_use_is_refused_before_anything_is_filled(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        target = tmp_path / "demo"
        done = subprocess.run(
            [str(EXECUTABLE), "demo", "--port", str(port), "--dir", str(target)],
            env=_env(),
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert b"--port" in done.stderr
    assert not (target / "var").exists()
