"""Fellegi-Sunter match weights, estimated from the customers themselves.

u (how often two different people agree at a level) comes from random pairs, which
are almost all non-matches; m (how often records of one person agree at a level) and
the share of matches come from expectation-maximisation with u held fixed: m within
training passes of pairs that agree exactly on one field (each pass learns the other
fields, as Splink does), the share over the pairs the blocking index proposes. No
weight is a constant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from routing.identity.comparison import COMPARISONS

__all__ = ["Levels", "MatchModel", "Scorer", "TrainingPass", "estimate", "to_probability"]

Levels = NDArray[np.int8]
_PSEUDO_COUNT = 0.5


@dataclass(frozen=True)
class MatchModel:
    """m and u per field and level, the prior share of matches, and the log2 weights."""

    m: tuple[tuple[float, ...], ...]
    u: tuple[tuple[float, ...], ...]
    prior: float
    iterations: int = 0

    @property
    def weights(self) -> tuple[tuple[float, ...], ...]:
        """log2(m/u) per field and level: what agreeing at that level is worth."""
        return tuple(
            tuple(math.log2(mi / ui) for mi, ui in zip(mf, uf, strict=True))
            for mf, uf in zip(self.m, self.u, strict=True)
        )

    def scorer(self) -> Scorer:
        return Scorer(self.weights, math.log2(self.prior / (1 - self.prior)))

    def probability(self, levels: Sequence[int]) -> float:
        return self.scorer().probability(levels)


class Scorer:
    """Weights laid out for the hot path of find-customer."""

    __slots__ = ("_prior", "_weights")

    def __init__(self, weights: tuple[tuple[float, ...], ...], prior_weight: float) -> None:
        self._weights = weights
        self._prior = prior_weight

    def match_weight(self, levels: Sequence[int]) -> float:
        total = self._prior
        for field_weights, level in zip(self._weights, levels, strict=True):
            if level >= 0:
                total += field_weights[level]
        return total

    def probability(self, levels: Sequence[int]) -> float:
        return to_probability(self.match_weight(levels))


def to_probability(weight: float) -> float:
    """The match probability of a log2 match weight."""
    if weight > 60:
        return 1.0
    odds = math.pow(2.0, weight)
    return odds / (1.0 + odds)


@dataclass(frozen=True)
class TrainingPass:
    """Pairs that agree exactly on `blocked` comparisons, a sample to learn the rest from.

    Their agreement on the blocked comparisons is forced by how they were chosen, so
    it says nothing about matches and is left out of this pass's estimate.
    """

    levels: Levels
    blocked: frozenset[int]


def estimate(
    passes: Sequence[TrainingPass],
    random_levels: Levels,
    candidate_levels: Levels,
    *,
    max_iterations: int = 100,
) -> MatchModel:
    """u from random pairs; m by EM within each training pass; the prior over candidates.

    Every level array is (pairs x comparisons), -1 where a side is unknown. Each
    comparison's m is the mean of the passes that did not block on it.
    """
    sizes = [c.levels for c in COMPARISONS]
    ones = np.ones(len(random_levels))
    u = [_frequencies(random_levels[:, f], n, ones) for f, n in enumerate(sizes)]
    estimates: list[list[NDArray[np.float64]]] = [[] for _ in sizes]
    iterations = 0
    for training in passes:
        free = [f for f in range(len(sizes)) if f not in training.blocked]
        m, steps = _em(training.levels, u, free, max_iterations)
        iterations += steps
        for f in free:
            estimates[f].append(m[f])
    # A comparison no pass could learn counts for nothing (m = u) until there is data.
    m = [np.mean(found, axis=0) if found else u[f] for f, found in enumerate(estimates)]
    prior = _prior(candidate_levels, m, u, max_iterations)
    return MatchModel(
        m=tuple(tuple(float(x) for x in mf) for mf in m),
        u=tuple(tuple(float(x) for x in uf) for uf in u),
        prior=prior,
        iterations=iterations,
    )


def _em(
    levels: Levels, u: list[NDArray[np.float64]], free: list[int], max_iterations: int
) -> tuple[list[NDArray[np.float64]], int]:
    """m for the `free` comparisons (u held fixed), by expectation-maximisation."""
    m = [_initial_m(len(table)) for table in u]
    prior = 0.01
    log_u = _log_table(u, levels, free)
    step = 0
    for step in range(1, max_iterations + 1):  # noqa: B007 - returned
        posterior = _posterior(prior, _log_table(m, levels, free) - log_u)
        new_m = list(m)
        for f in free:
            new_m[f] = _frequencies(levels[:, f], len(u[f]), posterior)
        change = max(float(np.abs(new_m[f] - m[f]).max()) for f in free)
        m, prior = new_m, float(np.clip(posterior.mean(), 1e-6, 1 - 1e-6))
        if change < 1e-5:
            break
    return m, step


def _prior(
    levels: Levels,
    m: list[NDArray[np.float64]],
    u: list[NDArray[np.float64]],
    max_iterations: int,
) -> float:
    """The share of matches among candidate pairs, by EM with m and u fixed."""
    every = list(range(len(m)))
    ratio = _log_table(m, levels, every) - _log_table(u, levels, every)
    prior = 0.01
    for _ in range(max_iterations):
        new_prior = float(np.clip(_posterior(prior, ratio).mean(), 1e-6, 1 - 1e-6))
        if abs(new_prior - prior) < 1e-7:
            return new_prior
        prior = new_prior
    return prior


def _posterior(prior: float, log_ratio: NDArray[np.float64]) -> NDArray[np.float64]:
    logit = math.log(prior / (1 - prior)) + log_ratio
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700))), dtype=np.float64)


def _frequencies(column: Levels, levels: int, weight: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weighted share of each level among known values, smoothed so none is zero."""
    known = column >= 0
    counts = np.bincount(column[known], weights=weight[known], minlength=levels)[:levels]
    smoothed = counts.astype(np.float64) + _PSEUDO_COUNT
    return np.asarray(smoothed / smoothed.sum(), dtype=np.float64)


def _initial_m(levels: int) -> NDArray[np.float64]:
    """Records of one person mostly agree exactly: start there and let EM move it."""
    start = np.array([0.5 ** (levels - i) for i in range(levels)], dtype=np.float64)
    start[-1] = 1.0
    return np.asarray(start / start.sum(), dtype=np.float64)


def _log_table(
    tables: list[NDArray[np.float64]], levels: Levels, comparisons: list[int]
) -> NDArray[np.float64]:
    """Sum over the given comparisons of log(table[level]), skipping unknown sides."""
    total = np.zeros(len(levels), dtype=np.float64)
    for f in comparisons:
        table = tables[f]
        column = levels[:, f]
        known = column >= 0
        total[known] += np.log(table[column[known]])
    return total
