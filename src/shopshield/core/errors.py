"""Domain exceptions. They carry data; the HTTP and CLI edges turn them into responses.

Messages name the input that was wrong and what would be right, never a personal value.
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


class StoredDataTampered(ShopShieldError):
    """A stored ciphertext failed authentication: moved between rows or fields, or altered."""

    code = "integrity_error"
