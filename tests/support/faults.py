"""Real faults in storage: the database itself refuses a write, as a full disk or a lost
connection would, so the code under test meets the error where it would in production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from shopshield.bootstrap import Container

MESSAGE = "log unavailable"


@contextmanager
def access_events_refused(container: Container, *, action: str | None = None) -> Iterator[None]:
    """While open, the database refuses every insert into ``access_events`` (only those of
    ``action``, if given): the audit append fails inside the request's transaction.

    A trigger, because the refusal must come from the database rather than from patched Python.
    It is dropped on exit: PostgreSQL's test schema outlives the test (tables are only truncated).
    """
    # action is one of ShopShield's own action names, never input: safe to place in the statement.
    assert action is None or action.isidentifier()
    postgres = container.engine.dialect.name == "postgresql"
    when = f"WHEN (NEW.action = '{action}')" if action else ""
    if postgres:
        create = [
            "CREATE FUNCTION refuse_access_event() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$",
            f"CREATE TRIGGER refuse_access_events BEFORE INSERT ON access_events FOR EACH ROW {when} "
            "EXECUTE FUNCTION refuse_access_event()",
        ]
        drop = ["DROP TRIGGER refuse_access_events ON access_events", "DROP FUNCTION refuse_access_event()"]
    else:
        create = [
            f"CREATE TRIGGER refuse_access_events BEFORE INSERT ON access_events FOR EACH ROW {when} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        ]
        drop = ["DROP TRIGGER refuse_access_events"]
    with container.engine.begin() as conn:
        for statement in create:
            conn.execute(text(statement))
    try:
        yield
    finally:
        with container.engine.begin() as conn:
            for statement in drop:
                conn.execute(text(statement))
