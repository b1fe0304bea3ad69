"""The first assignment step: eligible agents (available, skilled, free capacity), longest idle.

The full engine (skill levels, languages, aging, sticky agents, overflow) fills in
`rank_agents` and `eligible` behind the same `Router.tick`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from hub.db import Sessions
from hub.models import Agent, AgentSkill
from hub.queue import ContactQueue, WaitingContact
from hub.recovery import rebuild
from routing.offers import OfferBook

log = logging.getLogger(__name__)
DEFAULT_CAPACITY = {"voice": 1, "chat": 3, "email": 5, "sms": 5}


@dataclass(frozen=True)
class Candidate:
    """An available agent as routing sees them."""

    agent_id: int
    skills: frozenset[str]
    capacities: dict[str, int]
    last_assigned_at: datetime | None

    def capacity(self, channel: str) -> int:
        return int(self.capacities.get(channel, DEFAULT_CAPACITY.get(channel, 1)))


def eligible(contact: WaitingContact, agent: Candidate, load: dict[str, int]) -> bool:
    if agent.agent_id in contact.declined_by:
        return False
    if contact.required_skill and contact.required_skill not in agent.skills:
        return False
    return load.get(contact.channel, 0) < agent.capacity(contact.channel)


def rank_agents(candidates: list[Candidate]) -> list[Candidate]:
    """Longest idle first: never assigned, then the oldest last assignment."""
    return sorted(
        candidates,
        key=lambda a: (
            a.last_assigned_at is not None,
            a.last_assigned_at or datetime.min,
            a.agent_id,
        ),
    )


class Router:
    """Matches waiting contacts to agents every tick, and whenever woken."""

    def __init__(
        self, sessions: Sessions, queue: ContactQueue, offers: OfferBook, tick: float
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._offers = offers
        self._tick = tick
        self._wake = asyncio.Event()
        self._rebuilds = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("routing tick failed; retrying")
            try:
                await asyncio.wait_for(self._wake.wait(), self._tick)
            except TimeoutError:
                pass
            self._wake.clear()

    async def tick(self) -> int:
        """One routing pass; how many offers it made."""
        if not await self._queue.intact():
            restored = await rebuild(self._sessions, self._queue)
            # The first build is ordinary start-up; a later one means the state was lost.
            report = log.warning if self._rebuilds else log.info
            report("live queue rebuilt from the database: %d waiting", restored)
            self._rebuilds += 1
        await self._offers.expire_due()
        waiting = await self._queue.waiting()
        if not waiting:
            return 0
        agents = rank_agents(await self._available_agents())
        loads = {a.agent_id: await self._queue.load(a.agent_id) for a in agents}
        made = 0
        for contact in waiting:
            for agent in agents:
                load = loads[agent.agent_id]
                if not eligible(contact, agent, load):
                    continue
                capacity = agent.capacity(contact.channel)
                if await self._queue.reserve(
                    contact.conversation_id, agent.agent_id, contact.channel, capacity
                ):
                    load[contact.channel] = load.get(contact.channel, 0) + 1
                    await self._offers.create(contact, agent.agent_id)
                    made += 1
                    agents = [*[a for a in agents if a is not agent], agent]
                    break
        return made

    async def _available_agents(self) -> list[Candidate]:
        async with self._sessions() as session:
            agents = list(await session.scalars(select(Agent).where(Agent.status == "available")))
            skills = await session.execute(
                select(AgentSkill.agent_id, AgentSkill.skill).where(
                    AgentSkill.agent_id.in_([a.id for a in agents])
                )
            )
        by_agent: dict[int, set[str]] = {}
        for agent_id, skill in skills.all():
            by_agent.setdefault(agent_id, set()).add(skill)
        return [
            Candidate(
                a.id, frozenset(by_agent.get(a.id, ())), dict(a.capacities), a.last_assigned_at
            )
            for a in agents
        ]
