"""The one way in: every contact from every channel passes through `Intake.accept`.

Order matters: deduplicate, persist and commit, and only then queue and publish.
Whatever happens after the commit can be redone from the database.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, ColumnElement, Select, bindparam, insert, not_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from hub import crm, outbox
from hub.bus import EventBus
from hub.card_numbers import mask_cards
from hub.channel_traits import ChannelRegistry, ChannelTraits
from hub.contacts import InboundContact
from hub.db import Sessions
from hub.events import ContactQueued, CustomerCreated, DomainEvent, MessageReceived
from hub.hours import Schedule, is_open, next_opening
from hub.identity import CustomerResolver, Identity, add_address, link_known, note_possible
from hub.metrics import Metrics
from hub.models import (
    OPEN_STATUSES,
    Conversation,
    ConversationStatus,
    Customer,
    CustomerAddress,
    Inbox,
    Message,
    QueueEntry,
)
from hub.names import name_key, surname_key
from hub.queue import GENERAL_QUEUE, ContactQueue, WaitingContact
from hub.requirements import RequirementRules, Requirements
from hub.schedules import hours_of

log = logging.getLogger(__name__)
VIP_PRIORITY = 5


@dataclass(frozen=True)
class Accepted:
    """What intake did with a contact; `duplicate` means it was already stored."""

    message_id: int
    conversation_id: int
    customer_id: int
    duplicate: bool = False
    queued: bool = False
    agent_id: int | None = None


class Intake:
    def __init__(
        self,
        sessions: Sessions,
        queue: ContactQueue,
        bus: EventBus,
        metrics: Metrics,
        channels: ChannelRegistry,
        rules: RequirementRules | None = None,
        resolver: CustomerResolver | None = None,
        mask_cards: bool = False,
    ) -> None:
        self._sessions = sessions
        self._mask_cards = mask_cards
        self._channels = channels
        self._queue = queue
        self._bus = bus
        self._metrics = metrics
        self._rules = rules
        self._resolver = resolver
        # What intake needs of each inbox, read once: inboxes change only on the admin
        # page, which announces it (`queue.updated`) so every hub process forgets them.
        self._inboxes: dict[tuple[str, str], InboxInfo] = {}
        # Business hours by (channel, inbox, queue), read once, forgotten with the inboxes.
        self._hours: dict[tuple[str, str, str], Schedule | None] = {}

    def forget_inboxes(self) -> None:
        """Read inboxes (and their hours) afresh from the database: their settings changed."""
        self._inboxes.clear()
        self._hours.clear()

    async def accept(self, contact: InboundContact) -> Accepted:
        """Store a contact exactly once, thread it, queue it; committed when this returns."""
        traits = self._channels[contact.channel]  # an unregistered channel stops here
        if self._mask_cards:
            contact = masked(contact)
        for attempt in range(3):
            try:
                # Duplicates are rare, so the first pass does not look for one: the
                # message's unique (channel, external_id) refuses a copy and rolls
                # back everything the pass wrote, and the next pass finds the original.
                accepted, waiting, events = await self._store(
                    contact, traits, seen_before=attempt > 0
                )
                break
            except IntegrityError:
                # A copy of this contact (or a new customer's first two messages,
                # racing) was stored first; the next pass finds what it stored.
                continue
        else:
            raise RuntimeError(f"could not store {contact.channel}:{contact.external_id}")
        if accepted.duplicate:
            self._metrics.inc("switchboard_contacts_duplicate_total", channel=contact.channel)
            await self._queue_if_stranded(accepted.conversation_id)
            return accepted
        self._metrics.inc("switchboard_contacts_accepted_total", channel=contact.channel)
        await self._announce(waiting, events)
        return accepted

    async def _queue_if_stranded(self, conversation_id: int) -> None:
        """A copy of a stored contact: the provider retries when the first answer failed,
        perhaps after the commit but before the push. Waiting in the database but not in
        the live queue: put it in line now."""
        async with self._sessions() as session:
            entry = await session.scalar(
                select(QueueEntry)
                .join(Conversation, Conversation.id == QueueEntry.conversation_id)
                .where(
                    QueueEntry.conversation_id == conversation_id,
                    Conversation.status == ConversationStatus.QUEUED,
                )
            )
        if entry is None or await self._queue.contains(conversation_id):
            return
        log.warning("conversation %s was stored but not queued; queued now", conversation_id)
        await self._queue.push(waiting_contact(entry))
        await self._bus.publish(ContactQueued(conversation_id, entry.channel))

    async def _store(
        self, contact: InboundContact, traits: ChannelTraits, *, seen_before: bool
    ) -> tuple[Accepted, WaitingContact | None, list[DomainEvent]]:
        # The hot path: every chat line, SMS and mail passes here, so rows the intake
        # only writes (message, queue entry, timeline lines) go out as plain INSERTs
        # rather than through the ORM's unit of work, and lookups are single queries.
        async with self._sessions() as session, session.begin():
            if seen_before:
                stored = (await session.execute(_STORED, _key(contact))).first()
                if stored is not None:
                    message_id, conversation_id, customer_id = stored
                    duplicate = Accepted(message_id, conversation_id, customer_id, duplicate=True)
                    return duplicate, None, []
            inbox = self._inboxes.get((contact.channel, contact.inbox))
            if inbox is None:
                inbox, created = await _inbox(session, contact)
                if not created:  # a new one exists only once this commits: not yet
                    self._inboxes[(contact.channel, contact.inbox)] = inbox
            customer = await _customer(session, contact, traits, inbox, self._resolver)
            conversation, is_new = await _conversation(
                session, contact, traits, inbox, customer, self._rules
            )
            connection = await session.connection()
            message_id = await connection.scalar(
                _ADD_MESSAGE,
                {
                    "conversation_id": conversation.id,
                    "channel": contact.channel,
                    "direction": "incoming",
                    "external_id": contact.external_id,
                    "sender": contact.sender,
                    "subject": contact.subject,
                    "text": contact.text,
                    "full_text": contact.full_text,
                    "attachments": [a.__dict__ for a in contact.attachments],
                    "raw": contact.raw,
                    "created_at": contact.received_at,
                },
            )
            assert message_id is not None
            await crm.append(
                session,
                customer_id=customer.id,
                conversation_id=conversation.id,
                kind="contact.received",
                summary=contact.subject or contact.text,
                channel=contact.channel,
            )
            waiting = None
            events: list[DomainEvent] = []
            if customer.created:
                events.append(CustomerCreated(customer_id=customer.id, channel=contact.channel))
            if is_new:
                assert isinstance(conversation, Conversation)
                conversation.waits_from = await self._opening(session, contact, conversation)
                waiting = await _enqueue(session, conversation)
                events.append(
                    ContactQueued(conversation.id, contact.channel, customer_id=customer.id)
                )
            events.append(
                MessageReceived(
                    message_id=message_id,
                    agent_id=conversation.agent_id,
                    conversation_id=conversation.id,
                    customer_id=customer.id,
                    channel=contact.channel,
                )
            )
            for event in events:  # for webhooks, committed with the contact
                await outbox.add(session, event, customer.id)
            accepted = Accepted(
                message_id,
                conversation.id,
                customer.id,
                queued=waiting is not None,
                agent_id=conversation.agent_id,
            )
            return accepted, waiting, events

    async def _opening(
        self, session: AsyncSession, contact: InboundContact, conversation: Conversation
    ) -> datetime | None:
        """When a contact that arrived while its team is closed starts waiting: the next
        opening (service level and queue time limits count from then); None when open."""
        queue = conversation.required_skill or GENERAL_QUEUE
        key = (contact.channel, contact.inbox, queue)
        if key not in self._hours:
            self._hours[key] = await hours_of(
                session, channel=contact.channel, inbox=contact.inbox, queue=queue
            )
        schedule = self._hours[key]
        if schedule is None or is_open(schedule, contact.received_at):
            return None
        return next_opening(schedule, contact.received_at)

    async def _announce(self, waiting: WaitingContact | None, events: list[DomainEvent]) -> None:
        if waiting is not None:
            await self._queue.push(waiting)
        for event in events:
            await self._bus.publish(event)


@dataclass(frozen=True)
class InboxInfo:
    """What intake needs of an inbox: where contacts go, and what they ask of an agent."""

    id: int
    skill: str | None
    skill_level: int | None
    language: str


@dataclass(frozen=True)
class _Customer:
    """Who wrote, and the conversation they have open on this inbox, if the lookup saw one."""

    id: int
    segment: str
    open_conversation: int | None = None
    created: bool = False  # new with this contact


@dataclass(frozen=True)
class _Ongoing:
    """An open conversation the contact goes on with."""

    id: int
    agent_id: int | None


def _open_conversation(
    customer: ColumnElement[int] | QueryableAttribute[int],
) -> Select[tuple[int]]:
    """The open conversation a contact on `inbox_id` goes on with. On a `per_address`
    channel (chat visitors who gave the same email are one customer) each address goes
    on only in the conversation it wrote in."""
    return (
        select(Conversation.id)
        .where(
            Conversation.customer_id == customer,
            Conversation.channel == bindparam("channel"),
            Conversation.inbox_id == bindparam("inbox_id"),
            Conversation.status.in_(OPEN_STATUSES),
            or_(
                not_(bindparam("per_address", type_=Boolean)),
                select(Message.id)
                .where(
                    Message.conversation_id == Conversation.id,
                    Message.direction == "incoming",
                    Message.sender == bindparam("address"),
                )
                .exists(),
            ),
        )
        .order_by(Conversation.id.desc())
        .limit(1)
    )


_OPEN_CONVERSATION = _open_conversation(bindparam("customer"))
# The hot path's one lookup: the customer behind an address, locked (see `_customer`),
# with their open conversation. Statements built once: building one costs more CPU
# than running it.
_CUSTOMER_BY_ADDRESS = (
    select(
        Customer.id,
        Customer.name,
        Customer.segment,
        _open_conversation(Customer.id).correlate(Customer).scalar_subquery(),
    )
    .join(CustomerAddress, CustomerAddress.customer_id == Customer.id)
    .where(
        CustomerAddress.channel == bindparam("channel"),
        CustomerAddress.address == bindparam("address"),
    )
    .with_for_update(of=Customer, key_share=True)  # PostgreSQL: FOR NO KEY UPDATE
)
_NAME = (
    update(Customer)
    .where(Customer.id == bindparam("customer"))
    .values(
        name=bindparam("name"),
        name_key=bindparam("name_key"),
        surname_key=bindparam("surname_key"),
    )
    .execution_options(synchronize_session=False)
)
_TOUCH = (
    update(Conversation)
    .where(Conversation.id == bindparam("conversation"))
    .values(updated_at=bindparam("touched_at"))
    .returning(Conversation.agent_id)
)
_ADD_MESSAGE = insert(Message).returning(Message.id)
_STORED = (
    select(Message.id, Message.conversation_id, Conversation.customer_id)
    .join(Conversation, Conversation.id == Message.conversation_id)
    .where(Message.channel == bindparam("channel"), Message.external_id == bindparam("external_id"))
)


def _key(contact: InboundContact) -> dict[str, str]:
    return {"channel": contact.channel, "external_id": contact.external_id}


async def _inbox(session: AsyncSession, contact: InboundContact) -> tuple[InboxInfo, bool]:
    """The inbox the contact reached, and whether this transaction created it."""
    inbox = await session.scalar(
        select(Inbox).where(Inbox.channel == contact.channel, Inbox.address == contact.inbox)
    )
    created = inbox is None
    if inbox is None:
        inbox = Inbox(channel=contact.channel, address=contact.inbox, name=contact.inbox)
        session.add(inbox)
        await session.flush()
    return InboxInfo(inbox.id, inbox.skill, inbox.skill_level, inbox.language), created


async def _customer(
    session: AsyncSession,
    contact: InboundContact,
    traits: ChannelTraits,
    inbox: InboxInfo,
    resolver: CustomerResolver | None = None,
) -> _Customer:
    # Contacts from one customer take turns until commit (a row lock on PostgreSQL,
    # the write lock on SQLite), so two at once cannot both open a conversation. The
    # lock is FOR NO KEY UPDATE, as an UPDATE takes: a plain FOR UPDATE would also block
    # the key-share locks every foreign key check on the customer takes, and deadlock
    # with an agent's reply that holds the conversation and writes the timeline.
    connection = await session.connection()
    known = (
        await connection.execute(
            _CUSTOMER_BY_ADDRESS,
            {
                "channel": contact.channel,
                "address": contact.sender,
                "inbox_id": inbox.id,
                "per_address": traits.per_address,
            },
        )
    ).first()
    if known is not None:
        customer_id, name, segment, open_conversation = known
        if contact.sender_name and not name:
            name = contact.sender_name
            await connection.execute(
                _NAME,
                {
                    "customer": customer_id,
                    "name": name,
                    "name_key": name_key(name),
                    "surname_key": surname_key(name),
                },
            )
        return _Customer(customer_id, segment, open_conversation)
    # An address not seen before: maybe someone known (by another address, or by name).
    identity = Identity()
    if resolver is not None:
        identity = resolver.resolve(contact.channel, contact.sender, contact.sender_name)
        linked = await link_known(session, contact, identity)
        if linked is not None:
            return _Customer(linked.id, linked.segment)
    customer = Customer(name=contact.sender_name)
    session.add(customer)
    await session.flush()
    note_possible(session, customer, identity)
    await add_address(
        session, customer, contact, "customer.created", f"First contact on {contact.channel}"
    )
    return _Customer(customer.id, customer.segment, created=True)


async def _conversation(
    session: AsyncSession,
    contact: InboundContact,
    traits: ChannelTraits,
    inbox: InboxInfo,
    customer: _Customer,
    rules: RequirementRules | None = None,
) -> tuple[Conversation | _Ongoing, bool]:
    ongoing: int | None
    if traits.threaded:
        ongoing = await _thread(session, contact, customer.id)
    elif customer.open_conversation is not None:
        ongoing = customer.open_conversation
    else:
        # Looked for again, now that the customer is locked: on PostgreSQL, the lookup's
        # snapshot predates the lock, and so any conversation the previous holder opened.
        ongoing = await (await session.connection()).scalar(
            _OPEN_CONVERSATION,
            {
                "customer": customer.id,
                "channel": contact.channel,
                "inbox_id": inbox.id,
                "address": contact.sender,
                "per_address": traits.per_address,
            },
        )
    if ongoing is not None:
        connection = await session.connection()
        agent_id = await connection.scalar(
            _TOUCH, {"conversation": ongoing, "touched_at": contact.received_at}
        )
        return _Ongoing(ongoing, agent_id), False
    if not contact.needs_agent:
        return await _closed_conversation(session, contact, inbox, customer), False
    needs = _requirements(contact, inbox, customer, rules)
    conversation = Conversation(
        customer_id=customer.id,
        inbox_id=inbox.id,
        channel=contact.channel,
        status="queued",
        required_skill=needs.skill,
        min_level=needs.min_level,
        routing_rules=list(needs.reasons),
        language=contact.language or inbox.language,
        priority=needs.priority,
        subject=contact.subject or contact.text[:120],
        thread_key=_thread_key(contact) if traits.threaded else None,
        created_at=contact.received_at,
        updated_at=contact.received_at,
    )
    session.add(conversation)
    await session.flush()
    if traits.threaded:
        await _thread_of_another(session, contact, conversation)
    return conversation, True


def _requirements(
    contact: InboundContact, inbox: InboxInfo, customer: _Customer, rules: RequirementRules | None
) -> Requirements:
    """The skill and level the customer chose, else the inbox's, unless routing's rules
    (keywords, segment) say more."""
    if contact.skill is not None:
        asked = Requirements(contact.skill, contact.min_level)
    else:
        asked = Requirements(inbox.skill, inbox.skill_level or 1)
    if rules is None:
        vip = customer.segment == "vip"
        return Requirements(asked.skill, asked.min_level, VIP_PRIORITY if vip else 0)
    return rules.requirements(f"{contact.subject}\n{contact.text}", customer.segment, asked)


async def _thread(session: AsyncSession, contact: InboundContact, customer_id: int) -> int | None:
    """The customer's open conversation the contact continues: the one the channel verified,
    else one its thread hints name, else the one the sender named. Never someone else's."""
    for choice in (
        _conversation_is(contact.answers_conversation),
        _hinted(contact),
        _conversation_is(contact.names_conversation),
    ):
        if choice is None:
            continue
        conversation: int | None = await session.scalar(
            select(Conversation.id)
            .where(
                choice,
                Conversation.customer_id == customer_id,
                # A web chat that went on by email takes the customer's answers too.
                or_(
                    Conversation.channel == contact.channel,
                    Conversation.reply_channel == contact.channel,
                ),
                Conversation.status.in_(OPEN_STATUSES),
            )
            .order_by(Conversation.id.desc())
            .limit(1)
        )
        if conversation is not None:
            return conversation
    return None


async def _thread_of_another(
    session: AsyncSession, contact: InboundContact, conversation: Conversation
) -> None:
    """Note on the thread owner's record that someone else (say a CC) answered in it."""
    for choice in (_conversation_is(contact.answers_conversation), _hinted(contact)):
        if choice is None:
            continue
        owner: Conversation | None = await session.scalar(
            select(Conversation)
            .where(
                choice,
                Conversation.customer_id != conversation.customer_id,
                Conversation.channel == contact.channel,
            )
            .order_by(Conversation.id.desc())
            .limit(1)
        )
        if owner is not None:
            crm.record(
                session,
                customer_id=owner.customer_id,
                conversation_id=owner.id,
                kind="thread.answered_by_other",
                summary=f"{contact.sender} answered in this thread"
                f" (kept apart as conversation #{conversation.id})",
                channel=contact.channel,
                other_conversation_id=conversation.id,
            )
            return


def _conversation_is(conversation_id: int | None) -> ColumnElement[bool] | None:
    return None if conversation_id is None else Conversation.id == conversation_id


def _hinted(contact: InboundContact) -> ColumnElement[bool] | None:
    """Conversations holding a message the contact's thread hints name, or keyed by one."""
    if not contact.thread_hints:
        return None
    hints = list(contact.thread_hints)
    named = select(Message.conversation_id).where(
        Message.channel == contact.channel,
        or_(Message.external_id.in_(hints), Message.provider_id.in_(hints)),
    )
    return or_(Conversation.id.in_(named), Conversation.thread_key.in_(hints))


def _thread_key(contact: InboundContact) -> str:
    """A threaded conversation is keyed by its thread's first message id."""
    return (contact.thread_hints[:1] or (contact.external_id,))[0][:200]


async def _closed_conversation(
    session: AsyncSession, contact: InboundContact, inbox: InboxInfo, customer: _Customer
) -> Conversation:
    """A conversation that starts and ends with one message nobody needs to answer."""
    conversation = Conversation(
        customer_id=customer.id,
        inbox_id=inbox.id,
        channel=contact.channel,
        status="closed",
        disposition="automatic",
        subject=contact.subject or contact.text[:120],
        created_at=contact.received_at,
        updated_at=contact.received_at,
        closed_at=contact.received_at,
    )
    session.add(conversation)
    await session.flush()
    return conversation


async def _enqueue(session: AsyncSession, conversation: Conversation) -> WaitingContact:
    entry = QueueEntry(
        conversation_id=conversation.id,
        channel=conversation.channel,
        required_skill=conversation.required_skill,
        priority=conversation.priority,
        enqueued_at=conversation.created_at,
        entered_at=conversation.waits_from,
        declined_by=[],
        customer_id=conversation.customer_id,
        language=conversation.language,
        min_level=conversation.min_level or 1,
        rules=list(conversation.routing_rules or ()),
    )
    session.add(entry)
    await crm.append(
        session,
        customer_id=conversation.customer_id,
        conversation_id=conversation.id,
        kind="conversation.queued",
        summary="Waiting for an agent",
    )
    return waiting_contact(entry)


def waiting_contact(entry: QueueEntry) -> WaitingContact:
    return WaitingContact(
        conversation_id=entry.conversation_id,
        channel=entry.channel,
        required_skill=entry.required_skill,
        priority=entry.priority,
        enqueued_at=entry.enqueued_at.timestamp(),
        declined_by=frozenset(entry.declined_by),
        customer_id=entry.customer_id,
        language=entry.language or "en",
        min_level=entry.min_level or 1,
        entered_at=entry.entered_at.timestamp() if entry.entered_at else None,
        reasons=tuple(entry.rules or ()),
        declined_at=entry.declined_at.timestamp() if entry.declined_at else None,
    )


def masked(contact: InboundContact) -> InboundContact:
    """The contact with card numbers masked in everything of it that is stored."""
    return dataclasses.replace(
        contact,
        text=mask_cards(contact.text),
        subject=mask_cards(contact.subject),
        full_text=None if contact.full_text is None else mask_cards(contact.full_text),
        raw=None if contact.raw is None else mask_cards(contact.raw),
    )
