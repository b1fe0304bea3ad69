"""Outbound webhooks: an admin subscribes a URL, and every event of those types reaches it
signed (Standard Webhooks), at least once, in order per customer, retried until it lands
or a day has passed; the delivery log shows each attempt and an admin can redeliver."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from hub.contacts import InboundContact
from hub.events import WEBHOOK_EVENTS
from hub.keys import INTAKE
from hub.models import CustomerLink, OutboxEvent, WebhookDelivery
from hub.settings import Settings
from tests.conftest import start_hub
from tests.hub.webhook_receiver import Receiver
from tests.support import AgentClient, Hub, eventually

QUICK = {"webhook_interval": 0.05, "webhook_first_retry": 0.05}


def quick(settings: Settings, **more: Any) -> Settings:
    return dataclasses.replace(settings, **{**QUICK, **more})


async def until(condition: Callable[[], object]) -> None:
    """Wait until the receiver has seen what `condition` asks for."""

    async def check() -> bool | None:
        return True if condition() else None

    await eventually(check)


def chat(visitor: str, n: int, text: str = "hello") -> InboundContact:
    return InboundContact(
        channel="chat", inbox="web", external_id=f"{visitor}:{n}", sender=visitor, text=text
    )


async def subscribe(admin: AgentClient, receiver: Receiver, *types: str) -> dict[str, Any]:
    body = {"url": receiver.url, "event_types": list(types), "description": "CRM sync"}
    status, created = await admin.post("/api/admin/webhooks", body)
    assert status == 201, created
    receiver.secret = created["secret"]
    return dict(created)


async def test_events_reach_the_subscriber_signed_and_the_log_shows_them(
    settings_for: Settings,
) -> None:
    async with Receiver() as receiver, start_hub(quick(settings_for), clean=True) as hub:
        await hub.add_agent("ada", role="admin")
        alice_id = await hub.add_agent("alice", status="available")
        ada, alice = await hub.login("ada"), await hub.login("alice")
        try:
            kinds = await ada.get("/api/admin/webhook-events")
            assert kinds["event_types"] == list(WEBHOOK_EVENTS)
            assert {"contact.queued", "conversation.closed", "message.sent"} <= set(WEBHOOK_EVENTS)
            created = await subscribe(
                ada,
                receiver,
                "contact.queued",
                "conversation.assigned",
                "message.sent",
                "conversation.closed",
            )
            assert created["secret"].startswith("whsec_")
            (listed,) = await ada.get("/api/admin/webhooks")
            assert "secret" not in listed and listed["event_types"] == created["event_types"]

            accepted = await hub.app[INTAKE].accept(chat("v1", 1, "Where is my order?"))
            offers = await eventually(lambda: alice.get("/api/offers"))
            status, _ = await alice.post(f"/api/offers/{offers[0]['offer_id']}/accept")
            assert status == 200
            conversation = accepted.conversation_id
            status, _ = await alice.post(
                f"/api/conversations/{conversation}/reply", {"text": "On its way"}
            )
            assert status in (200, 201)
            status, _ = await alice.post(
                f"/api/conversations/{conversation}/close", {"disposition": "resolved"}
            )
            assert status == 200

            await until(lambda: len(receiver.delivered()) == 4)
            deliveries = await ada.get(f"/api/admin/webhooks/{created['id']}/deliveries")
        finally:
            await ada.close()
            await alice.close()
    assert receiver.forged == 0
    assert [r.type for r in receiver.received] == [
        "contact.queued",
        "conversation.assigned",
        "message.sent",
        "conversation.closed",
    ]
    assert all(r.data["customer_id"] == accepted.customer_id for r in receiver.received)
    assert all(r.data["conversation_id"] == conversation for r in receiver.received)
    assert receiver.received[1].data["agent_id"] == alice_id
    ids = [r.webhook_id for r in receiver.received]
    assert len(set(ids)) == 4 and all(i.startswith("msg_") for i in ids)
    logged = deliveries["deliveries"]
    assert [d["event_type"] for d in logged] == [
        "conversation.closed",
        "message.sent",
        "conversation.assigned",
        "contact.queued",
    ]
    assert all(d["status"] == "delivered" and d["attempts"] == 1 for d in logged)
    assert all([a["status_code"] for a in d["log"]] == [200] for d in logged)


async def test_a_failing_receiver_gets_the_event_again_until_it_answers(
    settings_for: Settings,
) -> None:
    answers = iter([500, 503, 200])
    async with Receiver(answer=lambda body: next(answers)) as receiver:
        async with start_hub(quick(settings_for), clean=True) as hub:
            await hub.add_agent("ada", role="admin")
            ada = await hub.login("ada")
            try:
                created = await subscribe(ada, receiver, "message.received")
                await hub.app[INTAKE].accept(chat("v1", 1))
                await until(lambda: receiver.delivered())
                page = await ada.get(f"/api/admin/webhooks/{created['id']}/deliveries")
            finally:
                await ada.close()
    assert [r.answered for r in receiver.received] == [500, 503, 200]
    assert len({r.webhook_id for r in receiver.received}) == 1  # one message, sent thrice
    (delivery,) = page["deliveries"]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 3)
    assert [a["status_code"] for a in delivery["log"]] == [200, 503, 500]  # newest first
    assert delivery["log"][1]["error"] == "answered 503"


async def test_a_customers_events_wait_for_the_earlier_one_and_others_go_on(
    settings_for: Settings,
) -> None:
    held: set[int] = set()

    def answer(body: dict[str, Any]) -> int:
        return 500 if body["data"]["customer_id"] in held else 200

    async with (
        Receiver(answer=answer) as receiver,
        start_hub(quick(settings_for), clean=True) as hub,
    ):
        await hub.add_agent("ada", role="admin")
        ada = await hub.login("ada")
        try:
            await subscribe(ada, receiver, "message.received")
            first = await hub.app[INTAKE].accept(chat("jane", 1, "one"))
            held.add(first.customer_id)
            await until(lambda: len(receiver.received) >= 2)  # failing, retried
            for n, text in ((2, "two"), (3, "three")):
                await hub.app[INTAKE].accept(chat("jane", n, text))
            other = await hub.app[INTAKE].accept(chat("omar", 1, "other"))
            await until(
                lambda: (
                    any(r.data["customer_id"] == other.customer_id for r in receiver.delivered())
                    or None
                )
            )
            jane_so_far = [
                r for r in receiver.received if r.data["customer_id"] == first.customer_id
            ]
            assert {r.data["message_id"] for r in jane_so_far} == {first.message_id}
            held.clear()
            await until(lambda: len(receiver.delivered()) == 4)
        finally:
            await ada.close()
    jane = [
        r.data["message_id"]
        for r in receiver.delivered()
        if r.data["customer_id"] == first.customer_id
    ]
    assert jane == sorted(jane) and len(jane) == 3 and jane[0] == first.message_id


async def test_a_delivery_is_given_up_after_the_retry_window_and_redelivered_by_hand(
    settings_for: Settings,
) -> None:
    failing = True
    async with Receiver(answer=lambda body: 500 if failing else 200) as receiver:
        async with start_hub(quick(settings_for, webhook_give_up=0.0), clean=True) as hub:
            await hub.add_agent("ada", role="admin")
            ada = await hub.login("ada")
            try:
                created = await subscribe(ada, receiver, "message.received")
                await hub.app[INTAKE].accept(chat("jane", 1, "one"))
                path = f"/api/admin/webhooks/{created['id']}/deliveries"
                (gone,) = (await eventually(lambda: _with(ada, path, "failed")))["deliveries"]
                assert (gone["attempts"], gone["last_status_code"]) == (1, 500)
                # Given up, it no longer holds the customer's next event back.
                failing = False
                await hub.app[INTAKE].accept(chat("jane", 2, "two"))
                await until(lambda: receiver.delivered())
                status, again = await ada.post(
                    f"/api/admin/webhook-deliveries/{gone['id']}/redeliver"
                )
                assert status == 200 and again["status"] == "pending"
                await until(lambda: len(receiver.delivered()) == 2)
                (listed,) = await ada.get("/api/admin/webhooks")
                audit = await ada.get("/api/admin/audit?action=webhook")
            finally:
                await ada.close()
    assert [r.answered for r in receiver.received] == [500, 200, 200]
    assert receiver.received[0].webhook_id == receiver.received[2].webhook_id
    assert (listed["pending"], listed["failed"]) == (0, 0)
    assert [e["action"] for e in audit["entries"]] == ["webhook.redelivered", "webhook.created"]


async def _with(admin: AgentClient, path: str, status: str) -> dict[str, Any] | None:
    page = await admin.get(f"{path}?status={status}")
    return page if page["deliveries"] else None


async def test_nothing_is_written_without_a_subscriber_and_only_admins_subscribe(
    hub: Hub,
) -> None:
    await hub.add_agent("ada", role="admin")
    await hub.add_agent("sam", role="supervisor")
    ada, sam = await hub.login("ada"), await hub.login("sam")
    try:
        await hub.app[INTAKE].accept(chat("v1", 1))
        async with hub.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
        body = {"url": "https://crm.example.com/hooks", "event_types": ["contact.queued"]}
        status, refused = await sam.post("/api/admin/webhooks", body)
        assert (status, refused["error"]) == (403, "Webhooks are for admins.")
        async with sam.http.get("api/admin/webhooks") as response:
            assert response.status == 403
        status, refused = await ada.post(
            "/api/admin/webhooks", {**body, "event_types": ["offer.created"]}
        )
        assert status == 400 and refused["field"] == "event_types"
        status, refused = await ada.post("/api/admin/webhooks", {**body, "url": "ftp://x"})
        assert status == 400 and refused["field"] == "url"
        status, created = await ada.post("/api/admin/webhooks", body)
        assert status == 201
        async with ada.http.patch(
            f"api/admin/webhooks/{created['id']}", json={"active": False}
        ) as response:
            assert response.status == 200 and (await response.json())["active"] is False
        await hub.app[INTAKE].accept(chat("v2", 1))  # paused: written for nobody
        async with hub.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    finally:
        await ada.close()
        await sam.close()


async def test_a_declined_offer_puts_the_contact_back_and_says_so(settings_for: Settings) -> None:
    async with Receiver() as receiver, start_hub(quick(settings_for), clean=True) as hub:
        await hub.add_agent("ada", role="admin")
        await hub.add_agent("alice", status="available")
        ada, alice = await hub.login("ada"), await hub.login("alice")
        try:
            await subscribe(ada, receiver, "contact.queued")
            accepted = await hub.app[INTAKE].accept(chat("v1", 1))
            offers = await eventually(lambda: alice.get("/api/offers"))
            status, _ = await alice.post(f"/api/offers/{offers[0]['offer_id']}/reject")
            assert status == 200
            await until(lambda: len(receiver.delivered()) == 2)
        finally:
            await ada.close()
            await alice.close()
    assert [r.data["conversation_id"] for r in receiver.delivered()] == [
        accepted.conversation_id
    ] * 2
    assert all(r.data["customer_id"] == accepted.customer_id for r in receiver.delivered())


async def test_new_customers_and_merges_reach_the_subscriber(settings_for: Settings) -> None:
    async with Receiver() as receiver, start_hub(quick(settings_for), clean=True) as hub:
        await hub.add_agent("ada", role="admin")
        ada = await hub.login("ada")
        try:
            await subscribe(ada, receiver, "customer.created", "customer.merged")
            first = await hub.app[INTAKE].accept(chat("v1", 1))
            await hub.app[INTAKE].accept(chat("v1", 2))  # known now: nothing new
            second = await hub.app[INTAKE].accept(chat("v2", 1))
            async with hub.sessions() as session, session.begin():
                link = CustomerLink(
                    customer_id=second.customer_id, other_id=first.customer_id, probability=0.9
                )
                session.add(link)
            status, merged = await ada.post(f"/api/customer-links/{link.id}/merge")
            assert status == 200, merged
            await until(lambda: len(receiver.delivered()) == 3)
        finally:
            await ada.close()
    seen = [(r.type, r.data["customer_id"]) for r in receiver.delivered()]
    assert sorted(seen) == sorted(
        [
            ("customer.created", first.customer_id),
            ("customer.created", second.customer_id),
            ("customer.merged", first.customer_id),
        ]
    )
    (merge,) = [r.data for r in receiver.delivered() if r.type == "customer.merged"]
    assert (merge["merged_id"], merge["merge_id"]) == (second.customer_id, merged["merge_id"])
