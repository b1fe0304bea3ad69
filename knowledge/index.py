"""The in-memory search index over published articles, cut into passages.

Every article becomes passages: its title with its tags, each example question, each
sentence of its body, and each question agents confirmed it answers. Rankers score the
passages and an article takes its best passage's score; reciprocal rank fusion then merges
BM25 (exact words), fuzzy (typos, short queries) and, when an encoder is given, sentence
embeddings (meaning).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import bm25s
import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz, process

from knowledge.embeddings import Encoder
from knowledge.text import query_tokens, sentences, tokens

RRF_K = 60
POOL = 200  # passages each ranker looks at before grouping them by article
FUZZY_POOL = 120
MAX_CORRECTIONS = 4
SUPPORT_PASSAGES, SUPPORT_WEIGHT = 4, 0.2
# Embeddings lead when present: on paraphrased questions (BANKING77) they are the best
# single ranker; exact words and typo matches still add to them and break their ties.
WEIGHTS = {"lexical": 1.0, "fuzzy": 0.6, "embeddings": 3.0}
UNHELPFUL_PENALTY = 0.5


@dataclass(frozen=True)
class Document:
    """What the index needs of an article."""

    article_id: int
    title: str
    body: str = ""  # plain text, markup removed
    tags: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    learned: tuple[str, ...] = ()  # questions agents found it helpful for


@dataclass(frozen=True)
class Lesson:
    """An agent's verdict: the article was (weight > 0) or was not (< 0) right for a question."""

    article_id: int
    question: str
    weight: float


@dataclass(frozen=True)
class Hit:
    article_id: int
    title: str
    rank_score: float  # the fused reciprocal-rank score: only its order means anything
    confidence: float  # 0..1: how much of the question the article covers
    methods: tuple[str, ...]  # the rankers that placed it, e.g. ("lexical", "fuzzy")
    passage: str  # the passage that matched best
    snippet: str  # the body sentence that matched best


@dataclass
class _Ranked:
    scores: dict[int, float] = field(default_factory=dict)  # article -> its ranking score
    top: dict[int, float] = field(default_factory=dict)  # article -> its best passage's score
    best: dict[int, int] = field(default_factory=dict)  # article -> that passage

    def order(self) -> list[int]:
        return sorted(self.scores, key=lambda a: (-self.scores[a], a))


class ArticleIndex:
    """Built once from the published articles; answers queries without the database."""

    def __init__(
        self,
        documents: Sequence[Document],
        encoder: Encoder | None = None,
        lessons: Sequence[Lesson] = (),
    ) -> None:
        self.size = len(documents)
        self._encoder = encoder
        self._texts: list[str] = []
        self._kinds: list[str] = []
        owners: list[int] = []
        self._terms: dict[int, frozenset[str]] = {}
        self._titles = {doc.article_id: doc.title for doc in documents}
        for doc in documents:
            for kind, text in _passages(doc):
                self._texts.append(text)
                self._kinds.append(kind)
                owners.append(doc.article_id)
        self._owners = np.array(owners, dtype=np.int64)
        self._lower = [t.lower() for t in self._texts]
        passage_tokens = [tokens(t) for t in self._texts]
        for article, toks in zip(owners, passage_tokens, strict=True):
            self._terms[article] = self._terms.get(article, frozenset()) | frozenset(toks)
        self._bm25 = bm25s.BM25()
        self._vocab: list[str] = []
        self._known: dict[str, int] = {}
        # bm25s cannot index passages without one word to count ("T", "b").
        if any(passage_tokens):
            self._bm25.index(passage_tokens, show_progress=False)
            self._known = self._bm25.vocab_dict
            self._vocab = sorted(t for t in self._known if t)
        self._idf = _idf(passage_tokens)
        self._idf_unknown = max(self._idf.values(), default=1.0)
        self._spans: dict[int, tuple[int, int]] = {}
        for i, article in enumerate(owners):
            start, _ = self._spans.get(article, (i, i))
            self._spans[article] = (start, i + 1)
        self._by_initial: dict[str, list[str]] = {}
        for term in self._vocab:
            self._by_initial.setdefault(term[0], []).append(term)
        self._vectors: NDArray[np.float32] | None = None
        if encoder is not None and self._texts:
            self._vectors = encoder.encode(self._texts)
        self._penalties = _penalties(lessons)

    @property
    def methods(self) -> tuple[str, ...]:
        return (
            ("lexical", "fuzzy", "embeddings")
            if self._vectors is not None
            else ("lexical", "fuzzy")
        )

    def search(self, text: str, limit: int = 3, methods: Iterable[str] | None = None) -> list[Hit]:
        """The best articles for a message, best first, fused over the chosen methods."""
        terms = query_tokens(text)
        if not terms or not self._texts:
            return []
        chosen = tuple(m for m in (methods or self.methods) if m in self.methods)
        bm25_scores = self._bm25_scores(terms)
        rankings: dict[str, _Ranked] = {}
        if "lexical" in chosen:
            rankings["lexical"] = self._group(bm25_scores)
        if "fuzzy" in chosen:
            rankings["fuzzy"] = self._fuzzy(text, terms, bm25_scores)
        if "embeddings" in chosen:
            rankings["embeddings"] = self._embeddings(text)
        return self._fuse(text, terms, rankings, bm25_scores, limit)

    # --- rankers ---------------------------------------------------------------------

    def _bm25_scores(self, terms: list[str]) -> NDArray[np.float32]:
        known = [t for t in terms if t in self._known]
        if not known:
            return np.zeros(len(self._texts), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def _group(self, scores: NDArray[np.float32], floor: float = 0.0) -> _Ranked:
        """Each article's best passage score, plus a little for its next few good passages.

        An article several of whose example questions resemble the message is more likely
        right than one with a single lucky match.
        """
        ranked = _Ranked()
        seconds: dict[int, int] = {}
        for i in _top(scores, POOL, floor):
            article = int(self._owners[i])
            if article not in ranked.scores:
                ranked.scores[article] = ranked.top[article] = float(scores[i])
                ranked.best[article] = i
                seconds[article] = 0
            elif seconds[article] < SUPPORT_PASSAGES:
                ranked.scores[article] += SUPPORT_WEIGHT * float(scores[i])
                seconds[article] += 1
        return ranked

    def _fuzzy(self, text: str, terms: list[str], scores: NDArray[np.float32]) -> _Ranked:
        """Rescore passages that share a word, a misspelled word or a prefix with the query."""
        corrections = self._corrections(terms)
        if corrections:
            scores = self._bm25_scores(terms + corrections)
        pool = _top(scores, FUZZY_POOL)
        ranked = _Ranked()
        if not pool:
            return ranked
        similarity = process.cdist(
            [text[:300].lower()],
            [self._lower[i] for i in pool],
            scorer=fuzz.token_sort_ratio,
            workers=1,
        )[0]
        for i, score in sorted(zip(pool, similarity, strict=True), key=lambda p: -p[1]):
            article = int(self._owners[i])
            if article not in ranked.scores and score >= 50:
                ranked.scores[article] = ranked.top[article] = float(score) / 100
                ranked.best[article] = i
        return ranked

    def _corrections(self, terms: list[str]) -> list[str]:
        """Vocabulary words a misspelled or cut-off query word probably meant."""
        found: list[str] = []
        unknown = [t for t in terms if t not in self._known and len(t) >= 3]
        for term in unknown[:MAX_CORRECTIONS]:
            start = bisect.bisect_left(self._vocab, term)
            prefixed = self._vocab[start : start + 3]
            found += [w for w in prefixed if w.startswith(term)]
            choices = self._by_initial.get(term[0], [])
            if len(term) >= 4 and choices:
                best = process.extractOne(term, choices, scorer=fuzz.ratio, score_cutoff=75)
                if best:
                    found.append(best[0])
        return found

    def _embeddings(self, text: str) -> _Ranked:
        assert self._encoder is not None and self._vectors is not None
        query = self._encoder.encode([text[:1000]])[0]
        return self._group(self._vectors @ query, floor=0.2)

    # --- fusion ----------------------------------------------------------------------

    def _fuse(
        self,
        text: str,
        terms: list[str],
        rankings: dict[str, _Ranked],
        bm25_scores: NDArray[np.float32],
        limit: int,
    ) -> list[Hit]:
        fused: dict[int, float] = {}
        placed: dict[int, list[str]] = {}
        for method, ranked in rankings.items():
            for rank, article in enumerate(ranked.order()[:50], start=1):
                fused[article] = fused.get(article, 0.0) + WEIGHTS[method] / (RRF_K + rank)
                placed.setdefault(article, []).append(method)
        penalised = self._penalties_for(text)
        for article in penalised & fused.keys():
            fused[article] *= UNHELPFUL_PENALTY
        best = sorted(fused, key=lambda a: (-fused[a], a))[:limit]
        return [
            Hit(
                article_id=a,
                title=self._titles[a],
                rank_score=round(fused[a], 6),
                confidence=self._confidence(a, terms, rankings),
                methods=tuple(placed[a]),
                passage=self._texts[self._best_passage(a, rankings)],
                snippet=self._snippet(a, bm25_scores),
            )
            for a in best
        ]

    def _confidence(self, article: int, terms: list[str], rankings: dict[str, _Ranked]) -> float:
        """The idf-weighted share of the query's words the article has, or its similarity."""
        have = self._terms.get(article, frozenset())
        weights = [self._idf.get(t, self._idf_unknown) for t in terms]
        covered = sum(w for t, w in zip(terms, weights, strict=True) if t in have)
        coverage = covered / sum(weights) if weights else 0.0
        others = [
            r.top[article] for m, r in rankings.items() if m != "lexical" and article in r.scores
        ]
        return round(min(1.0, max([coverage, *others])), 4)

    def _best_passage(self, article: int, rankings: dict[str, _Ranked]) -> int:
        for method in ("lexical", "embeddings", "fuzzy"):
            if method in rankings and article in rankings[method].best:
                return rankings[method].best[article]
        return self._spans[article][0]

    def _snippet(self, article: int, bm25_scores: NDArray[np.float32], width: int = 240) -> str:
        body = [i for i in range(*self._spans[article]) if self._kinds[i] == "body"]
        if not body:
            return ""
        best = max(body, key=lambda i: (float(bm25_scores[i]), -i))
        return self._texts[best][:width]

    def _penalties_for(self, text: str) -> set[int]:
        """Articles agents marked unhelpful for a question much like this one."""
        if not self._penalties:
            return set()
        similar = process.extract(
            text[:300].lower(),
            list(self._penalties),
            scorer=fuzz.token_set_ratio,
            score_cutoff=85,
            limit=None,
        )
        return {article for question, _, _ in similar for article in self._penalties[question]}


def _passages(doc: Document) -> Iterable[tuple[str, str]]:
    heading = " ".join([doc.title, *doc.tags]).strip()
    if heading:
        yield "title", heading
    for question in (*doc.questions, *doc.learned):
        if question.strip():
            yield "question", question.strip()
    for sentence in sentences(doc.body):
        yield "body", sentence


def _top(scores: NDArray[np.float32], count: int, floor: float = 0.0) -> list[int]:
    """Indices of the highest scores above the floor, best first."""
    above = np.flatnonzero(scores > floor)
    if len(above) > count:
        above = above[np.argpartition(-scores[above], count - 1)[:count]]
    return [int(i) for i in above[np.argsort(-scores[above], kind="stable")]]


def _idf(passages: list[list[str]]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for toks in passages:
        for term in set(toks):
            counts[term] = counts.get(term, 0) + 1
    total = len(passages)
    return {term: float(np.log(1 + total / df)) for term, df in counts.items()}


def _penalties(lessons: Sequence[Lesson]) -> dict[str, set[int]]:
    penalties: dict[str, set[int]] = {}
    for lesson in lessons:
        if lesson.weight < 0:
            penalties.setdefault(lesson.question[:300].lower(), set()).add(lesson.article_id)
    return penalties
