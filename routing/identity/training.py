"""Learning the match weights from stored customers: which pairs to show the estimator."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice

import numpy as np

from routing.identity.blocking import BlockIndex
from routing.identity.comparison import COMPARISONS, compare
from routing.identity.profile import Profile
from routing.identity.weights import Levels, MatchModel, TrainingPass, estimate

__all__ = ["TRAINING_FIELDS", "learn"]

# One training pass per field: pairs that agree exactly on it teach the other fields.
TRAINING_FIELDS = ("birth_date", "surname", "postcode", "email", "phone")
MIN_PASS_PAIRS = 10


def learn(
    profiles: Mapping[int, Profile],
    blocks: BlockIndex,
    *,
    random_pairs: int = 50_000,
    pairs_per_pass: int = 50_000,
    candidate_pairs: int = 300_000,
    max_group: int = 200,
    seed: int = 0,
) -> MatchModel:
    """Estimate a MatchModel from the profiles alone; nothing is labelled by hand."""
    rng = random.Random(seed)
    ids = list(profiles)
    if len(ids) < 2:
        raise ValueError("need at least two customers to estimate match weights")

    def levels(pairs: Iterable[tuple[int, int]]) -> Levels:
        rows = [compare(profiles[a], profiles[b]) for a, b in pairs]
        return np.array(rows, dtype=np.int8).reshape(len(rows), len(COMPARISONS))

    randoms = [_two(rng.sample(ids, 2)) for _ in range(random_pairs)]
    passes = []
    for field in TRAINING_FIELDS:
        pairs = _agreeing_pairs(profiles, field, rng, pairs_per_pass, max_group)
        if len(pairs) >= MIN_PASS_PAIRS:
            blocked = frozenset(i for i, c in enumerate(COMPARISONS) if field in c.fields)
            passes.append(TrainingPass(levels(pairs), blocked))
    candidates = list(dict.fromkeys(islice(blocks.pairs(shuffle_seed=seed), candidate_pairs)))
    if not passes or not candidates:
        raise ValueError("too few customers share a field to learn match weights from")
    return estimate(passes, levels(randoms), levels(candidates))


def _agreeing_pairs(
    profiles: Mapping[int, Profile],
    field: str,
    rng: random.Random,
    limit: int,
    max_group: int,
) -> list[tuple[int, int]]:
    """Up to `limit` pairs with the same non-empty value of `field`, from random groups."""
    groups: dict[str, list[int]] = {}
    for customer_id, profile in profiles.items():
        value = getattr(profile, field)
        if value:
            groups.setdefault(value, []).append(customer_id)
    usable = [g for g in groups.values() if 2 <= len(g) <= max_group]
    rng.shuffle(usable)
    pairs: list[tuple[int, int]] = []
    for group in usable:
        pairs.extend(_within(group))
        if len(pairs) >= limit:
            return pairs[:limit]
    return pairs


def _within(group: Sequence[int]) -> Iterable[tuple[int, int]]:
    for i, a in enumerate(group):
        for b in group[i + 1 :]:
            yield a, b


def _two(ids: list[int]) -> tuple[int, int]:
    return ids[0], ids[1]
