"""The router: every tick (and whenever woken) it matches waiting contacts to agents.

Each pass reads the available agents and their load, asks `routing.matching` for a
decision per contact (highest effective priority first), reserves the agent's
capacity in one atomic step on the queue backend, and only then makes the offer.
A reservation that fails (another hub process was faster) is simply re-decided.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hub.channel_traits import ChannelRegistry
from hub.db import Sessions
from hub.loops import Backoff, stop_if_cancelled
from hub.models import Conversation, utcnow
from hub.presence import PresenceBoard
from hub.queue import ContactQueue, WaitingContact
from hub.recovery import rebuild
from routing.availability import available_agents
from routing.handback import Handback
from routing.limits import QueueLimits
from routing.matching import Decision, Matcher, RoutingPolicy
from routing.offers import OfferBook

log = logging.getLogger(__name__)
# A contact this pass reserved for an agent, with the reasons: (contact, agent_id, why).
Taken = tuple[WaitingContact, int, dict[str, Any]]


def plan(
    matcher: Matcher, waiting: list[WaitingContact], sticky: dict[int | None, int]
) -> list[tuple[WaitingContact, Decision]]:
    """Decide for every waiting contact in order, counting each choice against the agent."""
    decisions = []
    for contact in waiting:
        decision = matcher.choose(contact, sticky.get(contact.customer_id))
        if decision.agent_id is not None:
            matcher.assigned(decision.agent_id, contact.channel)
            decisions.append((contact, decision))
    return decisions


# A woken pass comes no sooner than `pass_spacing` times as long as the last pass took
# after it: while contacts pour in (each one wakes the router) and the queue is long (each
# pass costs more), routing keeps to about a fifth of the process's time at 4 and intake
# keeps the rest. Quick passes wait only milliseconds, and none waits longer than
# MAX_SPACING (a pass slowed by a busy database is no reason to keep agents waiting).
MAX_SPACING = 0.25  # seconds


class Router:
    """Matches waiting contacts to agents every tick, and whenever woken."""

    def __init__(
        self,
        sessions: Sessions,
        queue: ContactQueue,
        offers: OfferBook,
        channels: ChannelRegistry,
        tick: float,
        policy: RoutingPolicy | None = None,
        presence: PresenceBoard | None = None,
        handback: Handback | None = None,
        limits: QueueLimits | None = None,
        pass_spacing: float = 4.0,
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._offers = offers
        self._channels = channels
        self._tick = tick
        self.policy = policy or RoutingPolicy()
        self._wake = asyncio.Event()
        self._rebuilds = 0
        self._presence = presence
        self._handback = handback
        self._limits = limits
        self._pass_spacing = pass_spacing

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        backoff = Backoff("routing pass", first=self._tick, longest=max(self._tick, 2.0))
        while True:
            stop_if_cancelled()  # a cancel a client's timeout swallowed still ends the loop
            started = time.monotonic()
            try:
                await self.tick()
            except Exception:
                await backoff.failed()
                continue
            backoff.succeeded()
            spent = time.monotonic() - started
            await asyncio.sleep(min(self._pass_spacing * spent, MAX_SPACING, self._tick))
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that
            # arrives as the wake-up fires, and the hub then never shuts down.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._tick):
                    await self._wake.wait()
            self._wake.clear()

    async def tick(self) -> int:
        """One routing pass; how many offers it made."""
        if not await self._queue.intact():
            if not await self._queue.claim_rebuild():
                return 0  # another hub process is rebuilding; route once it is done
            restored = await rebuild(self._sessions, self._queue)
            # The first build is ordinary start-up; a later one means the state was lost.
            report = log.warning if self._rebuilds else log.info
            report("live queue rebuilt from the database: %d waiting", restored)
            self._rebuilds += 1
        await self._offers.expire_due(self.policy.max_missed_offers)
        await self._hand_back_departed()
        made, still_waiting = await self._route()
        if self._limits is not None:
            # After matching, so a contact an agent could take at once never counts as
            # one too many.
            await self._limits.enforce(still_waiting, utcnow().timestamp())
        return made

    async def _route(self) -> tuple[int, list[WaitingContact]]:
        """Offers made, and the contacts still waiting."""
        waiting = await self._queue.waiting()
        if not waiting:
            return 0, []
        now = utcnow()
        agents = await available_agents(self._sessions, self._queue, self._channels)
        matcher = Matcher(agents, self.policy, now.timestamp())
        if not matcher.agents:
            return 0, waiting
        sticky = await self._recent_agents(waiting)
        decisions = plan(matcher, waiting, sticky)
        outcomes = await self._queue.reserve_many(
            [
                (
                    c.conversation_id,
                    d.agent_id,
                    c.channel,
                    matcher.agents[d.agent_id].capacity(c.channel),
                )
                for c, d in decisions
                if d.agent_id is not None
            ]
        )
        taken: list[Taken] = []
        for (contact, decision), reserved in zip(decisions, outcomes, strict=True):
            assert decision.agent_id is not None
            if not reserved:
                # Another hub process took the contact or filled the agent first.
                self.wake()
                continue
            taken.append((contact, decision.agent_id, decision.explain(contact)))
        made = await self._offer(taken)
        offered = {contact.conversation_id for contact, _agent, _why in taken}
        return made, [c for c in waiting if c.conversation_id not in offered]

    async def _offer(self, taken: list[Taken]) -> int:
        """Offer what this pass reserved; on any failure, what is not offered yet goes back
        (in line, and the agent's capacity), so nothing stays reserved for nobody."""
        made = 0
        for index, (contact, agent_id, explanation) in enumerate(taken):
            try:
                log.info("routing decision %s", json.dumps(explanation))
                if await self._offers.create(contact, agent_id, explanation):
                    made += 1
            except BaseException:
                await self._give_back(taken[index:])
                raise
        return made

    async def _give_back(self, taken: list[Taken]) -> None:
        try:
            for contact, agent_id, _explanation in taken:
                await self._queue.release(agent_id, contact.channel)
                await self._queue.push(contact)
        except Exception:
            # The live queue is failing too: the reconciler puts it right from the database.
            log.exception("could not give back %d reserved contacts", len(taken))

    async def _hand_back_departed(self) -> None:
        """Agents whose console went away longer than the grace period: their work returns."""
        if self._presence is None or self._handback is None:
            return
        cutoff = utcnow().timestamp() - self.policy.presence_grace
        for agent_id in await self._presence.gone(cutoff):
            if await self._presence.forget(agent_id):  # one hub process claims each departure
                moved = await self._handback.agent_left(agent_id, "console disconnected")
                log.info("agent %s left; %d contacts back in the queue", agent_id, moved)

    async def _recent_agents(self, waiting: list[WaitingContact]) -> dict[int | None, int]:
        """Each waiting customer's most recent agent within the sticky window."""
        customers = {c.customer_id for c in waiting if c.customer_id is not None}
        if not customers or self.policy.sticky_window <= 0:
            return {}
        since = utcnow() - timedelta(seconds=self.policy.sticky_window)
        async with self._sessions() as session:
            rows = await session.execute(
                select(Conversation.customer_id, Conversation.agent_id)
                .where(
                    Conversation.customer_id.in_(customers),
                    Conversation.agent_id.is_not(None),
                    Conversation.updated_at >= since,
                )
                .order_by(Conversation.updated_at)
            )
        recent: dict[int | None, int] = {}
        for customer_id, agent_id in rows.all():
            recent[customer_id] = agent_id  # later rows win: the most recent agent
        return recent
