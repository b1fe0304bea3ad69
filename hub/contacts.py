"""The normalized contact types that flow from the channels into the hub."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from hub.models import utcnow

RAW_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Attachment:
    """An attachment's metadata; the content lives elsewhere, by reference."""

    name: str
    content_type: str
    size: int
    ref: str


@dataclass(frozen=True)
class InboundContact:
    """One message from a customer, as any channel delivers it."""

    channel: str
    inbox: str
    external_id: str
    sender: str
    text: str  # what is new in the message (email: without the quoted thread)
    sender_name: str = ""
    subject: str = ""
    thread_hints: tuple[str, ...] = ()
    # Conversations the contact says it continues, each used only when it is the sender's
    # customer's and still open: one the channel verified (an email's signed reply
    # address), tried before thread_hints, and one the sender named (a subject's [#123]),
    # tried after them.
    answers_conversation: int | None = None
    names_conversation: int | None = None
    attachments: tuple[Attachment, ...] = ()
    received_at: datetime = field(default_factory=utcnow)
    raw: str | None = None
    # The whole text, when `text` is only the new part of it.
    full_text: str | None = None
    # False for messages no agent needs to answer (an SMS STOP or HELP): stored and
    # on the timeline, added to an open conversation if there is one, never queued.
    needs_agent: bool = True
    # What the customer chose on the way in (a phone menu's option), over the inbox's:
    # the skill and level an agent needs, and the language to answer in.
    skill: str | None = None
    min_level: int = 1
    language: str | None = None

    def __post_init__(self) -> None:
        for name in ("channel", "inbox", "external_id", "sender"):
            if not getattr(self, name):
                raise ValueError(f"InboundContact.{name} is required")
        if self.raw is not None and len(self.raw) > RAW_LIMIT:
            object.__setattr__(self, "raw", self.raw[:RAW_LIMIT])


@dataclass(frozen=True)
class OutboundMessage:
    """A reply an agent sends, addressed to the customer on one channel."""

    message_id: int
    conversation_id: int
    channel: str
    inbox: str
    recipient: str
    text: str
    agent_name: str = ""
    subject: str = ""
    thread_hints: tuple[str, ...] = ()
    # Extra headers for channels that carry them (email): a satisfaction survey is marked
    # Auto-Submitted and says how to unsubscribe.
    headers: tuple[tuple[str, str], ...] = ()
    # Who else receives it: CC in the headers, BCC only in the envelope.
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    # An approved template (WhatsApp) sent by the provider's id for it, with its variables
    # ("1" -> "Ana"), instead of free text; `text` is then what the customer reads.
    content_sid: str = ""
    content_variables: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Delivery:
    """What a channel reports after sending: the provider's id and the delivery status."""

    status: str
    provider_id: str | None = None
    detail: str = ""


class ChannelAdapter(Protocol):
    """One channel: turns what arrives into InboundContact and sends replies back out."""

    name: str

    async def send(self, message: OutboundMessage) -> Delivery:
        """Deliver an agent's reply on this channel and report what happened."""
        ...
