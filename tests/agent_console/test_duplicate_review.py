"""The duplicate review: supervisors list the proposed pairs, most likely first, with the
evidence on both sides, within their team; merge, undo and not-the-same decide them."""

from __future__ import annotations

from hub.models import CustomerLink
from tests.agent_console.crm_records import Talk, add_customer
from tests.support import Hub


async def _propose(hub: Hub, newer: int, known: int, probability: float) -> int:
    async with hub.sessions() as session, session.begin():
        link = CustomerLink(customer_id=newer, other_id=known, probability=probability)
        session.add(link)
        await session.flush()
        return link.id


async def test_supervisors_review_ranked_pairs_and_decide_them(hub: Hub) -> None:
    nora = await hub.add_agent("nora", team="north")
    nils = await hub.add_agent("nils", team="south")
    await hub.add_agent("sam", role="supervisor", team="north")
    await hub.add_agent("ada", role="admin")
    talk = (Talk("email", "closed", nora),)
    known = await add_customer(
        hub, "John Smith", email="john@example.com", external_id="CRM-1", talks=talk
    )
    newer = await add_customer(hub, "Jon Smith", email="jon.smith@example.com", talks=talk)
    kim_a = await add_customer(hub, "Kim Lee", phone="+14155550100", talks=talk)
    kim_b = await add_customer(hub, "Kim Lee", email="kim@example.com", talks=talk)
    south = await add_customer(hub, "Sol South", talks=(Talk("chat", "closed", nils),))
    south_b = await add_customer(hub, "Sol South", talks=(Talk("chat", "closed", nils),))
    john_link = await _propose(hub, newer, known, 0.91)
    kim_link = await _propose(hub, kim_b, kim_a, 0.97)
    await _propose(hub, south_b, south, 0.99)

    ada, sam, nora_client = await hub.login("ada"), await hub.login("sam"), await hub.login("nora")
    try:
        async with nora_client.http.get("api/customer-links") as response:
            assert response.status == 403
        everything = await ada.get("/api/customer-links")
        assert [p["probability"] for p in everything["pairs"]] == [0.99, 0.97, 0.91]
        page = await sam.get("/api/customer-links?limit=1")
        assert [p["link_id"] for p in page["pairs"]] == [kim_link]  # not the south team's
        rest = await sam.get(f"/api/customer-links?limit=1&cursor={page['next_cursor']}")
        assert [p["link_id"] for p in rest["pairs"]] == [john_link]
        assert rest["next_cursor"] is None
        john = rest["pairs"][0]
        assert (john["newer"]["id"], john["known"]["id"]) == (newer, known)
        assert john["known"]["external_id"] == "CRM-1"
        assert john["known"]["addresses"] == [["email", "john@example.com"]]
        assert john["newer"]["conversations"] == 1

        status, merged = await sam.post(f"/api/customer-links/{john_link}/merge")
        assert status == 200, merged
        assert [p["link_id"] for p in (await sam.get("/api/customer-links"))["pairs"]] == [kim_link]
        status, _ = await sam.post(f"/api/merges/{merged['merge_id']}/undo")
        assert status == 200
        assert [p["link_id"] for p in (await sam.get("/api/customer-links"))["pairs"]] == [
            kim_link,
            john_link,
        ]
        status, _ = await sam.post(f"/api/customer-links/{kim_link}/dismiss")
        assert status == 200
        assert [p["link_id"] for p in (await sam.get("/api/customer-links"))["pairs"]] == [
            john_link
        ]
        async with sam.http.get("api/customer-links?cursor=nonsense") as response:
            assert response.status == 400
    finally:
        for client in (ada, sam, nora_client):
            await client.close()
