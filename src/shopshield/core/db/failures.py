"""How a transaction can fail to take effect, as its callers see it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from shopshield.core.errors import InstanceFault, RecordedRefusal

log = logging.getLogger("shopshield.core.db")


class CommitFailed(InstanceFault, RuntimeError):
    """The commit failed (for a group of transactions, their shared commit); nothing took effect."""


class RefusalNotRecorded(CommitFailed):
    """A refusal whose access event could not be committed (its transaction is rolled back).

    It reaches the edges as an internal error (5xx), never as the refusal: a 403 or 404 says the
    attempt is on record, and this one is not.
    """


@contextmanager
def recording(refusal: RecordedRefusal) -> Iterator[None]:
    """Around the commit of a refusal's event: a failure becomes ``RefusalNotRecorded``."""
    try:
        yield
    except Exception as exc:
        log.error("a refusal (%s) could not be recorded: %s", type(refusal).__name__, type(exc).__name__)
        raise RefusalNotRecorded("the refusal could not be recorded") from exc
