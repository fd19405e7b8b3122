"""Input schemas for principals."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from shopshield.core.ids import NotPersonal, RecordId
from shopshield.core.schemas import Strict


class PrincipalIn(Strict):
    # A login-style name, shown in access reports: never a person's mobile or e-mail.
    name: Annotated[str, StringConstraints(min_length=1, max_length=100), NotPersonal]
    role: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
    link_id: RecordId | None = None
    principal_id: RecordId | None = None
