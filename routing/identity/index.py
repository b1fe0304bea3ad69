"""Who is this customer? Exact keys first, then fuzzy matching over a blocking index.

`CustomerIndex` holds every customer's exact keys (E.164 phones, email match keys,
chat tokens, CRM ids) and a matching profile in memory. `find` answers with the
customer to link, or with the customers the contact is "possibly the same as", or
with nobody. `estimate` learns the Fellegi-Sunter weights from the stored customers;
`duplicates` ranks likely duplicate pairs for a person to review.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from hub.identity import Identity
from routing.identity.addresses import PHONE_CHANNELS, address_key
from routing.identity.blocking import BlockIndex, block_keys
from routing.identity.comparison import COMPARISONS, compare
from routing.identity.frequency import NameFrequencies
from routing.identity.profile import Profile
from routing.identity.training import learn
from routing.identity.weights import MatchModel, Scorer, to_probability

__all__ = ["Candidate", "CustomerIndex", "IndexResolver", "Resolution", "clusters"]

LINK_THRESHOLD = 0.95
POSSIBLE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Candidate:
    """A stored customer and the probability that the profile is the same person."""

    customer_id: int
    probability: float
    reason: str = "fuzzy"
    # Something besides the name agrees (birth date, address, phone, email, id):
    # a name alone is never enough to link, however rare it looks.
    corroborated: bool = True


@dataclass(frozen=True)
class Resolution:
    """`linked`: customer_id is the customer. `possible`: a new customer, shown beside
    `candidates` as "possibly the same as" (also when two stored customers fit equally
    well: those two are likely duplicates). `new`: nobody like this is known."""

    status: Literal["linked", "possible", "new"]
    customer_id: int | None = None
    candidates: tuple[Candidate, ...] = ()


@dataclass
class CustomerIndex:
    """Every customer's exact keys and matching profile, in memory."""

    link_threshold: float = LINK_THRESHOLD
    possible_threshold: float = POSSIBLE_THRESHOLD
    max_block: int = 400
    max_candidates: int = 64
    model: MatchModel | None = None
    _exact: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _keys_of: dict[int, set[str]] = field(default_factory=dict, init=False, repr=False)
    _profiles: dict[int, Profile] = field(default_factory=dict, init=False, repr=False)
    _blocks: BlockIndex = field(init=False, repr=False)
    _cached: tuple[MatchModel, Scorer] | None = field(default=None, init=False, repr=False)
    _names: NameFrequencies = field(default_factory=NameFrequencies, init=False, repr=False)

    def __post_init__(self) -> None:
        self._blocks = BlockIndex(max_block=self.max_block)

    def __len__(self) -> int:
        return len(self._profiles)

    def add(self, customer_id: int, profile: Profile, keys: Iterable[str] = ()) -> None:
        """Store (or update) a customer; `keys` are exact keys from routing.identity.addresses."""
        self.add_keys(customer_id, keys)
        previous = self._profiles.get(customer_id)
        if previous is not None:
            self._names.remove(previous)
        self._profiles[customer_id] = profile
        self._names.add(profile)
        self._blocks.add(customer_id, block_keys(profile))

    def add_keys(self, customer_id: int, keys: Iterable[str]) -> None:
        """Point exact keys at a customer (a later key wins over an earlier one)."""
        for key in keys:
            owner = self._exact.get(key)
            if owner is not None and owner != customer_id:
                self._keys_of[owner].discard(key)
            self._exact[key] = customer_id
            self._keys_of.setdefault(customer_id, set()).add(key)

    def add_many(self, customers: Iterable[tuple[int, Profile]]) -> None:
        """Bulk load profiles (no exact keys), much faster than one `add` at a time."""
        entries = []
        for customer_id, profile in customers:
            self._profiles[customer_id] = profile
            self._names.add(profile)
            entries.append((customer_id, block_keys(profile)))
        self._blocks.add_many(entries)

    def remove(self, customer_id: int) -> None:
        """Forget a customer, e.g. one merged into another."""
        profile = self._profiles.pop(customer_id, None)
        if profile is not None:
            self._names.remove(profile)
        self._blocks.remove(customer_id)
        for key in self._keys_of.pop(customer_id, set()):
            del self._exact[key]

    def owner(self, key: str) -> int | None:
        """The customer an exact key belongs to, if any."""
        return self._exact.get(key)

    def profile(self, customer_id: int) -> Profile | None:
        return self._profiles.get(customer_id)

    def find(self, profile: Profile, keys: Iterable[str] = ()) -> Resolution:
        """The customer this profile (and these exact keys) belongs to, if any."""
        for key in keys:
            customer_id = self._exact.get(key)
            if customer_id is not None:
                return Resolution("linked", customer_id, (Candidate(customer_id, 1.0, key),))
        if self.model is None:
            return Resolution("new")  # exact keys only until weights are learned
        ranked = self.score(profile)
        if ranked and self._confident(ranked):
            return Resolution("linked", ranked[0].customer_id, tuple(ranked))
        doubtful = tuple(c for c in ranked if c.probability >= self.possible_threshold)
        if doubtful:
            return Resolution("possible", None, doubtful)
        return Resolution("new")

    def _confident(self, ranked: list[Candidate]) -> bool:
        """Link only a likely, corroborated and unrivalled best candidate."""
        best = ranked[0]
        rival = len(ranked) > 1 and ranked[1].probability >= self.link_threshold
        return best.probability >= self.link_threshold and best.corroborated and not rival

    def candidates(self, profile: Profile) -> list[int]:
        """Customers the blocking index puts beside this profile, unscored."""
        return self._blocks.candidates(block_keys(profile), self.max_candidates)

    def score(self, profile: Profile, limit: int = 5) -> list[Candidate]:
        """The best-scoring candidates from the blocking index, most likely first."""
        found = []
        keys = block_keys(profile)
        for customer_id in self._blocks.candidates(keys, self.max_candidates):
            stored = self._profiles.get(customer_id)
            if stored is not None:
                probability, levels = self._compare(profile, stored)
                found.append(
                    Candidate(customer_id, probability, corroborated=_corroborated(levels))
                )
        found.sort(key=lambda c: (-c.probability, c.customer_id))
        return found[:limit]

    def estimate(self, seed: int = 0) -> MatchModel:
        """Learn the weights from the stored customers and keep them as `model`."""
        self.model = learn(self._profiles, self._blocks, seed=seed)
        return self.model

    def duplicates(self) -> list[tuple[int, int, float]]:
        """Pairs of stored customers at or above the possible threshold, most likely first."""
        found = []
        for a, b in dict.fromkeys(self._blocks.pairs()):
            p, _levels = self._compare(self._profiles[a], self._profiles[b])
            if p >= self.possible_threshold:
                found.append((a, b, p))
        found.sort(key=lambda t: (-t[2], t[0], t[1]))
        return found

    def _compare(self, a: Profile, b: Profile) -> tuple[float, list[int]]:
        """The match probability of two profiles, and their comparison levels."""
        if self.model is None:
            raise RuntimeError("no match model yet: call estimate() or pass one")
        if self._cached is None or self._cached[0] is not self.model:
            self._cached = (self.model, self.model.scorer())
        levels = compare(a, b)
        weight = self._cached[1].match_weight(levels)
        weight += self._names.adjustment(self.model, a, b, levels)
        return to_probability(weight), levels


class IndexResolver:
    """`hub.identity.CustomerResolver` over a `CustomerIndex`: who writes from an address.

    Exact keys first (the same phone number on SMS and voice, an email however it is
    written); then, for a contact that gives a name, fuzzy matching on the name with
    the phone number or email address. No I/O: the index is kept up to date elsewhere.
    """

    def __init__(self, index: CustomerIndex, region: str = "US") -> None:
        self.index = index
        self.region = region

    def resolve(self, channel: str, address: str, name: str) -> Identity:
        key = address_key(channel, address, self.region)
        keys = [key] if key else []
        if not name.strip():
            owner = self.index.owner(key) if key else None
            return Identity(owner, reason=f"same {key}") if owner is not None else Identity()
        profile = Profile.of(
            name=name,
            phone=address if channel in PHONE_CHANNELS else "",
            email=address if channel == "email" else "",
            region=self.region,
        )
        found = self.index.find(profile, keys)
        if found.status == "linked" and found.customer_id is not None:
            best = found.candidates[0]
            reason = (
                f"same {key}"
                if best.reason != "fuzzy"
                else f"{name} matches, probability {best.probability:.2f}"
            )
            return Identity(found.customer_id, reason=reason)
        if found.status == "possible":
            return Identity(
                possibly=tuple((c.customer_id, c.probability) for c in found.candidates),
                reason="name matches, not enough else to be sure",
            )
        return Identity()


_NAMES = frozenset({"given_name", "surname"})
_EVIDENCE = tuple(
    (i, c.levels - 2) for i, c in enumerate(COMPARISONS) if not _NAMES.intersection(c.fields)
)


def _corroborated(levels: list[int]) -> bool:
    """A comparison other than the names agrees exactly or nearly."""
    return any(levels[i] >= near for i, near in _EVIDENCE)


def clusters(links: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected groups of customers from pairwise links (each group sorted, size >= 2)."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for x in parent:
        groups.setdefault(root(x), []).append(x)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)
