"""The transaction API every domain uses, split by concept (decision 0024).

- ``tables``: the declarative bases;
- ``engines``: engines tuned per backend and the ORM's session factory;
- ``connections``: per-engine write locks and the driver connection pool;
- ``statements``: pre-written SQL and the named rows it returns;
- ``tx``: one transaction on a driver connection (``Tx``) and its deferred work;
- ``transactions``: the ways to open one (``unit_of_work``, ``transaction``, ``run_transaction``);
- ``group``: SQLite's group commit; ``batching``: the event loop's batcher in front of it;
- ``failures``: how a commit can fail.
"""

from shopshield.core.db.engines import make_engine, session_factory
from shopshield.core.db.failures import CommitFailed, RefusalNotRecorded
from shopshield.core.db.group import Outcome
from shopshield.core.db.statements import Statement
from shopshield.core.db.tables import NAMING, Base, KeystoreBase
from shopshield.core.db.transactions import run_transaction, transaction, unit_of_work
from shopshield.core.db.tx import Deferred, Tx

__all__ = [
    "NAMING",
    "Base",
    "CommitFailed",
    "Deferred",
    "KeystoreBase",
    "Outcome",
    "RefusalNotRecorded",
    "Statement",
    "Tx",
    "make_engine",
    "run_transaction",
    "session_factory",
    "transaction",
    "unit_of_work",
]
