"""The duplicate review: pairs of customers the hub proposed as possibly the same person."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.api_models.common import Cursor

__all__ = [
    "DuplicatePair",
    "DuplicatePairs",
    "DuplicateScan",
    "DuplicateScanIn",
    "PairSide",
    "PairsQuery",
]


class PairsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursor: Cursor | None = None
    limit: int = Field(25, ge=1, le=100)


class PairSide(BaseModel):
    """One customer of a pair, with the evidence a person compares."""

    id: int
    name: str
    shown_as: str
    segment: str
    external_id: str | None
    addresses: list[tuple[str, str]]  # (channel, address)
    details: dict[str, Any]  # birth date, postal address and the like, as imported
    conversations: int
    created_at: datetime


class DuplicatePair(BaseModel):
    link_id: int
    probability: float
    proposed_at: datetime
    # Merging keeps `known` (the customer stored first) and folds `newer` into it.
    newer: PairSide
    known: PairSide


class DuplicatePairs(BaseModel):
    pairs: list[DuplicatePair]
    next_cursor: str | None


class DuplicateScanIn(BaseModel):
    """Find duplicates now: store every pair at or above `min_probability` for review."""

    model_config = ConfigDict(extra="forbid")

    # The same default as `switchboard customers dedupe --min-probability`.
    min_probability: float = Field(0.9, ge=0, le=1, allow_inf_nan=False)


class DuplicateScan(BaseModel):
    """What a scan did: `scored` pairs the matcher rated possibly the same (any
    probability), `found` of them at or above `min_probability`, `added` to the review,
    and `skipped` the rest of those found: `already_proposed` (a pair stored before,
    open or decided) or `decided_apart` (marked not the same, or merged and undone)."""

    min_probability: float
    scored: int
    found: int
    added: int
    skipped: int
    already_proposed: int
    decided_apart: int
