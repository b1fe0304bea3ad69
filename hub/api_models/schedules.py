"""Business hours: which schedule (`hub.hours.Schedule`, the body of the schedule routes)
covers an inbox or a routing queue; the phone menu's body is `hub.phone_menu.PhoneMenu`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.hours import Schedule
from hub.phone_menu import PhoneMenu

__all__ = ["PhoneMenu", "Schedule", "ScheduleAttachment"]


class ScheduleAttachment(BaseModel):
    """A schedule (None: always open) for one inbox or one queue."""

    model_config = ConfigDict(extra="forbid")

    schedule_id: int | None = Field(ge=1)
    inbox_id: int | None = Field(None, ge=1)
    queue: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")

    @model_validator(mode="after")
    def _one_target(self) -> ScheduleAttachment:
        if (self.inbox_id is None) == (self.queue is None):
            raise ValueError("name either inbox_id or queue")
        return self
