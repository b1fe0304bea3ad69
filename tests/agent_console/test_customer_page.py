"""The customer page: the whole record, every channel, consent, duplicates, notes."""

from __future__ import annotations

from datetime import timedelta

from hub import crm
from hub.models import CustomerLink, utcnow
from tests.agent_console.crm_records import Talk, add_customer
from tests.support import Hub


async def test_the_page_shows_addresses_with_consent_conversations_and_duplicates(
    hub: Hub,
) -> None:
    nora = await hub.add_agent("nora", team="north")
    earlier = utcnow() - timedelta(days=30)
    greta = await add_customer(
        hub,
        "Greta <b>Garbo</b>",
        email="greta@example.com",
        phone="+14155550123",
        external_id="G-1",
        segment="vip",
        opted_out=True,
        talks=(
            Talk("email", "closed", nora, subject="Refund", at=earlier),
            Talk("sms", "assigned", nora, subject=""),
        ),
    )
    other = await add_customer(hub, "Greta Garbo", email="g.garbo@example.org")
    async with hub.sessions() as session, session.begin():
        session.add(CustomerLink(customer_id=other, other_id=greta, probability=0.8))
    nora_client = await hub.login("nora")
    try:
        page = await nora_client.get(f"/api/customers/{greta}")
    finally:
        await nora_client.close()
    assert (page["name"], page["segment"], page["external_id"]) == (
        "Greta <b>Garbo</b>",
        "vip",
        "G-1",
    )
    consent = [(a["channel"], a["address"], a["opted_out"]) for a in page["addresses"]]
    assert consent == [
        ("email", "greta@example.com", False),
        ("sms", "+14155550123", True),
        ("voice", "+14155550123", False),
    ]
    assert page["addresses"][1]["opted_out_at"]
    talks = [
        (c["channel"], c["status"], c["subject"], c["agent_name"]) for c in page["conversations"]
    ]
    assert talks == [("sms", "assigned", "", "Nora"), ("email", "closed", "Refund", "Nora")]
    duplicates = page["possible_duplicates"]
    assert [(d["customer_id"], d["name"], d["probability"]) for d in duplicates] == [
        (other, "Greta Garbo", 0.8)
    ]


async def test_the_timeline_pages_back_newest_first(hub: Hub) -> None:
    customer = await add_customer(hub, "Long History")
    start = utcnow() - timedelta(days=10)
    async with hub.sessions() as session, session.begin():
        for n in range(130):
            event = crm.record(
                session, customer_id=customer, kind="message.received", summary=f"#{n}"
            )
            event.created_at = start + timedelta(minutes=n // 3)  # three share each minute
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    try:
        page = await ada.get(f"/api/customers/{customer}")
        shown = [e["summary"] for e in page["timeline"]["events"]]
        cursor = page["timeline"]["next_cursor"]
        while cursor:
            more = await ada.get(f"/api/customers/{customer}/events?limit=40&cursor={cursor}")
            shown += [e["summary"] for e in more["events"]]
            cursor = more["next_cursor"]
        async with ada.http.get(f"api/customers/{customer}/events?cursor=xyz") as response:
            assert response.status == 400
    finally:
        await ada.close()
    assert len(page["timeline"]["events"]) == 50
    assert sorted(shown, key=lambda s: -int(s[1:])) == shown
    assert len(shown) == len(set(shown)) == 130


async def test_notes_go_on_the_record_signed_and_only_for_those_who_may_see_it(
    hub: Hub,
) -> None:
    nora = await hub.add_agent("nora", team="north")
    await hub.add_agent("sven", team="south")
    await hub.add_agent("sue", role="supervisor", team="south")
    await hub.add_agent("nick", role="supervisor", team="north")
    customer = await add_customer(hub, "Noted Person", talks=(Talk("chat", "closed", nora),))
    clients = {name: await hub.login(name) for name in ("nora", "sven", "sue", "nick")}
    try:
        status, note = await clients["nora"].post(
            f"/api/customers/{customer}/notes", {"text": "  Prefers email <after> 5pm  "}
        )
        assert status == 201
        assert (note["kind"], note["summary"], note["agent_name"]) == (
            "customer.note",
            "Prefers email <after> 5pm",
            "Nora",
        )
        status, _ = await clients["nick"].post(
            f"/api/customers/{customer}/notes", {"text": "Called back"}
        )
        assert status == 201
        for blank in ({"text": "   "}, {}, {"text": "x" * 5001}, {"text": "a", "other": 1}):
            status, error = await clients["nora"].post(f"/api/customers/{customer}/notes", blank)
            assert status == 400 and error["error"]
        for stranger in ("sven", "sue"):
            status, _ = await clients[stranger].post(
                f"/api/customers/{customer}/notes", {"text": "hello"}
            )
            assert status == 404
            async with clients[stranger].http.get(f"api/customers/{customer}") as response:
                assert response.status == 404
        page = await clients["nora"].get(f"/api/customers/{customer}")
    finally:
        for client in clients.values():
            await client.close()
    notes = [(e["summary"], e["agent_name"]) for e in page["timeline"]["events"]]
    assert notes[:2] == [("Called back", "Nick"), ("Prefers email <after> 5pm", "Nora")]
    assert {e["label"] for e in page["timeline"]["events"]} == {"Note"}
    async with hub.sessions() as session:
        assert len(await crm.timeline(session, customer)) == 2
