"""Conversations: search hits, label edits, and what the public API lists and shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.api_models.common import Copies, Cursor, SkillName
from hub.api_models.customers import Labels

__all__ = [
    "ConversationChange",
    "ConversationDetail",
    "ConversationHits",
    "ConversationList",
    "ConversationQuery",
    "ConversationStart",
    "ConversationStarted",
    "ConversationSummary",
    "MessageHit",
    "MessageOut",
    "Piece",
    "SearchQuery",
]


class ConversationChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: Labels


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    q: str = Field(min_length=1, max_length=200)
    channel: str | None = Field(None, max_length=16)
    status: str | None = Field(None, max_length=16)
    agent_id: int | None = Field(None, ge=1, lt=2**31)
    # The queue it is in or was last in: a skill, or "general" for none.
    queue: SkillName | None = None
    label: str | None = Field(None, max_length=40)
    since: datetime | None = None
    until: datetime | None = None
    cursor: Cursor | None = None
    limit: int = Field(20, ge=1, le=50)


class Piece(BaseModel):
    text: str
    hit: bool


class MessageHit(BaseModel):
    message_id: int
    direction: str
    at: datetime
    snippet: list[Piece]
    conversation_id: int
    channel: str
    status: str
    subject: str
    agent_id: int | None
    queue: str
    customer_id: int
    customer_name: str


class ConversationHits(BaseModel):
    hits: list[MessageHit]
    next_cursor: str | None


class ConversationQuery(BaseModel):
    """Filters on the conversation list, newest activity first; `since` and `until`
    bound when the conversation was last active."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: str | None = Field(None, max_length=16)
    status: str | None = Field(None, max_length=16)
    queue_id: int | None = Field(None, ge=1, lt=2**31)
    agent_id: int | None = Field(None, ge=1, lt=2**31)
    customer_id: int | None = Field(None, ge=1, lt=2**31)
    since: datetime | None = None
    until: datetime | None = None
    cursor: Cursor | None = None
    limit: int = Field(25, ge=1, le=100)


class ConversationSummary(BaseModel):
    id: int
    customer_id: int
    queue_id: int
    channel: str
    status: str
    subject: str
    agent_id: int | None
    labels: list[str]
    disposition: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class ConversationList(BaseModel):
    conversations: list[ConversationSummary]
    next_cursor: str | None


class MessageOut(BaseModel):
    id: int
    direction: str  # incoming | outgoing | note
    channel: str
    sender: str
    agent_id: int | None
    subject: str
    text: str
    delivery_status: str
    attachments: list[dict[str, Any]]
    at: datetime


class ConversationDetail(ConversationSummary):
    messages: list[MessageOut]


class ConversationStart(BaseModel):
    """A conversation an agent starts from a customer's page: on `channel`, to one of the
    customer's addresses, from one of the hub's inboxes; `subject` for email."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(max_length=16)
    address: str = Field(min_length=1, max_length=320)
    inbox_id: int = Field(strict=True, ge=1, lt=2**31)
    subject: str = Field("", max_length=300)
    text: str = Field(max_length=20_000)
    cc: Copies = []
    bcc: Copies = []


class ConversationStarted(BaseModel):
    conversation_id: int
    message_id: int
    delivery_status: str  # queued | sent | delivered | read | failed
