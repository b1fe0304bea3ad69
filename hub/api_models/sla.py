"""SLA policies: conditions (null: any) and targets in seconds, as admins write them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.api_models.common import SkillName

__all__ = ["SlaPolicyIn", "SlaPolicyOut"]

# A target: at least a second, at most a year.
Seconds = Annotated[int, Field(strict=True, ge=1, le=366 * 24 * 3600)]
ChannelName = Literal["chat", "email", "sms", "whatsapp", "voice"]


class SlaPolicyIn(BaseModel):
    """A whole policy, as created (POST) or replaced (PUT)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    queue: SkillName | None = None
    channel: ChannelName | None = None
    priority: Annotated[int, Field(strict=True, ge=-1000, le=1000)] | None = None
    segment: str | None = Field(None, min_length=1, max_length=32)
    first_response: Seconds | None = None
    next_response: Seconds | None = None
    resolution: Seconds | None = None
    business_hours: bool = True
    warn_at: float = Field(0.75, gt=0, lt=1)

    def has_target(self) -> bool:
        targets = (self.first_response, self.next_response, self.resolution)
        return any(t is not None for t in targets)


class SlaPolicyOut(SlaPolicyIn):
    id: int
