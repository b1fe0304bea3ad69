"""Which agents could take a contact now, as routing sees them.

The router reads the available agents once per pass (`available_agents`); web chat asks
`Availability.could_take` whether anyone here now could answer a visitor, so the widget's
"online" follows the same rules as the offers do: skill and level, language, free capacity
on the channel, and nobody on a call taking anything else.
"""

from __future__ import annotations

import time
from collections.abc import Collection

from sqlalchemy import or_, select

from hub.channel_traits import ChannelRegistry
from hub.db import Sessions
from hub.models import Agent, AgentSkill, Inbox, utcnow
from hub.presence import PresenceBoard
from hub.queue import ContactQueue, WaitingContact
from routing.matching import AgentState, why_not


async def available_agents(
    sessions: Sessions,
    queue: ContactQueue,
    channels: ChannelRegistry,
    among: Collection[int] | None = None,
) -> list[AgentState]:
    """Agents who are available and not wrapping up (only those `among`, if given), with
    their skills and their load on each channel."""
    now = utcnow()
    # Columns, not ORM objects: web chat asks this for every visitor who says hello.
    query = select(Agent.id, Agent.languages, Agent.capacities, Agent.last_assigned_at).where(
        Agent.status == "available",
        or_(Agent.wrap_up_until.is_(None), Agent.wrap_up_until <= now),
    )
    if among is not None:
        query = query.where(Agent.id.in_(among))
    async with sessions() as session:
        agents = (await session.execute(query)).all()
        skill_rows = await session.execute(
            select(AgentSkill.agent_id, AgentSkill.skill, AgentSkill.level).where(
                AgentSkill.agent_id.in_([a.id for a in agents])
            )
        )
    skills: dict[int, dict[str, int]] = {}
    for agent_id, skill, level in skill_rows.all():
        skills.setdefault(agent_id, {})[skill] = level
    loads = await queue.loads([a.id for a in agents])
    return [
        AgentState(
            agent_id=a.id,
            skills=skills.get(a.id, {}),
            languages=frozenset(a.languages or ()),
            capacities={k: int(v) for k, v in (a.capacities or {}).items()},
            load=dict(loads.get(a.id, {})),
            idle_since=a.last_assigned_at.timestamp() if a.last_assigned_at else 0.0,
            channels=channels,
        )
        for a in agents
    ]


class Availability:
    """Whether an agent whose console is open could take a contact now."""

    def __init__(
        self,
        sessions: Sessions,
        queue: ContactQueue,
        presence: PresenceBoard,
        channels: ChannelRegistry,
        within: float,
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._presence = presence
        self._channels = channels
        self._within = within  # seconds since an agent's console was last seen

    async def could_take(self, channel: str, inbox: str) -> bool:
        """Whether routing could offer a contact that reached `inbox` on `channel` to an
        agent seen here within the last few presence rounds."""
        present = await self._presence.present(time.time() - self._within)
        if not present:
            return False
        async with self._sessions() as session:
            configured = await session.scalar(
                select(Inbox).where(Inbox.channel == channel, Inbox.address == inbox)
            )
        contact = WaitingContact(
            conversation_id=0,
            channel=channel,
            required_skill=configured.skill if configured else None,
            priority=0,
            enqueued_at=time.time(),
            language=configured.language if configured else "",
            min_level=(configured.skill_level or 1) if configured else 1,
        )
        level = contact.min_level if contact.required_skill else None
        agents = await available_agents(self._sessions, self._queue, self._channels, present)
        return any(why_not(contact, agent, level) is None for agent in agents)


__all__ = ["Availability", "available_agents"]
