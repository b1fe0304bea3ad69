"""The blocking index: which stored customers are worth comparing with a profile at all.

Several passes each give a profile a key (phone suffix, email local part, phonetic
surname, surname prefix with birth year, postcode, ...); any shared key makes two
customers candidates. Keys are stored as 64-bit hashes in two sorted numpy arrays
(compact for millions of customers, one binary search per key) plus a small dict of
recent additions that is folded into the arrays now and then.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import NDArray

from routing.identity.phonetic import soundex
from routing.identity.profile import Profile

__all__ = ["BlockIndex", "block_keys"]

IdArray = NDArray[np.int64]


def block_keys(p: Profile) -> list[str]:
    """The blocking keys of one profile, one per pass that has the data it needs."""
    keys = []
    if p.phone:
        keys.append("ph:" + p.phone[-7:])
    if p.email:
        keys.append("em:" + p.email.partition("@")[0])
    if p.id_number:
        keys.append("id:" + p.id_number)
    if p.surname:
        keys.append("sx:" + soundex(p.surname) + p.given_name[:1])
        if p.birth_date:
            keys.append("sy:" + p.surname[:3] + p.birth_date[:4])
    if p.given_name:
        keys.append("gx:" + soundex(p.given_name) + p.postcode)
        if p.birth_date:
            keys.append("gd:" + p.given_name[:2] + p.birth_date[2:])
        if p.surname:
            # order-free, so a swapped given name and surname still meet
            keys.append("nx:" + "".join(sorted((soundex(p.given_name), soundex(p.surname)))))
    if p.postcode and p.street:
        keys.append("pc:" + p.postcode + p.street[:3])
    if p.birth_date and p.street:
        keys.append("bs:" + p.birth_date + p.street[:2])
    if p.birth_date and p.postcode:
        keys.append("bp:" + p.birth_date + p.postcode)  # both names mistyped
    return keys


class BlockIndex:
    """Customer ids under blocking keys; blocks larger than `max_block` carry no signal."""

    def __init__(self, max_block: int = 400, fold_every: int = 50_000) -> None:
        self.max_block = max_block
        self._fold_every = fold_every
        self._hashes: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._ids: IdArray = np.empty(0, dtype=np.int64)
        self._recent: dict[int, list[int]] = {}
        self._recent_count = 0
        self._removed: set[int] = set()

    def __len__(self) -> int:
        return len(self._ids) + self._recent_count

    def add(self, customer_id: int, keys: Iterable[str]) -> None:
        """Index a customer under keys; re-adding keeps the old keys too (stale keys cost
        one needless comparison, never a wrong answer, since scoring reads the profile)."""
        self._removed.discard(customer_id)
        for key in keys:
            self._recent.setdefault(hash(key), []).append(customer_id)
            self._recent_count += 1
        if self._recent_count >= self._fold_every:
            self.fold()

    def add_many(self, entries: Iterable[tuple[int, Iterable[str]]]) -> None:
        """Bulk load: build the arrays directly, without the dict of recent additions."""
        hashes: list[int] = []
        ids: list[int] = []
        for customer_id, keys in entries:
            for key in keys:
                hashes.append(hash(key))
                ids.append(customer_id)
        self._merge(np.array(hashes, dtype=np.int64), np.array(ids, dtype=np.int64))

    def remove(self, customer_id: int) -> None:
        """Forget a customer; the postings are dropped lazily at the next fold."""
        self._removed.add(customer_id)

    def fold(self) -> None:
        """Move recent additions into the sorted arrays."""
        hashes = [h for h, ids in self._recent.items() for _ in ids]
        ids = [i for posting in self._recent.values() for i in posting]
        self._recent.clear()
        self._recent_count = 0
        self._merge(np.array(hashes, dtype=np.int64), np.array(ids, dtype=np.int64))

    def _merge(self, hashes: NDArray[np.int64], ids: IdArray) -> None:
        hashes = np.concatenate([self._hashes, hashes])
        ids = np.concatenate([self._ids, ids])
        if self._removed:
            keep = ~np.isin(ids, np.fromiter(self._removed, dtype=np.int64))
            hashes, ids = hashes[keep], ids[keep]
            self._removed.clear()
        order = np.lexsort((ids, hashes))
        self._hashes, self._ids = hashes[order], ids[order]

    def block(self, key: str) -> list[int]:
        """The ids under one key ([] when the block is too common to be useful)."""
        h = hash(key)
        lo = int(np.searchsorted(self._hashes, h, side="left"))
        hi = int(np.searchsorted(self._hashes, h, side="right"))
        recent = self._recent.get(h, [])
        if hi - lo + len(recent) > self.max_block:
            return []
        found: list[int] = self._ids[lo:hi].tolist() + recent
        if self._removed:
            return [i for i in found if i not in self._removed]
        return found

    def candidates(self, keys: Iterable[str], limit: int | None = None) -> list[int]:
        """Ids that share a key, those sharing the most keys first, at most `limit`.

        Records of one person share several keys even with a typo or a missing field;
        strangers rarely share more than one, so the cut loses next to nothing.
        """
        shared: Counter[int] = Counter()
        for key in keys:
            shared.update(self.block(key))
        if limit is None or len(shared) <= limit:
            return list(shared)
        return [i for i, _count in shared.most_common(limit)]

    def pairs(self, shuffle_seed: int | None = None) -> Iterator[tuple[int, int]]:
        """Each pair of ids that share a block (smaller id first; a pair may repeat).

        With `shuffle_seed` the blocks come in random order, so the first N pairs
        are a fair sample of a big index.
        """
        self.fold()
        hashes, ids = self._hashes, self._ids
        if len(hashes) == 0:
            return
        starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
        ends = np.r_[starts[1:], len(hashes)]
        if shuffle_seed is not None:
            order = np.random.default_rng(shuffle_seed).permutation(len(starts))
            starts, ends = starts[order], ends[order]
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            if 2 <= end - start <= self.max_block:
                members = sorted(set(ids[start:end].tolist()))
                for i, a in enumerate(members):
                    for b in members[i + 1 :]:
                        yield a, b
