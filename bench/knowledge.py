"""How well and how fast knowledge suggestions find the right article.

Quality: 77 articles, one per BANKING77 intent (Casanueva et al. 2020, PolyAI, CC-BY-4.0),
each with part of that intent's real customer questions as example questions; the other
questions are held back and asked. Hit@1, Hit@5 and MRR@10 per method, and queries per second.
Speed: p99 of `Knowledge.suggest` (the console's call, on SQLite) with 10,000 articles.

    .venv/bin/python -m bench.knowledge [--data PATH] [--examples 0.5] [--no-embeddings]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hub.db import open_engine, session_factory
from hub.migrate import upgrade
from hub.models import KnowledgeArticle
from knowledge.embeddings import Encoder, load_encoder
from knowledge.index import ArticleIndex, Document
from knowledge.search import Knowledge

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets" / "banking77" / "train.csv"
SEED = 77
TARGETS = "targets: lexical Hit@5 >= 0.90; embeddings Hit@1 >= 0.85, Hit@5 >= 0.97; p99 < 20 ms"


@dataclass(frozen=True)
class Scores:
    method: str
    hit1: float
    hit5: float
    mrr10: float
    qps: float


def load_intents(path: Path) -> dict[str, list[str]]:
    intents: dict[str, list[str]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            intents[row["category"]].append(row["text"].strip())
    return dict(intents)


def split(
    intents: dict[str, list[str]], share: float
) -> tuple[list[Document], list[tuple[str, int]]]:
    """One article per intent with `share` of its questions; the rest are (query, article id)."""
    rng = random.Random(SEED)
    documents, queries = [], []
    for article_id, (intent, questions) in enumerate(sorted(intents.items()), start=1):
        shuffled = questions[:]
        rng.shuffle(shuffled)
        cut = max(1, int(len(shuffled) * share))
        title = intent.replace("_", " ").capitalize()
        documents.append(Document(article_id, title, questions=tuple(shuffled[:cut])))
        queries += [(q, article_id) for q in shuffled[cut:]]
    return documents, queries


def evaluate(index: ArticleIndex, queries: list[tuple[str, int]], methods: Sequence[str]) -> Scores:
    hit1 = hit5 = mrr = 0.0
    start = time.perf_counter()
    for text, expected in queries:
        ranked = [h.article_id for h in index.search(text, limit=10, methods=methods)]
        if expected in ranked:
            rank = ranked.index(expected) + 1
            hit1 += rank == 1
            hit5 += rank <= 5
            mrr += 1 / rank
    elapsed = time.perf_counter() - start
    n = len(queries)
    return Scores("+".join(methods), hit1 / n, hit5 / n, mrr / n, n / elapsed)


def quality(path: Path, share: float, encoder: Encoder | None) -> None:
    """Print one row per method as it is measured."""
    documents, queries = split(load_intents(path), share)
    index = ArticleIndex(documents, encoder)
    runs: list[tuple[str, ...]] = [("lexical",), ("fuzzy",), ("lexical", "fuzzy")]
    if encoder is not None:
        runs += [("embeddings",), ("lexical", "fuzzy", "embeddings")]
    print(f"{len(documents)} articles, {len(queries)} held-back queries")
    print(HEADER, flush=True)
    for run in runs:
        print(row(evaluate(index, queries, run)), flush=True)


def synthetic_articles(path: Path, count: int) -> list[KnowledgeArticle]:
    """`count` articles in the bank's own words: real questions regrouped, sentences reshuffled."""
    rng = random.Random(SEED)
    questions = [q for qs in load_intents(path).values() for q in qs]
    words = sorted({w for q in questions for w in q.split()})
    articles = []
    for number in range(count):
        title = " ".join(rng.sample(words, 4)).capitalize()
        body = " ".join(
            " ".join(rng.sample(words, rng.randint(8, 16))).capitalize() + "." for _ in range(4)
        )
        articles.append(
            KnowledgeArticle(
                slug=f"article-{number}",
                title=title,
                body=body,
                tags=rng.sample(words, 2),
                questions=rng.sample(questions, 3),
            )
        )
    return articles


async def latency(path: Path, count: int, asks: int) -> tuple[list[float], list[float]]:
    """Milliseconds per Knowledge.suggest over `count` articles on SQLite: (wall, CPU).

    CPU time (of every thread of this process) tells the work apart from waiting for a
    core when the machine is busy with other things.
    """
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite+aiosqlite:///{folder}/bench.db")
        await upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            session.add_all(synthetic_articles(path, count))
        knowledge = Knowledge(sessions, record_gaps=False)
        await knowledge.suggest("card")  # the first call builds the index
        rng = random.Random(SEED + 1)
        questions = [q for qs in load_intents(path).values() for q in qs]
        wall, cpu = [], []
        for text in rng.sample(questions, asks):
            start, start_cpu = time.perf_counter(), time.process_time()
            await knowledge.suggest(text)
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        await engine.dispose()
    return wall, cpu


def percentiles(timings: list[float]) -> str:
    ordered = sorted(timings)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return f"p50 {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms, max {ordered[-1]:.2f} ms"


HEADER = f"{'method':<28} {'Hit@1':>6} {'Hit@5':>6} {'MRR@10':>7} {'q/s':>8}"


def row(s: Scores) -> str:
    return f"{s.method:<28} {s.hit1:>6.3f} {s.hit5:>6.3f} {s.mrr10:>7.3f} {s.qps:>8.0f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.knowledge", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="BANKING77 train.csv")
    parser.add_argument("--examples", type=float, default=0.5, help="share used as examples")
    parser.add_argument("--articles", type=int, default=10_000, help="articles for latency")
    parser.add_argument("--asks", type=int, default=1000, help="suggestions timed")
    parser.add_argument("--no-embeddings", action="store_true", help="skip even if installed")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"bench.knowledge: no data at {args.data}; pass --data PATH")
        return 1
    encoder = None if args.no_embeddings else load_encoder()
    print("knowledge suggestions on BANKING77 (CC-BY-4.0, PolyAI)")
    quality(args.data, args.examples, encoder)
    wall, cpu = asyncio.run(latency(args.data, args.articles, args.asks))
    print(
        f"Knowledge.suggest over {args.articles} articles, lexical+fuzzy, SQLite, {args.asks} asks:"
    )
    print(f"  wall: {percentiles(wall)}")
    print(f"  CPU:  {percentiles(cpu)}")
    print(TARGETS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
