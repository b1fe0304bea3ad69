"""Stored customers and the identity index: loading and dedupe reports.

CSV import is routing.identity.importing, reading the file routing.identity.csv_file.

The database stays the source of truth; the index is rebuilt from it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Customer, CustomerAddress
from routing.identity.addresses import (
    PHONE_CHANNELS,
    address_key,
    external_key,
)
from routing.identity.index import CustomerIndex
from routing.identity.profile import Profile

__all__ = [
    "DETAIL_FIELDS",
    "Duplicate",
    "MIN_CUSTOMERS_TO_LEARN",
    "TooFewToLearn",
    "customer_profile",
    "find_duplicates",
    "load_index",
]

# Customer.details keys that matching reads; anything else in a CSV row is ignored.
DETAIL_FIELDS = (
    "given_name",
    "surname",
    "birth_date",
    "street",
    "street2",
    "city",
    "postcode",
    "state",
    "id_number",
)
MIN_CUSTOMERS_TO_LEARN = 50


def customer_profile(
    customer: Customer, addresses: Iterable[CustomerAddress], region: str = "US"
) -> Profile:
    """The matching profile of a stored customer: name, details, first phone and email."""
    details = {k: str(v) for k, v in customer.details.items() if k in DETAIL_FIELDS and v}
    phone = next((a.address for a in addresses if a.channel in PHONE_CHANNELS), "")
    email = next((a.address for a in addresses if a.channel == "email"), "")
    return Profile.of(name=customer.name, phone=phone, email=email, region=region, **details)


def customer_keys(
    customer: Customer, addresses: Iterable[CustomerAddress], region: str = "US"
) -> list[str]:
    keys = [address_key(a.channel, a.address, region) for a in addresses]
    if customer.external_id:
        keys.append(external_key(customer.external_id))
    return [k for k in keys if k]


async def load_index(session: AsyncSession, region: str = "US") -> CustomerIndex:
    """Every customer not merged away nor erased, with exact keys and profile; no model yet."""
    addresses: dict[int, list[CustomerAddress]] = defaultdict(list)
    for address in await session.scalars(select(CustomerAddress)):
        addresses[address.customer_id].append(address)
    index = CustomerIndex()
    for customer in await session.scalars(
        select(Customer)
        .where(Customer.merged_into_id.is_(None), Customer.erased_at.is_(None))
        .order_by(Customer.id)
    ):
        own = addresses.get(customer.id, [])
        index.add(
            customer.id,
            customer_profile(customer, own, region),
            customer_keys(customer, own, region),
        )
    return index


@dataclass(frozen=True)
class Duplicate:
    """Two stored customers that are likely one person."""

    first_id: int
    second_id: int
    probability: float
    first_name: str
    second_name: str
    first_external_id: str | None = None
    second_external_id: str | None = None


class TooFewToLearn(ValueError):
    """Matching weights cannot be learned from the stored customers yet."""


async def find_duplicates(session: AsyncSession, region: str = "US") -> list[Duplicate]:
    """Likely duplicate customers, most likely first.

    Raises TooFewToLearn, saying how many customers there are and how many it takes,
    when the weights cannot be learned: no pair is scored then.
    """
    index = await load_index(session, region)
    if len(index) < MIN_CUSTOMERS_TO_LEARN:
        raise TooFewToLearn(
            f"matching learns its weights from the customers themselves and needs at least"
            f" {MIN_CUSTOMERS_TO_LEARN} customers, and there are {len(index)}"
        )
    # Learning and scoring are CPU work: a thread keeps the event loop (and so the
    # console) answering meanwhile. Nothing else touches this fresh index.
    pairs = await asyncio.to_thread(_learn_and_score, index)
    if pairs is None:
        raise TooFewToLearn(
            f"too few of the {len(index)} customers share a name, email, phone or address"
            " to learn matching weights from"
        )
    ids = {i for a, b, _p in pairs for i in (a, b)}
    rows = await session.execute(
        select(Customer.id, Customer.name, Customer.external_id).where(Customer.id.in_(ids))
    )
    known = {customer_id: (name, external_id) for customer_id, name, external_id in rows}
    return [
        Duplicate(a, b, p, known[a][0], known[b][0], known[a][1], known[b][1]) for a, b, p in pairs
    ]


def _learn_and_score(index: CustomerIndex) -> list[tuple[int, int, float]] | None:
    """The index's likely pairs, or None when its customers share too little to learn from."""
    try:
        index.estimate()
    except ValueError:
        return None
    return index.duplicates()
