"""Each channel declares what makes it different once; the hub, routing and the console
read it from the one registry, and a channel left out of it is an error, never a default."""

from __future__ import annotations

import aiohttp
import pytest
from sqlalchemy import func, select

import channels.email
import channels.sms
import channels.voice
import channels.webchat
import channels.whatsapp
from hub.app import channel_registry
from hub.channel_traits import ChannelRegistry, ChannelTraits, UnknownChannel
from hub.contacts import InboundContact
from hub.conversations import Conversations
from hub.keys import BUS, INTAKE, METRICS, QUEUE, SESSIONS
from hub.models import Message
from routing.matching import AgentState
from tests.support import Hub

CHAT = ChannelTraits("chat", "Chat", default_capacity=3, replies_on="chat")


def test_the_hub_runs_each_channel_as_its_own_module_declares_it() -> None:
    registry = channel_registry()
    declared = [
        channels.webchat.TRAITS,
        channels.email.TRAITS,
        channels.sms.TRAITS,
        channels.whatsapp.TRAITS,
        channels.voice.TRAITS,
    ]
    assert list(registry) == declared
    assert [t.label for t in registry] == ["Chat", "Email", "SMS", "WhatsApp", "Voice"]
    assert registry.reply_channels() == ("chat", "email", "sms", "whatsapp")
    assert registry.exclusive() == {"voice"}
    # WhatsApp takes a first message only as an approved template: agents start none there.
    assert registry.started_by_agents() == ("email", "sms")
    assert registry["voice"].replies_on == "sms"
    assert registry.capacities({"chat": 1}) == {
        "chat": 1,
        "email": 5,
        "sms": 5,
        "whatsapp": 5,
        "voice": 1,
    }


def test_a_channel_nobody_registered_is_an_error_not_capacity_one() -> None:
    registry = channel_registry()
    with pytest.raises(UnknownChannel, match="'telegram'.*chat, email, sms, whatsapp, voice"):
        registry["telegram"]
    agent = AgentState(1, {}, frozenset(), {}, channels=registry)
    assert agent.capacity("chat") == 3
    with pytest.raises(UnknownChannel):
        agent.free("telegram")


def test_a_registry_refuses_what_cannot_be_right() -> None:
    with pytest.raises(ValueError, match="twice"):
        ChannelRegistry([CHAT, CHAT])
    with pytest.raises(ValueError, match="not registered"):
        ChannelRegistry([ChannelTraits("voice", "Voice", default_capacity=1, replies_on="sms")])
    with pytest.raises(ValueError, match="at least 1"):
        ChannelTraits("fax", "Fax", default_capacity=0, replies_on=None)


async def test_a_registered_channel_without_an_adapter_stops_the_start(hub: Hub) -> None:
    app = hub.app
    with pytest.raises(ValueError, match="no adapter sends on the channels sms, whatsapp, voice"):
        Conversations(
            app[SESSIONS],
            app[QUEUE],
            app[BUS],
            {"chat": channels.webchat.WebchatAdapter(app[BUS]), "email": object()},  # type: ignore[dict-item]
            app[METRICS],
            channel_registry(),
        )


async def test_intake_refuses_a_contact_on_an_unregistered_channel(hub: Hub) -> None:
    fax = InboundContact(channel="fax", inbox="+1", external_id="f1", sender="+2", text="hi")
    with pytest.raises(UnknownChannel):
        await hub.app[INTAKE].accept(fax)
    async with hub.sessions() as session:
        assert await session.scalar(select(func.count(Message.id))) == 0


async def test_the_console_reads_the_channels_from_the_hub(hub: Hub) -> None:
    await hub.add_agent("alice")
    alice = await hub.login("alice")
    listed = await alice.get("/api/channels")
    await alice.close()
    assert [(c["name"], c["label"], c["reply_label"]) for c in listed] == [
        ("chat", "Chat", "Chat"),
        ("email", "Email", "Email"),
        ("sms", "SMS", "SMS"),
        ("whatsapp", "WhatsApp", "WhatsApp"),
        ("voice", "Voice", "Call"),
    ]
    assert [c["default_capacity"] for c in listed] == [3, 5, 5, 5, 1]
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(hub.url + "/api/channels") as response:
            assert response.status == 401
