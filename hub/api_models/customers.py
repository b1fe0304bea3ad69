"""Customers: the directory search, the customer record, edits, notes, and what the
public API creates and upserts."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hub.api_models.common import Cursor

__all__ = [
    "AddressIn",
    "AddressOut",
    "AddressState",
    "AttributeField",
    "ConversationLine",
    "CustomerChange",
    "CustomerHit",
    "CustomerIn",
    "CustomerRecord",
    "CustomerResults",
    "CustomerUpsert",
    "Event",
    "Labels",
    "NoteIn",
    "PossibleDuplicate",
    "SearchParams",
    "Timeline",
    "normalize_labels",
]

MAX_LABELS = 30
_LABEL = re.compile(r"^[\w][\w .:/-]{0,39}$")
_LANGUAGE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
_SEGMENT = r"^[a-z0-9_-]{1,32}$"


def normalize_labels(labels: list[str]) -> list[str]:
    """Trimmed, lowercase, each once, in the order given; refuses what is not a label."""
    found: list[str] = []
    for raw in labels:
        label = " ".join(raw.split()).lower()
        if not _LABEL.match(label):
            raise ValueError(
                f"{raw!r} is not a label: up to 40 letters, digits, spaces and . : / - _"
            )
        if label not in found:
            found.append(label)
    if len(found) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels")
    return found


Labels = Annotated[list[str], AfterValidator(normalize_labels)]


class SearchParams(BaseModel):
    """The query string of a directory search."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    q: str = Field("", max_length=200)
    segment: str | None = Field(None, max_length=32)
    label: str | None = Field(None, max_length=40)
    channel: str | None = Field(None, max_length=16)
    open: bool | None = None
    since: datetime | None = None
    # A custom attribute's key and the value it should have (both, or neither).
    attribute: str | None = Field(None, max_length=40)
    value: str | None = Field(None, max_length=500)
    cursor: Cursor | None = None
    limit: int = Field(25, ge=1, le=100)


class AddressOut(BaseModel):
    channel: str
    address: str
    opted_out: bool


class CustomerHit(BaseModel):
    id: int
    name: str
    shown_as: str  # the name, or the best thing known instead (hub.customer_label)
    segment: str
    labels: list[str]
    external_id: str | None
    addresses: list[AddressOut]
    last_contact_at: datetime | None
    open_conversations: int
    match: str | None  # how the query found them; None when listing without a query
    score: float | None


class CustomerResults(BaseModel):
    customers: list[CustomerHit]
    next_cursor: str | None


class AddressState(BaseModel):
    channel: str
    address: str
    opted_out: bool
    opted_out_at: datetime | None
    since: datetime


class ConversationLine(BaseModel):
    id: int
    channel: str
    status: str
    subject: str
    labels: list[str]
    agent_id: int | None
    agent_name: str | None
    disposition: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class Event(BaseModel):
    id: int
    kind: str
    label: str
    summary: str
    conversation_id: int | None
    agent_id: int | None
    agent_name: str | None
    data: dict[str, Any]
    at: datetime


class Timeline(BaseModel):
    events: list[Event]
    next_cursor: str | None


class PossibleDuplicate(BaseModel):
    link_id: int
    probability: float
    customer_id: int
    name: str
    segment: str


class AttributeField(BaseModel):
    """A custom attribute as the customer page shows it: its definition and this
    customer's value (None when unset)."""

    key: str
    label: str
    kind: str
    options: list[str]
    value: Any


class CustomerRecord(BaseModel):
    id: int
    name: str
    shown_as: str  # the name, or the best thing known instead (hub.customer_label)
    segment: str
    language: str | None
    labels: list[str]
    attributes: list[AttributeField]
    external_id: str | None
    details: dict[str, Any]
    created_at: datetime
    merged_into_id: int | None
    erased_at: datetime | None  # erased on request: nothing here names anyone any more
    addresses: list[AddressState]
    conversations: list[ConversationLine]
    possible_duplicates: list[PossibleDuplicate]
    timeline: Timeline


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=5000)


class CustomerChange(BaseModel):
    """What an agent (PATCH /api/customers/{id}) or an integration (PATCH
    /api/v1/customers/{id}) may change on a customer; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=1, max_length=200)
    segment: str | None = Field(None, pattern=_SEGMENT)
    language: str | None = Field(None, pattern=_LANGUAGE)
    labels: Labels | None = None
    # Custom attributes by key; None removes a value. Each is checked against its
    # attribute's kind by hub.customer_attributes, which needs the stored definitions.
    attributes: dict[str, Any] | None = Field(None, max_length=100)


class AddressIn(BaseModel):
    """An address to reach the customer at: an email, or a phone number (any format;
    stored as E.164) for sms, whatsapp or voice."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Literal["email", "sms", "whatsapp", "voice"]
    address: str = Field(min_length=3, max_length=320)


# Details an integration keeps on the customer (plan, account number, ...): short texts.
Details = dict[
    Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")], Annotated[str, Field(max_length=500)]
]


class CustomerUpsert(BaseModel):
    """A customer as the integration's system holds it (PUT by external id): the name,
    segment, language, labels and details given replace the hub's; addresses are added
    and the attributes given are set."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    segment: str = Field("standard", pattern=_SEGMENT)
    language: str | None = Field(None, pattern=_LANGUAGE)
    labels: Labels = []
    details: Details = Field(default_factory=dict, max_length=50)
    addresses: list[AddressIn] = Field(default_factory=list, max_length=20)
    # Custom attributes by key (an admin defines them); those left out stay as they are.
    attributes: dict[str, Any] | None = Field(None, max_length=100)


class CustomerIn(CustomerUpsert):
    """A new customer (POST), with the integration's own id for them if it has one."""

    external_id: str | None = Field(None, min_length=1, max_length=128, pattern=r"^\S(.*\S)?$")
