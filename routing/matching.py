"""Which agent should take a waiting contact: the pure, explainable decision.

Nothing here touches a database or Redis, so the same inputs always give the same
answer (a replayed sequence of events gives the same assignments), and the
benchmark can measure the decision itself.

Order of preference among eligible agents with free capacity:
1. the customer's recent agent (sticky, within the policy's window);
2. the best level in the skill the contact needs;
3. the longest idle (or, with strategy "least_occupied", the least loaded).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hub.channel_traits import ChannelRegistry
from hub.queue import WaitingContact

ANY_SKILL = ""


@dataclass(frozen=True)
class RoutingPolicy:
    """How routing trades speed of answer against the best match."""

    strategy: str = "longest_idle"  # or "least_occupied"
    sticky_window: float = 24 * 3600.0
    # After each of these waits (seconds) the skill requirement relaxes one step;
    # past the last one any agent who speaks the language may take it (bullseye).
    overflow_after: tuple[float, ...] = (60.0, 180.0, 600.0)
    level_relief: int = 2
    max_missed_offers: int = 3
    # A console connection gone this long (seconds) means the agent has left.
    presence_grace: float = 30.0
    # An agent who declined (or missed) a contact gets it back only when nobody else can
    # take it, and not before this many seconds: a contact is never left unservable.
    decline_cooldown: float = 60.0

    def cooled(self, contact: WaitingContact, now: float) -> bool:
        """Whether the agents who declined this contact may be offered it again."""
        declined_at = contact.declined_at
        return declined_at is None or now - declined_at >= self.decline_cooldown

    def step(self, waited: float) -> int:
        return sum(1 for threshold in self.overflow_after if waited >= threshold)

    def required_level(self, contact: WaitingContact, step: int) -> int | None:
        """The skill level this contact needs at this step; None when any agent will do."""
        if not contact.required_skill or step >= len(self.overflow_after):
            return None
        return max(1, contact.min_level - step * self.level_relief)


@dataclass
class AgentState:
    """An available agent as routing sees them during one pass."""

    agent_id: int
    skills: dict[str, int]
    languages: frozenset[str]
    capacities: dict[str, int]
    load: dict[str, int] = field(default_factory=dict)
    idle_since: float = 0.0
    # The channels' default capacities and which of them hold an agent alone.
    channels: ChannelRegistry = field(kw_only=True, repr=False)

    def capacity(self, channel: str) -> int:
        configured = self.capacities.get(channel)
        if configured is None:
            return self.channels[channel].default_capacity
        return int(configured)

    def free(self, channel: str) -> int:
        busy = sum(self.load.values())
        exclusive = self.channels.exclusive()
        if channel in exclusive and busy:
            return 0
        if any(self.load.get(c) for c in exclusive):
            return 0
        return self.capacity(channel) - self.load.get(channel, 0)

    def occupancy(self) -> float:
        used = sum(self.load.get(c, 0) / max(1, self.capacity(c)) for c in self.load)
        return used

    def speaks(self, language: str) -> bool:
        return not self.languages or not language or language in self.languages


@dataclass(frozen=True)
class Decision:
    """One routing decision, with the reasons a supervisor can read."""

    conversation_id: int
    agent_id: int | None
    step: int
    required_level: int | None
    reason: str
    passed_over: tuple[tuple[int, str], ...] = ()

    def explain(self, contact: WaitingContact) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "requirements": {
                "queue": contact.queue,
                "channel": contact.channel,
                "language": contact.language,
                "skill": contact.required_skill,
                "min_level": contact.min_level,
                "priority": contact.priority,
                "rules": list(contact.reasons),
            },
            "relaxation_step": self.step,
            "required_level": self.required_level,
            "chosen_agent_id": self.agent_id,
            "reason": self.reason,
            "passed_over": [{"agent_id": a, "why": why} for a, why in self.passed_over],
        }


def why_not(
    contact: WaitingContact,
    agent: AgentState,
    required_level: int | None,
    *,
    declined_ok: bool = False,
) -> str | None:
    """Why this agent cannot take this contact now, or None if they can."""
    if agent.agent_id in contact.declined_by and not declined_ok:
        return "already declined or missed it"
    if not agent.speaks(contact.language):
        return f"does not speak {contact.language}"
    if required_level is not None and contact.required_skill:
        level = agent.skills.get(contact.required_skill)
        if level is None:
            return f"lacks skill {contact.required_skill}"
        if level < required_level:
            return f"{contact.required_skill} level {level} < {required_level}"
    if agent.free(contact.channel) <= 0:
        return f"no free {contact.channel} capacity"
    return None


class Matcher:
    """Agents ranked per (channel, skill), so a decision looks at few of them."""

    MAX_PASSED_OVER = 10

    def __init__(self, agents: Iterable[AgentState], policy: RoutingPolicy, now: float) -> None:
        self.policy = policy
        self.now = now
        self.agents = {a.agent_id: a for a in agents}
        self._ranked: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        self._keys: dict[tuple[str, str], dict[int, tuple[Any, ...]]] = {}

    def choose(self, contact: WaitingContact, sticky_agent: int | None = None) -> Decision:
        step = self.policy.step(self.now - contact.enqueued_at)
        level = self.policy.required_level(contact, step)
        sticky = self.agents.get(sticky_agent) if sticky_agent is not None else None
        if sticky is not None and why_not(contact, sticky, level) is None:
            return Decision(contact.conversation_id, sticky.agent_id, step, level, "sticky")
        skill = (
            contact.required_skill if level is not None and contact.required_skill else ANY_SKILL
        )
        passed: list[tuple[int, str]] = []
        for key in self._bucket(contact.channel, skill):
            agent = self.agents[key[-1]]
            why = why_not(contact, agent, level)
            if why is None:
                reason = self._reason(agent, skill)
                return Decision(
                    contact.conversation_id, agent.agent_id, step, level, reason, tuple(passed)
                )
            if len(passed) < self.MAX_PASSED_OVER:
                passed.append((agent.agent_id, why))
        again = self._declined_again(contact, skill, level)
        if again is not None:
            reason = "declined it before; nobody else can take it"
            return Decision(contact.conversation_id, again, step, level, reason, tuple(passed))
        return Decision(
            contact.conversation_id, None, step, level, "no eligible agent", tuple(passed)
        )

    def _declined_again(self, contact: WaitingContact, skill: str, level: int | None) -> int | None:
        """An agent who declined the contact and may have it now that nobody else can."""
        if not contact.declined_by or not self.policy.cooled(contact, self.now):
            return None
        for key in self._bucket(contact.channel, skill):
            agent = self.agents[key[-1]]
            if agent.agent_id in contact.declined_by and (
                why_not(contact, agent, level, declined_ok=True) is None
            ):
                return agent.agent_id
        return None

    def assigned(self, agent_id: int, channel: str) -> None:
        """Count a reserved contact against the agent and move them down the ranking."""
        agent = self.agents[agent_id]
        agent.load[channel] = agent.load.get(channel, 0) + 1
        agent.idle_since = self.now
        self._rerank(agent)

    def full(self, agent_id: int, channel: str) -> None:
        """Another hub process filled this agent up; stop offering them this pass."""
        agent = self.agents[agent_id]
        agent.load[channel] = max(agent.load.get(channel, 0), agent.capacity(channel))
        self._rerank(agent)

    def _reason(self, agent: AgentState, skill: str) -> str:
        parts = []
        if skill:
            parts.append(f"best {skill} level ({agent.skills.get(skill)})")
        if self.policy.strategy == "least_occupied":
            parts.append(f"least occupied ({agent.occupancy():.2f})")
        else:
            idle = (
                "never assigned"
                if not agent.idle_since
                else f"idle {self.now - agent.idle_since:.0f}s"
            )
            parts.append(f"longest idle ({idle})")
        return ", then ".join(parts)

    def _sort_key(self, agent: AgentState, skill: str) -> tuple[Any, ...]:
        secondary = agent.occupancy() if self.policy.strategy == "least_occupied" else 0.0
        return (
            -agent.skills.get(skill, 0) if skill else 0,
            secondary,
            agent.idle_since,
            agent.agent_id,
        )

    def _bucket(self, channel: str, skill: str) -> list[tuple[Any, ...]]:
        bucket_id = (channel, skill)
        ranked = self._ranked.get(bucket_id)
        if ranked is None:
            keys = {
                a.agent_id: self._sort_key(a, skill)
                for a in self.agents.values()
                if a.free(channel) > 0 and (not skill or skill in a.skills)
            }
            ranked = sorted(keys.values())
            self._ranked[bucket_id] = ranked
            self._keys[bucket_id] = keys
        return ranked

    def _rerank(self, agent: AgentState) -> None:
        # Only the buckets this agent can be in: each built channel, for "any skill"
        # and for each skill the agent has.
        channels = {channel for channel, _skill in self._ranked}
        for channel in channels:
            has_room = agent.free(channel) > 0
            for skill in (ANY_SKILL, *agent.skills):
                bucket_id = (channel, skill)
                ranked = self._ranked.get(bucket_id)
                if ranked is None:
                    continue
                keys = self._keys[bucket_id]
                old = keys.pop(agent.agent_id, None)
                if old is not None:
                    del ranked[bisect_left(ranked, old)]
                if has_room:
                    new = self._sort_key(agent, skill)
                    keys[agent.agent_id] = new
                    insort(ranked, new)
