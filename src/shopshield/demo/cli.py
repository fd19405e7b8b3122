"""``shopshield demo``: a fresh instance filled with the demo store, served until interrupted."""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from shopshield.cliutil import acts_as, fail, open_container
from shopshield.core.callers import OPERATOR
from shopshield.core.errors import InvalidInput
from shopshield.core.files import private_dir
from shopshield.demo.service import DAYS, MAX_CUSTOMERS, MIN_CUSTOMERS, DemoConfig, Filled, fill
from shopshield.settings import Settings

HOST = "127.0.0.1"
err = Console(stderr=True)


class _Bars:
    """The fill's steps as Rich progress bars on stderr, one bar a step."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<40}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> _Bars:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._finish()
        self._progress.stop()

    def _finish(self) -> None:
        if self._task is not None:
            task = self._progress.tasks[self._task]
            self._progress.update(self._task, completed=task.total)

    def begin(self, label: str, total: int) -> None:
        self._finish()
        self._task = self._progress.add_task(label, total=max(total, 1))

    def advance(self, amount: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)


@acts_as(
    OPERATOR,
    why="creates a fresh instance in a directory of its own, fills it through the services as the "
    "store's backend and staff, and serves it; it touches no other instance",
)
def demo_command(
    port: int = typer.Option(8080, help="Port to serve on, on 127.0.0.1 (0 picks a free one)"),
    directory: Path | None = typer.Option(
        None,
        "--dir",
        help="An empty or new directory for the instance, kept on exit (default: a new temporary "
        "directory, removed on exit)",
    ),
    seed: int = typer.Option(1, help="Random seed: the same seed makes the same store and the same waves"),
    customers: int = typer.Option(
        2_000, help=f"Customers in the store ({MIN_CUSTOMERS:,}-{MAX_CUSTOMERS:,}); staff and traffic scale with it"
    ),
) -> None:
    """Start ShopShield on its embedded defaults with a synthetic store: three weeks of traffic
    with a planted insider, a credential-stuffing wave, the victims' scam reports and the
    investigation; print the URLs and a login per role, and serve until Ctrl-C."""
    if not 0 <= port <= 65535:
        fail(f"--port: must be between 0 and 65535, not {port}", code=2)
    try:
        config = DemoConfig(seed=seed, customers=customers)
    except InvalidInput as exc:
        fail(f"--{exc.message}", code=2)
    root, owned = _fresh_directory(directory)
    try:
        listener = _bind(port)
        try:
            _run(config, root, owned, listener)
        finally:
            listener.close()
    finally:
        if owned:
            shutil.rmtree(root, ignore_errors=True)


def _fresh_directory(directory: Path | None) -> tuple[Path, bool]:
    """The instance's directory and whether the command made it (and removes it on exit)."""
    if directory is None:
        return Path(tempfile.mkdtemp(prefix="shopshield-demo-")).resolve(), True
    if directory.exists() and not directory.is_dir():
        fail(f"--dir: {directory} is a file; name an empty or new directory", code=2)
    if directory.is_dir() and any(directory.iterdir()):
        fail(f"--dir: {directory} is not empty; the demo starts a fresh instance in an empty or new directory", code=2)
    return private_dir(directory).resolve(), False


def _bind(port: int) -> socket.socket:
    """The listening socket, bound before the fill so a port in use stops the command at once."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((HOST, port))
    except OSError:
        listener.close()
        fail(f"--port: cannot listen on {HOST}:{port} (in use?); choose another port, or 0 for a free one", code=2)
    return listener


def _settings(root: Path) -> Settings:
    """The embedded defaults in ``root``, whatever the environment names: the demo's SQLite, key
    file and in-process counters, and no gateway that could send a real message."""
    return Settings.load(
        data_dir=root / "var",
        database_url=None,
        keystore_url=None,
        master_key_file=None,
        audit_signing_key_file=None,
        audit_witness_file=None,
        passwords_dir=None,
        redis_url=None,
        guard_webhook_url=None,
        smtp_url=None,
        sms_gateway_url=None,
        push_webhook_url=None,
        host=HOST,
    )


def _run(config: DemoConfig, root: Path, owned: bool, listener: socket.socket) -> None:
    from shopshield import serving
    from shopshield.app import create_app

    settings = _settings(root)
    began = time.perf_counter()
    container = open_container(settings, migrate=True)
    try:
        with _Bars() as bars:
            filled = fill(container, config, root, bars)
        seconds = time.perf_counter() - began
        url = f"http://{HOST}:{listener.getsockname()[1]}"
        app = create_app(container, notify_worker=settings.notify_worker)
        serving.run_bound(
            app,
            listener,
            log_level=settings.log_level.lower(),
            ready=lambda: _announce(url, root, owned, filled, seconds),
        )
    finally:
        container.close()


def _announce(url: str, root: Path, owned: bool, filled: Filled, seconds: float) -> None:
    """What the newcomer reads: where to go, who to be, and what to look for."""
    kept = "removed when you stop it; pass --dir to keep one" if owned else "kept when you stop it"
    lines = [
        "",
        f"ShopShield demo is up at {url}  (API docs: {url}/docs; filled in {seconds:.0f} s)",
        f"Console: {url}/console  (log in at {url}/console/login)",
        f"Instance: {root}  ({kept})",
        "",
        "Demo logins, one per role (API: Authorization: Bearer <token>):",
        *_login_table(filled),
        "",
        *_contents(filled),
        "",
        *_what_to_look_at(url, root, filled),
        "",
        "Ctrl-C stops the demo.",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def _login_table(filled: Filled) -> list[str]:
    # Plain columns, not a Rich table: a token must never be cut to the terminal's width.
    rows = [("role", "principal id", "API token", "console password")]
    for login in filled.logins:
        # The backend is a machine: it has a token and no console password.
        password = login.password or "-"
        rows.append((login.role, login.principal_id, login.token, password))
    widths = [max(len(row[k]) for row in rows) for k in range(3)]
    return ["  " + "  ".join(cell.ljust(widths[k]) if k < 3 else cell for k, cell in enumerate(row)) for row in rows]


def _contents(filled: Filled) -> list[str]:
    wave = filled.logins_wave.decisions.get("stuffing", {})
    stopped = wave.get("challenge", 0) + wave.get("deny", 0)
    start, end = filled.period
    return [
        f"Inside: {filled.customers:,} customers, {filled.orders:,} orders, {filled.returns:,} returns and "
        f"{filled.principals:,} staff, couriers, merchants, partners and jobs, all written through the vault "
        f"(sealed per customer); {filled.events_recorded + 2 * filled.insider_reads:,} reads of their data from "
        f"{start:%Y-%m-%d} to {end:%Y-%m-%d} ({DAYS} days) in the tamper-evident access log; "
        f"{len(filled.reports)} scam reports; {filled.channels} official channels.",
        f"Yesterday's logins went through the login guard: {sum(wave.values()):,} credential-stuffing attempts, "
        f"{stopped:,} of them challenged or denied; "
        f"{filled.logins_wave.attack_mode_decisions:,} decisions were taken in attack mode.",
    ]


def _what_to_look_at(url: str, root: Path, filled: Filled) -> list[str]:
    analyst = next((login for login in filled.logins if login.role == "security_analyst"), None)
    token = analyst.token if analyst is not None else "<security_analyst token>"
    reports = root / "investigation" / "reports.csv"
    verdict = "named a suspect" if filled.investigation.attribution.conclusive else "found nobody who stands out"
    return [
        "What to look at: callers posing as the store's refund service reached customers who had just "
        f"returned something, and {len(filled.reports)} of them reported it. They knew each victim's name, "
        "the item and its price: somebody with access read those returns. The investigation has run over "
        f"the access log and {verdict}; find out who on the console's Investigation page (log in as the "
        f"security analyst, open {url}/console/investigation and investigate cluster 1: the suspects, a "
        "timeline of the top one's reads against the scam calls, its accesses, the case file) or from the "
        f"command line. The wave's reports and their clusters are on {url}/console/scam-reports, the stuffing "
        f"wave the guard turned back on {url}/console/logins, and the scope of that actor's reads on "
        f"{url}/console/breach:",
        f"  SHOPSHIELD_DATA_DIR={root / 'var'} shopshield investigate attribute --reports {reports}",
        f"  curl -s {url}/v1/scam-reports/summary -H 'Authorization: Bearer {token}'",
        f"  curl -s {url}/v1/logins/status -H 'Authorization: Bearer {token}'",
        f"  curl -s -X POST {url}/v1/breaches/scope -H 'Authorization: Bearer {token}' "
        "-H 'Content-Type: application/json' -d '{\"actor_id\": \"<the suspect>\"}'",
    ]
