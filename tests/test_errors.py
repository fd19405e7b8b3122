"""Every exception ShopShield raises on purpose is a ``ShopShieldError`` of one family (decision 0022).

The edges (the HTTP error handler and the command line's one handler) know how to report a
``ShopShieldError``; anything else reaches the operator as a traceback. So a class defined in the
package that is not one is either a bug or a private control-flow signal.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import shopshield
from shopshield.core import errors
from shopshield.core.errors import (
    BadConfiguration,
    Conflict,
    Forbidden,
    InstanceFault,
    InvalidInput,
    NotFound,
    ShopShieldError,
    StoredDataTampered,
    exit_code,
)

# ``python -m shopshield`` runs the command line when imported, so it is not walked: it defines nothing.
SKIPPED_MODULES = frozenset({"shopshield.__main__"})


def _modules() -> list[str]:
    found = [shopshield.__name__]
    for info in pkgutil.walk_packages(shopshield.__path__, prefix=f"{shopshield.__name__}."):
        if info.name not in SKIPPED_MODULES:
            found.append(info.name)
    return found


def _exception_classes() -> list[type[BaseException]]:
    classes: dict[str, type[BaseException]] = {}
    for name in _modules():
        module = importlib.import_module(name)
        for _attr, value in inspect.getmembers(module, inspect.isclass):
            # Only classes defined in this package: imported ones are counted where they are defined.
            if issubclass(value, BaseException) and value.__module__.startswith(f"{shopshield.__name__}."):
                classes[f"{value.__module__}.{value.__qualname__}"] = value
    return list(classes.values())


def test_the_walk_finds_the_package() -> None:
    # A walk that found nothing would pass the test below without checking anything.
    names = {cls.__name__ for cls in _exception_classes()}
    assert {"CommitFailed", "KeyFileError", "ProofError", "InvalidIdentifier", "WitnessMissing"} <= names


def test_every_exception_is_a_shopshield_error() -> None:
    # Exempt: a class whose name starts with an underscore is a private control-flow signal (such
    # as core.db's _FirstMemberFailed), raised and caught inside its own module, never reported.
    strays = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _exception_classes()
        if not issubclass(cls, ShopShieldError) and not cls.__name__.startswith("_")
    )
    assert strays == [], f"exceptions outside ShopShieldError (give each a family in core.errors): {strays}"


def test_every_error_belongs_to_one_family() -> None:
    # The caller's, the operator's, or the instance's: never two, so the exit code is never a guess.
    caller = (InvalidInput, NotFound, Conflict, Forbidden, errors.Unauthenticated, errors.RecordedRefusal)
    for cls in _exception_classes():
        if not issubclass(cls, ShopShieldError) or cls in (ShopShieldError, errors.RecordedRefusal):
            continue
        families = [
            issubclass(cls, caller),
            issubclass(cls, BadConfiguration),
            issubclass(cls, InstanceFault),
        ]
        assert sum(families) == 1, f"{cls.__module__}.{cls.__qualname__} is in {sum(families)} families"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidInput("--limit: between 1 and 100"), 2),
        (NotFound("no such principal"), 2),
        (Conflict("already exists"), 2),
        (Forbidden("role lacks the permission"), 2),
        (BadConfiguration("SHOPSHIELD_PORT: between 1 and 65535"), 2),
        (InstanceFault("the commit failed"), 1),
        (StoredDataTampered("a stored field failed authentication"), 1),
    ],
)
def test_exit_codes_follow_the_family(error: ShopShieldError, code: int) -> None:
    assert exit_code(error) == code


def test_builtin_bases_are_kept_where_code_catches_them() -> None:
    # Code that catches ValueError or RuntimeError (pydantic validators among it) goes on catching these.
    from shopshield.audit.merkle import ProofError
    from shopshield.audit.witness import WitnessMissing, WitnessRefused
    from shopshield.core.db import CommitFailed
    from shopshield.core.normalize import InvalidIdentifier
    from shopshield.guard.engine import UnknownAttempt

    assert issubclass(ProofError, ValueError)
    assert issubclass(InvalidIdentifier, ValueError)
    assert issubclass(CommitFailed, RuntimeError)
    assert issubclass(WitnessMissing, RuntimeError)
    assert issubclass(WitnessRefused, RuntimeError)
    assert issubclass(UnknownAttempt, LookupError)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInput("limit: between 1 and 100"), 422),
        (NotFound("no such customer"), 404),
        (StoredDataTampered("a stored field failed authentication"), 500),
        # The two families new to ShopShieldError stay internal errors at the HTTP edge, as they
        # were before they joined it: never a 400 that blames the caller.
        (InstanceFault("the commit failed"), 500),
        (BadConfiguration("key file disappeared"), 500),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, ShopShieldError) else str(v),
)
def test_the_http_edge_keeps_its_statuses(error: ShopShieldError, status: int) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from shopshield.web import install_error_handlers

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise error

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == status
    if status == 500 and not isinstance(error, StoredDataTampered):
        assert error.message not in response.text  # the server's own 500, as before
