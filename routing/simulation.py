"""A seeded discrete-event simulation of one queue: Poisson arrivals at a rate that changes
over time, exponential handle times, a fixed number of agents answering first come first
served, nobody abandoning. Every minute of simulated time it reports what the hub would
know then (recent arrivals, handle time, who is waiting) and the service level a
supervisor would read (answered within the target, over the last `window_minutes`).
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["Minute", "simulate"]


@dataclass(frozen=True)
class Minute:
    at: float  # seconds since the start
    arrivals: list[float]  # arrival times over the last hour
    handle_seconds: float  # mean handle time of those finished in the last hour
    waiting: int
    answered: int  # over the window
    answered_in_time: int  # of them, within the target

    @property
    def service_level(self) -> float | None:
        """As a supervisor reads it over the window; None before any answer."""
        return self.answered_in_time / self.answered if self.answered else None


def simulate(
    rate_per_minute: Callable[[float], float],
    agents: int,
    handle_seconds: float,
    minutes: int,
    seed: int,
    target_seconds: float = 20.0,
    window_minutes: int = 15,
) -> Iterator[Minute]:
    """Yield what is known at the end of each simulated minute."""
    rng = random.Random(seed)
    peak = max(rate_per_minute(m * 60.0) for m in range(minutes + 1)) / 60 or 1e-9
    arrivals: list[float] = []
    # Thinning (Lewis and Shedler) draws a Poisson process of changing rate from one
    # of the peak rate, so a seed gives the same contacts whatever the rate curve.
    t = rng.expovariate(peak)
    while t < minutes * 60:
        if rng.random() < rate_per_minute(t) / 60 / peak:
            arrivals.append(t)
        t += rng.expovariate(peak)
    # Handle times from a stream of their own: the n-th contact's is the same however
    # long the run.
    handling = random.Random(f"{seed}/handle")
    handles = [handling.expovariate(1 / handle_seconds) for _ in arrivals]
    free_at = [0.0] * agents
    heapq.heapify(free_at)
    answered: list[tuple[float, float]] = []  # (answered at, waited)
    finished: list[tuple[float, float]] = []  # (finished at, handle)
    for arrival, handle in zip(arrivals, handles, strict=True):
        start = max(arrival, heapq.heappop(free_at))
        heapq.heappush(free_at, start + handle)
        answered.append((start, start - arrival))
        finished.append((start + handle, handle))
    answered.sort()
    finished.sort()
    yield from _minutes(
        arrivals, answered, finished, minutes, handle_seconds, target_seconds, window_minutes
    )


def _minutes(
    arrivals: list[float],
    answered: list[tuple[float, float]],
    finished: list[tuple[float, float]],
    minutes: int,
    handle_seconds: float,
    target_seconds: float,
    window_minutes: int,
) -> Iterator[Minute]:
    recent: deque[float] = deque()
    window: deque[float] = deque()
    done: deque[float] = deque()
    a = s = f = 0
    for minute in range(1, minutes + 1):
        now = minute * 60.0
        while a < len(arrivals) and arrivals[a] < now:
            recent.append(arrivals[a])
            a += 1
        while s < len(answered) and answered[s][0] < now:
            window.append(answered[s][0])
            window.append(answered[s][1])
            s += 1
        while f < len(finished) and finished[f][0] < now:
            done.append(finished[f][0])
            done.append(finished[f][1])
            f += 1
        while recent and recent[0] < now - 3600:
            recent.popleft()
        while window and window[0] < now - window_minutes * 60:
            window.popleft()
            window.popleft()
        while done and done[0] < now - 3600:
            done.popleft()
            done.popleft()
        waits = list(window)[1::2]
        handles = list(done)[1::2]
        yield Minute(
            at=now,
            arrivals=list(recent),
            handle_seconds=sum(handles) / len(handles) if handles else handle_seconds,
            waiting=a - s,
            answered=len(waits),
            answered_in_time=sum(1 for w in waits if w <= target_seconds),
        )
