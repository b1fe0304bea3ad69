"""Wrap-up codes admins define: added, renamed and retired on the admin API; the wrap-up
form offers those in use, closing refuses any other, and a conversation closed with a
code that was retired since still reads as its label."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from hub.models import Conversation, TimelineEvent
from hub.settings import Settings
from tests.channels.email_side import accept_next_offer, capturing_relay, email_hub, mail, send
from tests.support import AgentClient, Hub

FIVE = ["resolved", "follow-up", "escalated", "no-response", "spam"]


@pytest.fixture
async def hub(settings_for: Settings) -> AsyncIterator[Hub]:
    async with capturing_relay() as relay, email_hub(settings_for, relay) as running:
        yield running


async def call(agent: AgentClient, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with agent.http.request(method, path.lstrip("/"), json=body) as response:
        return response.status, await response.json()


async def conversation_for(hub: Hub, agent: AgentClient, subject: str) -> int:
    await send(hub, mail(subject, f"About {subject}"))
    return await accept_next_offer(agent)


async def test_admins_define_the_codes_agents_close_with(hub: Hub) -> None:
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    await hub.add_agent("root", role="admin")
    alice, root = await hub.login("alice"), await hub.login("root")
    codes = await alice.get("/api/wrap-up-codes")
    assert [c["code"] for c in codes] == FIVE and not any(c["retired"] for c in codes)

    # Spam closes one conversation while it is still in use.
    spam_id = await conversation_for(hub, alice, "Win a prize")
    status, _ = await alice.post(f"/api/conversations/{spam_id}/close", {"disposition": "spam"})
    assert status == 200

    status, refund = await root.post(
        "/api/admin/wrap-up-codes", {"code": "refund", "label": "Refund issued"}
    )
    assert status == 201 and refund["retired"] is False
    by_code = {c["code"]: c["id"] for c in codes}
    status, renamed = await call(
        root,
        "PATCH",
        f"/api/admin/wrap-up-codes/{by_code['escalated']}",
        {"label": "Passed to tier 2"},
    )
    assert status == 200 and (renamed["code"], renamed["label"]) == (
        "escalated",
        "Passed to tier 2",
    )
    status, retired = await call(
        root, "PATCH", f"/api/admin/wrap-up-codes/{by_code['spam']}", {"retired": True}
    )
    assert status == 200 and retired["retired"] is True
    listed = {c["code"]: c for c in await alice.get("/api/wrap-up-codes")}
    assert listed["spam"]["retired"] and listed["refund"]["label"] == "Refund issued"

    # The new code closes a conversation; the timeline says its label.
    refund_id = await conversation_for(hub, alice, "Charged twice")
    status, _ = await alice.post(
        f"/api/conversations/{refund_id}/close", {"disposition": "refund", "summary": ""}
    )
    assert status == 200
    async with hub.sessions() as session:
        closed = await session.get(Conversation, refund_id)
        event = await session.scalar(
            select(TimelineEvent).where(
                TimelineEvent.conversation_id == refund_id,
                TimelineEvent.kind == "conversation.closed",
            )
        )
    assert closed is not None and closed.disposition == "refund"
    assert event is not None and event.summary == "Refund issued"

    # A retired code, or one nobody defined, is refused and the conversation stays open.
    open_id = await conversation_for(hub, alice, "More spam")
    for code in ("spam", "made-up"):
        status, body = await alice.post(
            f"/api/conversations/{open_id}/close", {"disposition": code}
        )
        assert status == 400
        assert body["error"] == (
            f"{code} is not a wrap-up code in use; choose one of: "
            "resolved, follow-up, escalated, no-response, refund."
        )
    async with hub.sessions() as session:
        still = await session.get(Conversation, open_id)
    assert still is not None and still.status == "assigned"

    # Closed before spam was retired, it still reads as spam.
    view = await root.get(f"/api/conversations/{spam_id}")
    assert (view["disposition"], view["disposition_label"]) == ("spam", "Spam or abuse")
    await alice.close()
    await root.close()


async def test_only_admins_change_codes_and_codes_stay_unique(hub: Hub) -> None:
    await hub.add_agent("alice")
    await hub.add_agent("root", role="admin")
    alice, root = await hub.login("alice"), await hub.login("root")
    status, body = await alice.post("/api/admin/wrap-up-codes", {"code": "x", "label": "X"})
    assert status == 403 and body["error"] == "Only admins define wrap-up codes."
    status, body = await call(alice, "PATCH", "/api/admin/wrap-up-codes/1", {"label": "X"})
    assert status == 403
    status, body = await root.post("/api/admin/wrap-up-codes", {"code": "spam", "label": "S"})
    assert status == 409 and body["field"] == "code"
    status, body = await root.post("/api/admin/wrap-up-codes", {"code": "Bad Code", "label": "B"})
    assert status == 400 and body["field"] == "code"
    status, body = await call(root, "PATCH", "/api/admin/wrap-up-codes/999", {"label": "X"})
    assert status == 404
    assert [c["label"] for c in await alice.get("/api/wrap-up-codes")][-1] == "Spam or abuse"
    await alice.close()
    await root.close()
