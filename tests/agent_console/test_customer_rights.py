"""A customer's rights over their data. An admin erases a customer on request: nothing
the hub holds finds or names them any more, their files are gone, a new contact from
their address is someone new, and the reports count what they counted before. A
supervisor downloads everything held on a customer as one archive."""

from __future__ import annotations

import dataclasses
import io
import json
import uuid
import zipfile
from typing import Any

from sqlalchemy import func, select

from agent_console.keys import DIRECTORY
from hub.contacts import Attachment, InboundContact
from hub.keys import ATTACHMENTS, INTAKE, QUEUE
from hub.models import (
    AuditEntry,
    ChatVisitor,
    Conversation,
    Customer,
    CustomerMerge,
    Message,
    OutboxEvent,
    TimelineEvent,
    utcnow,
)
from hub.settings import Settings
from routing.identity.directory import CustomerDirectory
from routing.identity.merge import merge_customers
from tests.conftest import start_hub
from tests.hub.webhook_receiver import Receiver
from tests.support import AgentClient, Hub, eventually

PNG = b"\x89PNG\r\n\x1a\n" + uuid.uuid4().bytes * 4
EMAIL, PHONE = "greta.garbo@example.com", "+14155550123"


async def contact(hub: Hub, channel: str, sender: str, text: str, **more: Any) -> int:
    """A customer writes in; the conversation it went to."""
    inbox = "help@example.com" if channel == "email" else "+14155550100"
    accepted = await hub.app[INTAKE].accept(
        InboundContact(
            channel=channel,
            inbox=inbox,
            external_id=uuid.uuid4().hex,
            sender=sender,
            sender_name="Greta Garbo",
            text=text,
            **more,
        )
    )
    return accepted.conversation_id


async def delete(client: AgentClient, path: str) -> tuple[int, Any]:
    async with client.http.delete(path.lstrip("/")) as response:
        return response.status, await response.json()


async def counts(hub: Hub) -> list[tuple[str, str, int]]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(Conversation.channel, Conversation.status, func.count(Message.id))
            .join(Message, Message.conversation_id == Conversation.id)
            .group_by(Conversation.channel, Conversation.status)
            .order_by(Conversation.channel)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_an_erased_customer_is_found_by_nothing_and_still_counted(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    await hub.add_agent("sue", role="supervisor")
    ref = await hub.app[ATTACHMENTS].put(PNG)
    photo = Attachment("screen.png", "image/png", len(PNG), ref)
    mailed = await contact(
        hub,
        "email",
        EMAIL,
        "My parrot Bartholomew pecked the screen",
        subject="Broken screen",
        attachments=(photo,),
    )
    texted = await contact(hub, "sms", PHONE, "Bartholomew again, sorry")
    async with hub.sessions() as session, session.begin():
        greta = (await session.get(Conversation, mailed)).customer_id  # type: ignore[union-attr]
        other = (await session.get(Conversation, texted)).customer_id  # type: ignore[union-attr]
        (await session.get(Customer, greta)).external_id = "CRM-77"  # type: ignore[union-attr]
        merge = await merge_customers(session, greta, other)
        for conversation in await session.scalars(select(Conversation)):
            conversation.status, conversation.closed_at = "closed", utcnow()
    for queued in (mailed, texted):
        await hub.app[QUEUE].remove(queued)
    await hub.app[DIRECTORY].refresh()
    ada, sue = await hub.login("ada"), await hub.login("sue")
    try:
        status, _ = await ada.post(f"/api/customers/{greta}/notes", {"text": "Lives at 3 Elm"})
        assert status == 201
        assert (await ada.get(f"/api/customers?q={EMAIL}"))["customers"]
        assert (await ada.get("/api/conversations/search?q=Bartholomew"))["hits"]
        before = await counts(hub)

        status, refused = await delete(sue, f"/api/customers/{greta}")
        assert status == 403 and refused["error"]
        status, done = await delete(ada, f"/api/customers/{greta}")
        assert status == 200, done
        assert (done["customer_ids"], done["conversations"], done["messages"]) == (
            [greta, other],
            2,
            2,
        )
        assert done["attachments_deleted"] == 1
        assert not hub.app[ATTACHMENTS].path(ref).exists()

        for query in (EMAIL, PHONE, "Greta Garbo", "CRM-77", "Garbo"):
            found = await ada.get(f"/api/customers?q={query}")
            assert found["customers"] == [], query
        for words in ("Bartholomew", "parrot screen", "Broken"):
            assert (await ada.get(f"/api/conversations/search?q={words}"))["hits"] == []
        page = await ada.get(f"/api/customers/{greta}")
        assert page["erased_at"] and page["name"] == "" and page["external_id"] is None
        assert all(a["address"].startswith("erased-") for a in page["addresses"])
        assert {a["channel"] for a in page["addresses"]} >= {"email", "sms"}
        shown = " ".join(e["summary"] + str(e["data"]) for e in page["timeline"]["events"])
        assert "Elm" not in shown and "Bartholomew" not in shown and "Garbo" not in shown
        assert "customer.erased" in [e["kind"] for e in page["timeline"]["events"]]
        assert await counts(hub) == before

        again_status, again = await delete(ada, f"/api/customers/{greta}")
        assert again_status == 200 and again["customer_ids"] == [greta, other]
        page = await ada.get(f"/api/customers/{greta}")
        summaries = [e["summary"] for e in page["timeline"]["events"]]
        assert summaries.count("Erased on request") == 1
    finally:
        await ada.close()
        await sue.close()
    async with hub.sessions() as session:
        stored = await session.get(CustomerMerge, merge.id)
        assert stored is not None and stored.moved["filled"] == {}
        merged = await session.get(Customer, other)
        assert merged is not None and merged.name == "" and merged.erased_at is not None
        texts = list(await session.scalars(select(Message.text)))
        assert texts == ["", ""]
        notes = await session.scalars(select(TimelineEvent.summary))
        assert not any("Elm" in n or "Garbo" in n for n in notes)
        audit = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.erased"))
        )
        assert [a.actor for a in audit] == ["ada", "ada"]
        assert "Garbo" not in str(audit[0].change)

    newcomer = await contact(hub, "email", EMAIL, "Hello again")
    async with hub.sessions() as session:
        fresh = await session.get(Conversation, newcomer)
        assert fresh is not None and fresh.customer_id not in (greta, other)


async def test_erasing_ends_what_the_customer_still_waits_for(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    waiting = await contact(hub, "sms", PHONE, "Anyone there? Card 4111 1111")
    assert await hub.app[QUEUE].contains(waiting)
    async with hub.sessions() as session:
        customer_id = (await session.get(Conversation, waiting)).customer_id  # type: ignore[union-attr]
    ada = await hub.login("ada")
    try:
        status, done = await delete(ada, f"/api/customers/{customer_id}")
        assert status == 200, done
        status, missing = await delete(ada, "/api/customers/999999")
        assert status == 404 and missing["error"]
    finally:
        await ada.close()
    assert not await hub.app[QUEUE].contains(waiting)
    async with hub.sessions() as session:
        conversation = await session.get(Conversation, waiting)
        assert conversation is not None and conversation.status == "abandoned"
        assert conversation.anonymised_at is not None
    ada = await hub.login("ada")
    try:
        for action in ("reopen", "take-over"):
            status, refused = await ada.post(f"/api/conversations/{waiting}/{action}")
            assert status == 409 and "anonymised" in refused["error"], (action, refused)
    finally:
        await ada.close()
    assert not await hub.app[QUEUE].contains(waiting)


async def test_an_export_holds_what_was_stored_with_the_attachment_bytes(hub: Hub) -> None:
    await hub.add_agent("sue", role="supervisor")
    await hub.add_agent("nora")
    ref = await hub.app[ATTACHMENTS].put(PNG)
    photo = Attachment("screen 1.png", "image/png", len(PNG), ref)
    mailed = await contact(
        hub, "email", EMAIL, "The screen cracked", subject="Broken", attachments=(photo,)
    )
    async with hub.sessions() as session:
        greta = (await session.get(Conversation, mailed)).customer_id  # type: ignore[union-attr]
    async with hub.sessions() as session, session.begin():  # what the chat widget keeps
        session.add(ChatVisitor(visitor=uuid.uuid4().hex, name="Greta G.", email=EMAIL))
    sue, nora = await hub.login("sue"), await hub.login("nora")
    try:
        status, _ = await sue.post(f"/api/customers/{greta}/notes", {"text": "Prefers mornings"})
        assert status == 201
        async with nora.http.get(f"api/customers/{greta}/export") as response:
            assert response.status == 403
        async with sue.http.get(f"api/customers/{greta}/export") as response:
            assert response.status == 200
            assert response.content_type == "application/zip"
            body = await response.read()
    finally:
        await sue.close()
        await nora.close()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        document = json.loads(archive.read("customer.json"))
        (message,) = document["conversations"][0]["messages"]
        (attachment,) = message["attachments"]
        assert archive.read(attachment["file"]) == PNG
    assert document["customer"]["name"] == "Greta Garbo"
    assert [(a["channel"], a["address"]) for a in document["addresses"]] == [("email", EMAIL)]
    assert (message["subject"], message["text"], message["sender"]) == (
        "Broken",
        "The screen cracked",
        EMAIL,
    )
    assert attachment["name"] == "screen 1.png" and attachment["size"] == len(PNG)
    assert "Prefers mornings" in [e["summary"] for e in document["timeline"]]
    assert document["calls"] == []
    assert [(v["name"], v["email"]) for v in document["chat_visitors"]] == [("Greta G.", EMAIL)]
    async with hub.sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert "customer.exported" in actions


async def test_webhook_subscribers_hear_of_an_erasure_and_get_nothing_more_of_them(
    settings_for: Settings,
) -> None:
    quick = dataclasses.replace(settings_for, webhook_interval=0.05, webhook_first_retry=0.05)
    async with Receiver() as receiver, start_hub(quick, clean=True) as hub:
        await hub.add_agent("ada", role="admin")
        ada = await hub.login("ada")
        try:
            body = {"url": receiver.url, "event_types": ["contact.queued", "customer.erased"]}
            status, created = await ada.post("/api/admin/webhooks", body)
            assert status == 201, created
            receiver.secret = created["secret"]
            waiting = await contact(hub, "sms", PHONE, "Anyone there?")
            async with hub.sessions() as session:
                conversation = await session.get(Conversation, waiting)
                assert conversation is not None
                customer_id = conversation.customer_id
            status, _ = await delete(ada, f"/api/customers/{customer_id}")
            assert status == 200
            await eventually(lambda: _heard(receiver, "customer.erased"))
        finally:
            await ada.close()
        async with hub.sessions() as session:
            kept = [e.payload for e in await session.scalars(select(OutboxEvent))]
    assert receiver.forged == 0
    erased = next(r for r in receiver.received if r.type == "customer.erased")
    assert erased.data["customer_id"] == customer_id
    assert erased.data["customer_ids"] == [customer_id]
    assert PHONE not in json.dumps(kept) and "Anyone" not in json.dumps(kept)


async def _heard(receiver: Receiver, kind: str) -> bool | None:
    return True if any(r.type == kind for r in receiver.received) else None


async def test_a_hub_process_that_missed_the_erasure_forgets_the_customer_too(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    mailed = await contact(hub, "email", EMAIL, "Hello")
    async with hub.sessions() as session:
        greta = (await session.get(Conversation, mailed)).customer_id  # type: ignore[union-attr]
    elsewhere = CustomerDirectory(hub.sessions)  # another process's index, deaf to the bus
    await elsewhere.load()
    assert elsewhere.resolver.resolve("email", EMAIL, "").customer_id == greta
    ada = await hub.login("ada")
    try:
        status, _ = await delete(ada, f"/api/customers/{greta}")
        assert status == 200
    finally:
        await ada.close()
    assert elsewhere.resolver.resolve("email", EMAIL, "").customer_id == greta
    await elsewhere.refresh()
    assert elsewhere.resolver.resolve("email", EMAIL, "").customer_id is None
    assert elsewhere.resolver.resolve("email", EMAIL, "Greta Garbo").customer_id is None
