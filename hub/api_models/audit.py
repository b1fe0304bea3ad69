"""The audit log as admins read it: the filter, one line, and a page of lines."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AuditLine", "AuditPage", "AuditQuery"]


class AuditQuery(BaseModel):
    """Which lines to show: by whom (username), which action (exact, or a prefix such as
    `agent` for `agent.created`, `agent.updated`...), between which UTC days."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    actor: str | None = Field(None, max_length=200)
    action: str | None = Field(None, max_length=64)
    since: date | None = None
    until: date | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=500)


class AuditLine(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    target: str
    change: dict[str, Any]
    address: str


class AuditPage(BaseModel):
    entries: list[AuditLine]
    next_cursor: str | None  # the next (older) page, if there is one
