"""Shapes every resource shares: names, codes, levels, page limits and the error body."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

__all__ = [
    "Copies",
    "Cursor",
    "EmailAddress",
    "Language",
    "Level",
    "Problem",
    "SkillName",
    "WholeNumber",
]

# A skill (and the queue named after it): lowercase letters, digits, - and _.
SkillName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
# A language code like en or pt-BR.
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2})?$")]
# Strict, so true or "5" is refused where a number is meant.
Level = Annotated[int, Field(strict=True, ge=1, le=10)]
WholeNumber = Annotated[int, Field(strict=True, ge=0, lt=2**31)]
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"[^@\s<>(),;:\"\[\]\\]{{1,64}}@{_LABEL}(?:\.{_LABEL})+")


def _email_address(value: str) -> str:
    address = value.strip()
    if len(address) > 254 or not _EMAIL.fullmatch(address):
        raise ValueError(f"{address or 'nothing'} is not an email address.")
    return address


# One mailbox, as in name@example.com (no display name, no list).
EmailAddress = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email_address)]
# Who else an email goes to (CC or BCC): at most 20 addresses.
Copies = Annotated[list[EmailAddress], Field(max_length=20)]
# An opaque page position the hub gave out; clients hand it back, never build one.
Cursor = Annotated[str, StringConstraints(max_length=200)]


class Problem(BaseModel):
    """What every refusal answers: a sentence, and the field at fault when there is one."""

    error: str
    field: str | None = None
