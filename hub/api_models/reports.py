"""Reports on /api/v1/reports: the queue statistics and CSAT figures supervisors read in
the console, in the same shapes, and the voice-of-customer report (insights.api)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from hub.models import utcnow

__all__ = [
    "CsatQuery",
    "CsatReport",
    "CsatRow",
    "OpsQuery",
    "QueueLineOut",
    "QueueStatsOut",
    "VocQuery",
    "VocReportOut",
    "VocTopicOut",
]

DEFAULT_PERIOD = timedelta(days=7)
LONGEST_PERIOD = timedelta(days=366)


class QueueLineOut(BaseModel):
    queue: str  # a skill, or general
    channel: str
    waiting: int
    longest_wait: float  # seconds


class QueueStatsOut(BaseModel):
    """Live and recent figures over the last `window_seconds` (routing.stats)."""

    window_seconds: float
    target_seconds: float
    lines: list[QueueLineOut]
    answered: int
    abandoned: int
    rejected: int
    service_level: float | None  # share answered within target_seconds
    average_speed_of_answer: float | None
    abandon_rate: float | None
    arrivals_per_hour: float
    average_handle_seconds: float
    agents_by_state: dict[str, int]
    occupancy: float | None
    agents_needed: int
    erlang: dict[str, float]


class Period(BaseModel):
    """A report's period (ISO 8601; without a zone, UTC): the last 7 days unless said
    otherwise, a year at most."""

    since: datetime | None = None
    until: datetime | None = None

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @model_validator(mode="after")
    def _period(self) -> Self:
        until = self.until or utcnow()
        try:
            since = self.since or until - DEFAULT_PERIOD
        except OverflowError:
            raise ValueError("until is too early") from None
        if since >= until:
            raise ValueError("since must come before until")
        if until - since > LONGEST_PERIOD:
            raise ValueError("the period is a year at most")
        self.since, self.until = since, until
        return self


class CsatQuery(Period):
    """Which grouping, over the period."""

    by: Literal["agent", "queue", "channel"] = "agent"


class CsatRow(BaseModel):
    key: int | str | None  # the agent's id, the queue's or the channel's name
    label: str
    answers: int
    satisfied: int  # ratings of 4 or 5
    csat: float | None  # satisfied / answers
    average: float | None


class CsatFigures(BaseModel):
    answers: int
    satisfied: int
    csat: float | None
    average: float | None


class CsatReport(BaseModel):
    by: Literal["agent", "queue", "channel"]
    since: datetime
    until: datetime
    rows: list[CsatRow]  # most answers first
    total: CsatFigures


class OpsQuery(Period):
    """The operations report's grouping, bucket, output and the service level's target
    in seconds, over the period."""

    by: Literal["queue", "agent", "channel"] = "queue"
    bucket: Literal["hour", "day", "week"] = "day"
    format: Literal["json", "csv"] = "json"
    target: float = Field(default=20.0, gt=0, le=86400)


class VocQuery(BaseModel):
    """The voice-of-customer window: `since` is a span back from `until` (`7d`, `12w`,
    `48h`) or an ISO 8601 date or time; `until` is now unless said. A year at most."""

    since: str = Field(default="7d", max_length=40)
    until: datetime | None = None
    topics: int = Field(default=12, ge=1, le=100)  # how many topics to find at most

    @field_validator("until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class VocCsat(BaseModel):
    answers: int  # ratings given on the topic's conversations
    csat: float | None  # share of 4 and 5 among them
    average: float | None  # mean rating, 1-5


class VocTopicOut(BaseModel):
    name: str
    source: Literal["taxonomy", "discovered", "other"]
    key_phrases: list[str]
    count: int  # contacts on the topic
    share: float  # of all contacts in the period
    sentiment: float  # mean score, -1 (negative) to 1 (positive)
    negative_share: float
    rising: bool  # an ongoing spike in the topic's daily contacts
    growth_7d: float | None  # the last 7 days over the 7 before; None from nothing
    csat: VocCsat


class VocReportOut(BaseModel):
    """Topics most contacts first (the catch-all "Other" last)."""

    since: datetime
    until: datetime
    contacts: int
    topics: list[VocTopicOut]
    rising: list[str]  # names of the rising topics
