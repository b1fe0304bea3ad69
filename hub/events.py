"""The event catalogue: every message the hub puts on its bus, in one place.

Two kinds travel on the bus, and they are kept apart here:

- **Domain events** say that something happened (a contact queued, an offer expired, an
  agent went away). The agent console, the wallboard, the router and the channels hear them.
- **Transport messages** carry a chat line or a typing notice to whichever hub process
  holds the visitor's socket. Nothing happened yet that any other reader cares about.

Each entry is a frozen dataclass: its `name` (the wire's "type"), its payload fields, its
`audience` (who hears it) and whether it `wakes_router`. Publishers construct them, so a
misspelt name or a missing field is a type error; readers get them back, typed, from
`hub.listeners`. On the wire each one is a small JSON object, `{"type", "ts", **fields}`,
exactly what the console and the chat widget read.

To add an event: write its class here and add it to `CATALOGUE` (a test checks that
every entry is published somewhere and that nothing else is).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from hub.models import utcnow

__all__ = [
    "CATALOGUE",
    "DOMAIN_EVENTS",
    "ROUTER_WAKERS",
    "TRANSPORT_MESSAGES",
    "WEBHOOK_EVENTS",
    "AgentState",
    "AgentUpdated",
    "Audience",
    "BusMessage",
    "CallUpdated",
    "ChatDeliver",
    "ChatPresent",
    "ChatSurvey",
    "ChatTyping",
    "ContactQueued",
    "ConversationAbandoned",
    "ConversationAssigned",
    "ConversationClosed",
    "ConversationReassigned",
    "ConversationRejected",
    "ConversationSeen",
    "CsatReceived",
    "CustomerCreated",
    "CustomerErased",
    "CustomerMerged",
    "CustomerTyping",
    "DomainEvent",
    "MessageReceived",
    "MessageFailed",
    "MessageSent",
    "MessageStatus",
    "OfferCreated",
    "OfferEnded",
    "OfferExpired",
    "OfferRejected",
    "OfferWithdrawn",
    "QueueUpdated",
    "SessionsEnded",
    "SlaBreached",
    "TransportMessage",
    "heard_by",
]


class Audience(enum.Flag):
    """Who hears a message."""

    AGENT = enum.auto()  # the console of the agent it names (its agent_id)
    SUPERVISORS = enum.auto()  # every supervisor's console, whoever it names: the wallboard feed
    VISITOR = enum.auto()  # the chat widget of the visitor it names
    HUB = enum.auto()  # hub processes: the router, intake, the call bridge, chat sockets


AGENT, SUPERVISORS, VISITOR, HUB = (
    Audience.AGENT,
    Audience.SUPERVISORS,
    Audience.VISITOR,
    Audience.HUB,
)
# A field whose key is left off the wire when it is None: some publishers never set it,
# and the console tells "says nothing" from "says null" (`"agent_id" in event`).
_OMIT_NONE = {"omit_none": True}
M = TypeVar("M", bound="BusMessage")


def _optional() -> Any:
    return field(default=None, metadata=_OMIT_NONE)


def _now() -> str:
    return utcnow().isoformat()


@dataclass(frozen=True)
class BusMessage:
    """Anything on the bus: a name, who hears it, when it was made, and its payload."""

    name: ClassVar[str]
    audience: ClassVar[Audience]
    wakes_router: ClassVar[bool] = False
    # Also written to the outbox for webhook subscribers, in the transaction that makes
    # it true (hub.outbox); its name is then an event type admins may subscribe to.
    webhook: ClassVar[bool] = False
    ts: str = field(default_factory=_now, kw_only=True)

    def wire(self) -> dict[str, Any]:
        """The JSON object the bus carries and the console reads."""
        payload: dict[str, Any] = {"type": self.name, "ts": self.ts}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "ts" and not (value is None and f.metadata.get("omit_none")):
                payload[f.name] = value
        return payload

    @classmethod
    def from_wire(cls: type[M], event: dict[str, Any]) -> M:
        """The message back from its wire form (as published by this hub: trusted)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in event.items() if k in names})


@dataclass(frozen=True)
class DomainEvent(BusMessage):
    """Something happened that consoles, the router or channels react to."""


@dataclass(frozen=True)
class TransportMessage(BusMessage):
    """A frame for the hub process holding a chat visitor's socket; not a domain fact."""


# --- contacts and messages ---------------------------------------------------------------


@dataclass(frozen=True)
class ContactQueued(DomainEvent):
    """A conversation waits in the queue (new, or back from an agent or an offer)."""

    name = "contact.queued"
    audience = SUPERVISORS | HUB
    webhook = True
    wakes_router = True
    conversation_id: int
    channel: str
    customer_id: int | None = _optional()
    queue: str | None = _optional()  # the queue an overflow rule moved it to


@dataclass(frozen=True)
class MessageReceived(DomainEvent):
    """A customer wrote (or called) in a conversation; agent_id holds it, if anyone."""

    name = "message.received"
    audience = AGENT | SUPERVISORS | HUB  # the hub: SLA due times
    webhook = True
    message_id: int
    agent_id: int | None
    conversation_id: int
    customer_id: int
    channel: str


@dataclass(frozen=True)
class MessageSent(DomainEvent):
    """An agent's reply went out (or failed to) on a channel."""

    name = "message.sent"
    audience = AGENT | HUB  # the hub: SLA due times
    webhook = True
    conversation_id: int
    message_id: int
    agent_id: int
    channel: str
    delivery_status: str


@dataclass(frozen=True)
class MessageStatus(DomainEvent):
    """A sent message moved on: delivered, read, failed (error_code from the provider)."""

    name = "message.status"
    audience = AGENT
    conversation_id: int
    message_id: int
    agent_id: int | None
    channel: str
    delivery_status: str
    error_code: str | None = _optional()


@dataclass(frozen=True)
class MessageFailed(DomainEvent):
    """A reply the provider took was not delivered after all (a status callback said
    failed or undelivered): `error_code` is the provider's, `detail` says why in words."""

    name = "message.failed"
    audience = AGENT
    webhook = True
    conversation_id: int
    message_id: int
    agent_id: int | None
    customer_id: int
    channel: str
    delivery_status: str  # failed | undelivered
    error_code: str | None
    detail: str


@dataclass(frozen=True)
class CustomerTyping(DomainEvent):
    """The chat visitor started (on) or stopped typing."""

    name = "customer.typing"
    audience = AGENT
    conversation_id: int
    agent_id: int | None
    on: bool


@dataclass(frozen=True)
class CallUpdated(DomainEvent):
    """A call of this conversation changed; `alert` asks the console to say so loudly;
    `ended`: the customer's call is over (a caller on hold may hang up)."""

    name = "call.updated"
    audience = AGENT
    conversation_id: int
    agent_id: int | None
    summary: str
    alert: bool
    ended: bool = False


# --- conversations -------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaBreached(DomainEvent):
    """A conversation passed a target of its SLA policy (`kind`: first_response,
    next_response or resolution) unmet at `due`; marked once, by one hub process."""

    name = "sla.breached"
    audience = AGENT | SUPERVISORS
    webhook = True
    conversation_id: int
    customer_id: int
    agent_id: int | None
    policy_id: int | None
    kind: str
    due: str
    queue: str


@dataclass(frozen=True)
class ConversationAssigned(DomainEvent):
    """An agent accepted the offer, or started the conversation: it is theirs."""

    name = "conversation.assigned"
    audience = AGENT | SUPERVISORS | HUB
    webhook = True
    conversation_id: int
    agent_id: int
    offer_id: int | None = _optional()  # None for one the agent started


@dataclass(frozen=True)
class ConversationSeen(DomainEvent):
    """The agent's console shows the customer's messages up to message_id."""

    name = "conversation.seen"
    audience = VISITOR
    conversation_id: int
    message_id: int
    agent_id: int
    channel: str
    address: str  # the customer's address on the channel: the chat visitor, for chat


@dataclass(frozen=True)
class ConversationClosed(DomainEvent):
    """The conversation ended; `why` when the agent did not close it themselves."""

    name = "conversation.closed"
    audience = AGENT | SUPERVISORS | HUB
    webhook = True
    wakes_router = True
    conversation_id: int
    agent_id: int | None
    why: str | None = _optional()


@dataclass(frozen=True)
class CsatReceived(DomainEvent):
    """A customer rated a closed conversation (1-5), with any comment they wrote."""

    name = "csat.received"
    audience = HUB
    webhook = True
    survey_id: int
    conversation_id: int
    customer_id: int
    agent_id: int | None
    channel: str
    rating: int
    comment: str


@dataclass(frozen=True)
class CustomerCreated(DomainEvent):
    """A first contact from someone the hub did not know made a new customer."""

    name = "customer.created"
    audience = HUB
    webhook = True
    customer_id: int
    channel: str


@dataclass(frozen=True)
class CustomerMerged(DomainEvent):
    """Two records were one person: `merged_id` now lives on in `customer_id`."""

    name = "customer.merged"
    audience = HUB
    webhook = True
    customer_id: int
    merged_id: int
    merge_id: int


@dataclass(frozen=True)
class CustomerErased(DomainEvent):
    """A customer was erased on request (with those merged into them, `customer_ids`):
    every hub process forgets them in its identity index, and webhook subscribers hear it
    (to erase the customer in their systems too)."""

    name = "customer.erased"
    audience = HUB
    webhook = True
    customer_id: int
    customer_ids: list[int]


@dataclass(frozen=True)
class ConversationAbandoned(DomainEvent):
    """The customer left (hung up, closed the chat) before an agent took it."""

    name = "conversation.abandoned"
    audience = SUPERVISORS | HUB
    webhook = True
    conversation_id: int
    channel: str
    reason: str


@dataclass(frozen=True)
class ConversationRejected(DomainEvent):
    """A full queue turned the contact away."""

    name = "conversation.rejected"
    audience = HUB
    webhook = True
    conversation_id: int
    channel: str
    queue: str


@dataclass(frozen=True)
class ConversationReassigned(DomainEvent):
    """A supervisor moved the conversation from its holder (agent_id) elsewhere."""

    name = "conversation.reassigned"
    audience = AGENT | SUPERVISORS
    conversation_id: int
    agent_id: int
    by: int
    outcome: str


# --- offers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferCreated(DomainEvent):
    """An agent is offered a waiting contact until expires_at."""

    name = "offer.created"
    audience = AGENT | SUPERVISORS
    offer_id: int
    conversation_id: int
    agent_id: int
    expires_at: str
    channel: str


@dataclass(frozen=True)
class OfferEnded(DomainEvent):
    """An offer stands no more; the three ways it ends share these fields."""

    offer_id: int
    conversation_id: int
    agent_id: int


@dataclass(frozen=True)
class OfferExpired(OfferEnded):
    """The agent let the offer run out; the contact is queued again."""

    name = "offer.expired"
    audience = AGENT | SUPERVISORS | HUB
    wakes_router = True


@dataclass(frozen=True)
class OfferRejected(OfferEnded):
    """The agent declined the offer; the contact is queued again."""

    name = "offer.rejected"
    audience = AGENT | SUPERVISORS | HUB
    wakes_router = True


@dataclass(frozen=True)
class OfferWithdrawn(OfferEnded):
    """The offer no longer stands (the customer left, the agent went offline)."""

    name = "offer.withdrawn"
    audience = AGENT | SUPERVISORS


# --- agents and settings ------------------------------------------------------------------


@dataclass(frozen=True)
class AgentState(DomainEvent):
    """An agent's presence changed (available, away, offline), and why if not by them."""

    name = "agent.state"
    audience = AGENT | SUPERVISORS | HUB
    agent_id: int
    status: str
    why: str | None = _optional()
    reason: str | None = _optional()  # the agent's own reason for being away


@dataclass(frozen=True)
class AgentUpdated(DomainEvent):
    """An admin changed an agent's settings (skills, capacity, languages)."""

    name = "agent.updated"
    audience = HUB
    wakes_router = True
    agent_id: int


@dataclass(frozen=True)
class SessionsEnded(DomainEvent):
    """An agent signed out, or had their password reset: the consoles opened with a
    session that no longer holds close, on whichever hub process holds them."""

    name = "sessions.ended"
    audience = HUB
    agent_id: int


@dataclass(frozen=True)
class QueueUpdated(DomainEvent):
    """An admin changed a queue (an inbox, by queue_id) or a queue's limit (by name)."""

    name = "queue.updated"
    audience = HUB
    wakes_router = True
    queue_id: int | None = _optional()
    queue: str | None = _optional()
    channel: str | None = _optional()


# --- transport: chat frames for the process holding the visitor's socket ------------------


@dataclass(frozen=True)
class ChatDeliver(TransportMessage):
    """An agent's reply for the visitor's open chat sockets, on any hub process."""

    name = "chat.deliver"
    audience = VISITOR
    visitor: str
    conversation_id: int
    message_id: int
    text: str
    author: str


@dataclass(frozen=True)
class ChatTyping(TransportMessage):
    """The agent started (on) or stopped typing to the visitor."""

    name = "chat.typing"
    audience = VISITOR
    visitor: str
    conversation_id: int
    on: bool


@dataclass(frozen=True)
class ChatPresent(TransportMessage):
    """The visitor (re)connected somewhere: no hub process may count them as gone."""

    name = "chat.present"
    audience = HUB
    visitor: str


@dataclass(frozen=True)
class ChatSurvey(TransportMessage):
    """Ask the visitor of a closed chat for a rating, on whichever hub process holds them."""

    name = "chat.survey"
    audience = VISITOR
    visitor: str
    conversation_id: int
    question: str


DOMAIN_EVENTS: tuple[type[DomainEvent], ...] = (
    ContactQueued,
    MessageReceived,
    MessageSent,
    MessageStatus,
    MessageFailed,
    CustomerTyping,
    CallUpdated,
    ConversationAssigned,
    ConversationSeen,
    ConversationClosed,
    ConversationAbandoned,
    CsatReceived,
    CustomerCreated,
    CustomerMerged,
    CustomerErased,
    ConversationRejected,
    ConversationReassigned,
    SlaBreached,
    OfferCreated,
    OfferExpired,
    OfferRejected,
    OfferWithdrawn,
    AgentState,
    AgentUpdated,
    SessionsEnded,
    QueueUpdated,
)
TRANSPORT_MESSAGES: tuple[type[TransportMessage], ...] = (
    ChatDeliver,
    ChatTyping,
    ChatPresent,
    ChatSurvey,
)
CATALOGUE: dict[str, type[BusMessage]] = {m.name: m for m in DOMAIN_EVENTS + TRANSPORT_MESSAGES}
ROUTER_WAKERS = frozenset(name for name, m in CATALOGUE.items() if m.wakes_router)
# The event types a webhook may subscribe to, in catalogue order.
WEBHOOK_EVENTS: tuple[str, ...] = tuple(name for name, m in CATALOGUE.items() if m.webhook)


def heard_by(audience: Audience) -> frozenset[str]:
    """The names of the messages this audience hears."""
    return frozenset(name for name, m in CATALOGUE.items() if audience in m.audience)
