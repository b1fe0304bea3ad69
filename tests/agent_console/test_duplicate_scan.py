"""Find duplicates from the review page: supervisors and admins score every pair of
customers on demand and the likely pairs are stored for review, never one already stored
nor one people said are two; too few customers to learn from is a 409 saying so."""

from __future__ import annotations

from sqlalchemy import select

from agent_console.duplicates import SCANNING
from hub.models import AuditEntry, Customer, CustomerLink, utcnow
from tests.routing.identity.test_identity import GIVEN, SURNAMES
from tests.support import Hub

PEOPLE = 150
TWINS = 3


def person(i: int) -> tuple[str, dict[str, str]]:
    """A generated customer's name and details, distinct from every other `person`."""
    name = f"{GIVEN[i % len(GIVEN)]} {SURNAMES[i * 7 % len(SURNAMES)]}"
    details = {
        "birth_date": f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
        "postcode": f"{10000 + i % 50}",
        "city": f"town {i % 50}",
        "street": f"{i} main street",
    }
    return name, details


def mistyped(name: str) -> str:
    """The surname's second letter left out: "Jane Smith" -> "Jane Sith"."""
    space = name.index(" ")
    return name[: space + 2] + name[space + 3 :]


async def add_people(hub: Hub, count: int, twins: int = 0) -> tuple[list[int], list[int]]:
    """`count` generated customers, then the first `twins` of them again with their
    surname mistyped, stored as intake or an import leaves them (no pair proposed)."""
    async with hub.sessions() as session, session.begin():
        stored = [Customer(name=n, details=d) for n, d in map(person, range(count))]
        again = [Customer(name=mistyped(c.name), details=dict(c.details)) for c in stored[:twins]]
        session.add_all(stored + again)
        await session.flush()
        return [c.id for c in stored], [c.id for c in again]


async def stored_pairs(hub: Hub) -> list[tuple[int, int, bool]]:
    """Every stored pair: (newer, known, still open)."""
    async with hub.sessions() as session:
        rows = await session.execute(
            select(CustomerLink.customer_id, CustomerLink.other_id, CustomerLink.resolved_at)
        )
        return sorted((newer, known, resolved is None) for newer, known, resolved in rows)


async def test_a_scan_stores_likely_pairs_once_and_never_a_pair_set_apart(hub: Hub) -> None:
    await hub.add_agent("nora")
    await hub.add_agent("sam", role="supervisor", team="north")
    await hub.add_agent("ada", role="admin")
    firsts, twins = await add_people(hub, PEOPLE, TWINS)
    async with hub.sessions() as session, session.begin():
        # Someone already said the first twin is not the first person; the second pair
        # was proposed when the twin arrived and nobody has decided it yet.
        session.add(
            CustomerLink(
                customer_id=twins[0], other_id=firsts[0], probability=0.97, resolved_at=utcnow()
            )
        )
        session.add(CustomerLink(customer_id=twins[1], other_id=firsts[1], probability=0.96))

    sam, ada, nora = await hub.login("sam"), await hub.login("ada"), await hub.login("nora")
    try:
        status, refused = await nora.post("/api/customer-links/scan", {})
        assert status == 403, refused
        status, refused = await sam.post("/api/customer-links/scan", {"min_probability": 2})
        assert status == 400 and "min_probability" in refused["error"], refused

        status, done = await sam.post("/api/customer-links/scan", {"min_probability": 0.95})
        assert status == 200, done
        assert done["found"] == TWINS and done["scored"] >= TWINS
        assert (done["added"], done["skipped"]) == (1, 2)
        assert (done["already_proposed"], done["decided_apart"]) == (1, 1)
        assert await stored_pairs(hub) == [
            (twins[0], firsts[0], False),  # still decided, not proposed again
            (twins[1], firsts[1], True),  # once, not twice
            (twins[2], firsts[2], True),  # found now
        ]
        # Listed with the others, most likely first, for an admin (all customers).
        listed = (await ada.get("/api/customer-links"))["pairs"]
        assert {(p["newer"]["id"], p["known"]["id"]) for p in listed} == {
            (twins[1], firsts[1]),
            (twins[2], firsts[2]),
        }
        found = next(p for p in listed if p["newer"]["id"] == twins[2])
        assert found["probability"] >= 0.95
        assert found["newer"]["name"] == mistyped(person(2)[0])

        # The default, 0.9, finds more; those found before are skipped, not stored again.
        status, wider = await ada.post("/api/customer-links/scan")
        assert status == 200, wider
        assert wider["min_probability"] == 0.9
        assert wider["skipped"] == 3 and wider["found"] == 3 + wider["added"]
        assert len(await stored_pairs(hub)) == 3 + wider["added"]
        status, again = await ada.post("/api/customer-links/scan", {})
        assert status == 200, again
        assert (again["found"], again["added"]) == (wider["found"], 0)
        assert len(await stored_pairs(hub)) == 3 + wider["added"]

        async with hub.sessions() as session:
            lines = list(
                await session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.action == "customer.duplicates_scanned")
                    .order_by(AuditEntry.id)
                )
            )
        assert [(line.actor, line.change["added"]) for line in lines] == [
            ("sam", 1),
            ("ada", wider["added"]),
            ("ada", 0),
        ]

        # One scan at a time: while one runs, another is refused.
        async with hub.app[SCANNING]:
            status, busy = await ada.post("/api/customer-links/scan", {})
        assert status == 409 and "running already" in busy["error"], busy
    finally:
        for client in (sam, ada, nora):
            await client.close()


async def test_too_few_customers_to_learn_from_is_a_conflict_saying_why(hub: Hub) -> None:
    await hub.add_agent("sam", role="supervisor")
    await add_people(hub, 3, twins=1)
    sam = await hub.login("sam")
    try:
        status, refused = await sam.post("/api/customer-links/scan", {})
    finally:
        await sam.close()
    assert status == 409, refused
    assert refused["error"] == (
        "No pair was scored, as matching learns its weights from the customers themselves"
        " and needs at least 50 customers, and there are 4."
    )
    assert await stored_pairs(hub) == []
