"""What agents teach the index: verdicts on suggestions, and the questions nothing answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import ArticleFeedback, KnowledgeArticle, KnowledgeGap, utcnow
from knowledge.index import Lesson
from knowledge.text import query_tokens

# How much one verdict moves an article for the question it was given on.
VERDICTS = {"helpful": 1.0, "inserted": 2.0, "unhelpful": -1.0}
MAX_QUESTION = 500


@dataclass(frozen=True)
class Gap:
    question: str
    reason: str  # "no_match" | "unhelpful"
    count: int
    last_seen: datetime


def question_key(text: str) -> str:
    """Questions that differ only in case, order or stop words share a key."""
    return " ".join(sorted(query_tokens(text)))[:200]


async def record_feedback(
    session: AsyncSession,
    article_id: int,
    question: str,
    verdict: str,
    agent_id: int | None = None,
    conversation_id: int | None = None,
) -> ArticleFeedback:
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")
    feedback = ArticleFeedback(
        article_id=article_id,
        question=question.strip()[:MAX_QUESTION],
        verdict=verdict,
        agent_id=agent_id,
        conversation_id=conversation_id,
    )
    session.add(feedback)
    await session.flush()
    return feedback


async def lessons(session: AsyncSession) -> list[Lesson]:
    """Each (question, article) pair's net verdict, most recent questions first."""
    rows = await session.execute(
        select(ArticleFeedback.article_id, ArticleFeedback.question, ArticleFeedback.verdict)
        .order_by(ArticleFeedback.id.desc())
        .limit(20_000)
    )
    net: dict[tuple[str, int], float] = {}
    texts: dict[tuple[str, int], str] = {}
    for article_id, question, verdict in rows:
        key = (question_key(question), article_id)
        net[key] = net.get(key, 0.0) + VERDICTS.get(verdict, 0.0)
        texts.setdefault(key, question)
    return [Lesson(article, texts[(k, article)], w) for (k, article), w in net.items() if w]


async def record_gap(session: AsyncSession, question: str) -> None:
    """Count a question no article answered; the same question again adds to its count."""
    key = question_key(question)
    if not key:
        return
    gap = await session.scalar(select(KnowledgeGap).where(KnowledgeGap.key == key))
    if gap is not None:
        gap.misses += 1
        gap.last_seen = utcnow()
        return
    try:
        async with session.begin_nested():
            session.add(KnowledgeGap(key=key, question=question.strip()[:MAX_QUESTION]))
    except IntegrityError:  # another hub process recorded it at the same moment
        gap = await session.scalar(select(KnowledgeGap).where(KnowledgeGap.key == key))
        if gap is not None:
            gap.misses += 1


async def gaps(session: AsyncSession, limit: int = 100) -> list[Gap]:
    """Unanswered questions, most frequent first: no match, or every suggestion unhelpful."""
    found = [
        Gap(g.question, "no_match", g.misses, g.last_seen)
        for g in await session.scalars(
            select(KnowledgeGap).order_by(KnowledgeGap.misses.desc()).limit(limit)
        )
    ]
    rows = await session.execute(
        select(ArticleFeedback.question, ArticleFeedback.verdict, ArticleFeedback.created_at)
        .join(KnowledgeArticle, KnowledgeArticle.id == ArticleFeedback.article_id)
        .order_by(ArticleFeedback.id)
        .limit(50_000)
    )
    verdicts: dict[str, tuple[str, set[str], int, datetime]] = {}
    for question, verdict, created_at in rows:
        key = question_key(question)
        text, seen, count, _ = verdicts.get(key, (question, set(), 0, created_at))
        verdicts[key] = (text, seen | {verdict}, count + 1, created_at)
    found += [
        Gap(text, "unhelpful", count, last)
        for text, seen, count, last in verdicts.values()
        if seen == {"unhelpful"}
    ]
    found.sort(key=lambda g: (-g.count, g.question))
    return found[:limit]
