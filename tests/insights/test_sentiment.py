"""Sentiment per contact: clear cases get the sign a person would give them."""

from __future__ import annotations

from insights.sentiment import SentimentScorer, sentiment_label


def test_clear_examples_get_the_right_sign_and_the_model_is_named() -> None:
    scorer = SentimentScorer()

    assert scorer.score("Thank you so much, the agent was wonderful and fixed it!") > 0.5
    assert scorer.score("This is terrible. I am furious, nobody helps and my money is gone.") < -0.5
    assert sentiment_label(scorer.score("The parcel arrived on Tuesday.")) == "neutral"
    assert scorer.model.startswith("VADER (vaderSentiment ")


def test_repeated_texts_score_the_same() -> None:
    scores = SentimentScorer().scores(["great", "awful", "great"])

    assert scores[0] == scores[2] > 0 > scores[1]
