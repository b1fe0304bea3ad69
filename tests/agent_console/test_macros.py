"""Macros: admins define a canned reply plus actions; an agent applies one to a
conversation they hold, and each action is the one they would take by hand: the same
checks (a retired wrap-up code, a bad attribute value, a conversation not theirs) and the
same timeline entries. The mail goes out through a real SMTP relay (aiosmtpd)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from hub.models import Conversation, CustomerAttributeValue, QueueEntry, TimelineEvent
from hub.settings import Settings
from tests.channels.email_side import (
    CapturingRelay,
    accept_next_offer,
    capturing_relay,
    email_hub,
    mail,
    send,
)
from tests.support import AgentClient, Hub


@pytest.fixture
async def relay() -> AsyncIterator[CapturingRelay]:
    async with capturing_relay() as running:
        yield running


@pytest.fixture
async def hub(settings_for: Settings, relay: CapturingRelay) -> AsyncIterator[Hub]:
    async with email_hub(settings_for, relay) as running:
        yield running


async def call(agent: AgentClient, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with agent.http.request(method, path.lstrip("/"), json=body) as response:
        return response.status, await response.json()


REFUND = {
    "name": "Refund issued",
    "reply": "Hi {customer.first_name}, your refund is on its way.",
    "actions": [
        {"type": "label", "label": "Refund"},
        {"type": "attribute", "key": "plan", "value": "gold"},
        {"type": "close", "code": "resolved"},
    ],
}


async def kinds(hub: Hub, conversation_id: int) -> list[str]:
    async with hub.sessions() as session:
        return list(
            await session.scalars(
                select(TimelineEvent.kind)
                .where(TimelineEvent.conversation_id == conversation_id)
                .order_by(TimelineEvent.id)
            )
        )


async def test_a_macro_replies_labels_sets_an_attribute_and_closes(
    hub: Hub, relay: CapturingRelay
) -> None:
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    await hub.add_agent("root", role="admin")
    alice, root = await hub.login("alice"), await hub.login("root")
    status, _ = await root.post(
        "/api/admin/customer-attributes",
        {"key": "plan", "label": "Plan", "kind": "list", "options": ["free", "gold"]},
    )
    assert status == 201
    status, macro = await root.post("/api/admin/macros", REFUND)
    assert status == 201 and macro["actions"][0] == {"type": "label", "label": "Refund"}
    status, body = await alice.post("/api/admin/macros", REFUND)
    assert status == 403 and body["error"] == "Only admins define macros."

    await send(hub, mail("Charged twice", "Please refund me."))
    conversation_id = await accept_next_offer(alice)
    listed = await alice.get(f"/api/macros?conversation_id={conversation_id}")
    assert listed[0]["text"] == "Hi Jane, your refund is on its way."

    status, applied = await alice.post(
        f"/api/conversations/{conversation_id}/macros/{macro['id']}",
        {"text": "Hi Jane, your refund of $20 is on its way."},
    )
    assert status == 200, applied
    assert applied["done"] == ["labels", "attributes", "reply", "close"]
    _envelope, sent = await relay.next()
    assert sent.get_content().strip() == "Hi Jane, your refund of $20 is on its way."
    async with hub.sessions() as session:
        closed = await session.get(Conversation, conversation_id)
        plan = await session.scalar(select(CustomerAttributeValue.value))
    assert closed is not None and closed.status == "closed"
    assert (closed.labels, closed.disposition, plan) == (["refund"], "resolved", "gold")
    # The same timeline as by hand, in the order done.
    assert [
        k
        for k in await kinds(hub, conversation_id)
        if k in ("conversation.labelled", "reply.sent", "conversation.closed")
    ] == ["conversation.labelled", "reply.sent", "conversation.closed"]
    await alice.close()
    await root.close()


async def test_a_macro_does_nothing_its_agent_could_not(hub: Hub, relay: CapturingRelay) -> None:
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    await hub.add_agent("bob", skills={"support": 5})
    await hub.add_agent("root", role="admin")
    alice, bob, root = await hub.login("alice"), await hub.login("bob"), await hub.login("root")
    await root.post(
        "/api/admin/customer-attributes",
        {"key": "plan", "label": "Plan", "kind": "list", "options": ["free", "gold"]},
    )
    await send(hub, mail("Question", "Hello?"))
    conversation_id = await accept_next_offer(alice)

    # A value the attribute does not take: nothing is set, sent or closed.
    status, bad = await root.post(
        "/api/admin/macros",
        {**REFUND, "name": "Platinum", "actions": [
            {"type": "label", "label": "vip"},
            {"type": "attribute", "key": "plan", "value": "platinum"},
            {"type": "close", "code": "resolved"},
        ]},
    )  # fmt: skip
    assert status == 201
    status, body = await alice.post(f"/api/conversations/{conversation_id}/macros/{bad['id']}")
    assert status == 400 and body["field"] == "attributes.plan"
    # A wrap-up code retired since the macro was written: refused as by hand.
    codes = {c["code"]: c["id"] for c in await alice.get("/api/wrap-up-codes")}
    await call(root, "PATCH", f"/api/admin/wrap-up-codes/{codes['spam']}", {"retired": True})
    status, spam = await root.post(
        "/api/admin/macros",
        {"name": "Spam", "reply": "", "actions": [{"type": "close", "code": "spam"}]},
    )
    assert status == 201
    status, body = await alice.post(f"/api/conversations/{conversation_id}/macros/{spam['id']}")
    assert status == 400 and "spam is not a wrap-up code in use" in body["error"]
    # Not Bob's conversation: he cannot apply a macro to it.
    status, body = await bob.post(f"/api/conversations/{conversation_id}/macros/{spam['id']}")
    assert status == 404
    async with hub.sessions() as session:
        still = await session.get(Conversation, conversation_id)
        values = list(await session.scalars(select(CustomerAttributeValue)))
    assert still is not None and (still.status, still.labels, values) == ("assigned", [], [])
    assert relay.received.empty()

    # A transfer to a queue, as the Transfer button does: back in line for billing.
    status, transfer = await root.post(
        "/api/admin/macros",
        {"name": "To billing", "reply": "Passing you to billing.",
         "actions": [{"type": "transfer", "skill": "billing"}]},
    )  # fmt: skip
    assert status == 201
    status, applied = await alice.post(
        f"/api/conversations/{conversation_id}/macros/{transfer['id']}"
    )
    assert status == 200 and applied["done"] == ["reply", "transfer:queued"]
    async with hub.sessions() as session:
        moved = await session.get(Conversation, conversation_id)
        waiting = await session.get(QueueEntry, conversation_id)
    assert moved is not None and (moved.status, moved.required_skill) == ("queued", "billing")
    assert waiting is not None
    assert "conversation.requeued" in await kinds(hub, conversation_id)
    for agent in (alice, bob, root):
        await agent.close()


async def test_macro_definitions_are_checked(hub: Hub) -> None:
    await hub.add_agent("root", role="admin")
    root = await hub.login("root")
    for body, field in [
        (
            {
                "name": "x",
                "actions": [{"type": "close", "code": "resolved"}, {"type": "label", "label": "a"}],
            },
            "actions",
        ),  # noqa: E501
        ({"name": "x", "actions": [{"type": "fly"}]}, "actions.0"),
        (
            {"name": "x", "actions": [{"type": "transfer", "skill": "Not A Skill"}]},
            "actions.0.transfer.skill",
        ),  # noqa: E501
        ({"name": ""}, "name"),
    ]:
        status, answer = await root.post("/api/admin/macros", body)
        assert status == 400 and answer["field"].startswith(field), (body, answer)
    status, first = await root.post("/api/admin/macros", {"name": "Thanks", "reply": "Thanks!"})
    assert status == 201 and first["actions"] == []
    status, answer = await root.post("/api/admin/macros", {"name": "Thanks"})
    assert status == 409
    status, renamed = await call(
        root, "PATCH", f"/api/admin/macros/{first['id']}", {"name": "Thank you"}
    )
    assert status == 200 and renamed["name"] == "Thank you" and renamed["reply"] == "Thanks!"
    status, _ = await call(root, "DELETE", f"/api/admin/macros/{first['id']}", {})
    assert status == 200 and await root.get("/api/macros") == []
    await root.close()
