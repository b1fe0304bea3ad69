"""SMS through Twilio: the inbound webhook, status callbacks and sending replies.

Twilio posts each text to `/webhooks/twilio/sms` and each delivery update to
`/webhooks/twilio/sms/status`, both form-encoded and signed with the account's
auth token over the URL it called. That URL is rebuilt from the configured public
URL, so the check holds behind a proxy. Phone numbers are stored in E.164.
STOP/START/HELP keywords are kept on the record but never queued for an agent;
a number that sent STOP is not texted again until it sends START.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime

import aiohttp
import phonenumbers
from aiohttp import web
from sqlalchemy import select, update
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from channels.twilio import bad_request, signed_form, storable
from hub import crm
from hub.channel_traits import ChannelTraits
from hub.contacts import Attachment, Delivery, InboundContact, OutboundMessage
from hub.db import Sessions
from hub.events import MessageStatus
from hub.keys import BUS, INTAKE, SESSIONS
from hub.models import CustomerAddress, Message, utcnow

CHANNEL = "sms"
# A number that replied STOP is not texted again until it sends START.
TRAITS = ChannelTraits(
    CHANNEL,
    "SMS",
    default_capacity=5,
    replies_on=CHANNEL,
    opted_out_refusal="{address} replied STOP: it gets no texts until it sends START.",
)
INBOUND_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/sms/status"
MAX_MEDIA = 10  # Twilio's limit per MMS
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

log = logging.getLogger(__name__)


class SmsAdapter:
    """Sends agent replies as SMS through Twilio's Messages API."""

    name = CHANNEL

    def __init__(self, sessions: Sessions, twilio: Client | None, public_url: str) -> None:
        self._sessions = sessions
        self._twilio = twilio
        self._status_url = public_url.rstrip("/") + STATUS_PATH

    async def send(self, message: OutboundMessage) -> Delivery:
        """Text the reply unless the customer opted out; Twilio's SID is the provider id."""
        if self._twilio is None:
            return _failed(message, "Twilio is not configured (account SID and auth token).")
        if await _opted_out(self._sessions, message.recipient):
            return Delivery(OPTED_OUT, detail="The customer replied STOP; they must text START.")
        try:
            sent = await self._twilio.messages.create_async(
                to=message.recipient,
                from_=message.inbox,
                body=message.text,
                status_callback=f"{self._status_url}?message={message.message_id}",
            )
        except TwilioRestException as exc:
            if exc.code == UNSUBSCRIBED_RECIPIENT:
                await _record_consent(self._sessions, message.recipient, "STOP", utcnow())
                return Delivery(OPTED_OUT, detail="Twilio says the customer replied STOP.")
            return _failed(message, f"Twilio refused it: {exc.code} {exc.msg}")
        except (TwilioException, aiohttp.ClientError, TimeoutError) as exc:
            return _failed(message, f"Twilio could not be reached: {type(exc).__name__}")
        status = _stored_status(sent.status or "queued") or "queued"
        return Delivery(status, provider_id=sent.sid)


def _failed(message: OutboundMessage, detail: str) -> Delivery:
    log.warning("SMS reply %s not sent: %s", message.message_id, detail)
    return Delivery("failed", detail=detail)


def setup(app: web.Application) -> None:
    app.router.add_post(INBOUND_PATH, inbound_sms)
    app.router.add_post(STATUS_PATH, delivery_status)


# --- inbound -------------------------------------------------------------------


async def inbound_sms(request: web.Request) -> web.Response:
    """A text from a customer: verify, store once, answer with empty TwiML."""
    form = await signed_form(request)
    contact = parse_inbound(form)
    accepted = await request.app[INTAKE].accept(contact)
    keyword = KEYWORDS.get(_keyword_text(contact.text))
    if keyword in ("STOP", "START"):
        # Also on a retried duplicate: the first attempt may have stopped right after intake.
        await _record_consent(
            request.app[SESSIONS],
            contact.sender,
            keyword,
            contact.received_at,
            conversation_id=accepted.conversation_id,
        )
    return web.Response(text=str(MessagingResponse()), content_type="application/xml")


def parse_inbound(form: Mapping[str, str]) -> InboundContact:
    """Twilio's form fields as an InboundContact; HTTPBadRequest says what is wrong."""
    missing = [name for name in ("MessageSid", "From", "To") if not form.get(name)]
    if missing:
        raise bad_request(f"Missing field(s): {', '.join(missing)}.")
    sid = form["MessageSid"]
    if len(sid) > 64 or not sid.isascii() or not sid.isalnum():
        raise bad_request("MessageSid is not a Twilio SID.")
    sender = e164(form["From"])
    if sender is None:
        raise bad_request(f"From is not a phone number we can read: {form['From'][:40]!r}.")
    inbox = _inbox_number(form["To"])
    if inbox is None:
        raise bad_request(f"To is not a phone number we can read: {form['To'][:40]!r}.")
    text = storable(form.get("Body", ""))
    return InboundContact(
        channel=CHANNEL,
        inbox=inbox,
        external_id=sid,
        sender=sender,
        text=text,
        attachments=_attachments(form),
        raw=storable(repr(dict(form))),
        needs_agent=_keyword_text(text) not in KEYWORDS,
    )


def e164(number: str) -> str | None:
    """The number in E.164 (`+14155550100`), or None if it is not a possible phone number."""
    if not PHONE_CHARACTERS.fullmatch(number):
        return None  # e.g. "whatsapp:+1..." belongs to another channel, not this one
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


async def _opted_out(sessions: Sessions, number: str) -> bool:
    async with sessions() as session:
        opted_out_at = await session.scalar(
            select(CustomerAddress.opted_out_at).where(
                CustomerAddress.channel == CHANNEL, CustomerAddress.address == number
            )
        )
    return opted_out_at is not None


async def _record_consent(
    sessions: Sessions,
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
                CustomerAddress.channel == CHANNEL, CustomerAddress.address == number
            )
        )
        if address is None or (address.opted_out_at is not None) == stop:
            return
        address.opted_out_at = at if stop else None
        crm.record(
            session,
            customer_id=address.customer_id,
            conversation_id=conversation_id,
            kind="sms.opted_out" if stop else "sms.opted_in",
            summary=f"{number} {'asked for no more texts' if stop else 'accepts texts again'}",
            channel=CHANNEL,
            address=number,
        )


# --- delivery status -----------------------------------------------------------


async def delivery_status(request: web.Request) -> web.Response:
    """A Twilio status callback: move the message forward, never back, and tell the console."""
    form = await signed_form(request)
    sid, reported = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if not sid or not reported:
        raise bad_request("Missing field(s): MessageSid and MessageStatus are required.")
    status = _stored_status(reported)
    if status is None:
        return web.Response(status=204)  # inbound statuses (receiving, received) and new ones
    message = await _advance(request.app[SESSIONS], request.query.get("message", ""), sid, status)
    if message is not None:
        await request.app[BUS].publish(
            MessageStatus(
                conversation_id=message.conversation_id,
                message_id=message.id,
                agent_id=message.agent_id,
                channel=CHANNEL,
                delivery_status=status,
                error_code=form.get("ErrorCode") or None,
            )
        )
    return web.Response(status=204)


def _stored_status(reported: str) -> str | None:
    status = STORED_AS.get(reported, reported)
    return status if status in PROGRESS else None


async def _advance(sessions: Sessions, message_id: str, sid: str, status: str) -> Message | None:
    """Set the status if it is further along than the stored one; the message if it moved."""
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
                Message.channel == CHANNEL,
                Message.direction == "outgoing",
                (Message.provider_id == sid) | Message.provider_id.is_(None),
                Message.delivery_status.in_(earlier),
            )
            .values(delivery_status=status, provider_id=sid)
            .execution_options(synchronize_session=False)
        )
        if not moved.rowcount:  # type: ignore[attr-defined]
            return None
        message: Message | None = await session.scalar(
            select(Message).where(Message.channel == CHANNEL, Message.provider_id == sid)
        )
        return message


__all__ = ["TRAITS", "SmsAdapter", "e164", "parse_inbound", "setup"]
