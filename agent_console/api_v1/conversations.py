"""/api/v1/conversations: the list with filters, one with its messages, and a reply sent
on it through the console's own reply path, as the agent who holds the conversation."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import ColumnElement, and_, or_, select

from agent_console.api_v1.bearer import scoped
from agent_console.cursors import CursorError, read_cursor, write_cursor
from agent_console.responses import error, json_body
from hub.api_models.conversations import (
    ConversationDetail,
    ConversationList,
    ConversationQuery,
    ConversationSummary,
    MessageOut,
)
from hub.api_models.messages import ReplyIn, ReplySent
from hub.api_tokens import TokenHolder
from hub.conversations import ConversationError
from hub.inputs import BadInput
from hub.keys import CONVERSATIONS, SESSIONS
from hub.models import Conversation, Message

CONVERSATION = "/api/v1/conversations/{conversation_id:\\d+}"


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/conversations", list_conversations)
    r.add_get(CONVERSATION, get_conversation)
    r.add_post(CONVERSATION + "/messages", send_message)


@scoped("conversations:read")
async def list_conversations(request: web.Request, token: TokenHolder) -> web.Response:
    """Newest activity first; each page's `next_cursor` continues where it ended."""
    query = ConversationQuery.model_validate(dict(request.query))
    statement = select(Conversation).where(*_filters(query))
    if query.cursor:
        at, last_id = _position(query.cursor)
        statement = statement.where(
            or_(
                Conversation.updated_at < at,
                and_(Conversation.updated_at == at, Conversation.id < last_id),
            )
        )
    statement = statement.order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    async with request.app[SESSIONS]() as session:
        rows = list(await session.scalars(statement.limit(query.limit + 1)))
    page = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit:
        last = page[-1]
        next_cursor = write_cursor(at=last.updated_at.isoformat(), id=last.id)
    body = ConversationList(conversations=[_summary(c) for c in page], next_cursor=next_cursor)
    return web.json_response(text=body.model_dump_json())


@scoped("conversations:read")
async def get_conversation(request: web.Request, token: TokenHolder) -> web.Response:
    async with request.app[SESSIONS]() as session:
        conversation = await session.get(Conversation, int(request.match_info["conversation_id"]))
        if conversation is None:
            raise error(404, "No such conversation.")
        messages = await session.scalars(
            select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
        )
        body = ConversationDetail(
            **_summary(conversation).model_dump(),
            messages=[
                MessageOut(
                    id=m.id,
                    direction=m.direction,
                    channel=m.channel,
                    sender=m.sender,
                    agent_id=m.agent_id,
                    subject=m.subject,
                    text=m.text,
                    delivery_status=m.delivery_status,
                    attachments=m.attachments,
                    at=m.created_at,
                )
                for m in messages
            ],
        )
    return web.json_response(text=body.model_dump_json())


@scoped("messages:send")
async def send_message(request: web.Request, token: TokenHolder) -> web.Response:
    """A reply to the customer from the agent who holds the conversation (a conversation
    nobody holds yet is refused, 409): it is stored, sent on the channel and shown in that
    agent's console exactly as if they had written it there."""
    given = ReplyIn.model_validate(await json_body(request))
    conversation_id = int(request.match_info["conversation_id"])
    async with request.app[SESSIONS]() as session:
        conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise error(404, "No such conversation.")
    if conversation.agent_id is None or conversation.status != "assigned":
        raise error(409, f"The conversation is {conversation.status}: no agent holds it.")
    try:
        sent = await request.app[CONVERSATIONS].reply(
            conversation.agent_id,
            conversation_id,
            given.text,
            given.channel or None,
            template_id=given.template_id,
            variables=given.variables,
        )
    except ConversationError as exc:
        raise error(exc.status, str(exc)) from None
    body = ReplySent(message_id=sent.message_id, delivery_status=sent.delivery_status)
    return web.json_response(text=body.model_dump_json(), status=201)


def _filters(query: ConversationQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.channel:
        conditions.append(Conversation.channel == query.channel)
    if query.status:
        conditions.append(Conversation.status == query.status)
    if query.queue_id is not None:
        conditions.append(Conversation.inbox_id == query.queue_id)
    if query.agent_id is not None:
        conditions.append(Conversation.agent_id == query.agent_id)
    if query.customer_id is not None:
        conditions.append(Conversation.customer_id == query.customer_id)
    if query.since is not None:
        conditions.append(Conversation.updated_at >= _utc(query.since))
    if query.until is not None:
        conditions.append(Conversation.updated_at < _utc(query.until))
    return conditions


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _position(cursor: str) -> tuple[datetime, int]:
    try:
        position = read_cursor(cursor, "at", "id")
        at = datetime.fromisoformat(position["at"])
    except (CursorError, TypeError, ValueError):
        raise BadInput("cursor", "is not one this hub gave out.") from None
    last_id = position["id"]
    if isinstance(last_id, bool) or not isinstance(last_id, int) or at.tzinfo is None:
        raise BadInput("cursor", "is not one this hub gave out.")
    return at, last_id


def _summary(c: Conversation) -> ConversationSummary:
    return ConversationSummary(
        id=c.id,
        customer_id=c.customer_id,
        queue_id=c.inbox_id,
        channel=c.channel,
        status=c.status,
        subject=c.subject,
        agent_id=c.agent_id,
        labels=c.labels,
        disposition=c.disposition,
        created_at=c.created_at,
        updated_at=c.updated_at,
        closed_at=c.closed_at,
    )
