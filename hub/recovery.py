"""The database is the truth; the live state (queue and agents' load, on Redis or in
memory) is made to agree with it, whatever happened to it.

`rebuild` replaces lost live state outright (start-up, Redis flushed or restarted empty).
The `Reconciler` checks the live state against the database every few seconds, on one
hub process at a time, and repairs what disagrees: a contact queued in the database but
missing from the live queue (a push lost to an outage or a crash) goes back in line; one
in the live queue the database no longer has waiting leaves it; an agent's load is set to
the offers and conversations the database gives them. A difference must be seen on two
passes in a row before it is repaired, so work in flight between a commit and its push
(milliseconds) is never mistaken for damage.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Sessions
from hub.intake import waiting_contact
from hub.loops import Backoff, stop_if_cancelled
from hub.metrics import Metrics
from hub.models import Agent, Conversation, ConversationStatus, Offer, QueueEntry
from hub.queue import ContactQueue, WaitingContact

log = logging.getLogger(__name__)
Loads = dict[int, dict[str, int]]


async def rebuild(sessions: Sessions, queue: ContactQueue) -> int:
    """Reset the live state to what the database says; how many contacts are waiting."""
    async with sessions() as session:
        waiting = await _waiting(session)
        loads = await _stored_loads(session)
    await queue.reset(waiting, loads)
    # A contact stored while we read may have been pushed before the reset wiped the
    # queue: it is in the database now, so push whatever the first read missed.
    known = {c.conversation_id for c in waiting}
    async with sessions() as session:
        missed = [c for c in await _waiting(session) if c.conversation_id not in known]
    for contact in missed:
        await queue.push(contact)
    return len(waiting) + len(missed)


@dataclass(frozen=True)
class Findings:
    """Where the live state and the database disagreed on one pass."""

    missing: frozenset[int] = frozenset()  # queued in the database, not in the live queue
    extra: frozenset[int] = frozenset()  # in the live queue, not queued in the database
    # (agent, channel) -> (live load, load the database gives them)
    loads: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.loads)

    def also_in(self, earlier: Findings) -> Findings:
        """What was found both now and on the earlier pass; a load only if it read the
        same both times (a routing pass in flight moves it)."""
        return Findings(
            self.missing & earlier.missing,
            self.extra & earlier.extra,
            {k: v for k, v in self.loads.items() if earlier.loads.get(k) == v},
        )


@dataclass(frozen=True)
class Repairs:
    """What one pass put right."""

    pushed: int = 0
    removed: int = 0
    loads: int = 0

    def __bool__(self) -> bool:
        return bool(self.pushed or self.removed or self.loads)


class Reconciler:
    """Keeps the live queue and agents' load in line with the database."""

    def __init__(
        self,
        sessions: Sessions,
        queue: ContactQueue,
        interval: float,
        metrics: Metrics | None = None,
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._interval = interval
        self._metrics = metrics
        self._holder = uuid.uuid4().hex
        self._earlier = Findings()

    async def run(self) -> None:
        """Reconcile at once, then every interval, until cancelled; straight away again
        after a dependency came back."""
        backoff = Backoff(
            "reconciler", first=min(self._interval, 0.5), longest=max(self._interval, 2.0)
        )
        while True:
            stop_if_cancelled()
            try:
                await self.reconcile()
            except Exception:
                await backoff.failed()
                continue
            if backoff.succeeded():
                continue  # Redis or the database is back: look again now
            await asyncio.sleep(self._interval)

    async def reconcile(self) -> Repairs:
        """One pass: find what disagrees, and repair what also disagreed on the last one."""
        # Held for a few intervals, so another process takes over only once this one is gone.
        if not await self._queue.claim_lease("reconcile", self._holder, 3 * self._interval):
            self._earlier = Findings()
            return Repairs()
        if not await self._queue.intact():
            # Lost outright (start-up, Redis flushed): the router rebuilds it with
            # `rebuild` before its next pass; comparing now would repair half of it.
            self._earlier = Findings()
            return Repairs()
        found = await self.compare()
        confirmed, self._earlier = found.also_in(self._earlier), found
        return self._count(await self._repair(confirmed))

    async def compare(self) -> Findings:
        """Where the live state disagrees with the database now."""
        # The database first: work in flight shows up as missing or extra for a moment,
        # never the other way round, and is gone by the next pass.
        async with self._sessions() as session:
            queued = set(await session.scalars(_QUEUED_IDS))
            stored = await _stored_loads(session)
            agents = list(await session.scalars(select(Agent.id)))
        live = await self._queue.waiting_ids()
        live_loads = await self._queue.loads(agents)
        loads: dict[tuple[int, str], tuple[int, int]] = {}
        for agent_id in agents:
            have, should = live_loads.get(agent_id, {}), stored.get(agent_id, {})
            for channel in have.keys() | should.keys():
                if have.get(channel, 0) != should.get(channel, 0):
                    loads[(agent_id, channel)] = (have.get(channel, 0), should.get(channel, 0))
        return Findings(frozenset(queued - live), frozenset(live - queued), loads)

    async def _repair(self, found: Findings) -> Repairs:
        if not found:
            return Repairs()
        async with self._sessions() as session:
            missing = [
                waiting_contact(e)
                for e in await session.scalars(
                    _QUEUED.where(QueueEntry.conversation_id.in_(found.missing))
                )
            ]
            still_queued = set(
                await session.scalars(
                    _QUEUED_IDS.where(QueueEntry.conversation_id.in_(found.extra))
                )
            )
        for contact in missing:
            await self._queue.push(contact)
        removed = 0
        for conversation_id in found.extra - still_queued:
            removed += await self._queue.remove(conversation_id)
        corrected = 0
        for (agent_id, channel), (seen, value) in found.loads.items():
            corrected += await self._queue.correct_load(agent_id, channel, seen, value)
        repairs = Repairs(pushed=len(missing), removed=removed, loads=corrected)
        if repairs:
            log.warning(
                "live state repaired from the database: %d contacts back in line, %d gone"
                " from it, %d agents' loads corrected",
                repairs.pushed,
                repairs.removed,
                repairs.loads,
            )
        return repairs

    def _count(self, repairs: Repairs) -> Repairs:
        if self._metrics is not None:
            for kind, amount in (
                ("pushed", repairs.pushed),
                ("removed", repairs.removed),
                ("load", repairs.loads),
            ):
                if amount:
                    self._metrics.inc("switchboard_reconciler_repairs_total", amount, kind=kind)
        return repairs


_QUEUED = (
    select(QueueEntry)
    .join(Conversation, Conversation.id == QueueEntry.conversation_id)
    .where(Conversation.status == ConversationStatus.QUEUED)
)
_QUEUED_IDS = (
    select(QueueEntry.conversation_id)
    .join(Conversation, Conversation.id == QueueEntry.conversation_id)
    .where(Conversation.status == ConversationStatus.QUEUED)
)


async def _waiting(session: AsyncSession) -> list[WaitingContact]:
    return [waiting_contact(e) for e in await session.scalars(_QUEUED)]


async def _stored_loads(session: AsyncSession) -> Loads:
    """Each agent's load per channel as the database has it: their assigned
    conversations and the offers they have pending."""
    loads: Loads = defaultdict(dict)
    assigned = await session.execute(
        select(Conversation.agent_id, Conversation.channel, func.count())
        .where(
            Conversation.status == ConversationStatus.ASSIGNED,
            Conversation.agent_id.is_not(None),
        )
        .group_by(Conversation.agent_id, Conversation.channel)
    )
    offered = await session.execute(
        select(Offer.agent_id, Conversation.channel, func.count())
        .join(Conversation, Conversation.id == Offer.conversation_id)
        .where(Offer.status == "pending")
        .group_by(Offer.agent_id, Conversation.channel)
    )
    for rows in (assigned.all(), offered.all()):
        for agent_id, channel, count in rows:
            loads[agent_id][channel] = loads[agent_id].get(channel, 0) + count
    return dict(loads)
