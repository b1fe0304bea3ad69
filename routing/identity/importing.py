"""Importing customers from a CSV file, with every row's outcome said.

Rules (README "CSV columns for import"):
- Only exact keys update a stored customer: the external id, else a phone number or
  email the customer already has. A fuzzy match creates a new customer linked to the
  likely one as "possibly the same" (reviewed at /console/duplicates), unless
  `link_above` is given and the match is at least that likely.
- A phone or email that belongs to a customer with another external id stays with
  them: the row becomes a new customer, flagged as possibly the same, never merged.
- A field that is not valid (email, phone, birth date) is left out with a warning on
  its row; the rest of the row is imported. A row is refused when the file cannot be
  read there, or when nothing identifies anyone in it.
- Matching learns from the stored customers and the file's rows together, and each
  row is matched against the rows before it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm
from hub.models import Customer, CustomerAddress, CustomerLink
from routing.identity.addresses import (
    PHONE_CHANNELS,
    address_key,
    external_key,
    normalize_email,
    normalize_phone,
)
from routing.identity.csv_file import DELIMITER_NAMES, CsvFile
from routing.identity.customers import DETAIL_FIELDS, MIN_CUSTOMERS_TO_LEARN, load_index
from routing.identity.index import Candidate, CustomerIndex
from routing.identity.profile import Profile

__all__ = ["ImportReport", "RowOutcome", "import_customers"]

# A phone number reaches the customer by text and by call alike.
PHONE_ADDRESS_CHANNELS = ("sms", "voice")
# Stored with a link when matching has no weights yet to say how likely it is.
UNSCORED = 0.5
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class RowOutcome:
    """What became of one row: `matched_by` is external id, phone, email or fuzzy."""

    row: int
    outcome: Literal["created", "updated", "refused"]
    customer_id: int | None = None
    matched_by: str = ""
    probability: float | None = None
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "outcome": self.outcome,
            "customer_id": self.customer_id,
            "matched_by": self.matched_by,
            "probability": None if self.probability is None else round(self.probability, 4),
            "message": self.message,
        }


@dataclass
class ImportReport:
    """Every row's outcome, and the file's separator."""

    delimiter: str = ","
    outcomes: list[RowOutcome] = field(default_factory=list)
    # (row number, new customer id, (possibly the same as customer ids, ...))
    possible: list[tuple[int, int, tuple[int, ...]]] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    @property
    def created(self) -> int:
        return self.count("created")

    @property
    def updated(self) -> int:
        return self.count("updated")

    @property
    def refused(self) -> list[RowOutcome]:
        return [o for o in self.outcomes if o.outcome == "refused"]

    def lines(self) -> list[str]:
        """Counts, then each row that has something to say."""
        found = []
        if self.delimiter != ",":
            found.append(f"read as {DELIMITER_NAMES[self.delimiter]}-separated (from the header)")
        found.append(
            f"{len(self.outcomes)} rows: created {self.created}, updated {self.updated},"
            f" refused {len(self.refused)}; {len(self.possible)} flagged as possibly the same"
        )
        for o in sorted(self.outcomes, key=lambda o: o.row):
            if o.message:
                refused = "refused, " if o.outcome == "refused" else ""
                found.append(f"  row {o.row}: {refused}{o.message}")
        return found


@dataclass
class _Row:
    """A row in stored form, with what was wrong in it."""

    number: int
    name: str
    external_id: str | None
    addresses: list[tuple[str, str]]
    details: dict[str, str]
    segment: str
    profile: Profile
    warnings: list[str]


async def import_customers(
    session: AsyncSession,
    rows: CsvFile | Iterable[Mapping[str, str]],
    region: str = "US",
    *,
    link_above: float | None = None,
) -> ImportReport:
    """Upsert customers by exact keys; report each row (see the module's rules)."""
    if not isinstance(rows, CsvFile):
        rows = CsvFile(rows=[(n, dict(r)) for n, r in enumerate(rows, start=2)])
    report = ImportReport(delimiter=rows.delimiter)
    report.outcomes += [RowOutcome(n, "refused", message=why) for n, why in rows.refused]
    parsed = []
    for number, raw in rows.rows:
        row = _parse(number, raw, region)
        if not (row.name or row.addresses or row.external_id):
            why = "; ".join([*row.warnings, "no name, usable address or external id"])
            report.outcomes.append(RowOutcome(number, "refused", message=why))
        else:
            parsed.append(row)
    index = await load_index(session, region)
    _learn(index, [row.profile for row in parsed])
    importer = _Importer(session, index, region, report, link_above)
    for row in parsed:
        await importer.add(row)
    await session.flush()
    report.outcomes.sort(key=lambda o: o.row)
    return report


def _parse(number: int, raw: Mapping[str, str], region: str) -> _Row:
    warnings = []
    name = raw.get("name") or " ".join(p for p in (raw.get("given_name"), raw.get("surname")) if p)
    details = {k: raw[k] for k in DETAIL_FIELDS if raw.get(k)}
    birth = details.get("birth_date")
    if birth is not None and not _is_date(birth):
        warnings.append(
            f'birth_date "{birth}" is not a date written YYYY-MM-DD (like 1990-02-28);'
            " imported without it"
        )
        del details["birth_date"]
    addresses: list[tuple[str, str]] = []
    email, phone = raw.get("email", ""), raw.get("phone", "")
    if email:
        stored = normalize_email(email)
        if stored:
            addresses.append(("email", stored))
        else:
            warnings.append(f'email "{email}" is not an email address; imported without it')
            email = ""
    if phone:
        number_ = normalize_phone(phone, region)
        if number_:
            addresses += [(channel, number_) for channel in PHONE_ADDRESS_CHANNELS]
        else:
            warnings.append(
                f'phone "{phone}" is not a phone number (without +country code it is read'
                f" as {region}); imported without it"
            )
            phone = ""
    profile = Profile.of(name=name, phone=phone, email=email, region=region, **details)
    return _Row(
        number=number,
        name=name,
        external_id=raw.get("external_id") or None,
        addresses=addresses,
        details=details,
        segment=raw.get("segment") or "standard",
        profile=profile,
        warnings=warnings,
    )


def _is_date(text: str) -> bool:
    # fromisoformat alone also takes 19900228 and week dates: only one form is said.
    if not _ISO_DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _learn(index: CustomerIndex, profiles: list[Profile]) -> None:
    """Learn matching weights from the stored customers and the file's rows together."""
    if len(index) + len(profiles) < MIN_CUSTOMERS_TO_LEARN:
        return  # exact keys only
    standins = [-(i + 1) for i in range(len(profiles))]  # never a stored customer's id
    index.add_many(zip(standins, profiles, strict=True))
    try:
        index.estimate()
    except ValueError:
        pass  # too little shared data to learn from: exact keys only
    finally:
        for standin in standins:
            index.remove(standin)


class _Importer:
    """One import's session, index and report; `add` imports one row."""

    def __init__(
        self,
        session: AsyncSession,
        index: CustomerIndex,
        region: str,
        report: ImportReport,
        link_above: float | None,
    ) -> None:
        self.session, self.index, self.region = session, index, region
        self.report, self.link_above = report, link_above

    async def add(self, row: _Row) -> None:
        ext = external_key(row.external_id or "")
        target, matched_by, conflicts = await self._exact(row, ext)
        probability: float | None = None
        possibly: list[tuple[int, float]] = []
        if target is None and not conflicts:
            target, probability, possibly = self._fuzzy(row)
            matched_by = "fuzzy" if target is not None else ""
        messages = list(row.warnings)
        if target is None:
            customer = await self._create(row, messages)
            outcome: Literal["created", "updated"] = "created"
        else:
            customer = await self._update(row, target, matched_by, probability, ext)
            outcome = "updated"
        given = await self._give_addresses(row, customer, conflicts)
        for owner, addresses in conflicts.items():
            messages.append(await self._conflict(row, owner, addresses, outcome))
            possibly.append((owner, self._probability(row.profile, owner)))
        flagged = await self._flag(customer, possibly)
        if flagged:
            self.report.possible.append((row.number, customer.id, tuple(i for i, _p in flagged)))
            same = ", ".join(f"customer {i} (probability {p:.2f})" for i, p in flagged)
            messages.append(
                f"{outcome} customer {customer.id}, flagged as possibly the same as {same}"
            )
            probability = flagged[0][1] if probability is None else probability
        elif matched_by == "fuzzy" and probability is not None:
            messages.append(
                f"updated customer {customer.id}, matched by name and details"
                f" with probability {probability:.2f}"
            )
        self.report.outcomes.append(
            RowOutcome(
                row.number, outcome, customer.id, matched_by, probability, "; ".join(messages)
            )
        )
        if self.index.profile(customer.id) is None:
            self.index.add(customer.id, row.profile, given)
        else:
            self.index.add_keys(customer.id, given)

    async def _exact(
        self, row: _Row, ext: str | None
    ) -> tuple[int | None, str, dict[int, list[str]]]:
        """The customer the row's external id, else one of its addresses, belongs to, how,
        and the customers with another external id that hold the row's addresses."""
        owner = self.index.owner(ext) if ext else None
        if owner is not None:
            return owner, "external id", {}
        conflicts: dict[int, list[str]] = {}
        for channel, address in row.addresses:
            key = address_key(channel, address, self.region)
            owner = self.index.owner(key) if key else None
            if owner is None:
                continue
            theirs = await self._external_id(owner)
            if row.external_id and theirs and theirs != row.external_id:
                said = f"{_kind(channel)} {address}"
                if said not in conflicts.setdefault(owner, []):
                    conflicts[owner].append(said)
                continue
            return owner, _kind(channel), conflicts
        return None, "", conflicts

    def _fuzzy(self, row: _Row) -> tuple[int | None, float | None, list[tuple[int, float]]]:
        """The customer to update by matching (only above `link_above`) and its
        probability, else those the row is possibly the same as."""
        if self.index.model is None:
            return None, None, []
        ranked = [
            c
            for c in self.index.find(row.profile).candidates
            if c.customer_id > 0 and c.probability >= self.index.possible_threshold
        ]
        if ranked and self._folds(ranked):
            return ranked[0].customer_id, ranked[0].probability, []
        return None, None, [(c.customer_id, c.probability) for c in ranked]

    async def _conflict(self, row: _Row, owner: int, addresses: list[str], outcome: str) -> str:
        theirs = await self._external_id(owner)
        verb = "belong" if len(addresses) > 1 else "belongs"
        said = f"{' and '.join(addresses)} {verb} to customer {owner}"
        if theirs:
            said += f" (external id {theirs})"
        if outcome == "created" and row.external_id and theirs:
            said = f"external id {row.external_id} is new but {said}"
        return f"{said}; left with them"

    def _folds(self, ranked: list[Candidate]) -> bool:
        """Fold a fuzzy match in only above `link_above`: likely, corroborated, unrivalled."""
        if self.link_above is None:
            return False
        best = ranked[0]
        rival = len(ranked) > 1 and ranked[1].probability >= self.link_above
        return best.probability >= self.link_above and best.corroborated and not rival

    async def _external_id(self, customer_id: int) -> str | None:
        customer = await self.session.get(Customer, customer_id)
        return None if customer is None else customer.external_id

    def _probability(self, profile: Profile, customer_id: int) -> float:
        if self.index.model is None:
            return UNSCORED
        scored = self.index.score(profile, limit=self.index.max_candidates)
        return next((c.probability for c in scored if c.customer_id == customer_id), UNSCORED)

    async def _create(self, row: _Row, messages: list[str]) -> Customer:
        external_id = row.external_id
        if external_id is not None:
            held = await self.session.scalar(
                select(Customer.id).where(Customer.external_id == external_id)
            )
            if held is not None:  # a customer merged away or erased keeps theirs
                messages.append(
                    f"external id {external_id} is kept by customer {held}, merged or erased;"
                    " imported without it"
                )
                external_id = None
        customer = Customer(
            name=row.name, external_id=external_id, details=row.details, segment=row.segment
        )
        self.session.add(customer)
        await self.session.flush()
        crm.record(
            self.session,
            customer_id=customer.id,
            kind="customer.created",
            summary=f"Imported from CSV (row {row.number})",
        )
        return customer

    async def _update(
        self, row: _Row, target: int, matched_by: str, probability: float | None, ext: str | None
    ) -> Customer:
        customer = await self.session.get(Customer, target)
        assert customer is not None
        if matched_by == "external id":
            # the CRM's own record: its values are the fresh ones
            customer.name = row.name or customer.name
            customer.details = {**customer.details, **row.details}
        else:
            filled = {k: v for k, v in row.details.items() if not customer.details.get(k)}
            customer.details = {**row.details, **customer.details}
            named = not customer.name and bool(row.name)
            customer.name = customer.name or row.name
            if matched_by == "fuzzy":
                # Recorded with the row, so a person can see and undo what matching did.
                crm.record(
                    self.session,
                    customer_id=customer.id,
                    kind="customer.import_linked",
                    summary=f"CSV row {row.number} matched this customer by name and details"
                    f" (probability {probability:.2f})",
                    row=row.number,
                    name=row.name,
                    filled={"details": filled, "name": row.name if named else None},
                )
        if (
            row.external_id
            and ext
            and customer.external_id is None
            and self.index.owner(ext) is None
        ):
            customer.external_id = row.external_id
            self.index.add_keys(customer.id, [ext])
        return customer

    async def _give_addresses(
        self,
        row: _Row,
        customer: Customer,
        conflicts: dict[int, list[str]],
    ) -> list[str]:
        """Add the row's addresses nobody has; returns the exact keys the customer now has."""
        given = [external_key(customer.external_id)] if customer.external_id else []
        for channel, address in row.addresses:
            key = address_key(channel, address, self.region)
            owner = self.index.owner(key) if key else None
            if key and owner is None:
                self.session.add(
                    CustomerAddress(customer_id=customer.id, channel=channel, address=address)
                )
            elif owner is not None and owner != customer.id and owner not in conflicts:
                conflicts[owner] = [f"{_kind(channel)} {address}"]
            elif owner is not None and owner != customer.id:
                said = f"{_kind(channel)} {address}"
                if said not in conflicts[owner]:
                    conflicts[owner].append(said)
            if key and (owner is None or owner == customer.id):
                given.append(key)
        await self.session.flush()
        return [k for k in given if k]

    async def _flag(
        self, customer: Customer, possibly: list[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        """Link the customer to those it is possibly the same as, for a person to decide.

        A pair already decided (merged, or dismissed as not the same) is not proposed
        again, and one still open is not linked twice."""
        flagged = []
        for other_id, probability in dict(possibly).items():
            if other_id == customer.id:
                continue
            known = await self.session.scalar(
                select(CustomerLink.resolved_at.is_not(None)).where(
                    or_(
                        (CustomerLink.customer_id == customer.id)
                        & (CustomerLink.other_id == other_id),
                        (CustomerLink.customer_id == other_id)
                        & (CustomerLink.other_id == customer.id),
                    )
                )
            )
            if known:
                continue
            if known is None:
                self.session.add(
                    CustomerLink(
                        customer_id=customer.id,
                        other_id=other_id,
                        probability=round(probability, 4),
                    )
                )
            flagged.append((other_id, probability))
        if flagged:
            others = ", ".join(f"#{other_id}" for other_id, _p in flagged)
            crm.record(
                self.session,
                customer_id=customer.id,
                kind="customer.possible_match",
                summary=f"Possibly the same as {others} (CSV import)",
                others=[other_id for other_id, _p in flagged],
            )
        return flagged


def _kind(channel: str) -> str:
    return "phone" if channel in PHONE_CHANNELS else channel
