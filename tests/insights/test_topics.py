"""Topics: discovered from what customers write, unless the product team's taxonomy says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from insights.embeddings import MiniLmEncoder
from insights.taxonomy import Taxonomy
from insights.topics import OTHER, TopicFinder
from tests.insights.corpus import corpus


def test_three_themes_come_out_as_three_named_topics() -> None:
    pairs = corpus(per_theme=20)
    found = TopicFinder(n_topics=3).assign([text for _, text in pairs])

    assert len(found.topics) == 3
    for theme in ("refund", "password", "delivery"):
        labels = {found.labels[i] for i, (t, _) in enumerate(pairs) if t == theme}
        assert len(labels) == 1, f"{theme} split over topics {labels}"
    names = " | ".join(topic.name for topic in found.topics)
    for word in ("refund", "password"):
        assert word in names
    assert "parcel" in names or "delivery" in names or "courier" in names


def test_the_taxonomy_takes_precedence_over_discovered_topics(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(
        "topics:\n"
        "  - name: Account access\n"
        "    keywords: [password, locked out]\n"
        "  - name: Shipping problems\n"
        "    examples: ['My parcel delivery is late, tracking shows no update.']\n",
        encoding="utf-8",
    )
    pairs = corpus(per_theme=20)
    found = TopicFinder(n_topics=3, taxonomy=Taxonomy.load(path)).assign(
        [text for _, text in pairs]
    )
    names = [found.topics[label].name for label in found.labels]
    sources = [found.topics[label].source for label in found.labels]

    for (theme, _), name, source in zip(pairs, names, sources, strict=True):
        if theme == "password":
            assert name == "Account access"
        elif theme == "refund":
            assert source == "discovered"
    example = "My parcel delivery is late, tracking shows no update."
    like_example = [name for (_, text), name in zip(pairs, names, strict=True) if text == example]
    assert like_example and set(like_example) == {"Shipping problems"}
    assert found.topics[0].source == "taxonomy"


def test_a_json_taxonomy_reads_like_yaml(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps({"topics": [{"name": "Refunds", "keywords": ["refund"]}]}))
    taxonomy = Taxonomy.load(path)

    assert taxonomy.match(["Please REFUND me", "where is my parcel"]) == [0, None]


def test_texts_without_words_land_in_other() -> None:
    found = TopicFinder(n_topics=2).assign(["", "the and of", "?!"])

    assert [topic.name for topic in found.topics] == [OTHER]


# The first test to load the sentence model imports PyTorch and transformers cold, which
# on a loaded 2-core machine took over the suite's 60 s hang guard.
@pytest.mark.timeout(300)
def test_sentence_embeddings_find_the_themes_and_tf_idf_names_them() -> None:
    pairs = corpus(per_theme=15)
    found = TopicFinder(n_topics=3, encoder=MiniLmEncoder()).assign([text for _, text in pairs])

    assert found.model.startswith("all-MiniLM-L6-v2 embeddings")
    for theme in ("refund", "password", "delivery"):
        labels = {found.labels[i] for i, (t, _) in enumerate(pairs) if t == theme}
        assert len(labels) == 1, f"{theme} split over topics {labels}"
    assert any("password" in topic.name for topic in found.topics)
