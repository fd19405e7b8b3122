"""The transaction API's own promises: named rows, and the read-only snapshot (decision 0024)."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

import pytest

from shopshield.bootstrap import Container
from shopshield.core.db import Statement, Tx, transaction
from shopshield.core.db.connections import write_lock


class _Pair(NamedTuple):
    number: int
    word: str


def _tx() -> Tx:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE pairs (number INTEGER, word TEXT)")
    connection.executemany("INSERT INTO pairs VALUES (?, ?)", [(1, "one"), (2, "two")])
    return Tx(connection, "sqlite")


def test_a_statement_with_a_row_type_returns_named_rows() -> None:
    tx = _tx()
    one = tx.one(Statement("SELECT number, word FROM pairs WHERE number = :n", row=_Pair), {"n": 2})
    assert one == _Pair(2, "two")
    assert one is not None and one.word == "two"
    rows = tx.all(Statement("SELECT number, word FROM pairs ORDER BY number", row=_Pair), {})
    assert [type(r) for r in rows] == [_Pair, _Pair]
    assert [r.number for r in rows] == [1, 2]
    assert tx.one(Statement("SELECT number, word FROM pairs WHERE number = 9", row=_Pair), {}) is None


def test_a_statement_without_a_row_type_returns_plain_tuples() -> None:
    assert _tx().all(Statement("SELECT number FROM pairs ORDER BY number"), {}) == [(1,), (2,)]


def test_a_row_type_that_does_not_match_the_columns_fails_loudly() -> None:
    # One column too many: a silent shift of every later field is what named rows rule out.
    with pytest.raises(TypeError):
        _tx().one(Statement("SELECT number, word, word FROM pairs", row=_Pair), {})


def test_a_row_type_must_be_a_named_tuple() -> None:
    with pytest.raises(TypeError, match="NamedTuple"):
        Statement("SELECT 1", row=tuple)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_read_only_transaction_takes_no_write_lock(container: Container) -> None:
    lock = write_lock(container.engine)
    assert lock is not None
    # Another writer holds the lock: a snapshot still reads (a write transaction would wait here).
    with lock, transaction(container.engine, read_only=True) as tx:
        assert tx.one(Statement("SELECT COUNT(*) FROM principals"), {}) is not None
