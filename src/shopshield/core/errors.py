"""Domain exceptions. They carry data; the HTTP and CLI edges turn them into responses.

Messages name the input that was wrong and what would be right, never a personal value.

Every error raised on purpose belongs to one of three families, which decide the command line's
exit code (decision 0022):

- the caller's: ``InvalidInput``, ``Unauthenticated``, ``NotFound``, ``Conflict``, ``Forbidden``
  and the recorded refusals (exit 2);
- ``BadConfiguration``: the operator's settings or files are wrong (exit 2);
- ``InstanceFault``: the instance itself failed: its key store, a database commit, the witness,
  stored data that no longer authenticates (exit 1).

A class that existing code catches as a builtin (``ValueError``, ``RuntimeError``, ...) keeps that
base beside its family, so those handlers go on working.
"""

from __future__ import annotations


class ShopShieldError(Exception):
    """Base of every error the edges know how to report."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ShopShieldError):
    code = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Unauthenticated(ShopShieldError):
    code = "unauthenticated"


class NotFound(ShopShieldError):
    code = "not_found"


class Conflict(ShopShieldError):
    code = "conflict"


class Forbidden(ShopShieldError):
    code = "forbidden"


class RateLimited(Forbidden):
    """Too many requests about one subject in a window: 429 with ``Retry-After``. Nothing was read,
    so nothing is recorded (unlike ``QuotaExceeded``, a refusal of a read of personal data)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotConfigured(Conflict):
    """The request needs a setting this instance lacks (409: the server's state, not the input)."""

    code = "not_configured"


class RecordedRefusal(ShopShieldError):
    """A refused access whose access event is already in the session and must be committed."""

    code = "refused"


class AccessDenied(RecordedRefusal, Forbidden):
    code = "forbidden"


class CustomerNotFound(RecordedRefusal, NotFound):
    code = "not_found"


class QuotaExceeded(RecordedRefusal):
    code = "quota_exceeded"

    def __init__(self, message: str, *, kind: str, limit: int) -> None:
        super().__init__(message)
        self.kind = kind
        self.limit = limit


class BadConfiguration(ShopShieldError):
    """The operator's settings or files are wrong: a variable, the policy, a key or config file."""

    code = "bad_configuration"


class InstanceFault(ShopShieldError):
    """The instance itself failed: nothing the caller sent, and nothing the operator can set right
    by changing a setting (a commit, the key store, the witness, tampered stored data)."""

    code = "instance_fault"


class StoredDataTampered(InstanceFault):
    """A stored ciphertext failed authentication: moved between rows or fields, or altered."""

    code = "integrity_error"


# The command line's exit codes (decision 0022). 1 is also a command's own "no" answer, such as
# ``audit verify`` finding the log tampered; 130 is an interrupt.
EXIT_FAULT = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# The caller's and the operator's families: a changed input or setting would have worked.
_USAGE = (InvalidInput, Unauthenticated, NotFound, Conflict, Forbidden, RecordedRefusal, BadConfiguration)


def exit_code(exc: ShopShieldError) -> int:
    """The exit code of a command that ended in ``exc``."""
    if isinstance(exc, InstanceFault):
        return EXIT_FAULT
    return EXIT_USAGE if isinstance(exc, _USAGE) else EXIT_FAULT
