"""Words for searching: lower-cased, stop words dropped, English endings trimmed."""

from __future__ import annotations

import re
from functools import lru_cache

MAX_QUERY = 2000  # characters of a message that are searched; the rest adds nothing
MAX_TERMS = 64
_WORD = re.compile(r"\w+", re.UNICODE)
# A sentence ends at its punctuation, a blank line or before a list item; a single line
# break inside a paragraph is only wrapping, so "Go to Settings,\nthen Change PIN." stays
# one sentence (a snippet and what Insert pastes are whole sentences, not line fragments).
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\s*(?:[-*+\u2022]|\d+[.)])\s)")
STOP_WORDS = frozenset(
    "a an and are as at be but by can could did do does for from had has have how i i'm if in"
    " into is it its me my no not of on or our so that the their them then there this to us was"
    " we were what when where which who why will with would you your yours".split()
)
_ENDINGS = ("ing", "ed", "es", "s", "ly")
_DOUBLED = re.compile(r"([bdfgklmnprt])\1$")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light English stemmer: 'declined', 'declines', 'declining' all become 'declin'."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            if ending == "s" and word.endswith("ss"):
                return word
            root = word[: -len(ending)]
            root = _DOUBLED.sub(r"\1", root) if ending in ("ing", "ed") else root
            return root[:-1] if root.endswith("e") and len(root) > 3 else root
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def words(text: str) -> list[str]:
    """The searchable words of a text, in order, stop words and one-letter words left out."""
    return [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in STOP_WORDS]


def tokens(text: str) -> list[str]:
    return [stem(w) for w in words(text)]


def query_tokens(text: str) -> list[str]:
    """A message's search terms: bounded in length and count, so any message is cheap."""
    unique = dict.fromkeys(tokens(text[:MAX_QUERY]))
    return list(unique)[:MAX_TERMS]


def sentences(text: str) -> list[str]:
    return [" ".join(s.split()) for s in _SENTENCE.split(text) if s.strip()]
