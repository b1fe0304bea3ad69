"""SLA policies: the most specific policy applies, its clocks follow the conversation
(a reply meets first response, a customer's next message starts next response, closing
meets resolution, reopening starts again), and each breach is marked once, on the
customer's timeline and in the webhook outbox, however many hub processes look."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.bus import MemoryBus
from hub.contacts import InboundContact
from hub.db import open_engine, session_factory
from hub.keys import INTAKE, SESSIONS
from hub.models import Conversation, ConversationSla, OutboxEvent, SlaPolicy, TimelineEvent, utcnow
from hub.settings import Settings
from hub.sla import Breach, ConversationFacts, SlaChecker, choose_policy
from tests.conftest import start_hub
from tests.insights.conftest import webhook
from tests.insights.test_rounds import Mailbox, mailbox
from tests.support import AgentClient, Hub, eventually

__all__ = ["mailbox", "webhook"]

VIP_CHAT = {"name": "VIP chat", "channel": "chat", "segment": "vip", "first_response": 60}
ANY_CHAT = {"name": "Chat", "channel": "chat", "first_response": 1, "resolution": 3600}


def policy(id_: int, **conditions: Any) -> SlaPolicy:
    return SlaPolicy(id=id_, name=f"p{id_}", **conditions)


def test_the_most_specific_matching_policy_applies_then_the_oldest() -> None:
    everyone, chat, vip_chat, sales = (
        policy(1),
        policy(2, channel="chat"),
        policy(3, channel="chat", segment="vip"),
        policy(4, queue="sales", channel="chat"),
    )
    later_chat = policy(5, channel="chat")
    policies = [later_chat, sales, vip_chat, chat, everyone]
    facts = ConversationFacts(queue="general", channel="chat", priority=0, segment="standard")
    assert choose_policy(policies, facts) is chat
    assert choose_policy(policies, dataclasses.replace(facts, segment="vip")) is vip_chat
    assert choose_policy(policies, dataclasses.replace(facts, channel="email")) is everyone
    tie = dataclasses.replace(facts, queue="sales", segment="vip")
    assert choose_policy(policies, tie) is vip_chat  # two conditions each: the older
    assert choose_policy([sales], facts) is None
    assert choose_policy([policy(6, priority=5)], dataclasses.replace(facts, priority=5))


def chat(visitor: str, n: int, text: str = "hello") -> InboundContact:
    return InboundContact(
        channel="chat", inbox="web", external_id=f"{visitor}:{n}", sender=visitor, text=text
    )


def slow(settings: Settings) -> Settings:
    """The hub's own checker stays out of the way; the tests run checkers themselves."""
    return dataclasses.replace(settings, sla_interval=3600.0)


async def sla_of(hub: Hub, conversation_id: int) -> ConversationSla | None:
    async with hub.app[SESSIONS]() as session:
        return await session.get(ConversationSla, conversation_id)


async def test_admins_define_policies_with_clear_errors_and_agents_cannot(
    settings_for: Settings,
) -> None:
    async with start_hub(slow(settings_for), clean=True) as hub:
        await hub.add_agent("ada", role="admin")
        await hub.add_agent("alice")
        ada, alice = await hub.login("ada"), await hub.login("alice")
        try:
            for body, field in [
                ({**VIP_CHAT, "first_response": 0}, "first_response"),
                ({**VIP_CHAT, "channel": "fax"}, "channel"),
                ({**VIP_CHAT, "warn_at": 1.5}, "warn_at"),
                ({**VIP_CHAT, "queue": "Not A Queue"}, "queue"),
                ({"name": "Nothing"}, "first_response"),
            ]:
                status, answer = await ada.post("/api/admin/sla-policies", body)
                assert status == 400 and answer["field"].startswith(field), (body, answer)
            status, _ = await alice.post("/api/admin/sla-policies", VIP_CHAT)
            assert status == 403
            status, created = await ada.post("/api/admin/sla-policies", VIP_CHAT)
            assert status == 201 and created["business_hours"] and created["warn_at"] == 0.75
            status, _ = await ada.post("/api/admin/sla-policies", VIP_CHAT)
            assert status == 409
            item = f"api/admin/sla-policies/{created['id']}"
            async with alice.http.put(item, json={**VIP_CHAT, "first_response": 5}) as answer:
                assert answer.status == 403
            async with ada.http.put(item, json={**VIP_CHAT, "first_response": 120}) as answer:
                assert answer.status == 200 and (await answer.json())["first_response"] == 120
            assert [p["first_response"] for p in await ada.get("/api/admin/sla-policies")] == [120]
            async with ada.http.delete(item) as answer:
                assert answer.status == 200
            assert await ada.get("/api/admin/sla-policies") == []
            audit = await ada.get("/api/admin/audit?action=sla_policy")
        finally:
            await ada.close()
            await alice.close()
    actions = [e["action"] for e in audit["entries"]]
    assert actions == ["sla_policy.deleted", "sla_policy.updated", "sla_policy.created"]


async def accept_offer(agent: AgentClient) -> None:
    offers = await eventually(lambda: agent.get("/api/offers"))
    status, _ = await agent.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200


async def test_clocks_follow_the_conversation_and_a_breach_is_marked_once(
    settings_for: Settings,
) -> None:
    async with start_hub(slow(settings_for), clean=True) as hub:
        await hub.add_agent("ada", role="admin")
        await hub.add_agent("alice", status="available")
        ada, alice = await hub.login("ada"), await hub.login("alice")
        try:
            status, _ = await ada.post(
                "/api/admin/webhooks",
                {"url": "http://127.0.0.1:9/hook", "event_types": ["sla.breached"]},
            )
            assert status == 201
            status, created = await ada.post(
                "/api/admin/sla-policies",
                {**ANY_CHAT, "next_response": 30, "business_hours": False},
            )
            assert status == 201
            accepted = await hub.app[INTAKE].accept(chat("v1", 1, "Where is my order?"))
            conversation = accepted.conversation_id
            row = await eventually(lambda: sla_of(hub, conversation))
            assert row.policy_id == created["id"]
            assert row.first_response_due is not None and row.resolution_due is not None
            assert row.first_response_due - row.started_at == timedelta(seconds=1)

            # Past the first response target: one breach, whichever checker looks.
            alerts: list[Breach] = []

            async def alert(breach: Breach) -> None:
                alerts.append(breach)

            checker = SlaChecker(hub.app[SESSIONS], MemoryBus(), alert)
            later = utcnow() + timedelta(seconds=5)
            first = await checker.run_once(later)
            again = await checker.run_once(later + timedelta(seconds=5))
            assert [b.event.kind for b in first] == ["first_response"] and again == []
            assert [a.event.conversation_id for a in alerts] == [conversation]

            # The reply meets first response; the customer writing again starts next response.
            await accept_offer(alice)
            status, _ = await alice.post(
                f"/api/conversations/{conversation}/reply", {"text": "On its way"}
            )
            assert status in (200, 201)

            async def replied() -> ConversationSla | None:
                row = await sla_of(hub, conversation)
                return row if row and row.first_response_due is None else None

            row = await eventually(replied)
            assert row.next_response_due is None and row.first_response_breached_at is not None
            await hub.app[INTAKE].accept(chat("v1", 2, "And when exactly?"))

            async def waiting() -> ConversationSla | None:
                row = await sla_of(hub, conversation)
                return row if row and row.next_response_due is not None else None

            row = await eventually(waiting)
            assert row.next_response_breached_at is None

            # Closing meets everything; reopening starts the clocks again.
            status, _ = await alice.post(
                f"/api/conversations/{conversation}/close", {"disposition": "resolved"}
            )
            assert status == 200

            async def closed() -> ConversationSla | None:
                row = await sla_of(hub, conversation)
                return row if row and row.closed and row.resolution_due is None else None

            row = await eventually(closed)
            assert row.next_response_due is None
            status, _ = await alice.post(f"/api/conversations/{conversation}/reopen")
            assert status == 200

            async def reopened() -> ConversationSla | None:
                row = await sla_of(hub, conversation)
                return row if row and not row.closed and row.first_response_due else None

            row = await eventually(reopened)
            assert row.first_response_breached_at is None
        finally:
            await ada.close()
            await alice.close()
        async with hub.app[SESSIONS]() as session:
            events = list(
                await session.scalars(
                    select(OutboxEvent).where(OutboxEvent.event_type == "sla.breached")
                )
            )
            breaches = list(
                await session.scalars(
                    select(TimelineEvent).where(
                        TimelineEvent.customer_id == accepted.customer_id,
                        TimelineEvent.kind == "sla.breached",
                    )
                )
            )
    (event,) = events
    assert event.payload["data"]["conversation_id"] == conversation
    assert event.payload["data"]["kind"] == "first_response"
    (breach,) = breaches
    assert breach.conversation_id == conversation
    assert "First response target missed" in breach.summary


@pytest.mark.parametrize("backend", ["redis"])
async def test_two_hub_processes_checking_at_once_mark_each_breach_once(
    settings_for: Settings,
) -> None:
    """Two checkers, each with its own connection pool, as two hub processes have."""
    async with start_hub(slow(settings_for), clean=True) as hub:
        await hub.add_agent("ada", role="admin")
        ada = await hub.login("ada")
        try:
            status, _ = await ada.post(
                "/api/admin/webhooks",
                {"url": "http://127.0.0.1:9/hook", "event_types": ["sla.breached"]},
            )
            assert status == 201
            status, _ = await ada.post("/api/admin/sla-policies", ANY_CHAT)
            assert status == 201
        finally:
            await ada.close()
        conversations = [
            (await hub.app[INTAKE].accept(chat(f"v{n}", 1))).conversation_id for n in range(20)
        ]
        for conversation in conversations:
            await eventually(lambda c=conversation: sla_of(hub, c))  # type: ignore[misc]
        engines = [open_engine(settings_for.database_url) for _ in range(2)]
        try:
            checkers = [SlaChecker(session_factory(e), MemoryBus()) for e in engines]
            later = utcnow() + timedelta(seconds=5)
            found = await asyncio.gather(*(c.run_once(later) for c in checkers))
        finally:
            for engine in engines:
                await engine.dispose()
        async with hub.app[SESSIONS]() as session:
            outboxed = await session.scalar(
                select(func.count()).where(OutboxEvent.event_type == "sla.breached")
            )
            on_timelines = await session.scalars(
                select(TimelineEvent.conversation_id).where(TimelineEvent.kind == "sla.breached")
            )
            timeline_ids = sorted(on_timelines)
    marked = sorted(b.event.conversation_id for run in found for b in run)
    assert marked == sorted(conversations)
    assert timeline_ids == sorted(conversations) and outboxed == len(conversations)


async def test_the_hub_alerts_once_per_breach_by_email_and_webhook(
    settings_for: Settings,
    mailbox: tuple[Mailbox, int],
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    box, port = mailbox
    url, received = webhook
    settings = dataclasses.replace(
        settings_for,
        sla_interval=0.1,
        sla_alert_to="lead@shop.test",
        sla_alert_from="sla@hub.test",
        sla_alert_webhook=url,
        smtp_relay_host="127.0.0.1",
        smtp_relay_port=port,
    )
    async with start_hub(settings, clean=True) as hub:
        async with hub.app[SESSIONS]() as session, session.begin():
            session.add(SlaPolicy(name="Chat", channel="chat", first_response=1, warn_at=0.5))
        accepted = await hub.app[INTAKE].accept(chat("v1", 1, "Hello?"))

        async def alerted() -> bool:
            return bool(box.messages and received)

        await eventually(alerted)
        later = utcnow() + timedelta(seconds=5)
        assert await SlaChecker(hub.app[SESSIONS], MemoryBus()).run_once(later) == []
    (mail,) = box.messages
    assert mail["To"] == "lead@shop.test" and mail["From"] == "sla@hub.test"
    assert mail["Subject"] == (
        f"SLA breached: First response on conversation {accepted.conversation_id}"
    )
    (posted,) = received
    assert posted["type"] == "sla.breached" and posted["kind"] == "first_response"
    assert posted["conversation_id"] == accepted.conversation_id


async def test_the_at_risk_list_is_soonest_first_and_keeps_to_the_supervisors_team(
    settings_for: Settings,
) -> None:
    async with start_hub(slow(settings_for), clean=True) as hub:
        await hub.add_agent("nina", team="north")
        sven = await hub.add_agent("sven", team="south")
        await hub.add_agent("nora", role="supervisor", team="north")
        await hub.add_agent("agnes")
        async with hub.app[SESSIONS]() as session, session.begin():
            session.add(SlaPolicy(name="Chat", channel="chat", first_response=1, warn_at=0.5))
        waiting = (await hub.app[INTAKE].accept(chat("v1", 1))).conversation_id
        held = (await hub.app[INTAKE].accept(chat("v2", 1))).conversation_id
        for conversation in (waiting, held):
            await eventually(lambda c=conversation: sla_of(hub, c))  # type: ignore[misc]
        async with hub.app[SESSIONS]() as session, session.begin():
            found = await session.get(Conversation, held)
            assert found is not None
            found.agent_id, found.status = sven, "assigned"
        nora, agnes = await hub.login("nora"), await hub.login("agnes")
        try:
            seen = await nora.get("/api/supervisor/sla-at-risk")
            async with agnes.http.get("api/supervisor/sla-at-risk") as answer:
                refused = answer.status
        finally:
            await nora.close()
            await agnes.close()
    assert refused == 403
    (item,) = seen  # south's conversation is not north's supervisor's to see
    assert item["conversation_id"] == waiting and item["agent"] is None
    assert item["kind"] == "first_response" and item["queue"] == "general"
    assert item["warn"] < item["due"]
