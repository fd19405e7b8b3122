"""Run ShopShield's benchmarks: ``python -m bench [NAME ...] [--quick] [--profile]``.

The registry maps a benchmark's name to its module; a module provides ``run(options)`` and may
provide ``profile(options)``. Add a line to ``BENCHMARKS`` to register a new one.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bench.common import Benchmark, Options, console

BENCHMARKS: dict[str, str] = {
    "vault": "bench.vault",
    "audit": "bench.audit",
    "investigate": "bench.investigate",
    "insider-sweep": "bench.insider_sweep",
    "passwords": "bench.passwords",
    "guard": "bench.guard",
    "guard-speed": "bench.guard_speed",
    "notify-cost": "bench.notify_cost",
    "notify": "bench.notify",
    "verify-contact": "bench.verify_contact",
    "verify-links": "bench.verify_links",
    "warn-sweep": "bench.warn_sweep",
}


def _load(name: str) -> Benchmark:
    module = importlib.import_module(BENCHMARKS[name])
    if not hasattr(module, "run"):
        raise SystemExit(f"benchmark module {module.__name__} has no run(options)")
    return module


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})"
    )
    parser.add_argument("--quick", action="store_true", help="a much smaller run, to check that it works")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile each benchmark's in-process hot path with cProfile instead of benchmarking it",
    )
    parser.add_argument(
        "--http-client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator for HTTP runs: wrk if available (auto), or Python processes with httpx",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    options = Options(quick=args.quick, http_client=args.http_client, write_docs=not args.no_docs)
    for name in args.names or list(BENCHMARKS):
        module = _load(name)
        if args.profile:
            profile = getattr(module, "profile", None)
            if profile is None:
                console.print(f"[yellow]{name}: no profile target, skipped[/yellow]")
                continue
            profile(options)
        else:
            module.run(options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
