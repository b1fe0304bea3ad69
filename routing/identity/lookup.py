"""Finding customers by what a person types: a phone number, an email, an id or a name.

Exact first: a phone number written any way (normalized as identity does), an email
however it is written, a CRM external id. Then names: the start of the given name or
the surname (an index range in the database), and names that sound and read alike
("Jon Smyth" for John Smith) from the identity index's blocks, scored with rapidfuzz.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Customer, CustomerAddress
from hub.names import name_key, prefix_range
from routing.identity.addresses import (
    PHONE_CHANNELS,
    address_key,
    normalize_email,
    normalize_phone,
)
from routing.identity.index import CustomerIndex
from routing.identity.profile import Profile

__all__ = ["Match", "match_customers"]

EXACT, SAME_NAME, NAME_START = 1.0, 0.95, 0.9
# A similar name ranks below any name that starts as typed; below this it is noise.
SIMILAR_WEIGHT, MIN_SIMILARITY = 0.85, 0.7


@dataclass(frozen=True)
class Match:
    """A customer found for a query, how well (1.0: exact) and by what."""

    customer_id: int
    score: float
    reason: str  # phone | email | external id | name | similar name


async def match_customers(
    session: AsyncSession,
    index: CustomerIndex,
    query: str,
    region: str = "US",
    limit: int = 200,
) -> list[Match]:
    """Customers matching `query`, best first (ties by id), at most about `limit`."""
    query = query.strip()
    if not query:
        return []
    best: dict[int, Match] = {}
    found = await _exact(session, index, query, region)
    # A phone number or an email is not a name: no need to look for one.
    if any(c.isalpha() for c in query) and "@" not in query:
        found += [*await _name_starts(session, query, limit), *_similar_names(index, query, region)]
    for match in found:
        if match.customer_id not in best or best[match.customer_id].score < match.score:
            best[match.customer_id] = match
    return sorted(best.values(), key=lambda m: (-m.score, m.customer_id))[:limit]


async def _exact(
    session: AsyncSession, index: CustomerIndex, query: str, region: str
) -> list[Match]:
    found: list[Match] = []
    phone = normalize_phone(query, region) if any(c.isdigit() for c in query) else None
    if phone:
        owners = await session.scalars(
            select(CustomerAddress.customer_id).where(
                CustomerAddress.channel.in_(PHONE_CHANNELS), CustomerAddress.address == phone
            )
        )
        found += [Match(i, EXACT, "phone") for i in owners]
    email = normalize_email(query) if "@" in query else None
    if email:
        owners = await session.scalars(
            select(CustomerAddress.customer_id).where(
                CustomerAddress.channel == "email",
                CustomerAddress.address.in_({email, query.lower()}),
            )
        )
        found += [Match(i, EXACT, "email") for i in owners]
        # The index knows the match key too: "jane+news@example.com" finds jane@example.com.
        key = address_key("email", query, region)
        owner = index.owner(key) if key else None
        if owner is not None:
            found.append(Match(owner, EXACT, "email"))
    by_id = await session.scalar(select(Customer.id).where(Customer.external_id == query))
    if by_id is not None:
        found.append(Match(by_id, EXACT, "external id"))
    return found


async def _name_starts(session: AsyncSession, query: str, limit: int) -> list[Match]:
    """Names whose given name or surname starts as typed (whole words in between)."""
    key = name_key(query)
    if not key:
        return []
    found: list[Match] = []
    for column in (Customer.name_key, Customer.surname_key):
        low, high = prefix_range(key)
        clause: ColumnElement[bool] = (column >= low) & (column < high) & column.like(key + "%")
        rows = await session.execute(
            select(Customer.id, Customer.name_key, Customer.surname_key)
            .where(clause)
            .order_by(column, Customer.id)
            .limit(limit)
        )
        found += [
            Match(i, SAME_NAME if key in (whole, flipped) else NAME_START, "name")
            for i, whole, flipped in rows
        ]
    return found


def _similar_names(index: CustomerIndex, query: str, region: str) -> list[Match]:
    """Names alike in sound and spelling, from the identity index's blocking keys."""
    profile = Profile.of(name=query, region=region)
    typed = f"{profile.given_name} {profile.surname}".strip()
    found = []
    for customer_id in index.candidates(profile):
        stored = index.profile(customer_id)
        if stored is None:
            continue
        similarity = fuzz.token_sort_ratio(typed, f"{stored.given_name} {stored.surname}") / 100
        if similarity >= MIN_SIMILARITY:
            found.append(Match(customer_id, SIMILAR_WEIGHT * similarity, "similar name"))
    return found
