"""Scam reports for tests, in the shared format's field names, and files holding them."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from shopshield.scams.formats import COLUMNS


def report(report_id: str = "r-1", **values: Any) -> dict[str, Any]:
    """A good report (Liu Jie's, from the 2016 case) with ``values`` changed; None removes a field."""
    found: dict[str, Any] = {
        "report_id": report_id,
        "reported_at": "2016-07-16T09:12:00+08:00",
        "customer_id": "c1001",
        "contacted_at": "2016-07-15T14:03:00+08:00",
        "channel": "call",
        "contact_from": "020-3712 8846",
        "claimed_identity": "聚美优品客服",
        "knew": "name|items|price|purchase_time|return_request",
        "url": "http://refund.jumei-help.com.cn/login",
        "payee_account": "6222 0202 0000 1234 567",
        "loss_amount": "47200.00",
        "currency": "CNY",
    }
    found.update(values)
    return {k: v for k, v in found.items() if v is not None}


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]], columns: Iterable[str] = COLUMNS) -> Path:
    names = list(columns)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(names)
        for row in rows:
            writer.writerow(["" if row.get(name) is None else str(row[name]) for name in names])
    return path


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(dict(row)) + b"\n" for row in rows))
    return path
