"""Reading the values the operations pages take (canaries, breach response, notifications,
official channels): each one checked for its shape, and a refusal that names the field and the
rule, never the value. A phone number typed into the wrong box must not come back on an error
page, in a log line or in an access event's reason."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from shopshield.core.errors import InvalidInput

# A console form's text fields are short; anything longer is a mistake or a probe.
MAX_TEXT = 300


def text(values: Mapping[str, str], name: str, *, max_length: int = MAX_TEXT) -> str | None:
    """The field's value with surrounding blanks removed; None when absent or blank."""
    value = values.get(name)
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > max_length:
        raise InvalidInput(f"{name}: at most {max_length} characters", field=name)
    return value


def whole(values: Mapping[str, str], name: str, *, low: int, high: int) -> int | None:
    """A whole number from ``low`` to ``high``; None when absent or blank."""
    value = text(values, name, max_length=19)
    if value is None:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise InvalidInput(f"{name}: a whole number from {low} to {high}", field=name)
    return int(value)


def checked(values: Mapping[str, str], name: str) -> bool:
    """Whether a checkbox was ticked (browsers send it only then)."""
    return values.get(name, "") not in ("", "0", "false", "off")


def refusal(exc: ValidationError, what: str) -> InvalidInput:
    """A schema's refusal as ``InvalidInput``: where and which rule, without pydantic's own text
    when that would echo the value (its ``input``)."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "input"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    first = exc.errors()[0]["loc"] if exc.errors() else ()
    return InvalidInput(f"{what}: " + "; ".join(parts), field=str(first[0]) if first else None)
