"""Sentiment per contact with VADER, a lexicon model that runs offline."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from insights.progress import QUIET, Progress

__all__ = ["SentimentScorer", "sentiment_label"]

# VADER's own conventions for its compound score.
POSITIVE = 0.05
NEGATIVE = -0.05
TEXT_LIMIT = 1000


class SentimentScorer:
    """Scores text from -1 (negative) to +1 (positive); `model` names what answered."""

    def __init__(self) -> None:
        self._vader = SentimentIntensityAnalyzer()
        self.model = f"VADER (vaderSentiment {version('vaderSentiment')})"

    def score(self, text: str) -> float:
        """VADER's compound score of one text."""
        return float(self._vader.polarity_scores(text[:TEXT_LIMIT])["compound"])

    def scores(self, texts: Sequence[str], progress: Progress = QUIET) -> np.ndarray:
        """Scores of many texts; repeated texts are scored once."""
        seen: dict[str, float] = {}
        result = np.empty(len(texts), dtype=float)
        for index, text in enumerate(texts):
            value = seen.get(text)
            if value is None:
                value = seen[text] = self.score(text)
            result[index] = value
            progress.count("scoring sentiment", index + 1, len(texts))
        return result


def sentiment_label(score: float) -> str:
    if score >= POSITIVE:
        return "positive"
    if score <= NEGATIVE:
        return "negative"
    return "neutral"
