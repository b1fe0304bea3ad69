"""Requirements from what the customer wrote (keywords) and who they are (segment)."""

from __future__ import annotations

import dataclasses

import pytest

from hub.models import Conversation, Customer, CustomerAddress, Message
from hub.requirements import Requirements
from hub.settings import Settings
from routing.rules import RoutingRules
from tests.conftest import start_hub
from tests.support import ChatCustomer, Hub, eventually

INBOX = Requirements("support", 2)


def test_the_first_matching_keyword_rule_sets_skill_and_level() -> None:
    rules = RoutingRules.parse("refund|chargeback=billing:5; password|log in=tech:3")
    needs = rules.requirements("I was charged twice, I want a REFUND", "standard", INBOX)
    assert needs == Requirements("billing", 5, 0, ('"REFUND": skill billing level 5',))
    both = rules.requirements("can't log in, and I want a refund", "standard", INBOX)
    assert (both.skill, both.min_level) == ("billing", 5)  # rules are tried in order
    assert rules.requirements("I cannot log in", "standard", INBOX).skill == "tech"


def test_keywords_match_whole_words_unless_they_end_in_a_star() -> None:
    rules = RoutingRules.parse("refund=billing:5; ship*=logistics")
    assert rules.requirements("refundable ticket?", "standard", INBOX) == INBOX
    shipped = rules.requirements("was it shipped yet", "standard", INBOX)
    assert (shipped.skill, shipped.min_level) == ("logistics", 1)
    assert rules.requirements("", "standard", INBOX) == INBOX


def test_segment_rules_add_priority_and_say_so() -> None:
    rules = RoutingRules.parse(segments="vip=5, gold=2")
    assert rules.requirements("hi", "vip", INBOX) == Requirements(
        "support", 2, 5, ("segment vip: priority +5",)
    )
    assert rules.requirements("hi", "gold", INBOX).priority == 2
    assert rules.requirements("hi", "standard", INBOX).priority == 0


@pytest.mark.parametrize(
    ("keywords", "segments", "complaint"),
    [
        ("refund", "", "is not words=skill:level"),
        ("refund=billing:high", "", "level is a number"),
        ("=billing:5", "", "is not words=skill:level"),
        ("", "vip", "is not segment=boost"),
        ("", "vip=lots", "is not segment=boost"),
    ],
)
def test_rules_that_cannot_be_read_are_refused_with_the_reason(
    keywords: str, segments: str, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        RoutingRules.parse(keywords, segments)


async def conversation_of(hub: Hub, message_id: int) -> Conversation:
    async with hub.sessions() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        return conversation


async def test_a_refund_request_goes_to_a_skilled_billing_agent_and_says_why(
    settings_for: Settings,
) -> None:
    settings = dataclasses.replace(
        settings_for, routing_keywords="refund|chargeback=billing:5", routing_segments="vip=5"
    )
    async with start_hub(settings, clean=True) as hub:
        await hub.add_agent("alice", status="available", skills={"billing": 3})
        await hub.add_agent("bob", status="available", skills={"billing": 6})
        await hub.add_agent("sam", role="supervisor")
        bob, sam = await hub.login("bob"), await hub.login("sam")
        customer = await ChatCustomer.connect(hub, name="Pat")
        # A VIP already known by this chat token.
        visitor = customer.token.partition(".")[0]
        async with hub.sessions() as session, session.begin():
            vip = Customer(name="Pat", segment="vip")
            session.add(vip)
            await session.flush()
            session.add(CustomerAddress(customer_id=vip.id, channel="chat", address=visitor))

        ack = await customer.say("I want a Refund for order 7")
        conversation = await conversation_of(hub, ack["message_id"])
        assert (conversation.required_skill, conversation.min_level) == ("billing", 5)
        assert conversation.priority == 5
        offers = await eventually(lambda: bob.get("/api/offers"))
        assert offers[0]["conversation_id"] == conversation.id
        decisions = await sam.get(f"/api/supervisor/routing?conversation_id={conversation.id}")
        requirements = decisions[0]["requirements"]
        assert requirements["rules"] == [
            '"Refund": skill billing level 5',
            "segment vip: priority +5",
        ]
        assert (requirements["skill"], requirements["min_level"]) == ("billing", 5)
        alice = await hub.login("alice")  # billing level 3: not enough for a refund
        assert await alice.get("/api/offers") == []
        await alice.close()
        await customer.close()
        await bob.close()
        await sam.close()
