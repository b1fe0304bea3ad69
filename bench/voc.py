"""Voice-of-customer benchmark: topic quality, spike detection and report time.

    .venv/bin/python -m bench.voc [path/to/banking77/train.csv] [--trials 10]

1. Topics: TF-IDF (words and characters) + LSA + k-means over BANKING77 (10,003
   questions, 77 intents taken as the truth): normalized mutual information and purity
   of the discovered topics.
2. Rising topics: a simulated 60-day stream (Poisson volume, --per-day 1,000 and 3,000
   contacts a day, texts drawn from the data set, each keeping the topic found in 1) with
   one random intent at --factor (5) times its rate from day 45 for 5 days; the detector
   runs on the discovered topics. Delay in days (0 = flagged on the spike's first day)
   and false alarms (episodes not caused by the spike, counted strictly) per 60 days.
3. Report time: `switchboard report voc` minus process start-up (read from SQLite,
   topics, sentiment, spikes, HTML) over 100,000 contacts, on one core.
4. With the `embeddings` extra installed, 1 and 2 again with all-MiniLM-L6-v2 sentence
   embeddings clustered by k-means (`--no-embeddings` skips this; encoding is slow on CPU).
BANKING77: Casanueva et al. 2020, PolyAI, CC-BY-4.0.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sklearn.metrics import normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix
from sqlalchemy import insert
from threadpoolctl import threadpool_limits

from hub.db import open_engine, session_factory
from hub.migrate import upgrade
from hub.models import Conversation, Customer, Inbox, Message
from insights.contacts import load_contacts
from insights.embeddings import MiniLmEncoder, embeddings_installed
from insights.page import render_html
from insights.report import VocOptions, build_report
from insights.topics import TopicFinder
from insights.trends import SpikeDetector

DATA = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "banking77" / "train.csv"
)
DAYS, SPIKE_DAY, SPIKE_DAYS = 60, 45, 5


@dataclass
class Row:
    name: str
    value: str
    target: str = ""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(DATA), help="banking77 train.csv")
    parser.add_argument("--trials", type=int, default=10, help="spike trials (10)")
    parser.add_argument(
        "--per-day", default="1000,3000", help="stream contacts per day, comma-separated"
    )
    parser.add_argument("--factor", type=float, default=5.0, help="spiked intent's rate x")
    parser.add_argument("--contacts", type=int, default=100_000, help="contacts in the report")
    parser.add_argument(
        "--no-embeddings", action="store_true", help="skip the embeddings rows (slow on CPU)"
    )
    args = parser.parse_args(argv)
    with Path(args.data).open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    texts = [row["text"] for row in rows]
    intents = [row["category"] for row in rows]
    table: list[Row] = [Row("contacts (BANKING77 train)", f"{len(texts):,}")]
    with threadpool_limits(1):  # the targets are for one core
        labels = _topics(TopicFinder(n_topics=77), "TF-IDF", texts, intents, table)
        for per_day in map(int, args.per_day.split(",")):
            _spikes(intents, labels, "TF-IDF", per_day, args, table)
        asyncio.run(_report_time(texts, args.contacts, table))
    if embeddings_installed() and not args.no_embeddings:
        finder = TopicFinder(n_topics=77, encoder=MiniLmEncoder())
        labels = _topics(finder, "embeddings", texts, intents, table)
        for per_day in map(int, args.per_day.split(",")):
            _spikes(intents, labels, "embeddings", per_day, args, table)
    width = max(len(row.name) for row in table)
    print(f"\n{'measure':<{width}}  {'value':>12}  target")
    for row in table:
        print(f"{row.name:<{width}}  {row.value:>12}  {row.target}")


def _topics(
    finder: TopicFinder, method: str, texts: list[str], intents: list[str], table: list[Row]
) -> np.ndarray:
    started = time.perf_counter()
    found = finder.assign(texts)
    seconds = time.perf_counter() - started
    nmi = normalized_mutual_info_score(intents, found.labels)
    counts = contingency_matrix(intents, found.labels)
    purity = counts.max(axis=0).sum() / counts.sum()
    table += [
        Row(f"{method}: topics discovered", str(len(found.topics))),
        Row(f"{method}: NMI vs 77 intents", f"{nmi:.3f}", ">= 0.6"),
        Row(f"{method}: purity", f"{purity:.3f}"),
        Row(f"{method}: topic time (s)", f"{seconds:.1f}"),
    ]
    return found.labels


def _spikes(
    intents: list[str],
    labels: np.ndarray,
    method: str,
    per_day: int,
    args: argparse.Namespace,
    table: list[Row],
) -> None:
    """Each contact in the stream keeps the topic its text was given above."""
    by_intent: dict[str, list[int]] = {}
    for index, intent in enumerate(intents):
        by_intent.setdefault(intent, []).append(index)
    names = sorted(by_intent)
    share = np.array([len(by_intent[n]) for n in names], dtype=float)
    share /= share.sum()
    n_topics = int(labels.max()) + 1
    trials = args.trials
    detector = SpikeDetector()
    days = [datetime(2026, 1, 1).date() + timedelta(days=d) for d in range(DAYS)]
    delays: list[int | None] = []
    false_alarms: list[int] = []
    for trial in range(trials):
        rng = np.random.default_rng(trial)
        spiked = names[int(rng.integers(len(names)))]
        counts = np.zeros((n_topics, DAYS), dtype=int)
        from_spike = np.zeros((n_topics, DAYS), dtype=int)
        for day in range(DAYS):
            rates = share * per_day
            if SPIKE_DAY <= day < SPIKE_DAY + SPIKE_DAYS:
                rates[names.index(spiked)] *= args.factor
            for intent_index, n in enumerate(rng.poisson(rates)):
                pool = by_intent[names[intent_index]]
                for text in rng.choice(pool, size=n):
                    counts[labels[text], day] += 1
                    if names[intent_index] == spiked:
                        from_spike[labels[text], day] += 1
        delay, alarms, alarm_days = None, 0, []
        for topic in range(n_topics):
            for episode in detector.episodes(str(topic), days, counts[topic].tolist()):
                start = (episode.start - days[0]).days
                # Caused by the spike: it starts in the spike's days, and the spike's
                # extra contacts make up at least half of the excess over the baseline.
                excess = counts[topic, start] - episode.baseline
                extra = from_spike[topic, start] * (1 - 1 / args.factor)
                caused = SPIKE_DAY <= start < SPIKE_DAY + SPIKE_DAYS and extra >= excess / 2
                if caused:
                    delay = start - SPIKE_DAY if delay is None else min(delay, start - SPIKE_DAY)
                else:
                    alarms += 1
                    alarm_days.append(start)
        delays.append(delay)
        false_alarms.append(alarms)
        print(
            f"{method} {per_day}/day trial {trial}: {spiked} spiked, delay {delay},"
            f" false alarms {alarms} (days {alarm_days})",
            flush=True,
        )
    found = [d for d in delays if d is not None]
    name = f"{method}, {per_day:,}/day"
    table += [
        Row(
            f"{name}: spikes flagged (x{args.factor:g}, {SPIKE_DAYS} days)",
            f"{len(found)}/{trials}",
        ),
        Row(f"{name}: delay when flagged, worst (days)", str(max(found, default="-")), "<= 1"),
        Row(f"{name}: false alarms per 60 days, mean", f"{np.mean(false_alarms):.1f}", "<= 1"),
        Row(f"{name}: false alarms per 60 days, worst", str(max(false_alarms))),
    ]


async def _report_time(texts: list[str], total: int, table: list[Row]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'voc.db'}"
        engine = open_engine(url)
        try:
            await upgrade(engine)
            now = datetime.now(UTC)
            await _fill(engine, texts, total, now)
            started = time.perf_counter()
            since = now - timedelta(days=30)
            contacts = await load_contacts(session_factory(engine), since)
            report = build_report(contacts, VocOptions(since=since, until=now))
            page = render_html(report)
            seconds = time.perf_counter() - started
        finally:
            await engine.dispose()
    table += [
        Row("TF-IDF report: contacts", f"{len(contacts):,}"),
        Row("TF-IDF report: time, one core (s)", f"{seconds:.1f}", "< 60"),
        Row("TF-IDF report: HTML (kB)", f"{len(page) / 1024:.0f}"),
    ]


async def _fill(engine: object, texts: list[str], total: int, now: datetime) -> None:
    """`total` one-message conversations over 30 days, written in bulk (not timed)."""
    rng = random.Random(7)
    channels = ["email", "chat", "sms", "voice"]
    async with engine.begin() as conn:  # type: ignore[attr-defined]
        await conn.execute(insert(Inbox), [{"id": 1, "channel": "email", "address": "help@x"}])
        await conn.execute(insert(Customer), [{"id": n, "name": f"c{n}"} for n in range(1, 5001)])
        for start in range(0, total, 20_000):
            chunk = range(start + 1, min(start + 20_000, total) + 1)
            moments = {n: now - timedelta(seconds=rng.uniform(60, 30 * 86400)) for n in chunk}
            await conn.execute(
                insert(Conversation),
                [
                    {
                        "id": n,
                        "customer_id": n % 5000 + 1,
                        "inbox_id": 1,
                        "channel": channels[n % 4],
                        "created_at": moments[n],
                    }
                    for n in chunk
                ],
            )
            await conn.execute(
                insert(Message),
                [
                    {
                        "conversation_id": n,
                        "channel": channels[n % 4],
                        "direction": "incoming",
                        "external_id": f"m{n}",
                        "text": rng.choice(texts),
                        "created_at": moments[n],
                    }
                    for n in chunk
                ],
            )


if __name__ == "__main__":
    main()
