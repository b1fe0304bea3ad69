"""The event catalogue: what is published is in it, what is in it is published, and the
console and widget read the same wire form as before."""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Iterator
from pathlib import Path

import agent_console.wallboard
import channels.voice._bridge
import channels.webchat.adapter
import hub.app
from hub.bus import Event, MemoryBus
from hub.events import (
    CATALOGUE,
    ROUTER_WAKERS,
    AgentState,
    Audience,
    ChatDeliver,
    ContactQueued,
    DomainEvent,
    MessageReceived,
    OfferExpired,
    TransportMessage,
    heard_by,
)
from hub.listeners import Listeners, following

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "channels", "routing", "agent_console", "knowledge", "insights")
BY_CLASS = {kind.__name__: name for name, kind in CATALOGUE.items()}


def product_modules() -> Iterator[tuple[Path, ast.Module]]:
    """Every module of the product but the bus itself (whose backends publish to Redis)."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts and path != ROOT / "hub" / "bus.py":
                yield path, ast.parse(path.read_text(encoding="utf-8"))


def module_mappings(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level dicts of catalogue classes (a way to pick one by a status word)."""
    found: dict[str, list[str]] = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and isinstance(value, ast.Dict):
            found[target.id] = [v.id for v in value.values if isinstance(v, ast.Name)]
    return found


def published_classes(path: Path, tree: ast.Module) -> list[str]:
    """The catalogue classes a module hands to `.publish(...)`; fails on anything else.

    A module that publishes an event it made earlier (one also written to the webhook
    outbox in the same transaction) is taken to publish every catalogue class it makes."""
    mappings = module_mappings(tree)
    classes: list[str] = []
    made_earlier = False
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "publish"
            and node.args
        ):
            continue
        made = node.args[0]
        if isinstance(made, ast.Name):
            made_earlier = True
            continue
        assert isinstance(made, ast.Call), f"{path}:{node.lineno} publishes no constructed event"
        if isinstance(made.func, ast.Name):
            classes.append(made.func.id)
        elif isinstance(made.func, ast.Subscript) and isinstance(made.func.value, ast.Name):
            classes.extend(mappings[made.func.value.id])
        else:
            raise AssertionError(f"{path}:{node.lineno} publishes something unreadable")
    if made_earlier:
        classes.extend(
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in BY_CLASS
        )
    return classes


def test_every_published_event_is_in_the_catalogue_and_every_entry_is_published() -> None:
    published: set[str] = set()
    for path, tree in product_modules():
        for name in published_classes(path, tree):
            assert name in BY_CLASS, f"{path.relative_to(ROOT)} publishes {name}, not catalogued"
            published.add(BY_CLASS[name])
    assert published == set(CATALOGUE)


def test_nothing_but_the_bus_itself_makes_raw_events() -> None:
    for path, tree in product_modules():
        for node in ast.walk(tree):
            name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
            assert name != "make_event", f"{path.relative_to(ROOT)}:{node.lineno} makes raw events"


def test_transport_messages_are_kept_apart_from_domain_events() -> None:
    transport = {n for n, kind in CATALOGUE.items() if issubclass(kind, TransportMessage)}
    assert transport == {"chat.deliver", "chat.typing", "chat.present", "chat.survey"}
    assert all(issubclass(kind, DomainEvent) for n, kind in CATALOGUE.items() if n not in transport)
    # No console hears a transport message: it is for the visitor's socket holder only.
    assert not transport & (heard_by(Audience.AGENT) | heard_by(Audience.SUPERVISORS))


def test_who_hears_what_is_what_the_console_and_router_always_heard() -> None:
    assert heard_by(Audience.AGENT) == {
        "offer.created",
        "offer.expired",
        "offer.rejected",
        "offer.withdrawn",
        "conversation.assigned",
        "conversation.closed",
        "conversation.reassigned",
        "message.received",
        "message.sent",
        "call.updated",
        "message.status",
        "message.failed",
        "customer.typing",
        "agent.state",
        "sla.breached",
    }
    assert heard_by(Audience.SUPERVISORS) == {
        "contact.queued",
        "offer.created",
        "offer.expired",
        "offer.rejected",
        "offer.withdrawn",
        "conversation.assigned",
        "conversation.closed",
        "conversation.reassigned",
        "message.received",
        "agent.state",
        "conversation.abandoned",
        "sla.breached",
    }
    assert ROUTER_WAKERS == {
        "contact.queued",
        "offer.rejected",
        "offer.expired",
        "conversation.closed",
        "agent.updated",
        "queue.updated",
    }


def test_the_wire_form_is_type_time_and_fields_leaving_out_unsaid_optionals() -> None:
    queued = ContactQueued(conversation_id=7, channel="sms").wire()
    assert set(queued) == {"type", "ts", "conversation_id", "channel"}
    assert queued["type"] == "contact.queued"
    # A field a publisher states as None stays: the console tells "nobody" from "unsaid".
    received = MessageReceived(
        message_id=1, agent_id=None, conversation_id=7, customer_id=3, channel="chat"
    ).wire()
    assert received["agent_id"] is None
    state = AgentState(agent_id=4, status="away", why="missed offers")
    assert AgentState.from_wire(state.wire()) == state


async def test_listeners_get_their_messages_typed_and_outlive_a_failing_handler() -> None:
    bus = MemoryBus()
    heard: list[object] = []
    done = asyncio.Event()
    listeners = Listeners[list[object]]()

    @listeners.on(OfferExpired)
    def fail(_: list[object], message: OfferExpired) -> None:
        raise RuntimeError("a handler broke")

    @listeners.on(ChatDeliver)
    async def deliver(seen: list[object], message: ChatDeliver) -> None:
        seen.append(message)
        done.set()

    async with following(bus, listeners.bind(heard)):
        await bus.publish(OfferExpired(offer_id=1, conversation_id=2, agent_id=3))
        await bus.publish(AgentState(agent_id=3, status="away"))
        message = ChatDeliver(
            visitor="v1", conversation_id=2, message_id=5, text="Hi", author="Ann"
        )
        await bus.publish(message)
        await asyncio.wait_for(done.wait(), 5)
    assert heard == [message]
    assert listeners.names == {"offer.expired", "chat.deliver"}


async def test_following_ends_its_subscription_on_leaving() -> None:
    bus = MemoryBus()
    seen: list[Event] = []
    first = asyncio.Event()

    async def read(event: Event) -> None:
        seen.append(event)
        first.set()

    async with following(bus, read):
        await bus.publish(AgentState(agent_id=1, status="available"))
        await asyncio.wait_for(first.wait(), 5)
    await bus.publish(AgentState(agent_id=1, status="away"))
    await asyncio.sleep(0.05)
    assert [e["status"] for e in seen] == ["available"]
    assert not bus._subscribers


def test_what_hub_processes_listen_to_is_declared_for_them_in_the_catalogue() -> None:
    readers = {
        "hub": hub.app.CHANGES,
        "wallboard": agent_console.wallboard.STATES,
        "chat sockets": channels.webchat.adapter.CHAT,
        "call bridge": channels.voice._bridge.BRIDGE_EVENTS,
    }
    for reader, listeners in readers.items():
        undeclared = {
            name
            for name in listeners.names
            if not CATALOGUE[name].audience & (Audience.HUB | Audience.VISITOR)
        }
        assert not undeclared, f"the {reader} listens to {undeclared}, declared for others"
    assert ROUTER_WAKERS <= hub.app.CHANGES.names
