"""Agents: what an admin sets on an agent, and how agents are listed (the settings
page and GET /api/v1/agents)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.api_models.common import Cursor, Language, Level, SkillName, WholeNumber

__all__ = [
    "AgentChange",
    "AgentIn",
    "AgentList",
    "AgentOut",
    "AgentQuery",
    "PresenceChange",
    "Role",
    "SignatureIn",
]

Role = Literal["agent", "supervisor", "admin", "analyst"]
MAX_CAPACITY = 50
MAX_SIGNATURE = 2000
USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"


class AgentChange(BaseModel):
    """Fields an admin changes on an agent; those left out stay. The password is hashed
    before it is stored; capacities name channels the hub runs (checked by the handler)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str | None = Field(None, pattern=USERNAME)
    display_name: str | None = Field(None, max_length=200)
    team: str | None = Field(None, max_length=64)
    role: Role | None = None
    active: bool | None = Field(None, strict=True)
    password: str | None = Field(None, max_length=200)
    skills: dict[SkillName, Level] | None = None
    languages: list[Language] | None = Field(None, max_length=20)
    capacities: dict[str, WholeNumber] | None = None
    signature: str | None = Field(None, max_length=MAX_SIGNATURE)


class AgentIn(AgentChange):
    username: str = Field(pattern=USERNAME)
    password: str = Field(min_length=1, max_length=200)


class AgentOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    team: str
    active: bool
    status: str  # available | away | offline
    skills: dict[str, int]
    languages: list[str]
    capacities: dict[str, int]
    signature: str


class PresenceChange(BaseModel):
    """What an agent sets for themselves: their status and, when away, why (one of the
    hub's away reasons, checked by the handler)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: Literal["available", "away", "offline"]
    reason: str | None = Field(None, max_length=64)


class AgentQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    role: Role | None = None
    team: str | None = Field(None, max_length=64)
    active: bool | None = None
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=200)


class AgentList(BaseModel):
    agents: list[AgentOut]
    next_cursor: str | None


class SignatureIn(BaseModel):
    """An agent's own signature; empty for none."""

    model_config = ConfigDict(extra="forbid")

    signature: str = Field(max_length=MAX_SIGNATURE)
