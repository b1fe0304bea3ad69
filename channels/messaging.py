"""Twilio Messaging: one channel with two kinds, SMS and WhatsApp.

Twilio posts a customer's message to the kind's webhook and each delivery update to its
status webhook, both form-encoded and signed with the account's auth token over the URL
it called. That URL is rebuilt from the configured public URL, so the check holds behind
a proxy. The two kinds differ only in how Twilio writes an address (`+14155550100` for
SMS, `whatsapp:+14155550100` for WhatsApp): numbers are stored in E.164 without the
prefix, so a customer's number is the same person whichever way they write. STOP/START/
HELP keywords are kept on the record but never queued for an agent; an address that sent
STOP is not messaged again on that kind until it sends START.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import aiohttp
import phonenumbers
from aiohttp import web
from sqlalchemy import select, update
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from channels.twilio import bad_request, signed_form, storable
from hub import crm, outbox
from hub.contacts import Attachment, Delivery, InboundContact, OutboundMessage
from hub.db import Sessions
from hub.events import MessageFailed, MessageStatus
from hub.keys import BUS, INTAKE, SESSIONS, SURVEYS
from hub.models import Conversation, CustomerAddress, Message, utcnow

MAX_MEDIA = 10  # Twilio's limit per message
PHONE_CHARACTERS = re.compile(r"\+[0-9 ().-]{2,32}")
UNSUBSCRIBED_RECIPIENT = 21610  # Twilio's error code for a number that replied STOP

# Twilio's standard opt-out keywords; the whole message must be the keyword.
KEYWORDS = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), "STOP"),
    **dict.fromkeys(("START", "YES", "UNSTOP"), "START"),
    **dict.fromkeys(("HELP", "INFO"), "HELP"),
}

# How far along a message is; a callback never moves it back (they arrive out of order).
PROGRESS = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "delivered": 5,
    "undelivered": 5,
    "failed": 5,
    "canceled": 5,
    "read": 6,
}
# Statuses too long for our column, stored under the nearest name we keep.
STORED_AS = {"partially_delivered": "delivered"}
OPTED_OUT = "opted_out"
UNDELIVERED = ("failed", "undelivered")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MessagingKind:
    """What sets one kind of Twilio message apart: its channel, address prefix and webhooks."""

    channel: str
    label: str  # "SMS", "WhatsApp": how agents and the record name it
    prefix: str  # what Twilio puts before an E.164 number ("whatsapp:"), "" for none
    inbound_path: str
    # Twilio's codes for a refusal worth explaining to the agent in our own words.
    refusals: Mapping[int, str]

    @property
    def status_path(self) -> str:
        return self.inbound_path + "/status"

    def address(self, number: str) -> str:
        """A number (E.164, or a short code) as Twilio writes it for this kind."""
        return self.prefix + number

    def number(self, address: str) -> str | None:
        """The number inside one of this kind's addresses; None if it is not one."""
        if not address.startswith(self.prefix):
            return None
        return address[len(self.prefix) :]


class MessagingAdapter:
    """Sends agent replies of one kind through Twilio's Messages API."""

    def __init__(
        self, kind: MessagingKind, sessions: Sessions, twilio: Client | None, public_url: str
    ) -> None:
        self.name = kind.channel
        self._kind = kind
        self._sessions = sessions
        self._twilio = twilio
        self._status_url = public_url.rstrip("/") + kind.status_path

    async def send(self, message: OutboundMessage) -> Delivery:
        """Send the reply unless the customer opted out; Twilio's SID is the provider id."""
        kind = self._kind
        if self._twilio is None:
            return self._failed(message, "Twilio is not configured (account SID and auth token).")
        if await _opted_out(self._sessions, kind, message.recipient):
            return Delivery(OPTED_OUT, detail="The customer replied STOP; they must send START.")
        # An approved template goes by its Content SID, its variables as a JSON object
        # (Twilio's ContentVariables), and no Body: Twilio sends the approved text.
        content: dict[str, str] = (
            {
                "content_sid": message.content_sid,
                "content_variables": json.dumps(dict(message.content_variables)),
            }
            if message.content_sid
            else {"body": message.text}
        )
        try:
            sent = await self._twilio.messages.create_async(
                to=kind.address(message.recipient),
                from_=kind.address(message.inbox),
                status_callback=f"{self._status_url}?message={message.message_id}",
                **content,
            )
        except TwilioRestException as exc:
            if exc.code == UNSUBSCRIBED_RECIPIENT:
                await _record_consent(self._sessions, kind, message.recipient, "STOP", utcnow())
                return Delivery(OPTED_OUT, detail="Twilio says the customer replied STOP.")
            why = kind.refusals.get(exc.code or 0, "")
            return self._failed(message, f"Twilio refused it: {exc.code} {why or exc.msg}")
        except (TwilioException, aiohttp.ClientError, TimeoutError) as exc:
            return self._failed(message, f"Twilio could not be reached: {type(exc).__name__}")
        status = _stored_status(sent.status or "queued") or "queued"
        return Delivery(status, provider_id=sent.sid)

    def _failed(self, message: OutboundMessage, detail: str) -> Delivery:
        log.warning("%s reply %s not sent: %s", self._kind.label, message.message_id, detail)
        return Delivery("failed", detail=detail)


def setup(app: web.Application, kind: MessagingKind) -> None:
    """Serve the kind's inbound and status webhooks."""
    app.router.add_post(kind.inbound_path, _bound(inbound_message, kind))
    app.router.add_post(kind.status_path, _bound(delivery_status, kind))


def _bound(
    handler: Callable[[web.Request, MessagingKind], Awaitable[web.Response]],
    kind: MessagingKind,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        return await handler(request, kind)

    return handle


# --- inbound -------------------------------------------------------------------


async def inbound_message(request: web.Request, kind: MessagingKind) -> web.Response:
    """A message from a customer: verify, store once, answer with empty TwiML."""
    form = await signed_form(request)
    contact = parse_inbound(form, kind)
    # The answer to a "reply 1-5" question is a rating (stored once per MessageSid before
    # Twilio hears back), not a new contact.
    if contact.needs_agent and await request.app[SURVEYS].answer_by_message(contact):
        return web.Response(text=str(MessagingResponse()), content_type="application/xml")
    accepted = await request.app[INTAKE].accept(contact)
    keyword = KEYWORDS.get(_keyword_text(contact.text))
    if keyword in ("STOP", "START"):
        # Also on a retried duplicate: the first attempt may have stopped right after intake.
        await _record_consent(
            request.app[SESSIONS],
            kind,
            contact.sender,
            keyword,
            contact.received_at,
            conversation_id=accepted.conversation_id,
        )
    return web.Response(text=str(MessagingResponse()), content_type="application/xml")


def parse_inbound(form: Mapping[str, str], kind: MessagingKind) -> InboundContact:
    """Twilio's form fields as an InboundContact; HTTPBadRequest says what is wrong."""
    missing = [name for name in ("MessageSid", "From", "To") if not form.get(name)]
    if missing:
        raise bad_request(f"Missing field(s): {', '.join(missing)}.")
    sid = form["MessageSid"]
    if len(sid) > 64 or not sid.isascii() or not sid.isalnum():
        raise bad_request("MessageSid is not a Twilio SID.")
    sender = e164(kind.number(form["From"]) or "")
    if sender is None:
        raise bad_request(f"From is not {_an(kind)} number we can read: {form['From'][:40]!r}.")
    inbox = _inbox_number(kind.number(form["To"]) or "")
    if inbox is None:
        raise bad_request(f"To is not {_an(kind)} number we can read: {form['To'][:40]!r}.")
    text = storable(form.get("Body", ""))
    return InboundContact(
        channel=kind.channel,
        inbox=inbox,
        external_id=sid,
        sender=sender,
        # WhatsApp sends the name on the customer's profile; SMS sends none.
        sender_name=storable(form.get("ProfileName", ""))[:200],
        text=text,
        attachments=_attachments(form),
        raw=storable(repr(dict(form))),
        needs_agent=_keyword_text(text) not in KEYWORDS,
    )


def _an(kind: MessagingKind) -> str:
    # "a phone number" for SMS; "a WhatsApp number" (whatsapp:+1...) for WhatsApp.
    return f"a {kind.label} ({kind.prefix}+...)" if kind.prefix else "a phone"


def e164(number: str) -> str | None:
    """The number in E.164 (`+14155550100`), or None if it is not a possible phone number."""
    if not PHONE_CHARACTERS.fullmatch(number):
        return None  # e.g. "whatsapp:+1..." at the SMS webhook: another kind, not this one
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _inbox_number(number: str) -> str | None:
    # Twilio short codes (e.g. "89215") have no country prefix; keep them as they are.
    if number.isascii() and number.isdigit() and 3 <= len(number) <= 8:
        return number
    return e164(number)


def _attachments(form: Mapping[str, str]) -> tuple[Attachment, ...]:
    try:
        count = min(int(form.get("NumMedia", "0") or 0), MAX_MEDIA)
    except ValueError:
        raise bad_request("NumMedia is not a number.") from None
    media = []
    for n in range(max(count, 0)):
        url = form.get(f"MediaUrl{n}")
        if not url:
            raise bad_request(f"NumMedia is {count} but MediaUrl{n} is missing.")
        media.append(
            Attachment(
                name=f"media{n}",
                content_type=form.get(f"MediaContentType{n}", "application/octet-stream"),
                size=0,  # Twilio holds the content; its size is not sent
                ref=storable(url),
            )
        )
    return tuple(media)


def _keyword_text(text: str) -> str:
    return text.strip().rstrip(".!").upper()


# --- opt-out -------------------------------------------------------------------


async def _opted_out(sessions: Sessions, kind: MessagingKind, number: str) -> bool:
    async with sessions() as session:
        opted_out_at = await session.scalar(
            select(CustomerAddress.opted_out_at).where(
                CustomerAddress.channel == kind.channel, CustomerAddress.address == number
            )
        )
    return opted_out_at is not None


async def _record_consent(
    sessions: Sessions,
    kind: MessagingKind,
    number: str,
    keyword: str,
    at: datetime,
    conversation_id: int | None = None,
) -> None:
    """Mark the number opted out (STOP) or back in (START), once, on the customer's record."""
    stop = keyword == "STOP"
    async with sessions() as session, session.begin():
        address = await session.scalar(
            select(CustomerAddress).where(
                CustomerAddress.channel == kind.channel, CustomerAddress.address == number
            )
        )
        if address is None or (address.opted_out_at is not None) == stop:
            return
        address.opted_out_at = at if stop else None
        what = "texts" if kind.channel == "sms" else f"{kind.label} messages"
        change = f"asked for no more {what}" if stop else f"accepts {what} again"
        crm.record(
            session,
            customer_id=address.customer_id,
            conversation_id=conversation_id,
            kind=f"{kind.channel}.opted_out" if stop else f"{kind.channel}.opted_in",
            summary=f"{number} {change}",
            channel=kind.channel,
            address=number,
        )


# --- delivery status -----------------------------------------------------------


async def delivery_status(request: web.Request, kind: MessagingKind) -> web.Response:
    """A Twilio status callback: move the message forward, never back, and tell the console."""
    form = await signed_form(request)
    sid, reported = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if not sid or not reported:
        raise bad_request("Missing field(s): MessageSid and MessageStatus are required.")
    status = _stored_status(reported)
    if status is None:
        return web.Response(status=204)  # inbound statuses (receiving, received) and new ones
    error_code = form.get("ErrorCode", "")
    message, failed = await _advance(
        request.app[SESSIONS],
        kind,
        request.query.get("message", ""),
        sid,
        status,
        error_code,
    )
    if failed is not None:
        await request.app[BUS].publish(failed)
    if message is not None:
        await request.app[BUS].publish(
            MessageStatus(
                conversation_id=message.conversation_id,
                message_id=message.id,
                agent_id=message.agent_id,
                channel=kind.channel,
                delivery_status=status,
                error_code=error_code or None,
            )
        )
    return web.Response(status=204)


def _error_detail(kind: MessagingKind, error_code: str) -> str:
    """Why Twilio says a message was not delivered, for the agent."""
    if not error_code.isascii() or not error_code.isdigit():
        return "Twilio reported it was not delivered."
    why = kind.refusals.get(int(error_code), "see Twilio's error reference")
    return f"Twilio reported error {error_code}: {why}"


def _stored_status(reported: str) -> str | None:
    status = STORED_AS.get(reported, reported)
    return status if status in PROGRESS else None


async def _advance(
    sessions: Sessions,
    kind: MessagingKind,
    message_id: str,
    sid: str,
    status: str,
    error_code: str,
) -> tuple[Message | None, MessageFailed | None]:
    """Set the status if it is further along than the stored one; the message if it moved.

    Not delivered after all: the customer's timeline says so and why, and webhook
    subscribers hear `message.failed`, in the same transaction."""
    detail = _error_detail(kind, error_code) if status in UNDELIVERED else None
    earlier = [name for name, rank in PROGRESS.items() if rank < PROGRESS[status]]
    # Our own id in the callback URL finds the message even before its SID is stored.
    which = (
        Message.id == int(message_id)
        if message_id.isascii() and message_id.isdigit()
        else Message.provider_id == sid
    )
    async with sessions() as session, session.begin():
        # One conditional UPDATE, so two callbacks racing cannot move it backwards.
        moved = await session.execute(
            update(Message)
            .where(
                which,
                Message.channel == kind.channel,
                Message.direction == "outgoing",
                (Message.provider_id == sid) | Message.provider_id.is_(None),
                Message.delivery_status.in_(earlier),
            )
            .values(
                delivery_status=status,
                provider_id=sid,
                **({"delivery_detail": detail[:500]} if detail else {}),
            )
            .execution_options(synchronize_session=False)
        )
        if not moved.rowcount:  # type: ignore[attr-defined]
            return None, None
        message: Message | None = await session.scalar(
            select(Message).where(Message.channel == kind.channel, Message.provider_id == sid)
        )
        if message is None or detail is None:
            return message, None
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        crm.record(
            session,
            customer_id=conversation.customer_id,
            conversation_id=conversation.id,
            agent_id=message.agent_id,
            kind="reply.failed",
            summary=message.text,
            channel=kind.channel,
            reason=detail,
        )
        failed = MessageFailed(
            conversation_id=conversation.id,
            message_id=message.id,
            agent_id=message.agent_id,
            customer_id=conversation.customer_id,
            channel=kind.channel,
            delivery_status=status,
            error_code=error_code or None,
            detail=detail,
        )
        await outbox.add(session, failed, conversation.customer_id)
        return message, failed


__all__ = ["MessagingAdapter", "MessagingKind", "e164", "parse_inbound", "setup"]
