"""Conversation search: every word of `q` in messages and notes, newest first.

`GET /api/conversations/search?q=` with filters (channel, status, agent, queue, label,
a date range), a page at a time. Each hit is a message with its conversation and customer and
a snippet split into plain text and highlighted words, so the console shows customer
text as text. Only conversations the viewer may read are searched (teams.py), the same
ones `GET /api/conversations/{id}` opens, closed or not.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import ColumnElement, Text, and_, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.auth import requires
from agent_console.cursors import CursorError, read_cursor, write_cursor
from agent_console.responses import error
from agent_console.teams import conversation_scope
from hub.api_models.conversations import ConversationHits, MessageHit, Piece, SearchQuery
from hub.fulltext import MessageMatch, search_words, snippet
from hub.keys import SESSIONS
from hub.models import Agent, Conversation, Customer, Message
from hub.queue import GENERAL_QUEUE

__all__ = ["ConversationHits", "SearchQuery", "find_messages", "search_conversations"]


@requires()
async def search_conversations(request: web.Request, viewer: Agent) -> web.Response:
    try:
        query = SearchQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise error(400, f"{where}: {problem['msg']}") from None
    if not search_words(query.q):
        raise error(400, "q: give at least one word to search for.")
    async with request.app[SESSIONS]() as session:
        found = await find_messages(session, viewer, query)
    return web.json_response(text=found.model_dump_json())


async def find_messages(
    session: AsyncSession, viewer: Agent, query: SearchQuery
) -> ConversationHits:
    """One page of messages holding every word, among the conversations the viewer reads."""
    words = search_words(query.q)
    match = MessageMatch(session.bind.dialect.name, words)
    conditions = [match.condition(), *_filters(query)]
    scope = await conversation_scope(session, viewer)
    if scope is not None:
        conditions.append(scope)
    if query.cursor:
        at, last = _position(query.cursor)
        conditions.append(
            or_(Message.created_at < at, and_(Message.created_at == at, Message.id < last))
        )
    statement = match.joined(
        select(
            Message.id,
            Message.direction,
            Message.created_at,
            Message.text,
            Conversation.id,
            Conversation.channel,
            Conversation.status,
            Conversation.subject,
            Conversation.agent_id,
            Conversation.required_skill,
            Customer.id,
            Customer.name,
        )
        .select_from(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Customer, Customer.id == Conversation.customer_id)
    )
    rows = list(
        await session.execute(
            statement.where(*conditions)
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(query.limit + 1)
        )
    )
    hits = [_hit(row, words) for row in rows[: query.limit]]
    next_cursor = None
    if len(rows) > query.limit:
        last_hit = hits[-1]
        next_cursor = write_cursor(at=last_hit.at.isoformat(), id=last_hit.message_id)
    return ConversationHits(hits=hits, next_cursor=next_cursor)


def _filters(query: SearchQuery) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if query.channel:
        found.append(Conversation.channel == query.channel)
    if query.status:
        found.append(Conversation.status == query.status)
    if query.agent_id is not None:
        found.append(Conversation.agent_id == query.agent_id)
    if query.queue == GENERAL_QUEUE:
        found.append(
            or_(Conversation.required_skill.is_(None), Conversation.required_skill == GENERAL_QUEUE)
        )
    elif query.queue:
        found.append(Conversation.required_skill == query.queue)
    if query.label:
        wanted = json.dumps(" ".join(query.label.split()).lower())
        escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        found.append(cast(Conversation.labels, Text).like(f"%{escaped}%", escape="\\"))
    if query.since is not None:
        found.append(Message.created_at >= _utc(query.since))
    if query.until is not None:
        found.append(Message.created_at < _utc(query.until))
    return found


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _position(cursor: str) -> tuple[datetime, int]:
    try:
        position = read_cursor(cursor, "at", "id")
        return datetime.fromisoformat(position["at"]), int(position["id"])
    except (CursorError, TypeError, ValueError):
        raise error(400, "cursor is not one this hub gave out") from None


def _hit(row: Any, words: list[str]) -> MessageHit:
    (message_id, direction, at, text, conversation_id, channel, status, subject) = row[:8]
    agent_id, skill, customer_id, customer_name = row[8:]
    return MessageHit(
        message_id=message_id,
        direction=direction,
        at=at,
        snippet=[Piece(text=t, hit=h) for t, h in snippet(text, words)],
        conversation_id=conversation_id,
        channel=channel,
        status=status,
        subject=subject,
        agent_id=agent_id,
        queue=skill or GENERAL_QUEUE,
        customer_id=customer_id,
        customer_name=customer_name,
    )
