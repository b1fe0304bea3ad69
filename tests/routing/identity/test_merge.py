"""Merging two customers keeps both histories and every address, and can be undone."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub import crm
from hub.contacts import InboundContact
from hub.keys import INTAKE
from hub.models import Conversation, Customer, CustomerAddress, CustomerLink, TimelineEvent
from routing.identity.csv_file import read_csv
from routing.identity.customers import find_duplicates, load_index
from routing.identity.importing import import_customers
from routing.identity.merge import MergeError, merge_customers, unmerge
from routing.identity.profile import Profile
from tests.routing.identity.test_identity import GIVEN, SURNAMES
from tests.support import Hub


async def _contact(hub: Hub, channel: str, sender: str, text: str, n: str) -> int:
    accepted = await hub.app[INTAKE].accept(
        InboundContact(
            channel=channel,
            inbox="support@example.com" if channel == "email" else "+14155550000",
            external_id=f"{channel}-{n}",
            sender=sender,
            sender_name="Jane Smith",
            text=text,
        )
    )
    return accepted.customer_id


async def _history(hub: Hub, customer_id: int) -> tuple[set[str], int, list[str]]:
    async with hub.sessions() as session:
        addresses = set(
            await session.scalars(
                select(CustomerAddress.address).where(CustomerAddress.customer_id == customer_id)
            )
        )
        conversations = await session.scalar(
            select(func.count()).where(Conversation.customer_id == customer_id)
        )
        kinds = [e.kind for e in await crm.timeline(session, customer_id)]
        return addresses, int(conversations or 0), kinds


async def test_merge_keeps_both_timelines_and_unmerge_gives_them_back(hub: Hub) -> None:
    # Jane writes an email, then texts from her phone: two customers so far.
    by_email = await _contact(hub, "email", "jane@example.com", "my order is late", "1")
    by_phone = await _contact(hub, "sms", "+14155550123", "any news on my order?", "2")
    assert by_email != by_phone
    email_history = await _history(hub, by_email)
    phone_history = await _history(hub, by_phone)

    async with hub.sessions() as session, session.begin():
        merge = await merge_customers(session, by_email, by_phone, agent_id=None)
        merge_id = merge.id
    addresses, conversations, kinds = await _history(hub, by_email)
    assert addresses == {"jane@example.com", "+14155550123"}
    assert conversations == 2
    assert "customer.merged" in kinds
    assert kinds.count("contact.received") == 2
    async with hub.sessions() as session:
        merged = await session.get(Customer, by_phone)
        assert merged is not None and merged.merged_into_id == by_email

    # Her next text lands on the merged customer.
    assert await _contact(hub, "sms", "+14155550123", "hello again", "3") == by_email

    async with hub.sessions() as session, session.begin():
        with pytest.raises(MergeError):
            await merge_customers(session, by_email, by_phone)  # merged already
    async with hub.sessions() as session, session.begin():
        await unmerge(session, merge_id)
    addresses, conversations, kinds = await _history(hub, by_phone)
    assert addresses == phone_history[0]
    assert conversations == phone_history[1]
    assert sorted(kinds) == sorted(phone_history[2])
    addresses, _conversations, kinds = await _history(hub, by_email)
    assert addresses == email_history[0]
    assert "customer.unmerged" in kinds
    async with hub.sessions() as session, session.begin():
        with pytest.raises(MergeError):
            await unmerge(session, merge_id)  # undone already
        with pytest.raises(MergeError):
            await merge_customers(session, by_email, by_email)


async def test_merge_moves_the_crm_id_and_undo_moves_it_back(hub: Hub) -> None:
    async with hub.sessions() as session, session.begin():
        survivor = Customer(name="", details={"city": "springfield"})
        other = Customer(name="Jane Smith", external_id="CRM-7", details={"birth_date": "19800409"})
        session.add_all([survivor, other])
        await session.flush()
        ids = survivor.id, other.id
        await merge_customers(session, *ids)
    async with hub.sessions() as session:
        kept = await session.get(Customer, ids[0])
        assert kept is not None
        assert (kept.name, kept.external_id) == ("Jane Smith", "CRM-7")
        assert kept.details == {"city": "springfield", "birth_date": "19800409"}
        merge_id = (await session.scalars(select(TimelineEvent.data))).all()[-1]["merge_id"]
    async with hub.sessions() as session, session.begin():
        await unmerge(session, merge_id)
    async with hub.sessions() as session:
        kept, other = await session.get(Customer, ids[0]), await session.get(Customer, ids[1])
        assert kept is not None and other is not None
        assert (kept.name, kept.external_id, kept.details) == ("", None, {"city": "springfield"})
        assert (other.external_id, other.merged_into_id) == ("CRM-7", None)


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=sorted({k for r in rows for k in r}))
        writer.writeheader()
        writer.writerows(rows)
    return path


async def test_import_upserts_by_external_id_and_exact_address(hub: Hub, tmp_path: Path) -> None:
    first = _write_csv(
        tmp_path / "first.csv",
        [
            {"external_id": "C-1", "name": "Jane Smith", "email": "Jane.Smith+x@Example.com"},
            {"external_id": "C-2", "name": "Omar Haddad", "phone": "(415) 555-0199"},
            {"name": "", "email": ""},
        ],
    )
    async with hub.sessions() as session, session.begin():
        report = await import_customers(session, read_csv(first))
    assert (report.created, report.updated, len(report.refused)) == (2, 0, 1)

    again = _write_csv(
        tmp_path / "again.csv",
        [
            {"external_id": "C-1", "name": "Jane Smith-Jones", "birth_date": "1980-04-09"},
            {"name": "Omar H.", "phone": "+14155550199", "city": "Oakland"},
        ],
    )
    async with hub.sessions() as session, session.begin():
        report = await import_customers(session, read_csv(again))
    assert (report.created, report.updated) == (0, 2)
    async with hub.sessions() as session:
        index = await load_index(session)
        assert len(index) == 2
        assert index.owner("phone:+14155550199") == index.owner("ext:C-2")
        jane = index.profile(index.owner("ext:C-1") or 0)
        assert jane == Profile.of(
            name="Jane Smith-Jones", birth_date="19800409", email="jane.smith@example.com"
        )
        omar = await session.get(Customer, index.owner("ext:C-2") or 0)
        assert omar is not None
        assert (omar.name, omar.details) == ("Omar Haddad", {"city": "Oakland"})  # filled only


async def test_dedupe_finds_the_same_person_imported_twice(hub: Hub, tmp_path: Path) -> None:
    def person(i: int) -> dict[str, str]:
        return {
            "name": f"{GIVEN[i % len(GIVEN)]} {SURNAMES[i * 7 % len(SURNAMES)]}",
            "birth_date": f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
            "postcode": f"{10000 + i % 50}",
            "city": f"town {i % 50}",
            "street": f"{i} main street",
        }

    rows = [person(i) for i in range(150)]
    # The first 20 again, surname mistyped: "smith" -> "sith".
    twins = [
        dict(r, name=r["name"][: r["name"].index(" ") + 2] + r["name"][r["name"].index(" ") + 3 :])
        for r in rows[:20]
    ]
    path = _write_csv(tmp_path / "people.csv", rows + twins)
    async with hub.sessions() as session, session.begin():
        report = await import_customers(session, read_csv(path))
    # Matching learns from the file itself: each twin is flagged beside its first row.
    assert report.created == 170
    assert report.possible == [(152 + i, 151 + i, (i + 1,)) for i in range(20)]
    async with hub.sessions() as session:
        found = await find_duplicates(session)
        links = list(await session.execute(select(CustomerLink.customer_id, CustomerLink.other_id)))
    confident = [(d.first_id, d.second_id) for d in found if d.probability >= 0.95]
    assert sorted(confident) == [(i + 1, 151 + i) for i in range(20)]
    assert sorted(links) == [(151 + i, i + 1) for i in range(20)]

    # A mistyped row is flagged, not folded in: only exact keys update by default.
    mistyped = dict(person(30), name=person(30)["name"] + "e")
    again = [mistyped, {"name": person(40)["name"]}]
    async with hub.sessions() as session, session.begin():
        report = await import_customers(session, read_csv(_write_csv(tmp_path / "b.csv", again)))
    assert (report.created, report.updated) == (2, 0)
    assert report.possible == [(2, 171, (31,)), (3, 172, (41,))]
    first = report.outcomes[0]
    assert (first.outcome, first.customer_id, first.matched_by) == ("created", 171, "")
    assert first.probability is not None and first.probability >= 0.95

    # Above --link-above it updates, by fuzzy match, and says so on the customer's timeline.
    again = [dict(person(32), name=person(32)["name"] + "e", state="CA")]
    async with hub.sessions() as session, session.begin():
        report = await import_customers(
            session, read_csv(_write_csv(tmp_path / "c.csv", again)), link_above=0.95
        )
    (row,) = report.outcomes
    assert (row.outcome, row.customer_id, row.matched_by) == ("updated", 33, "fuzzy")
    async with hub.sessions() as session:
        event = await session.scalar(
            select(TimelineEvent).where(TimelineEvent.kind == "customer.import_linked")
        )
        customer = await session.get(Customer, 33)
    assert event is not None and event.customer_id == 33
    assert event.data["filled"]["details"] == {"state": "CA"}
    assert customer is not None and customer.details["state"] == "CA"


def test_customers_commands_import_dedupe_merge_and_unmerge(tmp_path: Path) -> None:
    env = {**os.environ, "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"}

    def switchboard(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "hub.cli", "customers", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=50,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    path = _write_csv(
        tmp_path / "people.csv",
        [
            {"external_id": "C-1", "name": "Jane Smith", "email": "jane@example.com"},
            {"external_id": "C-2", "name": "Jane Smyth", "phone": "+14155550123"},
        ],
    )
    assert "2 rows: created 2, updated 0, refused 0" in switchboard("import", str(path))
    assert "likely duplicate pairs" in switchboard("dedupe")
    assert "merged 2 into 1 (merge 1)" in switchboard("merge", "1", "2")
    assert "customer 2 is separate again" in switchboard("unmerge", "1")
