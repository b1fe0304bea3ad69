"""CSAT for supervisors: per agent, queue and channel over a period, within their team."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from hub.keys import INTAKE, QUEUE
from hub.models import Conversation, Survey
from tests.insights.corpus import contact
from tests.support import Hub

NOW = datetime.now(UTC)


async def rated(
    hub: Hub,
    agent_id: int,
    rating: int | None,
    *,
    skill: str | None = None,
    channel: str = "email",
    answered: datetime | None = None,
) -> int:
    """A conversation the agent closed, whose customer answered its survey with `rating`."""
    accepted = await hub.app[INTAKE].accept(contact("Thanks for the help", channel=channel))
    conversation_id = accepted.conversation_id
    async with hub.sessions() as session, session.begin():
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(agent_id=agent_id, status="closed", required_skill=skill, closed_at=NOW)
        )
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        session.add(
            Survey(
                conversation_id=conversation_id,
                customer_id=conversation.customer_id,
                channel=channel,
                address="someone",
                rating=rating,
                answered_at=None if rating is None else (answered or NOW - timedelta(hours=1)),
            )
        )
    # Closed behind the queue's back: take it off the queue too, as closing does, or the
    # hub's reconciler does so in the middle of a test and queue figures change under it.
    await hub.app[QUEUE].remove(conversation_id)
    return conversation_id


async def figures(hub: Hub, username: str, query: str) -> tuple[int, Any]:
    client = await hub.login(username)
    try:
        async with client.http.get("api/supervisor/csat" + query) as response:
            return response.status, await response.json()
    finally:
        await client.close()


async def test_csat_per_agent_queue_and_channel_counts_answers_in_the_period(hub: Hub) -> None:
    alice = await hub.add_agent("alice", team="north")
    bob = await hub.add_agent("bob", team="south")
    await hub.add_agent("sue", role="supervisor", team="north")
    await hub.add_agent("max", role="supervisor")
    await hub.add_agent("ann")
    await rated(hub, alice, 5, skill="billing")
    await rated(hub, alice, 4, skill="billing", channel="sms")
    await rated(hub, alice, 2, skill="billing", channel="sms")
    await rated(hub, alice, None, skill="billing")  # asked, never answered
    await rated(hub, bob, 1)
    await rated(hub, bob, 5, answered=NOW - timedelta(days=30))  # before the period

    status, by_agent = await figures(hub, "max", "?by=agent")
    assert status == 200
    assert by_agent["rows"] == [
        {"key": alice, "label": "Alice", "answers": 3, "satisfied": 2, "csat": 0.6667,
         "average": 3.6667},
        {"key": bob, "label": "Bob", "answers": 1, "satisfied": 0, "csat": 0.0, "average": 1.0},
    ]  # fmt: skip
    assert by_agent["total"] == {"answers": 4, "satisfied": 2, "csat": 0.5, "average": 3.0}

    _, by_queue = await figures(hub, "max", "?by=queue")
    assert [(r["label"], r["answers"], r["csat"]) for r in by_queue["rows"]] == [
        ("billing", 3, 0.6667),
        ("general", 1, 0.0),
    ]
    _, by_channel = await figures(hub, "max", "?by=channel")
    assert {r["label"]: (r["answers"], r["average"]) for r in by_channel["rows"]} == {
        "sms": (2, 3.0),
        "email": (2, 3.0),
    }
    since = (NOW - timedelta(days=40)).isoformat()
    _, longer = await figures(hub, "max", f"?by=agent&since={since.replace('+', '%2B')}")
    assert [r["answers"] for r in longer["rows"]] == [3, 2]

    # A supervisor with a team sees their team's agents only.
    _, team = await figures(hub, "sue", "?by=channel")
    assert {r["label"]: r["answers"] for r in team["rows"]} == {"sms": 2, "email": 1}
    assert team["total"]["answers"] == 3


async def test_csat_is_for_supervisors_and_refuses_a_bad_period(hub: Hub) -> None:
    await hub.add_agent("ann")
    await hub.add_agent("max", role="supervisor")
    assert (await figures(hub, "ann", ""))[0] == 403
    status, body = await figures(hub, "max", "?by=mood")
    assert status == 400
    later, earlier = NOW.isoformat().replace("+", "%2B"), "2020-01-01T00:00:00"
    assert (await figures(hub, "max", f"?since={later}&until={earlier}"))[0] == 400
    status, empty = await figures(hub, "max", "?by=queue")
    assert status == 200 and empty["rows"] == []
    assert empty["total"] == {"answers": 0, "satisfied": 0, "csat": None, "average": None}
