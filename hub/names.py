"""Search keys for customer names: what the customer directory finds by prefix.

A name is stored twice in key form, as written ("john smith") and surname first
("smith john"), each under a plain index, so typing the start of either the given
name or the surname is one index range on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import unicodedata

__all__ = ["name_key", "prefix_range", "surname_key"]

KEY_LENGTH = 200


def _words(name: str) -> list[str]:
    """Lowercase words of letters and digits, accents dropped."""
    decomposed = unicodedata.normalize("NFKD", name.lower())
    kept = "".join(c if c.isalnum() else " " for c in decomposed if not unicodedata.combining(c))
    return kept.split()


def name_key(name: str) -> str:
    """The name as written, in key form: "José  Smith-Jones" -> "jose smith jones"."""
    return " ".join(_words(name))[:KEY_LENGTH]


def surname_key(name: str) -> str:
    """The last word first: "john smith" -> "smith john"; one word stays as it is."""
    words = _words(name)
    return " ".join(words[-1:] + words[:-1])[:KEY_LENGTH]


def prefix_range(prefix: str) -> tuple[str, str]:
    """Bounds (low inclusive, high exclusive) around every key starting with `prefix`.

    The upper bound is the prefix with its last character stepped up, which holds under
    any collation; a linguistic one (ignoring blanks) may let a few keys in the range
    that do not start with the prefix, so callers still check with LIKE.
    """
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)
