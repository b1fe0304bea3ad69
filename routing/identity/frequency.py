"""How common each name is, so agreeing on "Smith" counts for less than on "Quartermaine".

This is the term-frequency refinement of Fellegi-Sunter: for exact agreement on a value
v, the chance that two different people share it is the share of customers with v, not
the field's average u.
"""

from __future__ import annotations

import math
from collections import Counter

from routing.identity.comparison import COMPARISONS
from routing.identity.profile import Profile
from routing.identity.weights import MatchModel

__all__ = ["NameFrequencies"]

_FIELDS = tuple(
    (i, c.name, c.levels - 1)
    for i, c in enumerate(COMPARISONS)
    if c.name in ("given_name", "surname")
)


class NameFrequencies:
    """Counts of given names and surnames among the stored customers."""

    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {name: Counter() for _i, name, _top in _FIELDS}
        self._total = 0

    def add(self, profile: Profile) -> None:
        self._total += 1
        for _i, name, _top in _FIELDS:
            value = getattr(profile, name)
            if value:
                self._counts[name][value] += 1

    def remove(self, profile: Profile) -> None:
        self._total -= 1
        for _i, name, _top in _FIELDS:
            value = getattr(profile, name)
            if value and self._counts[name][value] > 0:
                self._counts[name][value] -= 1

    def adjustment(self, model: MatchModel, a: Profile, b: Profile, levels: list[int]) -> float:
        """log2 weight to add for names that agree exactly, by how common they are."""
        total = 0.0
        customers = max(self._total, 1)
        for i, name, top in _FIELDS:
            value = getattr(a, name)
            if levels[i] == top and value and value == getattr(b, name):
                share = max(self._counts[name][value], 1) / customers
                total += math.log2(model.u[i][top] / share)
        return total
