"""A product team's own topics: names with keywords or example sentences, from YAML or JSON.

```yaml
similarity: 0.5          # optional: how close to an example a contact must be
topics:
  - name: Card not arrived
    keywords: [card hasn't arrived, still waiting for my card]
    examples: ["When will my new card arrive?"]
```
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["Taxonomy", "TaxonomyTopic"]


@dataclass(frozen=True)
class TaxonomyTopic:
    name: str
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    """Named topics that take precedence over discovered ones."""

    topics: tuple[TaxonomyTopic, ...]
    similarity: float = 0.5

    @classmethod
    def load(cls, path: Path) -> Taxonomy:
        """Read a taxonomy file; `.json` is JSON, anything else YAML.

        Raises ValueError naming the file and what is wrong with it.
        """
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ValueError(f"--taxonomy {path}: no such file") from None
        except OSError as exc:
            raise ValueError(f"--taxonomy {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ValueError(f"--taxonomy {path}: not UTF-8 text") from None
        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from None
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {_yaml_problem(exc)}") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "taxonomy") -> Taxonomy:
        if not isinstance(data, dict) or not isinstance(data.get("topics"), list):
            raise ValueError(f"{source}: expected a mapping with a list of topics")
        topics = []
        for entry in data["topics"]:
            if not isinstance(entry, dict) or not str(entry.get("name", "")).strip():
                raise ValueError(f"{source}: every topic needs a name")
            topics.append(
                TaxonomyTopic(
                    name=str(entry["name"]).strip(),
                    keywords=_texts(entry, "keywords", source),
                    examples=_texts(entry, "examples", source),
                )
            )
        similarity = data.get("similarity", 0.5)
        if isinstance(similarity, bool) or not isinstance(similarity, int | float):
            raise ValueError(f"{source}: similarity is a number, e.g. 0.5")
        return cls(tuple(topics), float(similarity))

    def match(self, texts: Sequence[str]) -> list[int | None]:
        """For each text, the index of the taxonomy topic it belongs to, if any.

        Keywords decide first (the topic with most keyword hits, earlier topics
        winning ties); otherwise the closest example sentence, if close enough.
        """
        patterns = [_keyword_pattern(topic.keywords) for topic in self.topics]
        matches = [_by_keywords(text, patterns) for text in texts]
        unmatched = [i for i, found in enumerate(matches) if found is None]
        if unmatched and any(topic.examples for topic in self.topics):
            closest = self._by_examples([texts[i] for i in unmatched])
            for index, found in zip(unmatched, closest, strict=True):
                matches[index] = found
        return matches

    def _by_examples(self, texts: list[str]) -> list[int | None]:
        owners = [i for i, topic in enumerate(self.topics) for _ in topic.examples]
        examples = [example for topic in self.topics for example in topic.examples]
        vectorizer = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), sublinear_tf=True)
        try:
            vectorizer.fit(examples + texts)
        except ValueError:  # nothing but stop words
            return [None] * len(texts)
        similarity = (vectorizer.transform(texts) @ vectorizer.transform(examples).T).toarray()
        best = similarity.argmax(axis=1)
        score = similarity[np.arange(len(texts)), best]
        return [
            owners[b] if s >= self.similarity else None for b, s in zip(best, score, strict=True)
        ]


def _by_keywords(text: str, patterns: list[re.Pattern[str] | None]) -> int | None:
    best, best_hits = None, 0
    for index, pattern in enumerate(patterns):
        hits = len(pattern.findall(text)) if pattern else 0
        if hits > best_hits:
            best, best_hits = index, hits
    return best


def _keyword_pattern(keywords: Sequence[str]) -> re.Pattern[str] | None:
    words = [re.escape(k.strip()).replace(r"\ ", r"\s+") for k in keywords if k.strip()]
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.IGNORECASE)


def _texts(entry: dict[str, Any], key: str, source: str) -> tuple[str, ...]:
    """A topic's keywords or examples: a list, one entry per item."""
    value = entry.get(key) or []
    if not isinstance(value, list):
        raise ValueError(f"{source}: {key} of {entry['name']!r} is a list, e.g. [a, b]")
    return tuple(str(item) for item in value)


def _yaml_problem(exc: Any) -> str:
    """PyYAML's complaint in one line, with the line it found it on."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"line {mark.line + 1}: {problem}" if mark is not None else str(problem)
