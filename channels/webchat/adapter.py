"""Web chat: the customer's websocket at /chat/ws and the embeddable /chat/widget.js.

Frames are JSON. The customer sends `hello` (with the token from an earlier visit,
if any), then `message` frames carrying a client-made id (so a resend is
harmless), `typing` and `leave` (the visitor ends the chat; if nobody answered yet,
it is abandoned). A visitor whose last socket stays closed longer than
`chat_abandon_grace` seconds while still waiting has abandoned too. The hub answers
`welcome` (token, transcript and the text limit), `ack`, `message` (agent replies),
`typing`, `left` and `error` (a code, a sentence and, for a refused message, its id).
Text that is not valid Unicode is refused (`invalid_text`), never stored.

`welcome` also says which details the company asks before the first message (`prechat`,
from SWITCHBOARD_CHAT_PRECHAT), what this visitor already gave (`details`) and whether an
agent is `online` for the widget's inbox. The visitor sends `details` (name, email),
answered with `details`, and `seen` with the newest agent message they have seen; the hub
sends `read` with the newest of their messages the agent has seen. A visitor who leaves an
email while nobody is online gets their replies by email (`by_email` in `ack`, `details`).
The hub sends `presence` when the inbox's agents come online or all go away. Out of the
inbox's business hours, `welcome` has `closed` (`opens`: the next opening) and `online`
is false whoever is signed in, so the chat goes on by email as when nobody is online. `typing`
frames both ways carry `on` (false when the typist stopped); a receiver drops a typing
notice 30 s after the last one anyway. Once an agent closes the chat, a visitor still there
may get `survey` and answer `rating` (see `_rating`). At any time the visitor may ask for
a copy of the chat by email with `transcript`, answered `transcript_sent` (see `_emailed`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from sqlalchemy import select

from channels.webchat import _chat_presence, _emailed, _rating, _visitors
from hub.bus import EventBus
from hub.channel_traits import ChannelTraits
from hub.contacts import Delivery, InboundContact, OutboundMessage
from hub.customer_label import site_of
from hub.events import (
    ChatDeliver,
    ChatPresent,
    ChatSurvey,
    ChatTyping,
    ConversationSeen,
    CustomerTyping,
    MessageStatus,
)
from hub.hours import is_open, next_opening
from hub.keys import BUS, CONVERSATIONS, COULD_TAKE, INTAKE, RATE_LIMITS, SESSIONS, SETTINGS
from hub.listeners import Listeners, following
from hub.loops import Backoff, stop_if_cancelled
from hub.models import Conversation, CustomerAddress, Inbox, Message, utcnow
from hub.outages import RETRY_AFTER, is_outage
from hub.schedules import hours_of
from hub.sockets import Peer, SocketGroups

CHANNEL = "chat"
# Each visitor is their own conversation, even when two gave the same email.
TRAITS = ChannelTraits(CHANNEL, "Chat", default_capacity=3, replies_on=CHANNEL, per_address=True)
DEFAULT_INBOX = "web"
STATIC = Path(__file__).parent / "static"
CHAT_SOCKETS = web.AppKey("chat_sockets", SocketGroups)
LEFT_CHAT = "the customer left the chat"
GONE = "the customer's chat stayed disconnected"
UNAVAILABLE = "The service is unavailable for a moment; please try again shortly."
TYPING_INTERVAL = 2.0  # seconds between customer.typing events from one socket
log = logging.getLogger(__name__)


class WebchatAdapter:
    """Sends agent replies to the customer's open chat sockets, on any hub process."""

    name = CHANNEL

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def send(self, message: OutboundMessage) -> Delivery:
        """Publish the reply for whichever hub process holds the visitor's socket."""
        await self._bus.publish(
            ChatDeliver(
                visitor=message.recipient,
                conversation_id=message.conversation_id,
                message_id=message.message_id,
                text=message.text,
                author=message.agent_name,
            )
        )
        return Delivery(status="sent", provider_id=f"chat-{message.message_id}")


class VisitorTokens:
    """A visitor id plus an HMAC, so a token cannot be forged or guessed."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"webchat:" + secret.encode()).digest()

    def issue(self) -> tuple[str, str]:
        visitor = "v_" + uuid.uuid4().hex
        return visitor, f"{visitor}.{self._sign(visitor)}"

    def read(self, token: str) -> str | None:
        """The visitor id if the token is one we issued; None for anything else."""
        visitor, _, signature = token.partition(".")
        if not (visitor.startswith("v_") and visitor.isascii() and signature.isascii()):
            return None  # also keeps non-ASCII out of compare_digest, which refuses it
        if not hmac.compare_digest(signature, self._sign(visitor)):
            return None
        return visitor

    def _sign(self, visitor: str) -> str:
        digest = hmac.new(self._key, visitor.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()


class ChatError(Exception):
    """A frame the hub will not act on; the customer gets `code` and `detail` back (and,
    when refused for flooding, after how many seconds to try again)."""

    def __init__(self, code: str, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.retry_after = retry_after


@dataclass
class Visit:
    """One open chat socket after its hello: who it is and when they last typed."""

    visitor: str
    name: str
    peer: Peer
    typed_at: float = -TYPING_INTERVAL
    inbox: str = DEFAULT_INBOX
    details: _visitors.Details | None = None
    wrote: bool = False  # has written before: no pre-chat questions then
    by_email: int | None = None  # the conversation known to go on by email
    left: bool = False
    site: str = ""  # where the widget is embedded (the socket's Origin), e.g. shop.example
    # The team behind the inbox was closed at the hello: until when (None: no opening).
    closed: bool = False
    opens_at: datetime | None = None

    def is_closed(self) -> bool:
        """Still closed: nobody answers the chat now, whoever is signed in."""
        return self.closed and (self.opens_at is None or utcnow() < self.opens_at)


class Departures:
    """Visitors whose last socket closed: unless they come back in time, they abandon."""

    def __init__(self) -> None:
        self._timers: dict[str, asyncio.Task[None]] = {}

    def start(self, visitor: str, grace: float, leave: Callable[[], Awaitable[bool]]) -> None:
        """After `grace`, call `leave`; again every `grace` for as long as it answers True
        (an agent still holds the visitor's chat, which may come back to the queue)."""
        self.cancel(visitor)
        self._timers[visitor] = asyncio.create_task(self._after(visitor, grace, leave))

    def cancel(self, visitor: str) -> None:
        """The visitor is back (on this hub process or another)."""
        timer = self._timers.pop(visitor, None)
        if timer is not None:
            timer.cancel()

    async def close(self) -> None:
        """Shutting down is not the visitors leaving: forget every timer."""
        timers, self._timers = list(self._timers.values()), {}
        for timer in timers:
            timer.cancel()
        for timer in timers:
            with contextlib.suppress(asyncio.CancelledError):
                await timer

    async def _after(
        self, visitor: str, grace: float, leave: Callable[[], Awaitable[bool]]
    ) -> None:
        backoff = Backoff(f"chat visitor {visitor} leaving", first=grace)
        while True:
            stop_if_cancelled()
            await asyncio.sleep(grace)
            try:
                if not await leave():
                    break
                backoff.succeeded()
            except Exception:
                await backoff.failed()
        self._timers.pop(visitor, None)


CHAT_DEPARTURES = web.AppKey("chat_departures", Departures)


def setup(app: web.Application) -> None:
    app[CHAT_SOCKETS] = SocketGroups()
    app[CHAT_DEPARTURES] = Departures()
    app.router.add_get("/chat/ws", chat_socket)
    app.router.add_get("/chat/widget.js", widget_script)
    app.router.add_get("/chat/demo", demo_page)
    _visitors.prechat_fields(app[SETTINGS].chat_prechat)  # a bad setting stops the start
    app.cleanup_ctx.append(_fan_out)
    _chat_presence.setup(app)


async def widget_script(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "widget.js", headers={"Cache-Control": "max-age=300"})


async def demo_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "demo.html")


async def chat_socket(request: web.Request) -> web.WebSocketResponse:
    settings = request.app[SETTINGS]
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=settings.chat_max_frame)
    await ws.prepare(request)
    tokens = VisitorTokens(settings.secret_key)
    visit: Visit | None = None
    try:
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            data: dict[str, Any] = {}
            try:
                data = _parse(frame.data)
                _require_storable(data)
                if visit is None:
                    visit = await _hello(request, ws, tokens, data)
                else:
                    await _handle(request, ws, visit, data)
            except ChatError as exc:
                await ws.send_json(_error_frame(exc, data))
                if exc.code == "unknown_session":
                    await ws.close(code=4001, message=b"unknown session")
                elif visit is None and exc.code == "rate_limited":
                    await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"too many chats")
            except Exception as exc:
                if not is_outage(exc):
                    raise
                # The database or Redis is down: say so (the widget keeps the message and
                # sends it again on reconnecting), then close with "try again later".
                log.warning("chat socket closed: dependency down (%s)", exc)
                unavailable = ChatError("unavailable", UNAVAILABLE)
                await ws.send_json({**_error_frame(unavailable, data), "retry_after": RETRY_AFTER})
                await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"try again later")
    finally:
        if visit is not None:
            _chat_presence.forget(request.app, visit.peer)
            await _gone(request, visit)
    return ws


async def _gone(request: web.Request, visit: Visit) -> None:
    """A socket closed; the visitor's last one starts the abandon grace period."""
    sockets = request.app[CHAT_SOCKETS]
    await sockets.discard(visit.visitor, visit.peer)
    if visit.left or visit.visitor in sockets:
        return
    conversations = request.app[CONVERSATIONS]
    request.app[CHAT_DEPARTURES].start(
        visit.visitor,
        request.app[SETTINGS].chat_abandon_grace,
        lambda: conversations.customer_left(CHANNEL, visit.visitor, GONE),
    )


def _error_frame(exc: ChatError, data: dict[str, Any]) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": exc.code, "detail": exc.detail}
    if exc.retry_after is not None:
        frame["retry_after"] = exc.retry_after
    client_id = data.get("id")
    if data.get("type") == "message" and isinstance(client_id, str) and len(client_id) <= 64:
        # Lets the widget mark that one message as failed instead of resending it.
        frame["id"] = client_id
    return frame


def _parse(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ChatError("invalid_json", "The frame is not valid JSON.") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ChatError("invalid_frame", "A frame is a JSON object with a 'type'.")
    return data


def _require_storable(data: dict[str, Any]) -> None:
    for value in data.values():
        if isinstance(value, str) and not _storable(value):
            raise ChatError("invalid_text", "The frame holds text that is not valid Unicode.")


def _storable(text: str) -> bool:
    """Whether every database can keep this text: JSON may smuggle in lone
    surrogates ("\\ud800") and NUL, which PostgreSQL refuses."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text_field(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key)
    return value[:limit] if isinstance(value, str) else ""


async def _hello(
    request: web.Request, ws: web.WebSocketResponse, tokens: VisitorTokens, data: dict[str, Any]
) -> Visit:
    if data["type"] != "hello":
        raise ChatError("hello_first", "Send a 'hello' frame first.")
    token = data.get("token")
    if token:
        visitor = tokens.read(token) if isinstance(token, str) else None
        if visitor is None:
            raise ChatError("unknown_session", "This chat session is not known; start a new one.")
    else:
        settings = request.app[SETTINGS]
        await _throttle(request, "new", settings.chat_address_visitors, "new chats from here")
        visitor, token = tokens.issue()
    # Join the fan-out before reading the transcript, so a reply stored in between
    # is delivered rather than lost; the widget drops what it has already shown.
    peer = request.app[CHAT_SOCKETS].add(visitor, ws)
    request.app[CHAT_DEPARTURES].cancel(visitor)
    try:
        await request.app[BUS].publish(ChatPresent(visitor=visitor))
        transcript = await _transcript(request, visitor)
        visit = Visit(visitor, _text_field(data, "name", 200), peer)
        visit.site = site_of(request.headers.get("Origin"))
        visit.inbox = await _known_inbox(request, _text_field(data, "inbox", 100))
        visit.details = await _visitors.details(request.app[SESSIONS], visitor)
        visit.wrote = any(m["from"] == "customer" for m in transcript)
        visit.closed, visit.opens_at = await _hours(request, visit.inbox)
        online = not visit.is_closed() and await request.app[COULD_TAKE](CHANNEL, visit.inbox)
        _chat_presence.watch(request.app, peer, visit.inbox, online)
        await ws.send_json(
            {
                "type": "welcome",
                "token": token,
                "messages": transcript,
                "max_text": request.app[SETTINGS].chat_max_text,
                "prechat": list(_prechat(request)),
                "details": _details_json(visit.details),
                "online": online,
                "offline_email": await _visitors.can_email(request.app[SESSIONS]),
                "closed": _closed_json(visit),
            }
        )
    except BaseException:
        _chat_presence.forget(request.app, peer)
        await request.app[CHAT_SOCKETS].discard(visitor, peer)
        raise
    return visit


async def _handle(
    request: web.Request, ws: web.WebSocketResponse, visit: Visit, data: dict[str, Any]
) -> None:
    kind = data["type"]
    if kind == "typing":
        await _typing(request, visit, data.get("on") is not False)
        return
    if kind == "leave":
        visit.left = True
        abandoned = await request.app[CONVERSATIONS].abandon_waiting(
            CHANNEL, visit.visitor, LEFT_CHAT
        )
        await ws.send_json({"type": "left", "abandoned": abandoned})
        return
    if kind == "details":
        await _give_details(request, ws, visit, data)
        return
    if kind == "seen":
        await _seen(request, visit, data)
        return
    if kind == "rating":
        try:
            await _rating.rate(request, ws, visit.visitor, data)
        except _rating.RatingRefused as exc:
            raise ChatError(exc.code, exc.detail) from None
        return
    if kind == "transcript":
        given = visit.details.email if visit.details is not None else None
        try:
            sent_to = await _emailed.email_transcript(request, visit.visitor, given, data)
        except _emailed.TranscriptRefused as exc:
            raise ChatError(exc.code, exc.detail, exc.retry_after) from None
        await ws.send_json({"type": "transcript_sent", "email": sent_to})
        return
    if kind != "message":
        raise ChatError("unknown_type", f"Frames of type {kind!r} are not understood.")
    client_id = data.get("id")
    text = data.get("text")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
        raise ChatError("missing_id", "A message needs an 'id' of 1 to 64 characters.")
    if not isinstance(text, str) or not text.strip():
        raise ChatError("empty_message", "A message needs some 'text'.")
    limit = request.app[SETTINGS].chat_max_text
    if len(text) > limit:
        raise ChatError("too_long", f"A message can be at most {limit} characters.")
    missing = _missing_details(request, visit)
    if missing:
        raise ChatError("details_required", f"Please give your {' and '.join(missing)} first.")
    settings = request.app[SETTINGS]
    await _throttle(request, "sent", settings.chat_address_messages, "messages from here")
    await _throttle(request, f"visitor:{visit.visitor}", settings.chat_visitor_messages, "messages")
    contact = InboundContact(
        channel=CHANNEL,
        inbox=await _known_inbox(request, _text_field(data, "inbox", 100)),
        external_id=f"{visit.visitor}:{client_id}",
        sender=visit.visitor,
        sender_name=visit.name,
        text=text.strip(),
    )
    accepted = await request.app[INTAKE].accept(contact)
    if not (visit.wrote or visit.name or accepted.duplicate) and visit.site:
        # Agents then see "Visitor from shop.example" rather than a bare widget token.
        await _visitors.note_site(request.app[SESSIONS], accepted.customer_id, visit.site)
    visit.wrote = True
    by_email = await _email_if_offline(request, visit, accepted.conversation_id)
    await ws.send_json(
        {
            "type": "ack",
            "id": client_id,
            "message_id": accepted.message_id,
            "duplicate": accepted.duplicate,
            "by_email": by_email,
        }
    )


async def _throttle(request: web.Request, what: str, per_minute: int, told: str) -> None:
    """Count one more of `what` (per visitor, or per client address when the key names
    none); past `per_minute`, refuse with when to try again."""
    key = f"chat:{what}" if what.startswith("visitor:") else f"chat:{what}:{request.remote}"
    wait = await request.app[RATE_LIMITS].hit(key, per_minute, 60.0)
    if wait:
        seconds = max(1, math.ceil(wait))
        raise ChatError("rate_limited", f"Too many {told}: try again in {seconds} s.", seconds)


def _prechat(request: web.Request) -> tuple[str, ...]:
    return _visitors.prechat_fields(request.app[SETTINGS].chat_prechat)


def _missing_details(request: web.Request, visit: Visit) -> list[str]:
    """The pre-chat details a visitor still owes before their first message."""
    if visit.wrote:
        return []
    given = visit.details or _visitors.Details()
    return [field for field in _prechat(request) if not getattr(given, field)]


def _details_json(details: _visitors.Details | None) -> dict[str, Any] | None:
    return None if details is None else {"name": details.name, "email": details.email}


async def _give_details(
    request: web.Request, ws: web.WebSocketResponse, visit: Visit, data: dict[str, Any]
) -> None:
    """The visitor's name and email: checked, kept, and put on the customer record."""
    name = " ".join(_text_field(data, "name", 200).split())
    typed = _text_field(data, "email", 320).strip()
    email = _visitors.normal_email(typed) if typed else None
    if typed and email is None:
        raise ChatError("invalid_email", "That email address does not look right.")
    known = visit.details or _visitors.Details()
    wanted = _prechat(request)
    if "name" in wanted and not (name or known.name):
        raise ChatError("name_required", "Please tell us your name.")
    if "email" in wanted and not (email or known.email):
        raise ChatError("email_required", "Please give your email address.")
    if not (name or email):
        raise ChatError("empty_details", "Give a name or an email address.")
    sessions = request.app[SESSIONS]
    visit.details = await _visitors.give_details(
        sessions, visit.visitor, _visitors.Details(name, email)
    )
    visit.name = visit.details.name or visit.name
    by_email = False
    conversation = await _visitors.open_conversation(sessions, visit.visitor)
    if conversation is not None:
        by_email = await _email_if_offline(request, visit, conversation.id)
    await ws.send_json(
        {"type": "details", "details": _details_json(visit.details), "by_email": by_email}
    )


async def _hours(request: web.Request, inbox: str) -> tuple[bool, datetime | None]:
    """Whether the chat inbox's team is closed now, and when it opens next."""
    async with request.app[SESSIONS]() as session:
        schedule = await hours_of(session, channel=CHANNEL, inbox=inbox)
    now = utcnow()
    if schedule is None or is_open(schedule, now):
        return False, None
    return True, next_opening(schedule, now)


def _closed_json(visit: Visit) -> dict[str, str | None] | None:
    """For the widget: closed, and when it opens (ISO 8601, UTC), or None when open."""
    if not visit.is_closed():
        return None
    return {"opens": None if visit.opens_at is None else visit.opens_at.isoformat()}


async def _email_if_offline(request: web.Request, visit: Visit, conversation_id: int) -> bool:
    """With nobody online, the conversation goes on by email if the visitor left one;
    whether its replies go by email. Costs nothing for visitors who left no email."""
    email = visit.details.email if visit.details is not None else None
    if email is None:
        return False
    if visit.by_email == conversation_id:
        return True
    sessions = request.app[SESSIONS]
    if await _visitors.replies_by_email(sessions, conversation_id) or (
        (visit.is_closed() or not await request.app[COULD_TAKE](CHANNEL, visit.inbox))
        and await _visitors.reply_by_email(sessions, conversation_id, email)
    ):
        visit.by_email = conversation_id
        return True
    return False


async def _seen(request: web.Request, visit: Visit, data: dict[str, Any]) -> None:
    """The visitor has seen agent messages up to this one: tell the agent's console."""
    message_id = data.get("message_id")
    if not _visitors.is_row_id(message_id):
        raise ChatError("invalid_seen", "'seen' needs the 'message_id' of an agent's message.")
    seen = await _visitors.mark_read(request.app[SESSIONS], visit.visitor, message_id)
    if seen is not None:
        await request.app[BUS].publish(
            MessageStatus(
                conversation_id=seen.conversation_id,
                message_id=seen.message_id,
                agent_id=seen.agent_id,
                channel=CHANNEL,
                delivery_status="read",
            )
        )


async def _known_inbox(request: web.Request, name: str | None) -> str:
    """The chat inbox a widget names, if the company configured it; else the default.

    Visitors choose what the widget sends, so they must not be able to create inboxes.
    """
    if not name or name == DEFAULT_INBOX:
        return DEFAULT_INBOX
    async with request.app[SESSIONS]() as session:
        known = await session.scalar(
            select(Inbox.id).where(Inbox.channel == CHANNEL, Inbox.address == name)
        )
    return name if known is not None else DEFAULT_INBOX


async def _typing(request: web.Request, visit: Visit, on: bool) -> None:
    """Tell the assigned agent: typing at most once per TYPING_INTERVAL per socket, and
    when the visitor stops (sent, cleared, idle); the console drops a typing notice
    after 30 s without either."""
    now = time.monotonic()
    if on and now - visit.typed_at < TYPING_INTERVAL:
        return
    visit.typed_at = now if on else -TYPING_INTERVAL
    conversation = await _open_conversation(request, visit.visitor)
    if conversation is not None:
        conversation_id, agent_id = conversation
        await request.app[BUS].publish(
            CustomerTyping(conversation_id=conversation_id, agent_id=agent_id, on=on)
        )


async def _open_conversation(request: web.Request, visitor: str) -> tuple[int, int | None] | None:
    """The visitor's newest open chat conversation and its agent, if any."""
    async with request.app[SESSIONS]() as session:
        row = (
            await session.execute(
                select(Conversation.id, Conversation.agent_id)
                .join(CustomerAddress, CustomerAddress.customer_id == Conversation.customer_id)
                .where(
                    CustomerAddress.channel == CHANNEL,
                    CustomerAddress.address == visitor,
                    Conversation.channel == CHANNEL,
                    Conversation.status != "closed",
                    _visitors.visitors_conversation(visitor),
                )
                .order_by(Conversation.id.desc())
                .limit(1)
            )
        ).first()
    return None if row is None else (row[0], row[1])


async def _transcript(request: web.Request, visitor: str, limit: int = 200) -> list[dict[str, Any]]:
    """The visitor's chat history, oldest first, without private notes."""
    async with request.app[SESSIONS]() as session:
        rows = await session.execute(
            select(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(CustomerAddress, CustomerAddress.customer_id == Conversation.customer_id)
            .where(
                CustomerAddress.channel == CHANNEL,
                CustomerAddress.address == visitor,
                Conversation.channel == CHANNEL,
                Message.direction != "note",
                _visitors.visitors_conversation(visitor),
            )
            .order_by(Message.id.desc())
            .limit(limit)
        )
        messages = list(rows.scalars())
    return [
        {
            "message_id": m.id,
            "from": "customer" if m.direction == "incoming" else "agent",
            "author": m.sender if m.direction == "outgoing" else "",
            "text": m.text,
            "id": m.external_id.partition(":")[2] if m.external_id else None,
            "at": m.created_at.isoformat(),
            "read": m.delivery_status == "read",
        }
        for m in reversed(messages)
    ]


# What a hub process does for the chat sockets it holds, whichever process published.
CHAT = Listeners[web.Application]()


async def _fan_out(app: web.Application) -> AsyncIterator[None]:
    async with following(app[BUS], CHAT.bind(app)):
        yield
    await app[CHAT_DEPARTURES].close()
    await app[CHAT_SOCKETS].close_all()


@CHAT.on(ChatPresent)
def _came_back(app: web.Application, message: ChatPresent) -> None:
    app[CHAT_DEPARTURES].cancel(message.visitor)


@CHAT.on(ChatDeliver)
def _deliver(app: web.Application, message: ChatDeliver) -> None:
    app[CHAT_SOCKETS].send(
        message.visitor,
        {
            "type": "message",
            "from": "agent",
            "message_id": message.message_id,
            "author": message.author,
            "text": message.text,
        },
    )


@CHAT.on(ChatSurvey)
def _ask_rating(app: web.Application, message: ChatSurvey) -> None:
    """The rating card, for the visitor's open sockets only: a visitor who left sees none."""
    app[CHAT_SOCKETS].send(
        message.visitor,
        {
            "type": "survey",
            "conversation_id": message.conversation_id,
            "question": message.question,
        },
    )


@CHAT.on(ChatTyping)
def _agent_typing(app: web.Application, message: ChatTyping) -> None:
    app[CHAT_SOCKETS].send(message.visitor, {"type": "typing", "from": "agent", "on": message.on})


@CHAT.on(ConversationSeen)
def _read(app: web.Application, event: ConversationSeen) -> None:
    if event.channel == CHANNEL:
        app[CHAT_SOCKETS].send(event.address, {"type": "read", "message_id": event.message_id})
