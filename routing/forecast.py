"""Will a queue miss its service level soon? A forecast from arrivals, handle time and Erlang C.

How it projects (written down because it is an approximation, not a promise):
- arrivals: counted per minute over the last `lookback_minutes`, smoothed with a damped
  linear trend (Holt's method), so a burst that is still building is carried forward
  and a steady load stays flat;
- each coming minute m: the backlog left by the minutes before it (fluid model: what
  arrives minus what `agents` clear at `handle_seconds` each) delays a newcomer by
  backlog x handle / agents; a newcomer's chance of an answer within the target is then
  Erlang C's for that minute's rate with what is left of the target (none left: 0);
- the service level a supervisor will read at minute m is that of the last
  `window_minutes`: what was measured before now, fading out as the window slides,
  and the projected minutes since, weighted by their arrivals;
- the rate projected is `caution` standard errors below Holt's, so that the noise of
  a few contacts a minute does not raise warnings on its own;
- a warning: the first minute within the horizon where that falls below the target,
  with the fewest extra agents (with the queue's skill at the level its contacts need)
  under whom every newcomer minute of the horizon is at or above it;
- `WarningHold` keeps a warning up until the forecast has been calm for a whole
  horizon, so that a queue near its target does not raise a fresh alarm each time the
  noise of its arrivals tips the forecast over and back.

Agents serve several queues; each queue is counted with every available agent who could
take it, so a forecast errs towards calm when queues share agents.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Sessions
from hub.models import Agent, AgentSkill, Conversation, Offer, utcnow
from hub.queue import GENERAL_QUEUE, ContactQueue
from routing.erlang import probability_of_waiting
from routing.stats import DEFAULT_HANDLE_SECONDS

__all__ = [
    "Forecast",
    "ForecastSettings",
    "QueueLoad",
    "WarningHold",
    "arrival_counts",
    "arrival_trend",
    "forecast",
    "queue_forecasts",
]

MAX_EXTRA_AGENTS = 200


@dataclass(frozen=True)
class ForecastSettings:
    horizon_minutes: int = 15
    target_seconds: float = 20.0
    target_service_level: float = 0.8
    lookback_minutes: int = 15
    window_minutes: int = 15  # the service level read is over this many minutes
    level_smoothing: float = 0.15  # Holt's alpha: how fast the rate follows new minutes
    trend_smoothing: float = 0.1  # Holt's beta: how fast the trend follows
    trend_damping: float = 0.9  # each minute ahead carries the trend this much less
    # Standard errors of the smoothed rate to take off before projecting: counts of a
    # few contacts a minute are noisy, and Erlang C turns a noisy rate into a noisy
    # service level. A warning stands only if the cautious rate breaks the target.
    caution: float = 1.5


@dataclass(frozen=True)
class QueueLoad:
    """What one routing queue faces now."""

    queue: str  # a skill, or "general"
    level: int  # the skill level its contacts need
    arrivals: Sequence[float]  # epoch seconds of recent arrivals
    handle_seconds: float
    agents: int  # available agents who could take it
    waiting: int  # contacts in it now
    answered: int = 0  # over the last window_minutes
    answered_in_time: int = 0  # of them, within the target


@dataclass(frozen=True)
class Forecast:
    queue: str
    level: int
    arrivals_per_hour: float
    trend_per_hour: float  # change of the hourly rate per minute
    handle_seconds: float
    agents: int
    waiting: int
    projected_service_level: float  # the lowest minute of the horizon
    minutes_to_breach: int | None
    agents_to_add: int
    warning: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def arrival_counts(arrivals: Sequence[float], now: float, minutes: int) -> list[int]:
    """Arrivals in each of the last `minutes` whole minutes before `now`, oldest first."""
    counts = [0] * minutes
    start = now - minutes * 60
    for at in arrivals:
        if start <= at < now:
            counts[min(minutes - 1, int((at - start) // 60))] += 1
    return counts


def arrival_trend(counts: Sequence[float], settings: ForecastSettings) -> tuple[float, float]:
    """(rate, trend) in arrivals a minute and a minute per minute, by Holt's method."""
    alpha, beta = settings.level_smoothing, settings.trend_smoothing
    level, trend = float(counts[0]), 0.0
    for count in counts[1:]:
        previous = level
        level = alpha * count + (1 - alpha) * (level + trend)
        trend = beta * (level - previous) + (1 - beta) * trend
    return level, trend


def _rates(counts: list[int], settings: ForecastSettings) -> list[float]:
    """Arrivals a minute over the horizon, `caution` standard errors below the trend.

    Holt's rate and trend are weighted sums of the counts; read the weights off by
    smoothing one count at a time, and the projection's variance under a steady
    Poisson load of the counts' mean is that mean times the sum of squared weights.
    """
    rate, trend = arrival_trend(counts, settings)
    basis = [
        arrival_trend([1.0 if j == i else 0.0 for j in range(len(counts))], settings)
        for i in range(len(counts))
    ]
    mean = sum(counts) / len(counts)
    rates, carried, damping = [], 0.0, 1.0
    for _ in range(settings.horizon_minutes):
        spread = math.sqrt(mean * sum((w + carried * v) ** 2 for w, v in basis))
        rates.append(max(0.0, rate + trend * carried - settings.caution * spread))
        damping *= settings.trend_damping
        carried += damping
    return rates


def _minute_levels(load: QueueLoad, agents: int, rates: list[float], target: float) -> list[float]:
    """Projected service level of those arriving in each minute of the horizon."""
    handle = load.handle_seconds
    backlog = float(load.waiting)
    cleared_per_minute = agents * 60 / handle if agents else 0.0
    levels = []
    for rate in rates:
        traffic = rate * handle / 60
        left = target - (backlog * handle / agents if agents else math.inf)
        if left < 0 or agents <= traffic:
            levels.append(0.0 if rate > 0 or backlog > 0 else 1.0)
        else:
            waits = probability_of_waiting(agents, traffic)
            levels.append(1 - waits * math.exp(-(agents - traffic) * left / handle))
        backlog = max(0.0, backlog + rate - cleared_per_minute)
    return levels


def _read_levels(
    load: QueueLoad, agents: int, rates: list[float], settings: ForecastSettings
) -> list[float]:
    """The service level a supervisor would read at the end of each minute ahead."""
    window = settings.window_minutes
    levels = _minute_levels(load, agents, rates, settings.target_seconds)
    read = []
    for m in range(len(rates)):
        kept = max(0.0, (window - m - 1) / window)
        ahead = range(max(0, m + 1 - window), m + 1)
        offered = load.answered * kept + sum(rates[k] for k in ahead)
        in_time = load.answered_in_time * kept + sum(rates[k] * levels[k] for k in ahead)
        read.append(in_time / offered if offered else 1.0)
    return read


def forecast(load: QueueLoad, now: float, settings: ForecastSettings) -> Forecast:
    """The queue's projected service level over the horizon, and a warning if it breaks."""
    counts = arrival_counts(load.arrivals, now, settings.lookback_minutes)
    rate, trend = arrival_trend(counts, settings)
    goal = settings.target_service_level
    rates = _rates(counts, settings)
    levels = _read_levels(load, load.agents, rates, settings)
    breach = next((m for m, level in enumerate(levels) if level < goal), None)
    extra = 0
    warning = None
    if breach is not None:
        # More agents cannot answer the past sooner: they hold the target when everyone
        # arriving from now on is answered in time often enough.
        extra = next(
            (
                k
                for k in range(MAX_EXTRA_AGENTS + 1)
                if min(_minute_levels(load, load.agents + k, rates, settings.target_seconds))
                >= goal
            ),
            MAX_EXTRA_AGENTS,
        )
        warning = _warning(load, breach, extra, settings)
    return Forecast(
        queue=load.queue,
        level=load.level,
        arrivals_per_hour=round(rate * 60, 1),
        trend_per_hour=round(trend * 60, 2),
        handle_seconds=round(load.handle_seconds, 1),
        agents=load.agents,
        waiting=load.waiting,
        projected_service_level=round(min(levels), 4) if levels else 1.0,
        minutes_to_breach=breach,
        agents_to_add=extra,
        warning=warning,
    )


def _warning(load: QueueLoad, breach: int, extra: int, settings: ForecastSettings) -> str:
    promise = f"{round(settings.target_service_level * 100)}/{round(settings.target_seconds)}"
    when = "now" if breach == 0 else f"in about {breach} minute{'s' if breach != 1 else ''}"
    if extra == 0:
        return (
            f"{load.queue} will miss {promise} {when} from contacts answered late already; "
            "the agents there now should bring it back"
        )
    who = f" with {load.queue} {load.level} or better" if load.queue != GENERAL_QUEUE else ""
    agents = f"{extra} more agent{'s' if extra != 1 else ''}"
    return f"{load.queue} will miss {promise} {when}; {agents}{who} would hold it"


class WarningHold:
    """Warnings kept up, per queue, until the forecast has been calm for a horizon.

    Whoever evaluates forecasts keeps one (the hub: one per process) and passes every
    evaluation through it, in time order. A warning the forecast drops is shown on,
    counting down to the breach it foresaw, until `horizon_minutes` have passed since it
    was last foreseen; a new warning replaces it at once.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[str, ForecastSettings], tuple[float, Forecast]] = {}

    def apply(self, result: Forecast, now: float, settings: ForecastSettings) -> Forecast:
        key = (result.queue, settings)
        if result.warning is not None:
            self._last[key] = (now, result)
            return result
        held = self._last.get(key)
        if held is None:
            return result
        since, warned = held
        elapsed = int((now - since) // 60)
        if elapsed >= settings.horizon_minutes or warned.minutes_to_breach is None:
            del self._last[key]
            return result
        return replace(
            result,
            minutes_to_breach=max(0, warned.minutes_to_breach - elapsed),
            agents_to_add=warned.agents_to_add,
            warning=warned.warning,
        )


async def queue_forecasts(
    sessions: Sessions,
    queue: ContactQueue,
    settings: ForecastSettings,
    hold: WarningHold | None = None,
) -> list[Forecast]:
    """A forecast for every routing queue that had arrivals lately or has contacts waiting
    (warnings kept up by `hold` when given)."""
    now = utcnow()
    lookback = now - timedelta(minutes=max(settings.lookback_minutes, 60))
    window = now - timedelta(minutes=settings.window_minutes)
    arrivals: dict[str, list[float]] = defaultdict(list)
    levels: dict[str, int] = defaultdict(lambda: 1)
    waiting: Counter[str] = Counter()
    for contact in await queue.waiting(limit=10_000):
        waiting[contact.queue] += 1
        levels[contact.queue] = max(levels[contact.queue], contact.min_level)
    async with sessions() as session:
        rows = await session.execute(
            select(
                Conversation.required_skill, Conversation.min_level, Conversation.created_at
            ).where(Conversation.created_at >= lookback)
        )
        for skill, level, created in rows.all():
            name = skill or GENERAL_QUEUE
            arrivals[name].append(created.timestamp())
            levels[name] = max(levels[name], level)
        handles = await _handle_times(session, lookback)
        answered, in_time = await _answered(session, window, settings.target_seconds)
        staff = await _available_skills(session)
    overall = sum(handles.values(), []) or [DEFAULT_HANDLE_SECONDS]
    forecasts = []
    for name in sorted(set(arrivals) | set(waiting)):
        handle = handles.get(name) or overall
        load = QueueLoad(
            queue=name,
            level=levels[name],
            arrivals=arrivals[name],
            handle_seconds=sum(handle) / len(handle),
            agents=sum(
                1
                for skills in staff
                if name == GENERAL_QUEUE or skills.get(name, 0) >= levels[name]
            ),
            waiting=waiting[name],
            answered=answered[name],
            answered_in_time=in_time[name],
        )
        result = forecast(load, now.timestamp(), settings)
        if hold is not None:
            result = hold.apply(result, now.timestamp(), settings)
        forecasts.append(result)
    return forecasts


async def _handle_times(session: AsyncSession, since: datetime) -> dict[str, list[float]]:
    """Handle times of conversations closed since then, by queue: accept to close."""
    rows = await session.execute(
        select(Conversation.required_skill, Offer.decided_at, Conversation.closed_at)
        .join(Offer, Offer.conversation_id == Conversation.id)
        .where(
            Offer.status == "accepted",
            Conversation.status == "closed",
            Conversation.closed_at >= since,
        )
    )
    found: dict[str, list[float]] = defaultdict(list)
    for skill, decided, closed in rows.all():
        if decided and closed and closed > decided:
            found[skill or GENERAL_QUEUE].append((closed - decided).total_seconds())
    return found


async def _answered(
    session: AsyncSession, since: datetime, target_seconds: float
) -> tuple[Counter[str], Counter[str]]:
    """Per queue, since then: contacts answered or abandoned, and those answered in time
    (the service level as `routing.stats` defines it)."""
    offered: Counter[str] = Counter()
    in_time: Counter[str] = Counter()
    rows = await session.execute(
        select(
            Conversation.required_skill,
            Offer.decided_at,
            Conversation.created_at,
            Conversation.waits_from,
        )
        .join(Conversation, Conversation.id == Offer.conversation_id)
        .where(Offer.status == "accepted", Offer.decided_at >= since)
    )
    for skill, decided, created, waits_from in rows.all():
        name = skill or GENERAL_QUEUE
        offered[name] += 1
        if (decided - (waits_from or created)).total_seconds() <= target_seconds:
            in_time[name] += 1
    abandoned = await session.execute(
        select(Conversation.required_skill, func.count())
        .where(
            Conversation.status == "abandoned",
            Conversation.closed_at >= since,
            or_(
                Conversation.waits_from.is_(None),
                Conversation.closed_at >= Conversation.waits_from,
            ),
        )
        .group_by(Conversation.required_skill)
    )
    for skill, count in abandoned.all():
        offered[skill or GENERAL_QUEUE] += count
    return offered, in_time


async def _available_skills(session: AsyncSession) -> list[dict[str, int]]:
    """The skills and levels of each agent available now (analysts take no work)."""
    agents = list(
        await session.scalars(
            select(Agent.id).where(
                Agent.status == "available", Agent.active.is_(True), Agent.role != "analyst"
            )
        )
    )
    skills: dict[int, dict[str, int]] = {a: {} for a in agents}
    rows = await session.execute(
        select(AgentSkill.agent_id, AgentSkill.skill, AgentSkill.level).where(
            AgentSkill.agent_id.in_(agents)
        )
    )
    for agent_id, skill, level in rows.all():
        skills[agent_id][skill] = level
    return list(skills.values())
