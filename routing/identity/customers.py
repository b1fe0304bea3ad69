"""Stored customers and the identity index: loading, CSV import, dedupe reports.

The database stays the source of truth; the index is rebuilt from it.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm
from hub.models import Customer, CustomerAddress
from routing.identity.addresses import (
    PHONE_CHANNELS,
    address_key,
    external_key,
    normalize_email,
    normalize_phone,
)
from routing.identity.index import CustomerIndex
from routing.identity.profile import Profile

__all__ = [
    "DETAIL_FIELDS",
    "Duplicate",
    "find_duplicates",
    "ImportReport",
    "TooFewToLearn",
    "customer_profile",
    "import_customers",
    "load_index",
    "read_csv",
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
# A phone number reaches the customer by text and by call alike.
PHONE_ADDRESS_CHANNELS = ("sms", "voice")
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


@dataclass
class ImportReport:
    """What an import did, row by row in summary."""

    created: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)
    # (row number, new customer id, (possibly the same as customer ids, ...))
    possible: list[tuple[int, int, tuple[int, ...]]] = field(default_factory=list)

    def lines(self) -> list[str]:
        found = [f"created {self.created}, updated {self.updated}, skipped {len(self.skipped)}"]
        found += [f"  skipped {reason}" for reason in self.skipped]
        found += [
            f"  row {row}: customer {new} is possibly the same as {', '.join(map(str, same))}"
            for row, new, same in self.possible
        ]
        return found


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [
            {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(handle)
        ]


async def import_customers(
    session: AsyncSession, rows: Iterable[Mapping[str, str]], region: str = "US"
) -> ImportReport:
    """Upsert customers: by external id, then exact phone or email, then fuzzy matching.

    A row with a known external id overwrites that customer's name and details; any other
    confident match only fills what the customer lacks. A doubtful match creates a new
    customer, reported as "possibly the same as" for a person to merge or not.
    """
    index = await load_index(session, region)
    if len(index) >= MIN_CUSTOMERS_TO_LEARN:
        try:
            index.estimate()
        except ValueError:
            pass  # too little shared data to learn from: exact keys only
    report = ImportReport()
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        await _import_row(session, index, number, row, region, report)
    await session.flush()
    return report


async def _import_row(
    session: AsyncSession,
    index: CustomerIndex,
    number: int,
    row: Mapping[str, str],
    region: str,
    report: ImportReport,
) -> None:
    name = row.get("name") or " ".join(p for p in (row.get("given_name"), row.get("surname")) if p)
    addresses = _addresses(row, region)
    external_id = row.get("external_id") or None
    keys = [
        k
        for k in (
            external_key(external_id or ""),
            *(address_key(c, a, region) for c, a in addresses),
        )
        if k
    ]
    details = {k: row[k] for k in DETAIL_FIELDS if row.get(k)}
    if not (name or addresses or external_id):
        report.skipped.append(f"row {number}: no name, address or external id")
        return
    profile = Profile.of(
        name=name,
        phone=row.get("phone", ""),
        email=row.get("email", ""),
        region=region,
        **details,
    )
    found = index.find(profile, keys)
    if found.status == "linked" and found.customer_id is not None:
        customer = await session.get(Customer, found.customer_id)
        assert customer is not None
        if found.candidates[0].reason.startswith("ext:"):
            # the CRM's own record: its values are the fresh ones
            customer.name = name or customer.name
            customer.details = {**customer.details, **details}
        else:
            customer.name = customer.name or name
            customer.details = {**details, **customer.details}
        if external_id and customer.external_id is None:
            if index.owner(external_key(external_id) or "") is None:
                customer.external_id = external_id
        report.updated += 1
    else:
        customer = Customer(
            name=name,
            external_id=external_id,
            details=details,
            segment=row.get("segment") or "standard",
        )
        session.add(customer)
        await session.flush()
        crm.record(
            session, customer_id=customer.id, kind="customer.created", summary="Imported from CSV"
        )
        report.created += 1
        if found.status == "possible":
            report.possible.append(
                (number, customer.id, tuple(c.customer_id for c in found.candidates))
            )
    for channel, address in addresses:
        key = address_key(channel, address, region)
        if key and index.owner(key) is None:
            session.add(CustomerAddress(customer_id=customer.id, channel=channel, address=address))
    await session.flush()
    if index.profile(customer.id) is None:
        index.add(customer.id, profile, keys)
    else:
        index.add_keys(customer.id, keys)


@dataclass(frozen=True)
class Duplicate:
    """Two stored customers that are likely one person."""

    first_id: int
    second_id: int
    probability: float
    first_name: str
    second_name: str


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
    try:
        index.estimate()
    except ValueError:
        raise TooFewToLearn(
            f"too few of the {len(index)} customers share a name, email, phone or address"
            " to learn matching weights from"
        ) from None
    pairs = index.duplicates()
    ids = {i for a, b, _p in pairs for i in (a, b)}
    rows = await session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
    names = {customer_id: name for customer_id, name in rows}
    return [Duplicate(a, b, p, names.get(a, ""), names.get(b, "")) for a, b, p in pairs]


def _addresses(row: Mapping[str, str], region: str) -> list[tuple[str, str]]:
    """(channel, address) pairs in stored form: normalized email, E.164 phone."""
    found = []
    email = normalize_email(row.get("email", "")) if row.get("email") else None
    if email:
        found.append(("email", email))
    phone = normalize_phone(row.get("phone", ""), region) if row.get("phone") else None
    if phone:
        found += [(channel, phone) for channel in PHONE_ADDRESS_CHANNELS]
    return found
