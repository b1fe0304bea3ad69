"""Conversation search: words in messages and notes, found within what the viewer may read,
shown with the words highlighted and the customer's text kept as text."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select, update

from hub.models import Conversation, Message, utcnow
from tests.agent_console.crm_records import Talk, add_customer
from tests.support import AgentClient, Hub


async def _say(
    hub: Hub, customer_id: int, text: str, direction: str = "incoming", days_ago: int = 0
) -> int:
    async with hub.sessions() as session, session.begin():
        conversation = await session.scalar(
            select(Conversation).where(Conversation.customer_id == customer_id)
        )
        assert conversation is not None
        message = Message(
            conversation_id=conversation.id,
            channel=conversation.channel,
            direction=direction,
            text=text,
            created_at=utcnow() - timedelta(days=days_ago),
        )
        session.add(message)
        await session.flush()
        return message.id


async def _search(client: AgentClient, **params: Any) -> dict[str, Any]:
    found: dict[str, Any] = await client.get("/api/conversations/search?" + urlencode(params))
    return found


def _marked(hit: dict[str, Any]) -> str:
    return "".join(f"[{p['text']}]" if p["hit"] else p["text"] for p in hit["snippet"])


async def test_words_are_found_in_messages_and_notes_with_highlights(hub: Hub) -> None:
    nora = await hub.add_agent("nora")
    greta = await add_customer(
        hub, "Greta Garbo", talks=(Talk("email", "closed", nora, subject="Refund"),)
    )
    await _say(
        hub, greta, "My <script>alert(1)</script> parcel never arrived, tracking ZX-99", days_ago=3
    )
    await _say(hub, greta, "Refund issued for the lost parcel", direction="note", days_ago=1)
    await _say(hub, greta, "Thanks, the café was lovely", days_ago=0)
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    try:
        found = await _search(ada, q="PARCEL")
        hits = found["hits"]
        assert [h["direction"] for h in hits] == ["note", "incoming"]  # newest first
        assert _marked(hits[0]) == "Refund issued for the lost [parcel]"
        # Exactly as written, markup included: the console shows it as text.
        assert _marked(hits[1]) == (
            "My <script>alert(1)</script> [parcel] never arrived, tracking ZX-99"
        )
        assert (hits[1]["customer_name"], hits[1]["channel"], hits[1]["status"]) == (
            "Greta Garbo",
            "email",
            "closed",
        )
        assert [h["direction"] for h in (await _search(ada, q="lost parcel"))["hits"]] == ["note"]
        assert (await _search(ada, q="parcel refundz"))["hits"] == []
        # Query syntax in what was typed counts for nothing.
        assert len((await _search(ada, q='parcel" OR "x*'))["hits"]) == 0
        assert len((await _search(ada, q='"parcel" -'))["hits"]) == 2
        assert len((await _search(ada, q="zx tracking"))["hits"]) == 1
        async with ada.http.get("api/conversations/search?q=%20!!%20") as response:
            assert response.status == 400
        async with ada.http.get("api/conversations/search") as response:
            assert response.status == 400
    finally:
        await ada.close()


async def test_filters_and_pages(hub: Hub) -> None:
    nora = await hub.add_agent("nora")
    sven = await hub.add_agent("sven")
    a = await add_customer(hub, "Ann Email", talks=(Talk("email", "closed", nora),))
    b = await add_customer(hub, "Bob Sms", talks=(Talk("sms", "assigned", sven),))
    for n in range(7):
        await _say(hub, a, f"invoice question {n}", days_ago=10 + n)
        await _say(hub, b, f"invoice problem {n}", days_ago=n)
    async with hub.sessions() as session, session.begin():
        await session.execute(
            update(Conversation)
            .where(Conversation.customer_id == b)
            .values(labels=["billing"], required_skill="billing")
        )
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    try:
        assert len((await _search(ada, q="invoice", channel="sms"))["hits"]) == 7
        assert len((await _search(ada, q="invoice", status="closed"))["hits"]) == 7
        assert len((await _search(ada, q="invoice", agent_id=nora))["hits"]) == 7
        assert len((await _search(ada, q="invoice", label="Billing"))["hits"]) == 7
        by_queue = (await _search(ada, q="invoice", queue="billing"))["hits"]
        assert {(h["customer_name"], h["queue"]) for h in by_queue} == {("Bob Sms", "billing")}
        assert len(by_queue) == 7
        general = (await _search(ada, q="invoice", queue="general"))["hits"]
        assert {(h["customer_name"], h["queue"]) for h in general} == {("Ann Email", "general")}
        assert (await _search(ada, q="invoice", queue="sales"))["hits"] == []
        async with ada.http.get("api/conversations/search?q=invoice&queue=Bad!") as response:
            assert response.status == 400
            assert (await response.json())["error"].startswith("queue")
        since = (utcnow() - timedelta(days=12, hours=1)).isoformat()
        until = (utcnow() - timedelta(days=2, hours=1)).isoformat()
        recent = (await _search(ada, q="invoice", since=since, until=until))["hits"]
        assert sorted(h["customer_name"] for h in recent) == ["Ann Email"] * 3 + ["Bob Sms"] * 4

        seen: list[int] = []
        cursor = None
        while True:
            page = await _search(
                ada, q="invoice", limit=4, **({"cursor": cursor} if cursor else {})
            )
            seen += [h["message_id"] for h in page["hits"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 14
        async with ada.http.get("api/conversations/search?q=invoice&cursor=bad") as response:
            assert response.status == 400
    finally:
        await ada.close()


async def test_each_viewer_searches_only_what_they_may_read(hub: Hub) -> None:
    nora = await hub.add_agent("nora", team="north")
    sven = await hub.add_agent("sven", team="south")
    held = await add_customer(hub, "North Customer", talks=(Talk("chat", "closed", nora),))
    other = await add_customer(hub, "South Customer", talks=(Talk("chat", "closed", sven),))
    waiting = await add_customer(hub, "Waiting Customer", talks=(Talk("chat", "queued"),))
    for customer in (held, other, waiting):
        await _say(hub, customer, "where is my order")
    await hub.add_agent("nick", role="supervisor", team="north")
    await hub.add_agent("ada", role="admin", team="south")
    clients = {name: await hub.login(name) for name in ("nora", "nick", "ada")}
    try:
        seen = {
            name: sorted(h["customer_name"] for h in (await _search(c, q="order"))["hits"])
            for name, c in clients.items()
        }
        # What search finds, the conversation page opens, closed or not.
        conversation = (await _search(clients["nora"], q="order"))["hits"][0]["conversation_id"]
        opened = await clients["nora"].get(f"/api/conversations/{conversation}")
    finally:
        for client in clients.values():
            await client.close()
    assert seen["nora"] == ["North Customer"]
    assert seen["nick"] == ["North Customer", "Waiting Customer"]
    assert seen["ada"] == ["North Customer", "South Customer", "Waiting Customer"]
    assert opened["status"] == "closed"
    assert [m["text"] for m in opened["messages"]] == ["where is my order"]
