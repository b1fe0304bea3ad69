"""API tokens as admins create and list them on the settings page."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Scope", "TokenCreated", "TokenIn", "TokenOut"]

Scope = Literal[
    "customers:read",
    "customers:write",
    "conversations:read",
    "messages:send",
    "reports:read",
    "admin",
]


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str  # the token's first characters, to tell tokens apart
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str  # shown this once; the hub keeps only its hash
