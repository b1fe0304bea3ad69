"""Webhooks: an admin's subscription of a URL to event types, and its delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hub.api_models.common import Cursor
from hub.events import WEBHOOK_EVENTS

__all__ = [
    "AttemptOut",
    "DeliveryOut",
    "DeliveryPage",
    "DeliveryQuery",
    "EventTypes",
    "SubscriptionChange",
    "SubscriptionCreated",
    "SubscriptionIn",
    "SubscriptionOut",
    "WebhookList",
    "WebhookQuery",
]


def _known_types(types: list[str]) -> list[str]:
    unknown = sorted(set(types) - set(WEBHOOK_EVENTS))
    if unknown:
        raise ValueError(f"not an event type: {', '.join(unknown)} (see /api/admin/webhook-events)")
    return list(dict.fromkeys(types))


EventTypeList = Annotated[
    list[Annotated[str, Field(max_length=64)]],
    Field(min_length=1, max_length=64),
    AfterValidator(_known_types),
]
Url = Annotated[str, Field(max_length=2000, pattern=r"^https?://[^\s/?#]+[^\s]*$")]


class SubscriptionChange(BaseModel):
    """Fields an admin changes on a subscription; those left out stay."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: Url | None = None
    event_types: EventTypeList | None = None
    description: str | None = Field(None, max_length=200)
    active: bool | None = None


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: Url
    event_types: EventTypeList
    description: str = Field("", max_length=200)


class SubscriptionOut(BaseModel):
    id: int
    url: str
    description: str
    event_types: list[str]
    active: bool
    created_at: datetime
    pending: int  # deliveries not yet made or given up
    failed: int  # deliveries given up


class SubscriptionCreated(SubscriptionOut):
    secret: str  # whsec_...: shown this once, to verify signatures with


class EventTypes(BaseModel):
    event_types: list[str]


class AttemptOut(BaseModel):
    at: datetime
    status_code: int | None
    error: str
    duration_ms: int


class DeliveryOut(BaseModel):
    id: int
    event_id: int
    event_type: str
    customer_id: int | None
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str
    next_attempt_at: datetime
    delivered_at: datetime | None
    created_at: datetime
    log: list[AttemptOut]  # newest first


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["pending", "delivered", "failed"] | None = None
    cursor: Cursor | None = None
    limit: int = Field(25, ge=1, le=100)


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryOut]
    next_cursor: str | None


class WebhookQuery(BaseModel):
    """A page of subscriptions on /api/v1/webhooks, lowest id first."""

    model_config = ConfigDict(extra="forbid")

    cursor: Cursor | None = None
    limit: int = Field(25, ge=1, le=100)


class WebhookList(BaseModel):
    webhooks: list[SubscriptionOut]
    next_cursor: str | None
