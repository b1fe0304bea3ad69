"""First knowledge search: rank published articles for a customer's message.

Scores word overlap (what the customer said that the article also says) with
rapidfuzz's token-set similarity to forgive typos; the BM25 index replaces it later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import select

from hub.db import Sessions
from hub.models import KnowledgeArticle

MAX_QUERY = 2000
MAX_TERMS = 64
_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(
    "a an and are as at be but by can do for from have how i i'm if in is it me my no not of on"
    " or so that the this to was what when where why will with you your".split()
)


@dataclass(frozen=True)
class Suggestion:
    article_id: int
    title: str
    snippet: str
    score: float
    method: str = "lexical+fuzzy"


def terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def matched(query_terms: set[str], article_terms: set[str]) -> float:
    """How many query words the article has: exactly, as a word prefix, or with a typo."""
    hits = 0.0
    for term in query_terms:
        if term in article_terms:
            hits += 1
        elif len(term) >= 4 and any(t.startswith(term) for t in article_terms):
            hits += 0.8
        elif len(term) >= 4 and process.extractOne(
            term, article_terms, scorer=fuzz.ratio, score_cutoff=85
        ):
            hits += 0.8
    return hits / max(1, len(query_terms))


def score_article(query: str, query_terms: set[str], article: KnowledgeArticle) -> float:
    text = f"{article.title} {' '.join(article.tags)} {article.body}"
    overlap = matched(query_terms, terms(text))
    title_hit = matched(query_terms, terms(article.title))
    fuzzy = fuzz.token_set_ratio(query.lower(), f"{article.title} {' '.join(article.tags)}") / 100
    return round(0.5 * overlap + 0.2 * title_hit + 0.3 * fuzzy, 4)


def snippet(body: str, query_terms: set[str], width: int = 220) -> str:
    """The sentence of the body that shares the most words with the query."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", body) if s.strip()]
    if not sentences:
        return ""
    best = max(sentences, key=lambda s: len(terms(s) & query_terms))
    return best[:width]


class Knowledge:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def suggest(self, text: str, limit: int = 3, threshold: float = 0.2) -> list[Suggestion]:
        """The best published articles for a message, best first; none if nothing fits."""
        query = text[:MAX_QUERY]
        query_terms = set(sorted(terms(query))[:MAX_TERMS])
        if not query_terms:
            return []
        async with self._sessions() as session:
            articles = list(
                await session.scalars(
                    select(KnowledgeArticle).where(KnowledgeArticle.state == "published")
                )
            )
        scored = [(score_article(query, query_terms, a), a) for a in articles]
        scored = [(s, a) for s, a in scored if s >= threshold]
        scored.sort(key=lambda pair: (-pair[0], pair[1].id))
        return [
            Suggestion(a.id, a.title, snippet(a.body, query_terms), s) for s, a in scored[:limit]
        ]

    async def article(self, article_id: int) -> KnowledgeArticle | None:
        async with self._sessions() as session:
            return await session.get(KnowledgeArticle, article_id)
