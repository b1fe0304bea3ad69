"""Teams: a supervisor with a team sees and steers that team's agents and their work.

Admins, and supervisors without a team (a company that has not set teams up), see
everyone. Work still waiting in a queue belongs to no team yet: every supervisor sees it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import WAITING_STATUSES, Agent, Conversation, Customer, Offer

SUPERVISORS = ("supervisor", "admin")

__all__ = [
    "conversation_scope",
    "customer_scope",
    "may_read_customer",
    "may_see_agent",
    "may_see_conversation",
    "may_see_customer",
    "sees_everyone",
    "team_of",
]


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


async def customer_scope(session: AsyncSession, viewer: Agent) -> ColumnElement[bool] | None:
    """Which customers the viewer may look up, as a condition on `Customer`; None: all.

    An agent: customers of a conversation they hold or held, or one offered to them now.
    A supervisor with a team: customers of a conversation the team holds or held, or
    of one still waiting. Admins and supervisors without a team: every customer.
    """
    if viewer.role not in SUPERVISORS:
        held = select(Conversation.id).where(
            Conversation.customer_id == Customer.id, Conversation.agent_id == viewer.id
        )
        offered = (
            select(Offer.id)
            .join(Conversation, Conversation.id == Offer.conversation_id)
            .where(
                Conversation.customer_id == Customer.id,
                Offer.agent_id == viewer.id,
                Offer.status == "pending",
            )
        )
        return or_(exists(held), exists(offered))
    team = await team_of(session, viewer)
    if team is None:
        return None
    seen = select(Conversation.id).where(
        Conversation.customer_id == Customer.id,
        or_(
            Conversation.agent_id.in_(team),
            and_(Conversation.agent_id.is_(None), Conversation.status.in_(WAITING_STATUSES)),
        ),
    )
    return exists(seen)


async def may_read_customer(session: AsyncSession, viewer: Agent, customer_id: int) -> bool:
    """Whether the viewer may open this customer's record (see `customer_scope`)."""
    scope = await customer_scope(session, viewer)
    query = select(Customer.id).where(Customer.id == customer_id)
    if scope is not None:
        query = query.where(scope)
    return await session.scalar(query) is not None


async def conversation_scope(session: AsyncSession, viewer: Agent) -> ColumnElement[bool] | None:
    """Which conversations the viewer may read, as a condition on `Conversation`; None: all.

    An agent: those they hold or held, and one offered to them now. A supervisor with a
    team: those the team holds or held, and those with nobody yet. Admins and
    supervisors without a team: every conversation.
    """
    if viewer.role not in SUPERVISORS:
        offered = select(Offer.id).where(
            Offer.conversation_id == Conversation.id,
            Offer.agent_id == viewer.id,
            Offer.status == "pending",
        )
        return or_(Conversation.agent_id == viewer.id, exists(offered))
    team = await team_of(session, viewer)
    if team is None:
        return None
    return or_(Conversation.agent_id.is_(None), Conversation.agent_id.in_(team))
