"""Field-by-field comparison of two profiles into agreement levels.

Each field yields a level from 0 (disagree) up to its top level (exact), or -1 when
either side is unknown. The levels are what the Fellegi-Sunter weights are learned on;
nothing here says how much a level is worth.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from routing.identity.profile import Profile

__all__ = ["COMPARISONS", "Comparison", "compare"]


def _name(a: str, b: str) -> int:
    """Jaro-Winkler: 3 exact, 2 >= 0.92, 1 >= 0.80, else 0."""
    if a == b:
        return 3
    similarity = JaroWinkler.similarity(a, b)
    return 2 if similarity >= 0.92 else 1 if similarity >= 0.80 else 0


def _date(a: str, b: str) -> int:
    """Exact dates; 1 for one typo or day and month swapped (YYYYMMDD)."""
    if a == b:
        return 2
    if OSA.distance(a, b, score_cutoff=1) <= 1:
        return 1
    if len(a) == 8 and a[:4] + a[6:] + a[4:6] == b:
        return 1
    return 0


def _street(a: str, b: str) -> int:
    """Normalized Levenshtein: 3 exact, 2 >= 0.85, 1 >= 0.65, else 0."""
    if a == b:
        return 3
    similarity = Levenshtein.normalized_similarity(a, b)
    return 2 if similarity >= 0.85 else 1 if similarity >= 0.65 else 0


def _code(a: str, b: str) -> int:
    """Exact ids, postcodes and emails; 1 for a single typo or transposition."""
    if a == b:
        return 2
    return 1 if OSA.distance(a, b, score_cutoff=1) <= 1 else 0


def _phone(a: str, b: str) -> int:
    """E.164 equal: 2; the same subscriber digits under another prefix: 1."""
    if a == b:
        return 2
    return 1 if a[-7:] == b[-7:] else 0


def _locality(a: Profile, b: Profile) -> int:
    """Postcode and city together, since one mostly implies the other.

    3 both agree (or the one known agrees); 2 the postcode agrees, or the city with a near
    postcode; 1 a near postcode in a similar city, or a near city; else 0.
    """
    postcode = _code(a.postcode, b.postcode) if a.postcode and b.postcode else -1
    city = _name(a.city, b.city) if a.city and b.city else -1
    if postcode < 0 and city < 0:
        return -1
    if (postcode == 2 or postcode < 0) and (city >= 2 or city < 0):
        return 3
    if postcode == 2 or (city == 3 and postcode != 0):
        return 2
    if (postcode == 1 and city != 0) or (city >= 2 and postcode != 0):
        return 1
    return 0


@dataclass(frozen=True)
class Comparison:
    """One comparison of two profiles on `fields`; `levels` counts the non-null outcomes."""

    name: str
    levels: int
    fields: tuple[str, ...]


# The order of `compare`'s result.
COMPARISONS: tuple[Comparison, ...] = (
    Comparison("given_name", 4, ("given_name",)),
    Comparison("surname", 4, ("surname",)),
    Comparison("birth_date", 3, ("birth_date",)),
    Comparison("street", 4, ("street",)),
    Comparison("street2", 4, ("street2",)),
    Comparison("locality", 4, ("postcode", "city")),
    Comparison("phone", 3, ("phone",)),
    Comparison("email", 3, ("email",)),
    Comparison("id_number", 3, ("id_number",)),
)


def compare(a: Profile, b: Profile) -> list[int]:
    """The agreement level of every field in COMPARISONS order, -1 where unknown.

    Given name and surname written the wrong way round count as agreeing: forms and
    transcripts swap them often enough to matter.
    """
    # Spelled out rather than looped: this runs for every candidate of every contact.
    levels = [
        _name(a.given_name, b.given_name) if a.given_name and b.given_name else -1,
        _name(a.surname, b.surname) if a.surname and b.surname else -1,
        _date(a.birth_date, b.birth_date) if a.birth_date and b.birth_date else -1,
        _street(a.street, b.street) if a.street and b.street else -1,
        _street(a.street2, b.street2) if a.street2 and b.street2 else -1,
        _locality(a, b),
        _phone(a.phone, b.phone) if a.phone and b.phone else -1,
        _code(a.email, b.email) if a.email and b.email else -1,
        _code(a.id_number, b.id_number) if a.id_number and b.id_number else -1,
    ]
    if levels[0] < 2 and a.given_name and a.surname and b.given_name and b.surname:
        crossed = [_name(a.given_name, b.surname), _name(a.surname, b.given_name)]
        if sum(crossed) > levels[0] + levels[1]:
            levels[0:2] = crossed
    return levels
