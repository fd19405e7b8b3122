"""``shopshield simulate store`` (a synthetic store with one planted leak), ``shopshield simulate
logins`` (a store's login attempts with planted attacks) and ``shopshield simulate insiders``
(a store's staff at work with insiders of known shapes)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer
from rich.console import Console

from shopshield.cliutil import fail, local_only, progress_bar
from shopshield.simulate.insiders import DEFAULT_START as INSIDERS_START
from shopshield.simulate.insiders import InsiderSimConfig, generate_insiders, sweep
from shopshield.simulate.logins import (
    DEFAULT_START as LOGINS_START,
)
from shopshield.simulate.logins import (
    InvalidLoginSimConfig,
    LoginSimConfig,
    LoginSimPaths,
    generate_logins,
)
from shopshield.simulate.scenarios import SCENARIOS
from shopshield.simulate.store import (
    DEFAULT_START,
    InvalidStoreConfig,
    StoreConfig,
    expected_events_per_day,
    generate_store,
)

app = typer.Typer(
    help="Synthetic stores and login traffic with a planted leak or attacks, to try defences on a known answer.",
    no_args_is_help=True,
)
out = Console()


@app.command("store")
@local_only(why="writes a synthetic store from a seed")
def store(
    seed: int = typer.Option(..., help="Random seed: the same seed and options write byte-identical files"),
    out_dir: Path = typer.Option(..., "--out", help="Directory to write the files into (created if missing)"),
    scenario: str = typer.Option("insider", help=f"The planted leak: {', '.join(SCENARIOS)}"),
    customers: int = typer.Option(50_000, help="Customers in the store"),
    actors: int = typer.Option(5_000, help="Staff, couriers, merchants, partners and jobs (customers not counted)"),
    days: int = typer.Option(30, help="Days of access log"),
    victims: int = typer.Option(10, help="Customers the scammers reach (one scam report each)"),
    events_per_day: int | None = typer.Option(
        None, "--events-per-day", help="Scale the traffic to about this many events a day (default: ~97,000)"
    ),
    start: str = typer.Option(DEFAULT_START.isoformat(), help="First day of the log (ISO date, China time)"),
) -> None:
    """Write events.parquet, reports.csv/.jsonl, customers.csv, orders.csv, actors.csv and
    truth.json (the planted answer) into --out."""
    if out_dir.exists() and not out_dir.is_dir():
        fail(f"--out: {out_dir} is a file, not a directory", code=2)
    try:
        first_day = date.fromisoformat(start)
    except ValueError:
        fail(f"--start: expected an ISO date such as 2026-10-01, not {start!r}", code=2)
    try:
        config = StoreConfig(
            seed=seed,
            scenario=scenario,
            customers=customers,
            actors=actors,
            days=days,
            victims=victims,
            start=first_day,
            events_per_day=events_per_day,
        )
    except InvalidStoreConfig as exc:
        fail("; ".join(f"--{name.replace('_', '-')}: {text}" for name, text in exc.problems), code=2)
    began = time.perf_counter()
    expected = int(expected_events_per_day(config, config.intensity()) * config.days)
    with progress_bar(f"simulating {scenario}") as bar:
        task = bar.add_task("events", total=expected)

        def advance(n: int) -> None:
            # The expected total is an estimate: keep the bar honest when the run exceeds it.
            done = bar.tasks[0].completed + n
            bar.update(task, completed=done, total=max(expected, done))

        summary = generate_store(config, out_dir, progress=advance)
        bar.update(task, total=summary.events, completed=summary.events)
    seconds = time.perf_counter() - began
    out.print(
        f"wrote {summary.events:,} access events, {summary.customers:,} customers, {summary.orders:,} orders and "
        f"{summary.reports} scam reports to {out_dir} in {seconds:.1f} s; the planted answer is in truth.json",
        highlight=False,
    )


@app.command("logins")
@local_only(why="writes synthetic login traffic from a seed")
def logins(
    seed: int = typer.Option(..., help="Random seed: the same seed and options write byte-identical files"),
    out_file: Path = typer.Option(
        ..., "--out", help="Attempts file to write (JSON lines); the truth and the attackers' inputs go beside it"
    ),
    customers: int = typer.Option(20_000, help="Customers in the store"),
    days: int = typer.Option(7, help="Days of login traffic"),
    leaked: int = typer.Option(50_000, help="username:password pairs on the other site's breach list (the stuffing)"),
    logins_per_day: float = typer.Option(1.2, "--logins-per-day", help="Sessions a customer starts a day, on average"),
    start: str = typer.Option(LOGINS_START.isoformat(), help="First day of the log (ISO date, China time)"),
) -> None:
    """Write a store's login attempts (legitimate customers, credential stuffing, brute force,
    password spraying and a lockout attempt) in the shared "Login attempts" format, with
    <stem>.truth.jsonl, <stem>.summary.json, <stem>.leaked-pairs.txt and
    <stem>.breached-passwords.txt beside it."""
    if out_file.is_dir():
        fail(f"--out: {out_file} is a directory; name the attempts file, such as {out_file / 'logins.jsonl'}", code=2)
    try:
        first_day = date.fromisoformat(start)
    except ValueError:
        fail(f"--start: expected an ISO date such as 2026-10-01, not {start!r}", code=2)
    try:
        config = LoginSimConfig(
            seed=seed, customers=customers, days=days, leaked=leaked, logins_per_day=logins_per_day, start=first_day
        )
    except InvalidLoginSimConfig as exc:
        fail("; ".join(f"--{name.replace('_', '-')}: {text}" for name, text in exc.problems), code=2)
    for path in LoginSimPaths.beside(out_file).all()[1:]:
        if path.is_dir():
            fail(f"--out: {path} is a directory, and the simulation writes a file there", code=2)
    began = time.perf_counter()
    expected = int(customers * days * logins_per_day * 1.1 + leaked * 1.1 + 13_000)
    with progress_bar("simulating logins") as bar:
        task = bar.add_task("attempts", total=expected)

        def advance(n: int) -> None:
            done = bar.tasks[0].completed + n
            bar.update(task, completed=done, total=max(expected, done))

        summary = generate_logins(config, out_file, progress=advance)
        bar.update(task, total=summary.attempts, completed=summary.attempts)
    seconds = time.perf_counter() - began
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in summary.counts.items())
    out.print(
        f"wrote {summary.attempts:,} login attempts ({kinds}) to {out_file} in {seconds:.1f} s; "
        f"the truth is in {summary.paths.truth.name}, never to be read by the engine",
        highlight=False,
    )


@app.command("insiders")
@local_only(why="writes a synthetic staff with planted insiders from a seed")
def insiders(
    seed: int = typer.Option(..., help="Random seed: the same seed and options write the same files"),
    out_dir: Path = typer.Option(..., "--out", help="Directory to write the files into (created if missing)"),
    actors: int = typer.Option(5_000, help="Staff, couriers, merchants, partners and jobs"),
    customers: int = typer.Option(200_000, help="Customers in the store"),
    history_days: int = typer.Option(14, "--history-days", help="Days before the period under test"),
    days: int = typer.Option(14, help="Days under test (the insiders leak in these)"),
    per_point: int = typer.Option(1, "--per-point", min=0, max=20, help="Insiders at every point of every shape"),
    start: str = typer.Option(INSIDERS_START.isoformat(), help="First day of the log (ISO date, China time)"),
) -> None:
    """Write events.parquet, actors.csv, customers.csv, orders.csv, tickets.csv and truth.json:
    ordinary staff of every role and insiders of every shape (docs/simulator.md)."""
    if out_dir.exists() and not out_dir.is_dir():
        fail(f"--out: {out_dir} is a file, not a directory", code=2)
    try:
        first_day = date.fromisoformat(start)
    except ValueError:
        fail(f"--start: expected an ISO date such as 2026-10-01, not {start!r}", code=2)
    # A bad size is InvalidInput: the command group reports it and exits 2.
    config = InsiderSimConfig(
        seed=seed,
        actors=actors,
        customers=customers,
        history_days=history_days,
        days=days,
        start=first_day,
        insiders=sweep(per_point),
    )
    began = time.perf_counter()
    summary = generate_insiders(config, out_dir)
    out.print(
        f"wrote {summary.events:,} access events of {summary.actors:,} actors ({summary.insiders} insiders) to "
        f"{out_dir} in {time.perf_counter() - began:.1f} s; the period under test starts {config.test_start}, "
        "and the insiders' leak days are in truth.json",
        highlight=False,
    )
