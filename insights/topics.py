"""Topics discovered from what customers write: k-means over the texts, each cluster
named by the TF-IDF key phrases of its members.

Without an encoder, a text is its words' TF-IDF beside its character n-grams' (which
catch word forms and misspellings), reduced by LSA (truncated SVD). With an encoder (the
`embeddings` extra), it is its sentence embedding instead. A taxonomy, when given,
takes precedence: its topics claim their contacts first and discovery describes only
what the taxonomy does not cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from insights.embeddings import Encoder
from insights.progress import QUIET, Progress
from insights.taxonomy import Taxonomy

__all__ = ["OTHER", "Topic", "TopicFinder", "Topics"]

OTHER = "Other"
MODEL_NAME = "TF-IDF words and characters + LSA + k-means (scikit-learn)"
LSA_DIMENSIONS = 200
EMBEDDED_NAME = "{} embeddings + k-means, named by TF-IDF (scikit-learn)"
T = TypeVar("T")
WORDS = r"(?u)\b[^\W\d_]{2,}\b"  # letters only, two or more


@dataclass(frozen=True)
class Topic:
    name: str
    key_phrases: tuple[str, ...]
    source: str  # taxonomy | discovered | other


@dataclass(frozen=True)
class Topics:
    """Every text's topic (`labels` index `topics`) and how strongly it belongs there."""

    topics: tuple[Topic, ...]
    labels: np.ndarray
    strength: np.ndarray
    model: str = MODEL_NAME


class TopicFinder:
    """Assigns each text one topic: the taxonomy's if it matches, else a discovered one."""

    def __init__(
        self,
        n_topics: int = 12,
        taxonomy: Taxonomy | None = None,
        fit_sample: int = 20_000,
        seed: int = 0,
        encoder: Encoder | None = None,
    ) -> None:
        if n_topics < 1:
            raise ValueError("n_topics must be at least 1")
        self.n_topics = n_topics
        self.taxonomy = taxonomy
        self.fit_sample = fit_sample
        self.seed = seed
        self.encoder = encoder

    def assign(self, texts: Sequence[str], progress: Progress = QUIET) -> Topics:
        topics: list[Topic] = []
        labels = np.full(len(texts), -1, dtype=int)
        strength = np.zeros(len(texts), dtype=float)
        if self.taxonomy is not None:
            progress.step("matching the taxonomy")
            for index, found in enumerate(self.taxonomy.match(texts)):
                if found is not None:
                    labels[index], strength[index] = found, 1.0
            topics += [
                Topic(t.name, t.keywords or t.examples, "taxonomy") for t in self.taxonomy.topics
            ]
        rest = np.flatnonzero(labels < 0)
        if len(rest):
            progress.step(f"discovering topics in {len(rest):,} contacts")
            found_topics, found_labels, found_strength = self._discover(
                [texts[int(i)] for i in rest]
            )
            offset = len(topics)
            topics += found_topics
            labels[rest] = np.where(found_labels >= 0, found_labels + offset, -1)
            strength[rest] = found_strength
        if (labels < 0).any():
            labels[labels < 0] = len(topics)
            topics.append(Topic(OTHER, (), "other"))
        model = MODEL_NAME if self.encoder is None else EMBEDDED_NAME.format(self.encoder.name)
        return Topics(tuple(_unique_names(topics)), labels, strength, model)

    def _discover(self, texts: list[str]) -> tuple[list[Topic], np.ndarray, np.ndarray]:
        small = len(texts) < 50
        words = TfidfVectorizer(
            stop_words="english",
            # Words only: numbers (amounts, order or phone numbers) never name a topic.
            token_pattern=WORDS,
            ngram_range=(1, 2),
            min_df=1 if small else 2,
            max_df=1.0 if small else 0.5,
            sublinear_tf=True,
            max_features=50_000,
        )
        fit_texts = self._sample(texts)
        try:
            words.fit(fit_texts)
        except ValueError:  # no vocabulary: empty texts or stop words only
            return [], np.full(len(texts), -1), np.zeros(len(texts))
        n_words = len(words.vocabulary_)
        n_topics = max(1, min(self.n_topics, len(fit_texts) // 3 or 1, n_words))
        counted = words.transform(texts)  # once: over many texts, the slow part
        if self.encoder is None:
            vectors = self._lexical(counted, texts, small)
        else:
            vectors = self.encoder.encode(texts)
        components, weights = self._cluster(counted, vectors, n_topics)
        labels = weights.argmax(axis=1)
        strength = weights[np.arange(len(texts)), labels]
        # A text with no word the vocabulary knows has no topic to speak of.
        worded = counted.getnnz(axis=1) > 0
        labels = np.where(worded & (strength > 0), labels, -1)
        vocabulary = words.get_feature_names_out()
        topics = [_named(np.asarray(components[k]).ravel(), vocabulary) for k in range(n_topics)]
        return topics, labels, strength

    def _lexical(self, counted: sp.csr_matrix, texts: list[str], small: bool) -> np.ndarray:
        """Texts as points without a sentence encoder: TF-IDF of their words and of their
        character n-grams side by side, reduced by LSA and normalized. On BANKING77
        (bench/voc.py) its topics match the 77 intents at NMI 0.61, where NMF on the
        words alone reached 0.54."""
        characters = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(4, 4),  # as good as 3 to 5 on BANKING77, and 2.5x quicker
            min_df=1 if small else 2,
            sublinear_tf=True,
            max_features=50_000,
        )
        characters.fit(self._sample(texts))
        both = sp.hstack([counted, characters.transform(texts)]).tocsr()
        dimensions = min(LSA_DIMENSIONS, both.shape[1] - 1, len(texts) - 1)
        if dimensions < 2:
            return np.asarray(normalize(both).toarray())
        sample = np.asarray(self._sample(list(range(len(texts)))), dtype=int)
        # Its explained-variance figures divide by zero on a handful of alike texts; they
        # are not used here.
        with np.errstate(divide="ignore", invalid="ignore"):
            lsa = TruncatedSVD(dimensions, random_state=self.seed).fit(both[sample])
        return np.asarray(normalize(lsa.transform(both)))

    def _cluster(
        self, counted: sp.csr_matrix, vectors: np.ndarray, n_topics: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """k-means on the texts' vectors; each cluster is named by its members' words."""
        n_texts = counted.shape[0]
        sample = np.asarray(self._sample(list(range(n_texts))), dtype=int)
        model = KMeans(n_clusters=n_topics, n_init=3, random_state=self.seed)
        model.fit(vectors[sample])
        centres = normalize(model.cluster_centers_)
        similarity = np.asarray(vectors @ centres.T)
        labels = similarity.argmax(axis=1)
        members = sp.csr_matrix(
            (np.ones(n_texts), (labels, np.arange(n_texts))), shape=(n_topics, n_texts)
        )
        # A phrase names a cluster when most of its members use it (coverage) and few
        # texts elsewhere do (its share): "password" for the password cluster, not a
        # phrase only some of its members happen to share.
        used = (counted > 0).astype(float)
        inside = np.asarray((members @ used).todense())
        sizes = np.maximum(np.asarray(members.sum(axis=1)), 1.0)
        everywhere = np.maximum(np.asarray(used.sum(axis=0)), 1.0)
        components = (inside / sizes) * (inside / everywhere)
        # Nearest centre by cosine; a small floor keeps every text in its cluster.
        return components, np.maximum(similarity, 1e-9)

    def _sample(self, texts: list[T]) -> list[T]:
        if len(texts) <= self.fit_sample:
            return texts
        chosen = np.random.default_rng(self.seed).choice(len(texts), self.fit_sample, False)
        return [texts[i] for i in sorted(chosen)]


def _named(weights: np.ndarray, vocabulary: np.ndarray, size: int = 5) -> Topic:
    """A topic named by its top key phrases, longer phrases absorbing their words."""
    # A bigram says more than either of its words; give it a little lift.
    lifted = weights * np.array([1.3 if " " in term else 1.0 for term in vocabulary])
    phrases: list[str] = []
    for index in np.argsort(-lifted)[: size * 6]:
        if weights[index] <= 0:
            break
        term = str(vocabulary[index])
        if any(term in chosen.split(" ") or term in chosen for chosen in phrases):
            continue
        phrases = [p for p in phrases if p not in term.split(" ")]
        phrases.append(term)
        if len(phrases) == size:
            break
    name = " / ".join(phrases[:2]) if phrases else OTHER
    return Topic(name, tuple(phrases), "discovered")


def _unique_names(topics: list[Topic]) -> list[Topic]:
    seen: dict[str, int] = {}
    unique = []
    for topic in topics:
        seen[topic.name] = seen.get(topic.name, 0) + 1
        if seen[topic.name] > 1:
            topic = Topic(f"{topic.name} ({seen[topic.name]})", topic.key_phrases, topic.source)
        unique.append(topic)
    return unique
