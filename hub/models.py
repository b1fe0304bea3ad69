"""The database schema: the source of truth for every contact, conversation and agent."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates
from sqlalchemy.sql.expression import true
from sqlalchemy.types import TypeDecorator

from hub.names import name_key, surname_key


class ConversationStatus(StrEnum):
    """Where a conversation stands: queued -> offered -> assigned -> closed, or abandoned
    by a customer who left first. A rejected or expired offer puts it back to queued."""

    QUEUED = "queued"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    CLOSED = "closed"
    ABANDONED = "abandoned"


# Still in someone's hands or waiting for them: new contacts from the customer join it.
OPEN_STATUSES = (ConversationStatus.QUEUED, ConversationStatus.OFFERED, ConversationStatus.ASSIGNED)
# Not yet taken by an agent.
WAITING_STATUSES = (ConversationStatus.QUEUED, ConversationStatus.OFFERED)


class MessageDirection(StrEnum):
    """Who wrote a message: the customer, an agent to the customer, or an internal note."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"
    NOTE = "note"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use hub.models.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class BusinessHours(Base):
    """A named schedule (hub.hours.Schedule as stored): time zone, weekly hours, holidays."""

    __tablename__ = "business_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    weekly: Mapped[dict[str, Any]] = mapped_column(default=dict)
    holidays: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class QueueHours(Base):
    """The business hours of a routing queue (a skill, or "general"), across its inboxes."""

    __tablename__ = "queue_hours"

    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("business_hours.id"), index=True)


class Inbox(Base):
    """One configured entry point: an email address, a phone number or a chat widget."""

    __tablename__ = "inboxes"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    skill: Mapped[str | None] = mapped_column(String(64))
    skill_level: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the team behind it is open (None: always).
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("business_hours.id"), index=True)
    # Ends what agents send from it, after their own signature (see signed_channels).
    signature: Mapped[str] = mapped_column(Text, default="", server_default="")


def _inserted_name(context: DefaultExecutionContext) -> str:
    parameters: dict[str, Any] = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return str(parameters.get("name") or "")


def _inserted_name_key(context: DefaultExecutionContext) -> str:
    return name_key(_inserted_name(context))


def _inserted_surname_key(context: DefaultExecutionContext) -> str:
    return surname_key(_inserted_name(context))


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # The name in search-key form, as written and surname first (hub.names): the
    # directory finds a customer by typing the start of either. Kept by `_keep_keys`
    # for the ORM and by the defaults below for Core inserts.
    name_key: Mapped[str] = mapped_column(
        String(200),
        default=_inserted_name_key,
        server_default="",
        index=True,
    )
    surname_key: Mapped[str] = mapped_column(
        String(200),
        default=_inserted_surname_key,
        server_default="",
        index=True,
    )
    segment: Mapped[str] = mapped_column(String(32), default="standard")
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What recognises the customer besides addresses: birth_date, street, city, postcode...
    details: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # Set when merged into another customer (see CustomerMerge, which can undo it).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # The language to answer in (e.g. "en", "pt-BR"), when known; labels people gave.
    language: Mapped[str | None] = mapped_column(String(16))
    labels: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    # Set when the customer was erased on request (hub.erasure): the row stays, so their
    # conversations still count, but nothing on it or them identifies anyone.
    erased_at: Mapped[datetime | None] = mapped_column()

    @validates("name")
    def _keep_keys(self, _key: str, name: str) -> str:
        self.name_key, self.surname_key = name_key(name or ""), surname_key(name or "")
        return name


class CustomerAttribute(Base):
    """A field admins add to every customer's record, typed (hub.customer_attributes).

    The key is what the API and filters name; the label is what people read and may be
    renamed. Values are kept per customer in `CustomerAttributeValue`."""

    __tablename__ = "customer_attributes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # text | number | date | boolean | list
    options: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")  # for list
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerAttributeValue(Base):
    """One customer's value of one custom attribute; `value_key` is its canonical text,
    indexed so the directory filters by value."""

    __tablename__ = "customer_attribute_values"
    __table_args__ = (Index("ix_customer_attribute_values_lookup", "attribute_id", "value_key"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    attribute_id: Mapped[int] = mapped_column(
        ForeignKey("customer_attributes.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[Any] = mapped_column(JSON)
    value_key: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerMerge(Base):
    """Two customers made one: which rows moved to the survivor, so it can be undone."""

    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column()


class CustomerLink(Base):
    """A new customer who is possibly the same as a stored one, for a person to decide."""

    __tablename__ = "customer_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    probability: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when merged (merge_id) or dismissed as not the same person.
    resolved_at: Mapped[datetime | None] = mapped_column()
    merge_id: Mapped[int | None] = mapped_column(ForeignKey("customer_merges.id"))


class CustomerAddress(Base):
    """How a customer is reached on one channel: unique per channel, so it identifies them."""

    __tablename__ = "customer_addresses"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the customer asked not to be contacted at this address (SMS STOP).
    opted_out_at: Mapped[datetime | None] = mapped_column()


class ChatVisitor(Base):
    """A web chat visitor (one widget token) and the name and email they gave in the chat.

    Kept per visitor, not read back from the customer record: typing a known email links
    the chat to that customer, but shows the visitor nothing of the record.
    """

    __tablename__ = "chat_visitors"

    visitor: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    channel: Mapped[str] = mapped_column(String(16))
    # queued -> offered -> assigned -> closed; a rejected or expired offer goes back to queued.
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    required_skill: Mapped[str | None] = mapped_column(String(64))
    # The skill level it needs, and the routing rules that decided skill and priority.
    min_level: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    routing_rules: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    language: Mapped[str] = mapped_column(String(8), default="en")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    subject: Mapped[str] = mapped_column(String(300), default="")
    thread_key: Mapped[str | None] = mapped_column(String(200), index=True)
    disposition: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    # Where agents' replies go when not back on `channel`: a web chat whose visitor left
    # an email while nobody was online continues by email. `reply_address` alone (no
    # `reply_channel`): the address an agent started the conversation with.
    # When it started waiting, for one that arrived while its team was closed: the next
    # opening. Speed of answer and service level count from then (None: from created_at).
    waits_from: Mapped[datetime | None] = mapped_column()
    reply_channel: Mapped[str | None] = mapped_column(String(16))
    reply_address: Mapped[str | None] = mapped_column(String(320))
    labels: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    # Set when its texts and addresses were removed (erasure or the channel's retention).
    anonymised_at: Mapped[datetime | None] = mapped_column(index=True)


class Message(Base):
    __tablename__ = "messages"
    # NULLs are distinct in both SQLite and PostgreSQL, so outgoing messages
    # without a provider id never collide; incoming ones are deduplicated here.
    # Provider ids are looked up too: delivery callbacks, and email replies' In-Reply-To.
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_messages_channel_provider_id", "channel", "provider_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16))  # incoming | outgoing | note
    external_id: Mapped[str | None] = mapped_column(String(200))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    # The whole text as received, when `text` holds only its new part (an email's quotes cut).
    full_text: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    # received | queued | sent | delivered | read | failed
    delivery_status: Mapped[str] = mapped_column(String(16), default="received")
    # What the provider answered on sending, or why it failed: shown to the agent.
    delivery_detail: Mapped[str | None] = mapped_column(String(500))
    provider_id: Mapped[str | None] = mapped_column(String(200))
    # An agent's email also sent to these (CC, shown in the thread) and, unseen by the
    # other recipients, to these (BCC, shown to agents only).
    cc: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    bcc: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    raw: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="agent")  # agent | supervisor | admin
    status: Mapped[str] = mapped_column(String(16), default="offline")  # available | away | offline
    # Why the agent stepped away (one of SWITCHBOARD_AWAY_REASONS), while status is away.
    away_reason: Mapped[str | None] = mapped_column(String(64))
    languages: Mapped[list[Any]] = mapped_column(default=list)
    capacities: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_assigned_at: Mapped[datetime | None] = mapped_column()
    # Offers missed in a row; at the policy's limit the agent is set away.
    missed_offers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    wrap_up_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    team: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # A deactivated agent cannot sign in, and their sessions stop working at once.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Ends the agent's messages on signed channels (set by the agent or an admin).
    signature: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The agent's own phone (E.164): their calls ring it instead of the console's softphone.
    ring_number: Mapped[str | None] = mapped_column(String(32))


class AgentSession(Base):
    """A signed-in console: the cookie names it, signing out or a password reset ends it.

    Only a hash of the cookie's secret part is kept, so the table alone signs no one in.
    """

    __tablename__ = "agent_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A key an integration (a CRM, an order system) uses on /api/v1, with what it may do.

    Only a SHA-256 of the token is kept (see hub.api_tokens), so the table alone opens
    nothing; `prefix` is the token's start, shown on the admin page to tell tokens apart.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class AgentSkill(Base):
    __tablename__ = "agent_skills"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    skill: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, default=5)


class QueueEntry(Base):
    """A conversation waiting for an agent; the live queue is rebuilt from these rows."""

    __tablename__ = "queue_entries"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    required_skill: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    declined_by: Mapped[list[Any]] = mapped_column(default=list)
    # When an agent last declined or missed it: after a cool-down they may have it back,
    # should nobody else be able to take it.
    declined_at: Mapped[datetime | None] = mapped_column()
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    min_level: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # When it joined the queue it waits in now (None: at enqueued_at); an overflow resets
    # this but not enqueued_at, so the contact keeps its age for priority.
    entered_at: Mapped[datetime | None] = mapped_column()
    # The queues it overflowed from, oldest first: it never overflows back into one.
    overflowed_from: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    rules: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")  # as above


class RoutingQueue(Base):
    """Limits on one queue (a skill, or "general"), optionally for one channel only.

    A contact arriving when `max_waiting` wait already, or waiting longer than
    `max_wait_seconds`, moves to `overflow_queue`; see docs/routing.md.
    """

    __tablename__ = "routing_queues"
    __table_args__ = (UniqueConstraint("name", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(16))  # None: every channel
    max_waiting: Mapped[int | None] = mapped_column(Integer)
    max_wait_seconds: Mapped[int | None] = mapped_column(Integer)
    overflow_queue: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Offer(Base):
    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()


class TimelineEvent(Base):
    """One line of a customer's history: contacts, replies, notes, assignments, outcomes."""

    __tablename__ = "timeline_events"
    # The customer page reads a long history a page at a time, newest first.
    __table_args__ = (
        Index("ix_timeline_events_customer_created", "customer_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    kind: Mapped[str] = mapped_column(String(48))
    summary: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnowledgeArticle(Base):
    """A Markdown answer agents can send; suggestions search its title, questions, tags, body."""

    __tablename__ = "knowledge_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A stable name (from the file name on import), so re-importing updates, never duplicates.
    slug: Mapped[str | None] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    questions: Mapped[list[Any]] = mapped_column(default=list)  # what customers ask
    products: Mapped[list[Any]] = mapped_column(default=list)  # products or queues it applies to
    state: Mapped[str] = mapped_column(String(16), default="published")  # draft|published|archived
    author: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Indexed: the search index checks max(updated_at) to know when to rebuild.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ArticleVersion(Base):
    """An article as it was saved once; every create and update adds one."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_articles.id"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    questions: Mapped[list[Any]] = mapped_column(default=list)
    products: Mapped[list[Any]] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleFeedback(Base):
    """An agent's verdict on a suggestion for a question: helpful, unhelpful or inserted."""

    __tablename__ = "article_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_articles.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    question: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(16))  # helpful | unhelpful | inserted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnowledgeGap(Base):
    """A question no article answered well enough: work for whoever writes articles."""

    __tablename__ = "knowledge_gaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # the question, normalized
    question: Mapped[str] = mapped_column(Text)
    misses: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class WrapUpCode(Base):
    """An outcome agents close a conversation with, defined by admins. A retired code is
    offered no more, yet still names the outcome of conversations closed with it."""

    __tablename__ = "wrap_up_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What conversations store as their disposition: never changes once created.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    retired_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Macro(Base):
    """A canned reply plus actions an agent applies to a conversation in one go, defined by
    admins: `actions` is a list like [{"type": "label", "label": "refund"}, {"type":
    "close", "code": "resolved"}] (hub.api_models.macros)."""

    __tablename__ = "macros"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    reply: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WhatsAppTemplate(Base):
    """A message template WhatsApp approved, sent through Twilio's Content API by its
    Content SID (`HX...`); the only kind of message WhatsApp takes once the customer's
    24-hour window has closed. `body` is its text with {{1}}-style variables, as agents
    see it before sending."""

    __tablename__ = "whatsapp_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    content_sid: Mapped[str] = mapped_column(String(34))
    language: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CannedResponse(Base):
    """A prepared reply agents insert by shortcut; placeholders like {customer.name} get filled."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    shortcut: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Call(Base):
    """One phone call leg: a caller on hold, a callback request, or our call back out.

    Twilio's status callbacks move `status` forward only; `offer_id` is the offer whose
    acceptance connected this call to an agent, so each acceptance does it once.
    """

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)  # Twilio's CallSid
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # queue | callback_request | callback
    number: Mapped[str] = mapped_column(String(64), default="")  # the customer's, E.164
    # queued | ringing | in-progress | completed | busy | no-answer | failed | canceled
    status: Mapped[str] = mapped_column(String(16), default="in-progress")
    duration: Mapped[int | None] = mapped_column(Integer)  # seconds, once completed
    queue_result: Mapped[str | None] = mapped_column(String(16))  # Twilio's QueueResult
    queue_seconds: Mapped[int | None] = mapped_column(Integer)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    offer_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailboxCursor(Base):
    """How far the hub has read an IMAP mailbox: the UID of the last message it handled,
    valid while the folder's UIDVALIDITY stays the same."""

    __tablename__ = "mailbox_cursors"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(500), unique=True)  # user@host/folder
    uid_validity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PhoneMenu(Base):
    """What callers hear and choose (hub.phone_menu.PhoneMenu as stored), by name."""

    __tablename__ = "phone_menus"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    menu: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One line of the audit log: who did what to which target, when, and from where.

    Appended in the same transaction as the change it records; the hub never updates or
    deletes a line, and no route does. `actor_id` is no foreign key, so a line outlives
    anything it names; `actor` keeps the name as it was (or the username a failed login
    tried)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    change: Mapped[dict[str, Any]] = mapped_column(default=dict)
    address: Mapped[str] = mapped_column(String(64), default="")  # the client's remote address


class Survey(Base):
    """A customer asked how a closed conversation went, and their answer (1-5) once given.

    One per conversation (unique), so two hub processes hearing the same close cannot both
    ask; an answer that came as a message (an SMS) keeps that message's provider id, so a
    retried webhook records it once.
    """

    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("channel", "answer_id"),
        Index("ix_surveys_channel_address_asked", "channel", "address", "asked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    # sent | failed: whether the question went out on the channel
    delivery_status: Mapped[str] = mapped_column(String(16), default="sent")
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(index=True)
    answer_id: Mapped[str | None] = mapped_column(String(200))


class WebhookSubscription(Base):
    """An admin's subscription: these event types POSTed, signed with `secret`, to `url`.

    The secret (whsec_ and base64, the Standard Webhooks form) is kept as given, since
    every delivery is signed with it; it is shown once, when the subscription is made."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxEvent(Base):
    """An event for webhook subscribers, written in the transaction that made it true."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one subscription: pending until delivered or given up (failed).

    Deliveries of a customer's events to one subscription go in event order: one waits
    while an earlier one is pending. A hub process making an attempt holds the delivery
    until `lease_until`; if it dies, another takes it over after that."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_order", "subscription_id", "customer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    retry_since: Mapped[datetime] = mapped_column(default=utcnow)  # failures count from here
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    delivered_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookAttempt(Base):
    """The delivery log: one POST of one delivery, its answer (or error) and duration."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(String(500), default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class SurveyChannel(Base):
    """Whether customers on a channel are asked for a rating: an admin's choice, which
    overrides SWITCHBOARD_SURVEY_CHANNELS for that channel."""

    __tablename__ = "survey_channels"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaPolicy(Base):
    """Service-level targets, in seconds, for the conversations its conditions match
    (a null condition matches any): first response, next response, resolution. Counted
    in the queue's business hours when `business_hours`; amber from `warn_at` of a target.
    Which policy applies: hub.sla.choose_policy."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    queue: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[int | None] = mapped_column(Integer)
    segment: Mapped[str | None] = mapped_column(String(32))
    first_response: Mapped[int | None] = mapped_column(Integer)
    next_response: Mapped[int | None] = mapped_column(Integer)
    resolution: Mapped[int | None] = mapped_column(Integer)
    business_hours: Mapped[bool] = mapped_column(Boolean, default=True)
    warn_at: Mapped[float] = mapped_column(Float, default=0.75)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationSla(Base):
    """A conversation's targets under its policy: when each is due (None: met, or no
    target), when it turns amber (`*_warn`), and when it was found breached. A breach
    is marked once per due instant; a new due (the customer wrote again, a reopen)
    clears the mark."""

    __tablename__ = "conversation_sla"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    first_response_due: Mapped[datetime | None] = mapped_column(index=True)
    first_response_warn: Mapped[datetime | None] = mapped_column()
    first_response_breached_at: Mapped[datetime | None] = mapped_column()
    next_response_due: Mapped[datetime | None] = mapped_column(index=True)
    next_response_warn: Mapped[datetime | None] = mapped_column()
    next_response_breached_at: Mapped[datetime | None] = mapped_column()
    resolution_due: Mapped[datetime | None] = mapped_column(index=True)
    resolution_warn: Mapped[datetime | None] = mapped_column()
    resolution_breached_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
