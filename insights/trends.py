"""Rising topics: each day's volume tested against the topic's own EWMA baseline.

A day is flagged when its count is improbably high for a Poisson variable with the
baseline as its mean, and clearly above it. Flagged days close together form one
episode, and an episode is what gets one alert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from scipy.stats import poisson

__all__ = ["DayFlag", "Episode", "SpikeDetector"]


@dataclass(frozen=True)
class DayFlag:
    day: int  # index into the series
    count: int
    baseline: float
    p_value: float


@dataclass(frozen=True)
class Episode:
    """A run of flagged days for one topic; `ongoing` when it reaches the last day."""

    topic: str
    start: date
    end: date
    peak: int
    baseline: float
    p_value: float
    ongoing: bool

    def as_json(self) -> dict[str, object]:
        return {
            "topic": self.topic,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "peak": self.peak,
            "baseline": round(self.baseline, 2),
            "p_value": self.p_value,
            "ongoing": self.ongoing,
        }


@dataclass(frozen=True)
class SpikeDetector:
    """Poisson test of each day against an exponentially weighted baseline.

    alpha: the p-value below which a day is flagged (small: many topics are tested daily).
    halflife: days after which the baseline has half-forgotten a count.
    warmup: days used to start the baseline; they are never flagged.
    min_count, min_ratio: a flagged day has at least this many contacts and this
        multiple of the baseline, so that tiny topics do not flap.
    gap: flagged days at most this many quiet days apart belong to one episode.
    """

    alpha: float = 3e-5
    halflife: float = 7.0
    warmup: int = 7
    min_count: int = 5
    min_ratio: float = 1.5
    floor: float = 0.5
    gap: int = 2

    def flags(self, counts: Sequence[int]) -> list[DayFlag]:
        """The flagged days of a daily series."""
        if len(counts) <= self.warmup:
            return []
        keep = 0.5 ** (1.0 / self.halflife)
        baseline = sum(counts[: self.warmup]) / self.warmup
        flagged = []
        for day in range(self.warmup, len(counts)):
            count = counts[day]
            expected = max(baseline, self.floor)
            if count >= self.min_count and count >= self.min_ratio * expected:
                p_value = float(poisson.sf(count - 1, expected))
                if p_value < self.alpha:
                    flagged.append(DayFlag(day, count, expected, p_value))
            baseline = keep * baseline + (1 - keep) * count
        return flagged

    def episodes(self, topic: str, days: Sequence[date], counts: Sequence[int]) -> list[Episode]:
        """Flagged days grouped into episodes; `days` labels the series' positions."""
        groups: list[list[DayFlag]] = []
        for flag in self.flags(counts):
            if groups and flag.day - groups[-1][-1].day <= self.gap + 1:
                groups[-1].append(flag)
            else:
                groups.append([flag])
        episodes = []
        for group in groups:
            peak = max(group, key=lambda flag: flag.count)
            episodes.append(
                Episode(
                    topic=topic,
                    start=days[group[0].day],
                    end=days[group[-1].day],
                    peak=peak.count,
                    baseline=group[0].baseline,
                    p_value=min(flag.p_value for flag in group),
                    ongoing=len(counts) - 1 - group[-1].day <= self.gap,
                )
            )
        return episodes


def growth(counts: Sequence[int], window: int = 7) -> float:
    """The last `window` days' volume over the `window` before it (inf from nothing)."""
    recent = sum(counts[-window:])
    before = sum(counts[-2 * window : -window])
    if before == 0:
        return math.inf if recent else 1.0
    return recent / before
