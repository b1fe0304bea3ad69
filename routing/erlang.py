"""Erlang C: how many agents a queue needs for a target service level.

Definitions (vendors differ, so they are written down here and in the README):
- traffic A = arrival rate x average handle time, in Erlangs;
- P(wait) = Erlang C probability that a contact has to wait at all;
- service level = share of contacts answered within the target time;
- average speed of answer (ASA) = mean wait over all contacts, answered at once or not;
- occupancy = A / agents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Staffing:
    agents: int
    traffic: float
    probability_of_waiting: float
    service_level: float
    average_speed_of_answer: float
    occupancy: float


def probability_of_waiting(agents: int, traffic: float) -> float:
    """Erlang C, computed by the stable Erlang B recurrence (no factorials)."""
    if agents <= traffic:
        return 1.0
    erlang_b = 1.0
    for k in range(1, agents + 1):
        erlang_b = traffic * erlang_b / (k + traffic * erlang_b)
    return agents * erlang_b / (agents - traffic * (1 - erlang_b))


def staffing(
    agents: int, arrivals_per_second: float, handle_seconds: float, target_seconds: float
) -> Staffing:
    """Service figures for a number of agents facing this load."""
    traffic = arrivals_per_second * handle_seconds
    p_wait = probability_of_waiting(agents, traffic)
    if agents <= traffic:
        return Staffing(agents, traffic, 1.0, 0.0, math.inf, 1.0)
    service_level = 1 - p_wait * math.exp(-(agents - traffic) * target_seconds / handle_seconds)
    asa = p_wait * handle_seconds / (agents - traffic)
    return Staffing(agents, traffic, p_wait, service_level, asa, traffic / agents)


def agents_needed(
    arrivals_per_second: float,
    handle_seconds: float,
    target_seconds: float,
    target_service_level: float,
    max_agents: int = 10_000,
) -> Staffing:
    """The fewest agents that reach the target service level."""
    if arrivals_per_second <= 0 or handle_seconds <= 0:
        return Staffing(0, 0.0, 0.0, 1.0, 0.0, 0.0)
    agents = max(1, math.floor(arrivals_per_second * handle_seconds) + 1)
    while agents < max_agents:
        result = staffing(agents, arrivals_per_second, handle_seconds, target_seconds)
        if result.service_level >= target_service_level:
            return result
        agents += 1
    return staffing(max_agents, arrivals_per_second, handle_seconds, target_seconds)
