"""/api/v1 as an integration uses it: syncing customers from a CRM, reading conversations
and answering in one, listing agents, queues and knowledge articles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from hub.models import Conversation, Customer, Inbox, OutboxEvent, TimelineEvent
from tests.agent_console.api_client import ALL_SCOPES, ApiClient, issue_token
from tests.support import ChatCustomer, Hub, eventually


async def integration(hub: Hub) -> ApiClient:
    return ApiClient(hub, (await issue_token(hub, ALL_SCOPES))["token"])


async def test_a_crm_creates_finds_and_changes_customers(hub: Hub) -> None:
    api = await integration(hub)
    try:
        status, ann = await api.call(
            "POST",
            "/api/v1/customers",
            {
                "name": "Ann Lee",
                "external_id": "crm-1",
                "segment": "vip",
                "labels": ["Wholesale"],
                "details": {"plan": "gold"},
                "addresses": [
                    {"channel": "email", "address": "Ann.Lee@Example.com"},
                    {"channel": "sms", "address": "(415) 555-0100"},
                ],
            },
        )
        assert status == 201, ann
        assert ann["external_id"] == "crm-1" and ann["labels"] == ["wholesale"]
        assert {(a["channel"], a["address"]) for a in ann["addresses"]} == {
            ("email", "ann.lee@example.com"),
            ("sms", "+14155550100"),
        }
        assert [e["kind"] for e in ann["timeline"]["events"]] == ["customer.created"]
        assert (await api.get(f"/api/v1/customers/{ann['id']}"))["name"] == "Ann Lee"

        status, body = await api.call(
            "POST", "/api/v1/customers", {"name": "B", "external_id": "crm-1"}
        )
        assert (status, body["field"]) == (409, "external_id"), body
        status, body = await api.call(
            "POST",
            "/api/v1/customers",
            {"name": "Bo", "addresses": [{"channel": "email", "address": "ann.lee@example.com"}]},
        )
        assert (status, body["field"]) == (409, "addresses.0.address"), body

        status, changed = await api.call(
            "PATCH", f"/api/v1/customers/{ann['id']}", {"name": "Ann Lee-Park", "segment": None}
        )
        assert status == 200, changed
        assert (changed["name"], changed["segment"]) == ("Ann Lee-Park", "standard")
        assert changed["timeline"]["events"][0]["kind"] == "customer.updated"

        # The directory's index takes the new customer in within seconds.
        found = await eventually(lambda: _found(api, "ANN.LEE@example.com"), timeout=20.0)
        assert [c["id"] for c in found] == [ann["id"]] and found[0]["name"] == "Ann Lee-Park"
        assert (await api.get("/api/v1/customers", segment="vip"))["customers"] == []
        assert (await api.call("GET", "/api/v1/customers/999999"))[0] == 404
    finally:
        await api.close()


async def _found(api: ApiClient, q: str) -> list[dict[str, object]] | None:
    return (await api.get("/api/v1/customers", q=q))["customers"] or None


async def test_webhook_subscribers_hear_of_customers_an_integration_creates(hub: Hub) -> None:
    api = await integration(hub)
    ada = await hub.login("tokenadmin")
    try:
        status, subscribed = await ada.post(
            "/api/admin/webhooks",
            {"url": "http://127.0.0.1:9/hook", "event_types": ["customer.created"]},
        )
        assert status == 201, subscribed
        status, ann = await api.call("POST", "/api/v1/customers", {"name": "Ann"})
        assert status == 201
        status, bo = await api.call("PUT", "/api/v1/customers/by-external-id/b-1", {"name": "Bo"})
        assert status == 201
        async with hub.sessions() as session:
            events = (
                await session.execute(select(OutboxEvent.event_type, OutboxEvent.customer_id))
            ).all()
        assert sorted(events) == [
            ("customer.created", ann["id"]),
            ("customer.created", bo["id"]),
        ]
    finally:
        await api.close()
        await ada.close()


async def test_a_bad_body_or_query_is_refused_naming_the_field(hub: Hub) -> None:
    api = await integration(hub)
    try:
        for body, field in [
            ({"name": "Ann", "segment": "VIP!"}, "segment"),
            ({"name": "Ann", "labels": ["<b>"]}, "labels"),
            ({"name": "Ann", "nickname": "A"}, "nickname"),
            ({"segment": "vip"}, "name"),
            (
                {"name": "Ann", "addresses": [{"channel": "fax", "address": "123"}]},
                "addresses.0.channel",
            ),
            (
                {"name": "Ann", "addresses": [{"channel": "sms", "address": "not a number"}]},
                "addresses.0.address",
            ),
        ]:
            status, answer = await api.call("POST", "/api/v1/customers", body)
            assert (status, answer["field"]) == (400, field), (body, answer)
            assert answer["error"].startswith(field), answer
        status, answer = await api.call("GET", "/api/v1/conversations", limit=0)
        assert (status, answer["field"]) == (400, "limit"), answer
        status, answer = await api.call("GET", "/api/v1/conversations", cursor="nonsense")
        assert (status, answer["field"]) == (400, "cursor"), answer
        async with api.http.post("api/v1/customers", data="name=Ann") as response:
            assert response.status == 415
    finally:
        await api.close()


async def test_upserting_by_external_id_twice_changes_nothing_the_second_time(hub: Hub) -> None:
    api = await integration(hub)
    ada = await hub.login("tokenadmin")
    status, _ = await ada.post(
        "/api/admin/customer-attributes",
        {"key": "plan", "label": "Plan", "kind": "list", "options": ["free", "pro"]},
    )
    assert status == 201
    await ada.close()
    record = {
        "name": "Carla Gómez",
        "segment": "gold",
        "details": {"account": "A-77"},
        "addresses": [{"channel": "email", "address": "carla@example.org"}],
        "attributes": {"plan": "pro"},
    }
    path = "/api/v1/customers/by-external-id/crm%2F77"
    try:
        status, first = await api.call("PUT", path, record)
        assert status == 201, first
        assert first["external_id"] == "crm/77"
        assert [(a["key"], a["value"]) for a in first["attributes"]] == [("plan", "pro")]
        status, second = await api.call("PUT", path, record)
        assert status == 200, second
        assert second["id"] == first["id"]
        assert second["timeline"] == first["timeline"] and second["addresses"] == first["addresses"]

        status, third = await api.call("PUT", path, {**record, "name": "Carla Gómez Ruiz"})
        assert status == 200 and third["name"] == "Carla Gómez Ruiz"
        async with hub.sessions() as session:
            customers = await session.scalar(select(func.count(Customer.id)))
            events = await session.scalar(
                select(func.count(TimelineEvent.id)).where(TimelineEvent.customer_id == first["id"])
            )
        assert (customers, events) == (1, 3)  # created, its plan set, then renamed once

        status, refused = await api.call("PUT", path, {**record, "attributes": {"plan": "gold"}})
        assert (status, refused["field"]) == (400, "attributes.plan"), refused
    finally:
        await api.close()


async def test_customer_and_conversation_lists_page_through_everything_once(hub: Hub) -> None:
    api = await integration(hub)
    try:
        made = []
        for number in range(5):
            status, body = await api.call("POST", "/api/v1/customers", {"name": f"Page {number}"})
            assert status == 201
            made.append(body["id"])
        async with hub.sessions() as session, session.begin():
            inbox = Inbox(channel="email", address="help@example.com", name="Help")
            session.add(inbox)
            await session.flush()
            start = datetime(2026, 1, 1, tzinfo=UTC)
            for number, customer_id in enumerate(made):
                session.add(
                    Conversation(
                        customer_id=customer_id,
                        inbox_id=inbox.id,
                        channel="email",
                        status="closed",
                        subject=f"Order {number}",
                        # Two share a moment: the cursor must still keep them apart.
                        updated_at=start + timedelta(hours=min(number, 3)),
                        created_at=start,
                    )
                )

        for path, key, expected in [
            ("/api/v1/customers", "customers", made),
            ("/api/v1/conversations", "conversations", None),
        ]:
            seen: list[int] = []
            cursor = None
            pages = 0
            while True:
                params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
                page = await api.get(path, **params)
                seen += [item["id"] for item in page[key]]
                pages += 1
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert pages == 3 and len(seen) == 5 and len(set(seen)) == 5, (path, seen)
            if expected is not None:
                assert seen == sorted(expected, reverse=True)  # newest first

        listed = await api.get("/api/v1/conversations", channel="email", status="closed")
        assert len(listed["conversations"]) == 5
        assert (await api.get("/api/v1/conversations", since="2026-01-01T02:30:00Z"))[
            "conversations"
        ] == (await api.get("/api/v1/conversations", limit=2))["conversations"]
        assert (await api.get("/api/v1/conversations", channel="sms"))["conversations"] == []
    finally:
        await api.close()


async def test_an_integration_reads_a_chat_and_answers_it_for_the_agent_who_holds_it(
    hub: Hub,
) -> None:
    alice_id = await hub.add_agent("alice", status="away")
    alice = await hub.login("alice")
    customer = await ChatCustomer.connect(hub, name="Greta Customer")
    api = await integration(hub)
    try:
        await customer.say("Where is my parcel?")
        waiting = await eventually(lambda: _waiting(api))
        assert waiting["waiting"] == 1 and waiting["longest_wait_seconds"] is not None
        assert waiting["assigned"] == 0
        status, _ = await alice.post("/api/me/status", {"status": "available"})
        assert status == 200
        (offer,) = await eventually(lambda: alice.get("/api/offers"))
        status, accepted = await alice.post(f"/api/offers/{offer['offer_id']}/accept")
        assert status == 200, accepted
        conversation_id = accepted["conversation_id"]

        listed = await api.get(
            "/api/v1/conversations", channel="chat", status="assigned", agent_id=alice_id
        )
        assert [c["id"] for c in listed["conversations"]] == [conversation_id]
        queue_id = listed["conversations"][0]["queue_id"]
        assert (await api.get("/api/v1/conversations", queue_id=queue_id))["conversations"]
        (queue,) = (await api.get("/api/v1/queues", channel="chat"))["queues"]
        assert (queue["id"], queue["waiting"], queue["assigned"]) == (queue_id, 0, 1)

        detail = await api.get(f"/api/v1/conversations/{conversation_id}")
        assert [m["text"] for m in detail["messages"]] == ["Where is my parcel?"]

        status, sent = await api.call(
            "POST", f"/api/v1/conversations/{conversation_id}/messages", {"text": "On its way!"}
        )
        assert status == 201, sent
        assert (await customer.expect("message"))["text"] == "On its way!"
        thread = await alice.get(f"/api/conversations/{conversation_id}")
        assert thread["messages"][-1]["text"] == "On its way!"
        detail = await api.get(f"/api/v1/conversations/{conversation_id}")
        assert detail["messages"][-1]["agent_id"] == alice_id

        status, refused = await api.call(
            "POST", f"/api/v1/conversations/{conversation_id}/messages", {"text": ""}
        )
        assert status == 400, refused
        await alice.post(f"/api/conversations/{conversation_id}/close", {})
        status, refused = await api.call(
            "POST", f"/api/v1/conversations/{conversation_id}/messages", {"text": "Hello?"}
        )
        assert status == 409 and "closed" in refused["error"]
    finally:
        await api.close()
        await customer.close()
        await alice.close()


async def _waiting(api: ApiClient) -> dict[str, object] | None:
    queues = (await api.get("/api/v1/queues"))["queues"]
    return next((q for q in queues if q["waiting"]), None)


async def test_agents_and_knowledge_articles_are_listed(hub: Hub) -> None:
    await hub.add_agent("alice", skills={"billing": 7})
    await hub.add_agent("sam", role="supervisor", team="Payments")
    api = await integration(hub)
    ada = await hub.login("tokenadmin")
    try:
        agents = (await api.get("/api/v1/agents"))["agents"]
        assert {a["username"] for a in agents} == {"alice", "sam", "tokenadmin"}
        assert all("password" not in str(a) for a in agents)
        (sam,) = (await api.get("/api/v1/agents", role="supervisor"))["agents"]
        assert sam["team"] == "Payments"
        (alice,) = (await api.get("/api/v1/agents", role="agent"))["agents"]
        assert alice["skills"] == {"billing": 7}

        for title in ("Card declined", "Refunds"):
            status, _ = await ada.post(
                "/api/knowledge/articles",
                {"title": title, "body": "**Check** it.", "tags": [title.split()[0].lower()]},
            )
            assert status == 201
        listed = await api.get("/api/v1/articles")
        assert [a["title"] for a in listed["articles"]] == ["Card declined", "Refunds"]
        (refunds,) = (await api.get("/api/v1/articles", tag="refunds"))["articles"]
        article = await api.get(f"/api/v1/articles/{refunds['id']}")
        assert article["body"] == "**Check** it." and article["state"] == "published"
    finally:
        await api.close()
        await ada.close()
