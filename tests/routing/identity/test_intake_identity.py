"""Intake asks the identity index about addresses it has not seen: known customers are
recognised, doubtful ones are proposed to agents as "possibly the same as", one click
merges them, and the merge can be undone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.app import DIRECTORY
from hub.contacts import InboundContact
from hub.keys import INTAKE
from hub.models import Conversation, Customer, CustomerAddress, CustomerLink, TimelineEvent
from routing.identity.importing import import_customers
from tests.routing.identity.test_identity import GIVEN, SURNAMES
from tests.support import ChatCustomer, Hub, eventually


def person(i: int) -> dict[str, str]:
    given, surname = GIVEN[i % len(GIVEN)], SURNAMES[i * 7 % len(SURNAMES)]
    return {
        "name": f"{given} {surname}".title(),
        "birth_date": f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
        "postcode": f"{10000 + i % 50}",
        "city": f"town {i % 50}",
        "street": f"{i} main street",
        "email": f"{given}.{surname}{i}@example.com",
    }


async def known_customers(hub: Hub) -> None:
    """150 customers imported (enough to learn match weights), then indexed."""
    async with hub.sessions() as session, session.begin():
        await import_customers(session, [person(i) for i in range(150)])
    assert await hub.app[DIRECTORY].load() == 150


async def customer_of(hub: Hub, email: str) -> int:
    async with hub.sessions() as session:
        customer_id = await session.scalar(
            select(CustomerAddress.customer_id).where(CustomerAddress.address == email)
        )
        assert customer_id is not None
        return customer_id


async def kinds(hub: Hub, customer_id: int) -> list[str]:
    async with hub.sessions() as session:
        return list(
            await session.scalars(
                select(TimelineEvent.kind).where(TimelineEvent.customer_id == customer_id)
            )
        )


async def test_a_known_customer_writing_from_a_new_address_is_recognised(hub: Hub) -> None:
    await known_customers(hub)
    donald = person(30)
    stored = await customer_of(hub, donald["email"])

    # The same mailbox written differently, and a mistyped one under the right name.
    for n, sender in enumerate((donald["email"].upper(), donald["email"].replace("@", "x@"))):
        accepted = await hub.app[INTAKE].accept(
            InboundContact(
                channel="email",
                inbox="support@example.com",
                external_id=f"<m{n}@example.com>",
                sender=sender,
                sender_name=donald["name"],
                subject="My order",
                text="Where is it?",
            )
        )
        assert accepted.customer_id == stored
        assert await customer_of(hub, sender) == stored
    assert (await kinds(hub, stored)).count("customer.recognised") == 2
    async with hub.sessions() as session:
        # Recognised, not proposed: no "possibly the same" pair names Donald.
        mentions = (CustomerLink.customer_id == stored) | (CustomerLink.other_id == stored)
        assert await session.scalar(select(CustomerLink.id).where(mentions)) is None

    # Someone nobody knows is simply new.
    stranger = await hub.app[INTAKE].accept(
        InboundContact(
            channel="email",
            inbox="support@example.com",
            external_id="<m9@example.com>",
            sender="zebedee@example.org",
            sender_name="Zebedee Quixote",
            text="hello",
        )
    )
    assert stranger.customer_id > 150


async def test_a_doubtful_match_is_proposed_merged_in_one_click_and_undone(hub: Hub) -> None:
    await known_customers(hub)
    mary = person(40)
    stored = await customer_of(hub, mary["email"])
    await hub.add_agent("alice", status="available")
    await hub.add_agent("bob", status="away")
    alice, bob = await hub.login("alice"), await hub.login("bob")

    # A chat visitor giving only the name: likely Mary, but a name is not identity.
    visitor = await ChatCustomer.connect(hub, name=mary["name"])
    await visitor.say("hi, about my refund")
    offers = await eventually(lambda: alice.get("/api/offers"))
    status, taken = await alice.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200
    conversation = await alice.get(f"/api/conversations/{taken['conversation_id']}")
    new_id = conversation["customer"]["id"]
    assert new_id != stored
    assert "customer.possible_match" in await kinds(hub, new_id)

    possible = await alice.get(f"/api/customers/{new_id}/possible")
    assert [p["customer"]["id"] for p in possible] == [stored]
    assert possible[0]["customer"]["name"] == mary["name"]
    assert {"channel": "email", "address": mary["email"]} in possible[0]["customer"]["addresses"]
    assert possible[0]["probability"] >= 0.5  # likely, yet only the name agrees
    # Bob handles neither customer: he sees nothing and cannot merge.
    async with bob.http.get(f"api/customers/{new_id}/possible") as response:
        assert response.status == 404
    status, _ = await bob.post(f"/api/customer-links/{possible[0]['link_id']}/merge")
    assert status == 404

    status, merged = await alice.post(f"/api/customer-links/{possible[0]['link_id']}/merge")
    assert status == 200
    assert (merged["survivor_id"], merged["merged_id"]) == (stored, new_id)
    moved = await alice.get(f"/api/conversations/{taken['conversation_id']}")
    assert moved["customer"]["id"] == stored
    channels = {a["channel"] for a in moved["customer"]["addresses"]}
    assert {"chat", "email"} <= channels  # every address kept
    history = await kinds(hub, stored)
    assert "contact.received" in history and "customer.merged" in history  # both timelines
    assert await alice.get(f"/api/customers/{stored}/possible") == []
    status, _ = await alice.post(f"/api/customer-links/{possible[0]['link_id']}/merge")
    assert status == 409  # decided already

    status, _ = await bob.post(f"/api/merges/{merged['merge_id']}/undo")
    assert status == 404  # not his merge
    status, undone = await alice.post(f"/api/merges/{merged['merge_id']}/undo")
    assert status == 200 and undone["customer_id"] == new_id
    async with hub.sessions() as session:
        back = await session.get(Conversation, taken["conversation_id"])
        assert back is not None and back.customer_id == new_id
        separate = await session.get(Customer, new_id)
        assert separate is not None and separate.merged_into_id is None
    again = await alice.get(f"/api/customers/{new_id}/possible")
    assert [p["customer"]["id"] for p in again] == [stored]  # proposed again

    status, _ = await alice.post(f"/api/customer-links/{again[0]['link_id']}/dismiss")
    assert status == 200
    assert await alice.get(f"/api/customers/{new_id}/possible") == []
    await visitor.close()
    await alice.close()
    await bob.close()


async def test_new_customers_reach_every_hub_process_index(hub: Hub) -> None:
    directory = hub.app[DIRECTORY]
    await hub.app[INTAKE].accept(
        InboundContact(
            channel="sms", inbox="+15550000000", external_id="SM1", sender="+14155550123", text="hi"
        )
    )
    assert directory.resolver.resolve("voice", "+1 (415) 555-0123", "").customer_id is None
    assert await directory.refresh() == 1
    async with hub.sessions() as session:
        texter = await session.scalar(select(Customer.id))
    # The same number calling is the same customer.
    assert directory.resolver.resolve("voice", "+1 (415) 555-0123", "").customer_id == texter


async def test_an_index_too_thin_to_learn_from_tries_again_only_once_it_has_grown(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Learning is a CPU-heavy pass: a refresh that brought nothing new must not retry it
    (every few seconds, on every hub process), but a tenth more customers should."""

    async def chat_visitors(first: int, count: int) -> None:
        for i in range(first, first + count):
            await hub.app[INTAKE].accept(
                InboundContact(
                    channel="chat", inbox="web", external_id=f"v{i}:1", sender=f"v{i}", text="hi"
                )
            )

    directory = hub.app[DIRECTORY]
    await chat_visitors(0, 60)  # no names, no shared data: nothing to learn weights from
    assert await directory.load() == 60
    index = directory.resolver.index
    assert index.model is None
    tries = []
    estimate = index.estimate
    monkeypatch.setattr(index, "estimate", lambda: tries.append(len(index)) or estimate())

    assert await directory.refresh() == 0
    await chat_visitors(60, 3)
    assert await directory.refresh() == 3
    assert tries == []  # 63 is not a tenth more than 60
    await chat_visitors(63, 4)
    assert await directory.refresh() == 4
    assert tries == [67]
    assert await directory.refresh() == 0
    assert tries == [67]
