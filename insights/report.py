"""The voice-of-customer report: topics, sentiment, volume and rising topics over a window."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from insights.contacts import Contact
from insights.embeddings import Encoder
from insights.progress import QUIET, Progress
from insights.redact import redact
from insights.sentiment import NEGATIVE, SentimentScorer
from insights.taxonomy import Taxonomy
from insights.topics import OTHER, TopicFinder, Topics
from insights.trends import Episode, SpikeDetector, growth

__all__ = ["Csat", "TopicSummary", "VocOptions", "VocReport", "build_report"]

QUOTE_LIMIT = 280


@dataclass(frozen=True)
class VocOptions:
    since: datetime
    until: datetime
    n_topics: int = 12
    taxonomy: Taxonomy | None = None
    detector: SpikeDetector = field(default_factory=SpikeDetector)
    quotes: int = 3
    encoder: Encoder | None = None
    # When the hub's history begins inside the window (insights.contacts.history_start):
    # spikes are tested only from there, so a new hub has no baseline yet, not a zero one.
    history_from: datetime | None = None


@dataclass(frozen=True)
class TopicSummary:
    name: str
    source: str
    key_phrases: tuple[str, ...]
    contacts: int
    share: float
    sentiment: float  # mean compound score
    negative_share: float
    weekly_sentiment: tuple[float | None, ...]
    sentiment_trend: float  # change in mean sentiment per week
    daily: tuple[int, ...]
    growth: float  # last 7 days over the 7 before
    rising: bool
    dispositions: dict[str, int]
    quotes: tuple[str, ...]
    csat: Csat = field(default_factory=lambda: Csat(0, None, None))


@dataclass(frozen=True)
class Csat:
    """Satisfaction ratings (1-5) of a topic's conversations: how many, the share of 4
    and 5 among them, and their mean; None without ratings."""

    answers: int
    satisfied_share: float | None
    average: float | None

    @classmethod
    def of(cls, ratings: Sequence[int]) -> Csat:
        if not ratings:
            return cls(0, None, None)
        satisfied = sum(1 for r in ratings if r >= 4)
        return cls(len(ratings), satisfied / len(ratings), sum(ratings) / len(ratings))

    def as_json(self) -> dict[str, object]:
        return {
            "answers": self.answers,
            "satisfied_share": _rounded(self.satisfied_share),
            "average": _rounded(self.average),
        }


@dataclass(frozen=True)
class VocReport:
    generated_at: datetime
    since: datetime
    until: datetime
    contacts: int
    topic_model: str
    sentiment_model: str
    days: tuple[date, ...]
    volume_by_channel: dict[str, tuple[int, ...]]
    topics: tuple[TopicSummary, ...]
    episodes: tuple[Episode, ...]

    @property
    def rising(self) -> list[TopicSummary]:
        return [topic for topic in self.topics if topic.rising]

    def as_json(self) -> dict[str, object]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "contacts": self.contacts,
            "topic_model": self.topic_model,
            "sentiment_model": self.sentiment_model,
            "days": [day.isoformat() for day in self.days],
            "volume_by_channel": {k: list(v) for k, v in self.volume_by_channel.items()},
            "topics": [_topic_json(topic) for topic in self.topics],
            "episodes": [episode.as_json() for episode in self.episodes],
        }


def _first_known_day(history_from: datetime | None, first: date, length: int) -> int:
    """The window's position of the hub's first day of history (0: all of it is history)."""
    if history_from is None:
        return 0
    return min(max((history_from.date() - first).days, 0), length)


def build_report(
    contacts: Sequence[Contact], options: VocOptions, progress: Progress = QUIET
) -> VocReport:
    """Analyse the contacts of a window; CPU-bound, so callers in a loop use a thread."""
    days = _days(options.since, options.until)
    first = days[0]
    day_index = np.array([(c.created_at.date() - first).days for c in contacts], dtype=int)
    day_index = np.clip(day_index, 0, len(days) - 1)
    # Redacted first, so that no topic name, quote or export can carry personal data.
    texts = [redact(c.text) for c in contacts]
    topics = TopicFinder(options.n_topics, options.taxonomy, encoder=options.encoder).assign(
        texts, progress
    )
    scorer = SentimentScorer()
    progress.step("scoring sentiment")
    scores = scorer.scores(texts, progress)
    progress.step("summarising topics and testing for spikes")
    channels = sorted({c.channel for c in contacts})
    channel_of = np.array([channels.index(c.channel) for c in contacts], dtype=int)
    volume = {
        name: tuple(np.bincount(day_index[channel_of == i], minlength=len(days)).tolist())
        for i, name in enumerate(channels)
    }
    known = _first_known_day(options.history_from, first, len(days))
    summaries, episodes = [], []
    for index, topic in enumerate(topics.topics):
        members = np.flatnonzero(topics.labels == index)
        if not len(members):
            continue
        daily = np.bincount(day_index[members], minlength=len(days)).tolist()
        found = (
            options.detector.episodes(topic.name, days[known:], daily[known:])
            if topic.name != OTHER
            else []
        )
        episodes += found
        summaries.append(
            TopicSummary(
                name=topic.name,
                source=topic.source,
                key_phrases=topic.key_phrases,
                contacts=len(members),
                share=len(members) / len(contacts),
                sentiment=float(scores[members].mean()),
                negative_share=float((scores[members] <= NEGATIVE).mean()),
                weekly_sentiment=_weekly(day_index[members], scores[members], len(days)),
                sentiment_trend=_trend(day_index[members], scores[members]),
                daily=tuple(daily),
                growth=growth(daily),
                rising=any(episode.ongoing for episode in found),
                dispositions=_dispositions(contacts, members),
                quotes=_quotes(texts, members, topics, options.quotes),
                csat=Csat.of([r for i in members if (r := contacts[int(i)].rating) is not None]),
            )
        )
    summaries.sort(key=lambda s: (s.name == OTHER, -s.contacts))
    episodes.sort(key=lambda e: (not e.ongoing, e.start))
    return VocReport(
        generated_at=datetime.now(UTC),
        since=options.since,
        until=options.until,
        contacts=len(contacts),
        topic_model=topics.model,
        sentiment_model=scorer.model,
        days=tuple(days),
        volume_by_channel=volume,
        topics=tuple(summaries),
        episodes=tuple(episodes),
    )


def _days(since: datetime, until: datetime) -> list[date]:
    first, last = since.date(), (until - timedelta(microseconds=1)).date()
    if last < first:
        raise ValueError("the report window is empty")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _dispositions(contacts: Sequence[Contact], members: np.ndarray) -> dict[str, int]:
    """The agents' most frequent disposition codes on a topic's contacts."""
    codes = Counter(contacts[int(i)].disposition for i in members)
    codes.pop(None, None)
    return {str(code): n for code, n in codes.most_common(5)}


def _weekly(day_index: np.ndarray, scores: np.ndarray, n_days: int) -> tuple[float | None, ...]:
    weeks = (n_days + 6) // 7
    sums = np.bincount(day_index // 7, weights=scores, minlength=weeks)
    counts = np.bincount(day_index // 7, minlength=weeks)
    return tuple(round(float(s / c), 4) if c else None for s, c in zip(sums, counts, strict=True))


def _trend(day_index: np.ndarray, scores: np.ndarray) -> float:
    """Least-squares slope of sentiment against time, per week."""
    if len(scores) < 2 or day_index.min() == day_index.max():
        return 0.0
    slope = np.polyfit(day_index.astype(float), scores, 1)[0]
    return float(slope * 7)


def _quotes(
    texts: Sequence[str], members: np.ndarray, topics: Topics, limit: int
) -> tuple[str, ...]:
    """The texts that belong most clearly to a topic, readable in a line."""
    ordered = members[np.argsort(-topics.strength[members], kind="stable")]
    chosen: list[str] = []
    seen: set[str] = set()
    for index in ordered[: limit * 20]:
        text = " ".join(texts[index].split())
        if len(text) < 15 or text.lower() in seen:
            continue
        seen.add(text.lower())
        chosen.append(text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1] + "…")
        if len(chosen) == limit:
            break
    return tuple(chosen)


def _topic_json(topic: TopicSummary) -> dict[str, object]:
    return {
        "name": topic.name,
        "source": topic.source,
        "key_phrases": list(topic.key_phrases),
        "contacts": topic.contacts,
        "share": round(topic.share, 4),
        "sentiment": round(topic.sentiment, 4),
        "negative_share": round(topic.negative_share, 4),
        "weekly_sentiment": list(topic.weekly_sentiment),
        "sentiment_trend_per_week": round(topic.sentiment_trend, 4),
        "daily": list(topic.daily),
        "growth_7d": None if math.isinf(topic.growth) else round(topic.growth, 3),
        "rising": topic.rising,
        "dispositions": topic.dispositions,
        "quotes": list(topic.quotes),
        "csat": topic.csat.as_json(),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
