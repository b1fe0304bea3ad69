"""Queues: an inbox (one address on one channel) as admins set it, its live figures,
queue limits and the supervisor's statistics window."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from hub.api_models.common import Cursor, Language, Level, SkillName

__all__ = [
    "LimitIn",
    "QueueChange",
    "QueueIn",
    "QueueLive",
    "QueueList",
    "QueueOut",
    "QueueQuery",
    "ForecastQuery",
    "StatsQuery",
]

DAY = 86400.0


def _empty_is_none(value: object) -> object:
    return None if value == "" else value


class QueueChange(BaseModel):
    """Fields an admin changes on a queue; those left out stay. A queue's channel
    never changes (add a new queue instead); an empty skill means any agent."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, max_length=200)
    address: str | None = Field(None, min_length=1, max_length=320)
    skill: Annotated[SkillName | None, BeforeValidator(_empty_is_none)] = None
    skill_level: Level | None = None
    language: Language | None = None
    # Ends what agents send from this inbox, after their own signature.
    signature: str | None = Field(None, max_length=2000)


class QueueIn(QueueChange):
    channel: str = Field(min_length=1, max_length=16)  # one the hub runs (the handler checks)
    address: str = Field(min_length=1, max_length=320)


class QueueOut(BaseModel):
    id: int
    channel: str
    address: str
    name: str
    skill: str
    skill_level: int
    language: str
    signature: str


class QueueLive(QueueOut):
    """A queue with what is happening in it now."""

    waiting: int  # contacts in the live queue, offered or not
    longest_wait_seconds: float | None
    assigned: int  # conversations agents hold now


class QueueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: str | None = Field(None, max_length=16)
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=200)


class QueueList(BaseModel):
    queues: list[QueueLive]
    next_cursor: str | None


class StatsQuery(BaseModel):
    """Seconds: the window statistics cover (at most a month), the answer-time target."""

    window: float = Field(3600.0, allow_inf_nan=False, le=31 * DAY)
    target: float = Field(20.0, allow_inf_nan=False, le=DAY)


class ForecastQuery(BaseModel):
    """How far ahead to look (minutes), the answer-time target (seconds) and the share
    of contacts to answer within it."""

    model_config = ConfigDict(extra="forbid")

    horizon: int = Field(15, ge=1, le=240)
    target: float = Field(20.0, allow_inf_nan=False, ge=1, le=DAY)
    level: float = Field(0.8, allow_inf_nan=False, gt=0, lt=1)


class LimitIn(BaseModel):
    """Limits on a routing queue (a skill's, or general), on one channel or, with a null
    channel, every channel; a null limit lifts it. Past a limit, contacts move to the
    overflow queue, or are turned away when there is none."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: SkillName
    channel: Annotated[str | None, BeforeValidator(_empty_is_none)] = Field(None, max_length=16)
    max_waiting: Annotated[int, Field(strict=True, ge=0, le=100_000)] | None = None
    max_wait_seconds: Annotated[int, Field(strict=True, ge=0, le=7 * 24 * 3600)] | None = None
    overflow_queue: Annotated[SkillName | None, BeforeValidator(_empty_is_none)] = None
