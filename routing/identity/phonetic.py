"""Phonetic keys for names, so "Smyth" and "Smith" land in the same block."""

from __future__ import annotations

import unicodedata

__all__ = ["fold", "soundex"]

_CODES = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}


def fold(text: str) -> str:
    """Lowercase ASCII letters only: accents dropped, punctuation and blanks removed."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if "a" <= c <= "z")


def soundex(name: str) -> str:
    """American Soundex (R163 for Robert and Rupert), "" for a name without letters.

    H and W do not separate equal codes; vowels do, as the standard says.
    """
    letters = fold(name)
    if not letters:
        return ""
    digits = [letters[0].upper()]
    previous = _CODES.get(letters[0], "")
    for letter in letters[1:]:
        code = _CODES.get(letter, "")
        if code and code != previous:
            digits.append(code)
            if len(digits) == 4:
                break
        if letter not in "hw":
            previous = code
    return "".join(digits).ljust(4, "0")
