"""/api/v1/queues: every queue (an inbox: one address on one channel) with what is
happening in it now: contacts waiting in the live queue, the longest wait, and the
conversations agents hold."""

from __future__ import annotations

import time
from collections import defaultdict

from aiohttp import web
from sqlalchemy import func, select

from agent_console.admin import queue_out
from agent_console.api_v1.bearer import scoped
from agent_console.api_v1.paging import after_id, page_of
from hub.api_models.queues import QueueList, QueueLive, QueueQuery
from hub.api_tokens import TokenHolder
from hub.keys import QUEUE, SESSIONS
from hub.models import Conversation, ConversationStatus, Inbox

# More waiting than this is counted from the database alone (no waits), not the live queue.
LIVE_LIMIT = 10_000


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/queues", list_queues)


@scoped("conversations:read")
async def list_queues(request: web.Request, token: TokenHolder) -> web.Response:
    query = QueueQuery.model_validate(dict(request.query))
    statement = select(Inbox).where(Inbox.id > after_id(query.cursor))
    if query.channel:
        statement = statement.where(Inbox.channel == query.channel)
    waiting = await request.app[QUEUE].waiting(limit=LIVE_LIMIT)
    async with request.app[SESSIONS]() as session:
        rows = list(await session.scalars(statement.order_by(Inbox.id).limit(query.limit + 1)))
        page, next_cursor = page_of(rows, query.limit)
        inbox_of = dict(
            (
                await session.execute(
                    select(Conversation.id, Conversation.inbox_id).where(
                        Conversation.id.in_([w.conversation_id for w in waiting])
                    )
                )
            )
            .tuples()
            .all()
        )
        assigned = dict(
            (
                await session.execute(
                    select(Conversation.inbox_id, func.count(Conversation.id))
                    .where(
                        Conversation.status == ConversationStatus.ASSIGNED,
                        Conversation.inbox_id.in_([i.id for i in page]),
                    )
                    .group_by(Conversation.inbox_id)
                )
            )
            .tuples()
            .all()
        )
    now = time.time()
    waits: dict[int, list[float]] = defaultdict(list)
    for contact in waiting:
        inbox_id = inbox_of.get(contact.conversation_id)
        if inbox_id is not None:
            waits[inbox_id].append(max(0.0, now - contact.enqueued_at))
    body = QueueList(
        queues=[
            QueueLive(
                **queue_out(inbox).model_dump(),
                waiting=len(waits[inbox.id]),
                longest_wait_seconds=round(max(waits[inbox.id]), 1) if waits[inbox.id] else None,
                assigned=assigned.get(inbox.id, 0),
            )
            for inbox in page
        ],
        next_cursor=next_cursor,
    )
    return web.json_response(text=body.model_dump_json())
