"""Suggestions for a customer's message: `Knowledge(sessions).suggest(text)`.

Each hub process keeps an `ArticleIndex` of the published articles in memory and rebuilds
it when they change (a new, edited, archived or deleted article, or new agent feedback).
Given a `load` of the sentence-embeddings model instead of an encoder, it loads the model
in a thread when first asked for a suggestion and answers lexically until it is ready: the
model and torch take a few hundred MB and up to a minute to load on a busy machine.
A suggestion costs no database work at all while the index was checked in the last
RECHECK seconds, and one small query otherwise, never a load of every article. Changes made
through this process (`invalidate()`) show at once; another process's within RECHECK.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from hub.db import Sessions
from hub.models import ArticleFeedback, KnowledgeArticle
from knowledge import learning
from knowledge.embeddings import Encoder
from knowledge.index import ArticleIndex, Document, Lesson
from knowledge.learning import Gap
from knowledge.render import plain_text
from knowledge.text import MAX_QUERY, query_tokens

__all__ = ["Knowledge", "Suggestion"]
log = logging.getLogger(__name__)
THRESHOLD = 0.2  # below this score a suggestion is not shown
GAP_TERMS = 3
RECHECK = 0.5  # seconds an index is trusted before the database is asked whether it changed
CONTEXT_TERMS = 3  # fewer search words than this, and earlier messages are searched too
CONTEXT_MESSAGES = 2
FRESH_WAIT = 1.0  # seconds a suggestion waits for a rebuild before using the previous index


@dataclass(frozen=True)
class Suggestion:
    article_id: int
    title: str
    snippet: str  # the body sentence that matched best
    score: float  # 0..1, how well the article covers the message
    method: str  # the methods that found it, e.g. "lexical+fuzzy" or "lexical+embeddings"
    passage: str = ""  # the passage that matched: a title, an example question, a sentence


@dataclass(frozen=True)
class _Stamp:
    articles: int
    changed: datetime | None
    feedback: int


class Knowledge:
    def __init__(
        self,
        sessions: Sessions,
        encoder: Encoder | None = None,
        record_gaps: bool = True,
        recheck: float = RECHECK,
        load: Callable[[], Encoder | None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._load_encoder = load
        self._loading: asyncio.Task[None] | None = None
        self._recheck = recheck
        self._trusted_until = 0.0
        self._encoder = encoder
        self._record_gaps = record_gaps
        self._index: ArticleIndex | None = None
        self._stamp: _Stamp | None = None
        self._rebuild: asyncio.Task[ArticleIndex] | None = None

    @property
    def methods(self) -> tuple[str, ...]:
        return ("lexical", "fuzzy", "embeddings") if self._encoder else ("lexical", "fuzzy")

    async def suggest(
        self,
        text: str,
        limit: int = 3,
        threshold: float = THRESHOLD,
        history: Sequence[str] = (),
    ) -> list[Suggestion]:
        """The best published articles for a message, best first; none if nothing fits.

        `history` is the conversation so far, latest last: a message too short to search on
        its own ("and how long does that take?") is searched with the messages before it.

        A question (GAP_TERMS words or more, so not "ok thanks") with no suggestion above the
        threshold is kept as a knowledge gap.
        """
        terms = query_tokens(text)
        if len(terms) < CONTEXT_TERMS and history:
            text = " ".join([*history[-CONTEXT_MESSAGES:], text])[-MAX_QUERY:]
            terms = query_tokens(text)
        if not terms:
            return []
        index = await self.index()
        if self._encoder is None:
            hits = index.search(text, limit)
        else:  # encoding the query takes a few milliseconds of CPU: keep the loop free
            hits = await asyncio.to_thread(index.search, text, limit)
        found = [
            Suggestion(
                h.article_id, h.title, h.snippet, h.confidence, "+".join(h.methods), h.passage
            )
            for h in hits
            if h.confidence >= threshold
        ]
        if not found and self._record_gaps and len(terms) >= GAP_TERMS:
            async with self._sessions() as session, session.begin():
                await learning.record_gap(session, text[: learning.MAX_QUESTION])
        return found

    async def index(self) -> ArticleIndex:
        """The index of the published articles as they are now, rebuilt if they changed.

        A large index takes seconds to rebuild; meanwhile the previous one keeps answering.
        """
        self._start_loading()
        if self._index is not None and time.monotonic() < self._trusted_until:
            return self._index
        stamp = await self._current_stamp()
        if self._index is not None and stamp == self._stamp:
            self._trusted_until = time.monotonic() + self._recheck
            return self._index
        if self._rebuild is None or self._rebuild.done():
            self._rebuild = asyncio.create_task(self._build(stamp))
        if self._index is None:
            return await asyncio.shield(self._rebuild)
        try:
            return await asyncio.wait_for(asyncio.shield(self._rebuild), FRESH_WAIT)
        except TimeoutError:
            return self._index

    def _start_loading(self) -> None:
        if self._load_encoder is None or self._loading is not None:
            return
        log.info("knowledge: suggestions are lexical until the embeddings model has loaded")
        self._loading = asyncio.create_task(self._load_model(self._load_encoder))

    async def _load_model(self, load: Callable[[], Encoder | None]) -> None:
        started = time.monotonic()
        encoder = await asyncio.to_thread(load)
        if encoder is None:
            log.info("knowledge: no embeddings model installed, suggestions stay lexical")
            return
        log.info("knowledge: embeddings model loaded in %.1f s", time.monotonic() - started)
        self._encoder = encoder
        self._stamp = None  # rebuild the index with the model at the next suggestion
        self.invalidate()

    def invalidate(self) -> None:
        """Articles or feedback changed: check the database before the next suggestion."""
        self._trusted_until = 0.0

    async def close(self) -> None:
        """Stop a rebuild or a model load in progress (the hub is shutting down)."""
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loading
        if self._rebuild is not None and not self._rebuild.done():
            self._rebuild.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rebuild

    async def _build(self, stamp: _Stamp) -> ArticleIndex:
        documents, lessons = await self._load()
        index = await asyncio.to_thread(ArticleIndex, documents, self._encoder, lessons)
        self._index, self._stamp = index, stamp
        return index

    async def feedback(
        self,
        article_id: int,
        question: str,
        verdict: str,
        agent_id: int | None = None,
        conversation_id: int | None = None,
    ) -> None:
        """Record an agent's verdict; the next suggestion for a similar question uses it."""
        async with self._sessions() as session, session.begin():
            await learning.record_feedback(
                session, article_id, question, verdict, agent_id, conversation_id
            )
        self.invalidate()

    async def gaps(self, limit: int = 100) -> list[Gap]:
        """Open knowledge gaps; a question some article now answers is no longer one."""
        async with self._sessions() as session:
            found = await learning.gaps(session, limit)
        index = await self.index()
        return [
            gap
            for gap in found
            if gap.reason != "no_match"
            or not any(h.confidence >= THRESHOLD for h in index.search(gap.question, 1))
        ]

    async def article(self, article_id: int) -> KnowledgeArticle | None:
        async with self._sessions() as session:
            return await session.get(KnowledgeArticle, article_id)

    async def _current_stamp(self) -> _Stamp:
        """One cheap query: the article count, the latest change and the latest verdict."""
        query = select(
            select(func.count(KnowledgeArticle.id)).scalar_subquery(),
            select(func.max(KnowledgeArticle.updated_at)).scalar_subquery(),
            select(func.coalesce(func.max(ArticleFeedback.id), 0)).scalar_subquery(),
        )
        async with self._sessions() as session:
            count, changed, feedback = (await session.execute(query)).one()
        return _Stamp(int(count), changed, int(feedback))

    async def _load(self) -> tuple[list[Document], list[Lesson]]:
        async with self._sessions() as session:
            articles = await session.scalars(
                select(KnowledgeArticle).where(KnowledgeArticle.state == "published")
            )
            lessons = await learning.lessons(session)
        learned: dict[int, list[str]] = {}
        for lesson in lessons:
            if lesson.weight > 0:
                learned.setdefault(lesson.article_id, []).append(lesson.question)
        documents = [
            Document(
                article_id=a.id,
                title=a.title,
                body=plain_text(a.body),
                tags=tuple(str(t) for t in a.tags),
                questions=tuple(str(q) for q in a.questions),
                learned=tuple(learned.get(a.id, ())),
            )
            for a in articles
        ]
        return documents, lessons
