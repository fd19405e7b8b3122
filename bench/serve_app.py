"""ShopShield's HTTP app for benchmarks, like ``shopshield serve`` on an existing data directory.

``python -m bench.serve_app --port N --data-dir DIR [--policy-file F] [--warm-keys]`` builds the
container exactly as ``shopshield serve`` does and runs it the same way (``shopshield.serving.run``:
uvicorn, access log off, the start-up heap frozen), with log level warning. ``--warm-keys`` unwraps
every customer's data key into the key cache before listening, so measurements start with the same
warm cache the in-process figures and the direct baseline have.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sqlalchemy import select

from shopshield import serving
from shopshield.app import create_app
from shopshield.bootstrap import Container, build
from shopshield.core.db import unit_of_work
from shopshield.settings import Settings
from shopshield.vault.models import CustomerRow


def warm_keys(container: Container) -> int:
    """Unwrap every customer's data key through ``DataKeys.get`` so it lands in the key cache."""
    with unit_of_work(container.sessions) as session:
        key_ids = list(session.scalars(select(CustomerRow.key_id).where(CustomerRow.erased_at.is_(None))))
    for key_id in key_ids:
        container.data_keys.get(key_id)
    return len(key_ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--policy-file", type=Path, default=None)
    parser.add_argument("--warm-keys", action="store_true")
    args = parser.parse_args()
    container = build(Settings(data_dir=args.data_dir, policy_file=args.policy_file), migrate=True)
    try:
        if args.warm_keys:
            started = time.perf_counter()
            count = warm_keys(container)
            print(f"warmed {count} data keys in {time.perf_counter() - started:.1f}s", flush=True)
        serving.run(create_app(container), host="127.0.0.1", port=args.port, log_level="warning")
    finally:
        container.close()


if __name__ == "__main__":
    main()
