"""What an agent may open: the rule every route under one conversation applies."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from agent_console.auth import SUPERVISORS
from agent_console.responses import error
from agent_console.teams import may_see_conversation
from hub.keys import SESSIONS
from hub.models import Agent, Conversation, Offer

__all__ = ["visible_conversation"]


async def visible_conversation(
    request: web.Request, agent: Agent, conversation_id: int | None = None
) -> Conversation:
    """A conversation the agent may see: assigned or offered to them (supervisors: any)."""
    if conversation_id is None:
        conversation_id = int(request.match_info["conversation_id"])
    async with request.app[SESSIONS]() as session:
        conversation = await session.get(Conversation, conversation_id)
        if (
            conversation is not None
            and agent.role in SUPERVISORS
            and await may_see_conversation(session, agent, conversation)
        ):
            return conversation
        if conversation is not None and conversation.agent_id == agent.id:
            return conversation
        offered = await session.scalar(
            select(Offer.id).where(
                Offer.conversation_id == conversation_id,
                Offer.agent_id == agent.id,
                Offer.status == "pending",
            )
        )
        if conversation is not None and offered is not None:
            return conversation
    raise error(404, "No such conversation for you.")
