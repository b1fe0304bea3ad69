"""Teams: a supervisor with a team sees and steers that team's agents and their work.

Admins, and supervisors without a team (a company that has not set teams up), see
everyone. Work still waiting in a queue belongs to no team yet: every supervisor sees it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import WAITING_STATUSES, Agent, Conversation

__all__ = ["sees_everyone", "team_of", "may_see_agent", "may_see_conversation", "may_see_customer"]


def sees_everyone(viewer: Agent) -> bool:
    """Whether nothing is hidden from this admin or supervisor."""
    return viewer.role == "admin" or not viewer.team


async def team_of(session: AsyncSession, viewer: Agent) -> set[int] | None:
    """Ids of the agents this supervisor oversees; None when that is everyone."""
    if sees_everyone(viewer):
        return None
    return set(await session.scalars(select(Agent.id).where(Agent.team == viewer.team)))


async def may_see_agent(session: AsyncSession, viewer: Agent, agent_id: int) -> bool:
    team = await team_of(session, viewer)
    return team is None or agent_id in team


async def may_see_conversation(
    session: AsyncSession, viewer: Agent, conversation: Conversation
) -> bool:
    """Held by one of the viewer's team, or with nobody yet."""
    if conversation.agent_id is None:
        return True
    return await may_see_agent(session, viewer, conversation.agent_id)


async def may_see_customer(session: AsyncSession, viewer: Agent, customer_id: int) -> bool:
    """The customer has a conversation the viewer may see (held by the team, or waiting)."""
    team = await team_of(session, viewer)
    if team is None:
        return True
    rows = await session.execute(
        select(Conversation.agent_id, Conversation.status).where(
            Conversation.customer_id == customer_id
        )
    )
    return any(
        holder in team if holder is not None else status in WAITING_STATUSES
        for holder, status in rows
    )
