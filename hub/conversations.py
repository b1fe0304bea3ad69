"""What an agent does inside a conversation: reply, note, wrap up."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm, outbox
from hub.api_models.whatsapp_templates import VARIABLE, variables_in
from hub.bus import EventBus
from hub.channel_traits import ChannelRegistry, ChannelTraits
from hub.contacts import ChannelAdapter, OutboundMessage
from hub.db import Sessions
from hub.events import (
    ConversationAbandoned,
    ConversationClosed,
    ConversationSeen,
    MessageSent,
    OfferWithdrawn,
)
from hub.metrics import Metrics
from hub.models import (
    WAITING_STATUSES,
    Agent,
    Conversation,
    ConversationStatus,
    CustomerAddress,
    Inbox,
    Message,
    Offer,
    QueueEntry,
    WhatsAppTemplate,
    WrapUpCode,
    utcnow,
)
from hub.queue import ContactQueue
from hub.reply_channels import reply_channels

MAX_REPLY = 20_000
log = logging.getLogger(__name__)
# A conversation nobody has answered yet: the customer can still abandon it.


class ConversationError(Exception):
    """An agent action that cannot be done; the message says why, for the agent."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Sent:
    message_id: int
    delivery_status: str


class Conversations:
    def __init__(
        self,
        sessions: Sessions,
        queue: ContactQueue,
        bus: EventBus,
        adapters: Mapping[str, ChannelAdapter],
        metrics: Metrics,
        channels: ChannelRegistry,
        signed: frozenset[str] = frozenset({"email"}),
    ) -> None:
        missing = [name for name in channels.names() if name not in adapters]
        if missing:
            raise ValueError(f"no adapter sends on the channels {', '.join(missing)}")
        self._channels = channels
        self._signed = signed
        self._sessions = sessions
        self._queue = queue
        self._bus = bus
        self._adapters = adapters
        self._metrics = metrics

    async def reply(
        self,
        agent_id: int,
        conversation_id: int,
        text: str,
        channel: str | None = None,
        *,
        cc: Sequence[str] = (),
        bcc: Sequence[str] = (),
        template_id: int | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Sent:
        """Store an agent's reply, then send it on the conversation's channel, or on
        `channel` to the customer's address there (a missed call answered by SMS); an
        email also to the `cc` and `bcc` addresses. With `template_id`, an approved
        WhatsApp template with its `variables` goes instead of text."""
        if template_id is None:
            text = _clean(text)
        elif text.strip():
            raise ConversationError("Send either a text or a template, not both.", 400)
        async with self._sessions() as session, session.begin():
            conversation, agent = await _owned(session, agent_id, conversation_id)
            route = await _switched_route(session, conversation, channel, self._channels)
            copies = _Copies(tuple(cc), tuple(bcc))
            template = (
                None
                if template_id is None
                else await _template(session, template_id, variables or {})
            )
            outbound, message = await _outgoing(
                session,
                conversation,
                agent,
                text,
                self._channels,
                route,
                copies,
                self._signed,
                template,
            )
        delivery = await self._deliver(outbound)
        async with self._sessions() as session, session.begin():
            # Only while still queued: a status callback from the provider, or the customer
            # reading it, may have come first and knows better. One conditional UPDATE, so
            # a "read" stored meanwhile is never overwritten.
            await session.execute(
                update(Message)
                .where(Message.id == message.id, Message.delivery_status == "queued")
                .values(delivery_status=delivery.status)
            )
            stored = await session.get(Message, message.id)
            assert stored is not None
            stored.provider_id = stored.provider_id or delivery.provider_id
            stored.delivery_detail = delivery.detail[:500] or stored.delivery_detail
            # Written once the channel answered, so the timeline never says "sent" for a
            # reply that did not go.
            failed = delivery.status == "failed"
            crm.record(
                session,
                customer_id=conversation.customer_id,
                conversation_id=conversation.id,
                agent_id=agent_id,
                kind="reply.failed" if failed else "reply.sent",
                summary=text,
                channel=outbound.channel,
                **({"reason": delivery.detail[:500]} if failed else {}),
            )
            sent = MessageSent(
                conversation_id=conversation.id,
                message_id=message.id,
                agent_id=agent_id,
                channel=outbound.channel,
                delivery_status=delivery.status,
            )
            await outbox.add(session, sent, conversation.customer_id)
        if failed:
            log.warning(
                "reply %d on %s not delivered: %s", message.id, outbound.channel, delivery.detail
            )
        self._metrics.inc("switchboard_replies_total", channel=outbound.channel)
        await self._bus.publish(sent)
        return Sent(message.id, delivery.status)

    async def note(self, agent_id: int, conversation_id: int, text: str) -> int:
        """A private note: on the record, never sent to the customer."""
        text = _clean(text)
        async with self._sessions() as session, session.begin():
            conversation, _agent = await _owned(session, agent_id, conversation_id)
            message = Message(
                conversation_id=conversation.id,
                channel=conversation.channel,
                direction="note",
                agent_id=agent_id,
                text=text,
                delivery_status="internal",
            )
            session.add(message)
            crm.record(
                session,
                customer_id=conversation.customer_id,
                conversation_id=conversation.id,
                agent_id=agent_id,
                kind="note.added",
                summary=text,
            )
            await session.flush()
            return message.id

    async def seen(self, agent_id: int, conversation_id: int, message_id: int) -> int | None:
        """The agent has seen the customer's messages up to `message_id`: mark them read
        and tell the customer's channel. The newest message now read, None if none moved."""
        async with self._sessions() as session, session.begin():
            conversation, _agent = await _owned(session, agent_id, conversation_id)
            unread = list(
                await session.scalars(
                    select(Message)
                    .where(
                        Message.conversation_id == conversation.id,
                        Message.direction == "incoming",
                        Message.id <= message_id,
                        Message.delivery_status == "received",
                    )
                    .order_by(Message.id)
                )
            )
            for message in unread:
                message.delivery_status = "read"
        if not unread:
            return None
        newest = unread[-1]
        await self._bus.publish(
            ConversationSeen(
                conversation_id=conversation_id,
                message_id=newest.id,
                agent_id=agent_id,
                channel=newest.channel,
                address=newest.sender,
            )
        )
        return newest.id

    async def close(
        self, agent_id: int, conversation_id: int, disposition: str, summary: str = ""
    ) -> None:
        """Wrap up: record the outcome on the customer's record and free the agent's capacity."""
        async with self._sessions() as session, session.begin():
            conversation, _agent = await _owned(session, agent_id, conversation_id)
            outcome = await _wrap_up_code(session, disposition.strip() or "resolved")
            conversation.status = "closed"
            conversation.closed_at = utcnow()
            conversation.disposition = outcome.code
            conversation.summary = summary[:2000]
            crm.record(
                session,
                customer_id=conversation.customer_id,
                conversation_id=conversation.id,
                agent_id=agent_id,
                kind="conversation.closed",
                summary=summary or outcome.label,
                disposition=conversation.disposition,
            )
            channel = conversation.channel
            closed = ConversationClosed(conversation_id=conversation_id, agent_id=agent_id)
            await outbox.add(session, closed, conversation.customer_id)
        await self._queue.release(agent_id, channel)
        await self._bus.publish(closed)

    async def notify(
        self,
        conversation_id: int,
        text: str,
        headers: tuple[tuple[str, str], ...] = (),
        once: str | None = None,
    ) -> str:
        """Tell the customer something no agent wrote (the queue is full, say), on the
        conversation's channel; the delivery status ("failed" where it cannot be sent).
        `headers` go with it where the channel carries them (email); with `once`, a key
        for this message, it is sent at most once ("duplicate" when it was already)."""
        try:
            async with self._sessions() as session, session.begin():
                conversation = await session.get(Conversation, conversation_id)
                if conversation is None:
                    return "failed"
                try:
                    outbound, message = await _outgoing(
                        session, conversation, _hub_sender(), text, self._channels
                    )
                except ConversationError:
                    return "failed"
                if once is not None:
                    # The (channel, external_id) key keeps it once, whichever process sends.
                    message.external_id = once
                    await session.flush()
                outbound = dataclasses.replace(outbound, headers=headers)
                crm.record(
                    session,
                    customer_id=conversation.customer_id,
                    conversation_id=conversation.id,
                    kind="reply.automatic",
                    summary=text,
                    channel=outbound.channel,
                )
        except IntegrityError:
            return "duplicate"
        delivery = await self._deliver(outbound)
        async with self._sessions() as session, session.begin():
            stored = await session.get(Message, message.id)
            assert stored is not None
            if stored.delivery_status == "queued":
                stored.delivery_status = delivery.status
            stored.provider_id = stored.provider_id or delivery.provider_id
            stored.delivery_detail = delivery.detail[:500] or stored.delivery_detail
        return delivery.status

    async def abandon(self, conversation_id: int, reason: str) -> bool:
        """The customer gave up before any agent answered: end the conversation as abandoned.

        It leaves the queue and a pending offer is withdrawn. Channels call this when a
        caller hangs up or a chat visitor leaves while waiting; the router calls it when a
        queue's time limit runs out with nowhere to overflow. False, and nothing changes,
        when an agent already answered or the conversation had ended.
        """
        try:
            withdrawn, channel, abandoned = await self._end_unanswered(conversation_id, reason)
        except _Answered:
            return False
        await self._queue.remove(conversation_id)
        for offer_id, agent_id in withdrawn:
            await self._queue.release(agent_id, channel)
            await self._bus.publish(
                OfferWithdrawn(
                    offer_id=offer_id,
                    conversation_id=conversation_id,
                    agent_id=agent_id,
                )
            )
        self._metrics.inc("switchboard_conversations_abandoned_total", channel=channel)
        await self._bus.publish(abandoned)
        return True

    async def abandon_answered(self, conversation_id: int, reason: str) -> bool:
        """The customer left just as an agent took it (a caller who hung up while being put
        through): end it as abandoned and free the agent. False, and nothing changes, when
        it is no longer assigned (the agent closed or transferred it at that moment)."""
        async with self._sessions() as session, session.begin():
            now = utcnow()
            # Conditional, so an agent closing or transferring it at this moment wins.
            ended = await session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.status == "assigned")
                .values(status="abandoned", disposition="abandoned", closed_at=now, updated_at=now)
                .returning(Conversation.agent_id, Conversation.customer_id, Conversation.channel)
            )
            row = ended.first()
            if row is None:
                return False
            agent_id, customer_id, channel = row
            _record_abandoned(session, customer_id, conversation_id, reason, agent_id)
            closed = ConversationClosed(
                conversation_id=conversation_id, agent_id=agent_id, why=reason
            )
            await outbox.add(session, closed, customer_id)
        if agent_id is not None:
            await self._queue.release(agent_id, channel)
        await self._bus.publish(closed)
        return True

    async def abandon_waiting(self, channel: str, address: str, reason: str) -> int:
        """Abandon whatever the customer at this address still waits for on a channel."""
        async with self._sessions() as session:
            waiting = list(
                await session.scalars(
                    select(Conversation.id)
                    .join(CustomerAddress, CustomerAddress.customer_id == Conversation.customer_id)
                    .where(
                        CustomerAddress.channel == channel,
                        CustomerAddress.address == address,
                        Conversation.channel == channel,
                        Conversation.status.in_(WAITING_STATUSES),
                    )
                )
            )
        return sum([await self.abandon(conversation_id, reason) for conversation_id in waiting])

    async def customer_left(self, channel: str, address: str, reason: str) -> bool:
        """The customer at this address went away: abandon what they still wait for.

        True while an agent still holds one of their conversations on the channel: should
        it come back to the queue (the agent left), nobody is there to answer any more,
        so the caller asks again later and it is abandoned then.
        """
        # Whether an agent holds one is read before abandoning what waits: a chat handed
        # back to the queue in between is then abandoned now or on the next ask, never
        # missed by both.
        async with self._sessions() as session:
            held = await session.scalar(
                select(Conversation.id)
                .join(CustomerAddress, CustomerAddress.customer_id == Conversation.customer_id)
                .where(
                    CustomerAddress.channel == channel,
                    CustomerAddress.address == address,
                    Conversation.channel == channel,
                    Conversation.status == ConversationStatus.ASSIGNED,
                )
                .limit(1)
            )
        await self.abandon_waiting(channel, address, reason)
        return held is not None

    async def _end_unanswered(
        self, conversation_id: int, reason: str
    ) -> tuple[list[tuple[int, int]], str, ConversationAbandoned]:
        """Mark an unanswered conversation abandoned; the offers withdrawn, its channel and
        the event saying so (written to the webhook outbox with the change)."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            # Offers first, in the same order as OfferBook.accept, so the two never deadlock
            # and an accept racing this one either wins (and we change nothing) or finds
            # its offer gone.
            withdrawn = (
                await session.execute(
                    update(Offer)
                    .where(Offer.conversation_id == conversation_id, Offer.status == "pending")
                    .values(status="withdrawn", decided_at=now)
                    .returning(Offer.id, Offer.agent_id)
                )
            ).all()
            claimed = await session.execute(
                update(Conversation)
                .where(
                    Conversation.id == conversation_id, Conversation.status.in_(WAITING_STATUSES)
                )
                .values(status="abandoned", disposition="abandoned", closed_at=now, updated_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise _Answered
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            await session.execute(
                delete(QueueEntry).where(QueueEntry.conversation_id == conversation_id)
            )
            _record_abandoned(session, conversation.customer_id, conversation_id, reason)
            abandoned = ConversationAbandoned(
                conversation_id=conversation_id, channel=conversation.channel, reason=reason
            )
            await outbox.add(session, abandoned, conversation.customer_id)
            return [(o, a) for o, a in withdrawn], conversation.channel, abandoned

    async def _deliver(self, outbound: OutboundMessage) -> _Delivery:
        adapter = self._adapters.get(outbound.channel)
        if adapter is None:
            return _Delivery("failed", None, f"no {outbound.channel} channel configured")
        try:
            delivery = await adapter.send(outbound)
        except Exception as exc:  # noqa: BLE001 - a failed send is recorded, never lost
            return _Delivery("failed", None, f"{type(exc).__name__}: {exc}")
        return _Delivery(delivery.status, delivery.provider_id, delivery.detail)


class _Answered(Exception):
    """An agent answered (or the conversation ended) before the customer left."""


@dataclass(frozen=True)
class _Delivery:
    status: str
    provider_id: str | None
    detail: str = ""  # what the provider answered, or why sending failed


async def _wrap_up_code(session: AsyncSession, code: str) -> WrapUpCode:
    """The admin-defined outcome `code` names; refused when unknown or retired."""
    found = await session.scalar(select(WrapUpCode).where(WrapUpCode.code == code[:64]))
    if found is None or found.retired_at is not None:
        in_use = await session.scalars(
            select(WrapUpCode.code).where(WrapUpCode.retired_at.is_(None)).order_by(WrapUpCode.id)
        )
        raise ConversationError(
            f"{code} is not a wrap-up code in use; choose one of: {', '.join(in_use)}.", 400
        )
    return found


def no_copies(traits: ChannelTraits) -> str:
    """Why a message on a channel without CC and BCC cannot have them."""
    return f"{traits.label} goes to the customer alone: CC and BCC are for email."


def _clean(text: str) -> str:
    text = text.strip()
    if not text:
        raise ConversationError("The message is empty.", 400)
    if len(text) > MAX_REPLY:
        raise ConversationError(f"The message is longer than {MAX_REPLY} characters.", 400)
    return text


async def _owned(
    session: AsyncSession, agent_id: int, conversation_id: int
) -> tuple[Conversation, Agent]:
    conversation = await session.get(Conversation, conversation_id)
    agent = await session.get(Agent, agent_id)
    if conversation is None or agent is None or conversation.agent_id != agent_id:
        # The same answer for "missing" and "not yours", so ids cannot be probed.
        raise ConversationError("No such conversation assigned to you.", 404)
    if conversation.status != "assigned":
        raise ConversationError(f"The conversation is {conversation.status}.")
    return conversation, agent


def _hub_sender() -> Agent:
    """Who automatic messages come from: no agent (the id stays None), never stored."""
    return Agent(username="switchboard", display_name="Switchboard")


async def _outgoing(
    session: AsyncSession,
    conversation: Conversation,
    agent: Agent,
    text: str,
    channels: ChannelRegistry,
    route: _Route | None = None,
    copies: _Copies | None = None,
    signed: frozenset[str] = frozenset(),
    template: _Template | None = None,
) -> tuple[OutboundMessage, Message]:
    recipient: str | None
    inbox: Inbox | None
    if route is not None:
        channel, recipient, inbox = route.channel, route.recipient, route.inbox
    else:
        channel = conversation.reply_channel or conversation.channel
        recipient, inbox = await _reply_route(session, conversation)
    if inbox is None:
        raise ConversationError(f"No {channel} inbox is configured to reply from.")
    if recipient is None:
        raise ConversationError("The customer has no address on this channel.")
    if template is None:
        await _refuse_outside_window(session, channels[channel], recipient)
    elif not channels[channel].templates:
        label = channels[channel].label
        raise ConversationError(f"{label} sends no templates: they are for WhatsApp.", 400)
    else:
        text = template.text  # approved as it is: no signature added
    copies = (copies or _Copies()).to(recipient)
    if copies.cc + copies.bcc and not channels[channel].copies:
        raise ConversationError(no_copies(channels[channel]), 400)
    thread_hints = await _thread_ids(session, conversation)
    sent = _signed(text, agent, inbox) if channel in signed and template is None else text
    message = Message(
        conversation_id=conversation.id,
        channel=channel,
        direction="outgoing",
        agent_id=agent.id,
        sender=agent.display_name or agent.username,
        subject=conversation.subject,
        text=text,
        # What the customer received, when more than what the agent wrote (signatures).
        full_text=sent if sent != text else None,
        delivery_status="queued",
        cc=list(copies.cc),
        bcc=list(copies.bcc),
    )
    session.add(message)
    await session.flush()
    outbound = OutboundMessage(
        message_id=message.id,
        conversation_id=conversation.id,
        channel=channel,
        inbox=inbox.address,
        recipient=recipient,
        text=sent,
        agent_name=agent.display_name or agent.username,
        subject=conversation.subject,
        thread_hints=thread_hints,
        cc=copies.cc,
        bcc=copies.bcc,
        content_sid=template.content_sid if template else "",
        content_variables=template.variables if template else (),
    )
    return outbound, message


@dataclass(frozen=True)
class _Template:
    content_sid: str
    variables: tuple[tuple[str, str], ...]
    text: str  # the body with its variables filled in: what the customer reads


async def _template(
    session: AsyncSession, template_id: int, variables: Mapping[str, str]
) -> _Template:
    """The admin-listed template with every {{n}} of its body filled in; 400 naming the
    variable that is missing, unknown or not one line."""
    found = await session.get(WhatsAppTemplate, template_id)
    if found is None:
        raise ConversationError(f"template_id: there is no WhatsApp template {template_id}.", 400)
    needed = variables_in(found.body)
    unknown = sorted(set(variables) - set(needed))
    if unknown:
        raise ConversationError(
            f"variables.{unknown[0]}: {found.name} has no variable {{{{{unknown[0]}}}}}.", 400
        )
    values: dict[str, str] = {}
    for number in needed:
        value = variables.get(number, "").strip()
        if not value:
            raise ConversationError(
                f"variables.{number}: fill in {{{{{number}}}}} of {found.name}.", 400
            )
        # WhatsApp refuses a variable with a line break or a tab in it.
        if any(c in value for c in "\n\r\t") or len(value) > 1024:
            raise ConversationError(
                f"variables.{number}: one line of at most 1024 characters, no tabs.", 400
            )
        values[number] = value
    text = VARIABLE.sub(lambda m: values[m.group(1)], found.body)
    return _Template(found.content_sid, tuple(values.items()), text)


def _signed(text: str, agent: Agent, inbox: Inbox) -> str:
    """The text with the agent's signature, then the inbox's, under the usual "-- " line
    mail programs recognise (and fold, or leave out of quotes)."""
    signatures = [s.strip() for s in (agent.signature, inbox.signature) if s and s.strip()]
    return "\n\n-- \n".join([text, "\n\n".join(signatures)]) if signatures else text


async def window_closes_at(
    session: AsyncSession, traits: ChannelTraits, recipient: str
) -> datetime | None:
    """When the channel stops taking free-form replies to `recipient`: its reply window
    after the customer's last message there (WhatsApp: 24 hours); None if they never
    wrote on it. Only for channels with a window."""
    last: datetime | None = await session.scalar(
        select(Message.created_at)
        .where(
            Message.channel == traits.name,
            Message.direction == "incoming",
            Message.sender == recipient,
        )
        .order_by(Message.created_at.desc())
        .limit(1)
    )
    return None if last is None else last + timedelta(hours=traits.reply_window_hours)


async def _refuse_outside_window(
    session: AsyncSession, traits: ChannelTraits, recipient: str
) -> None:
    """Refuse, before sending, a reply the channel would turn down for coming too long
    after the customer last wrote on it (WhatsApp's 24-hour window)."""
    hours = traits.reply_window_hours
    if not hours:
        return
    closes = await window_closes_at(session, traits, recipient)
    now = utcnow()
    if closes is not None and now <= closes:
        return
    if closes is None:
        why = "this customer has never written there"
    else:
        why = (
            f"the window closed at {closes:%Y-%m-%d %H:%M} UTC, {hours} hours after the "
            f"customer's last message ({_ago(now - closes + timedelta(hours=hours))})"
        )
    templates = " send an approved template," if traits.templates else ""
    raise ConversationError(
        f"{traits.label} takes a free-form reply only within {hours} hours of the "
        f"customer's last {traits.label} message, and {why}. Instead:{templates} answer "
        "on another channel, or wait for them to write again."
    )


def _ago(elapsed: timedelta) -> str:
    hours = int(elapsed.total_seconds() // 3600)
    return f"{hours} hours ago" if hours < 48 else f"{hours // 24} days ago"


async def _reply_route(
    session: AsyncSession, conversation: Conversation
) -> tuple[str | None, Inbox | None]:
    """Where a reply goes and the inbox it leaves from: back to the address the customer
    last wrote from (else their newest on the channel), or where the conversation moved
    (a web chat continued by email)."""
    if conversation.reply_channel:
        inbox = await session.scalar(
            select(Inbox)
            .where(Inbox.channel == conversation.reply_channel)
            .order_by(Inbox.id)
            .limit(1)
        )
        return conversation.reply_address, inbox
    # The address an agent started the conversation with, until the customer answers.
    recipient = (
        await _last_sender(session, conversation.id, conversation.channel)
        or conversation.reply_address
    )
    if recipient is None:
        recipient = await session.scalar(
            select(CustomerAddress.address)
            .where(
                CustomerAddress.customer_id == conversation.customer_id,
                CustomerAddress.channel == conversation.channel,
            )
            .order_by(CustomerAddress.id.desc())
            .limit(1)
        )
    return recipient, await session.get(Inbox, conversation.inbox_id)


async def _last_sender(session: AsyncSession, conversation_id: int, channel: str) -> str | None:
    """The address the customer last wrote from in this conversation on a channel: a
    customer may hold several chat visitors (one email given in two browsers), and a reply
    goes to the one in this conversation."""
    sender: str | None = await session.scalar(
        select(Message.sender)
        .where(
            Message.conversation_id == conversation_id,
            Message.channel == channel,
            Message.direction == "incoming",
            Message.sender != "",
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    return sender


async def _thread_ids(session: AsyncSession, conversation: Conversation) -> tuple[str, ...]:
    """The conversation's message ids, oldest first, ending with the customer's latest.

    A reply answers that last one (email: In-Reply-To, and the References chain).
    """
    rows = await session.execute(
        select(Message.direction, Message.external_id, Message.provider_id)
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.id)
    )
    ids: list[str] = []
    latest_incoming: str | None = None
    for direction, external_id, provider_id in rows:
        if direction == "incoming" and external_id:
            ids.append(latest_incoming := external_id)
        elif direction == "outgoing" and provider_id:
            ids.append(provider_id)
    if latest_incoming is not None:
        ids.remove(latest_incoming)
        ids.append(latest_incoming)
    return tuple(ids)


@dataclass(frozen=True)
class _Copies:
    """Who else an email goes to: CC (seen by all) and BCC (by no other recipient)."""

    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()

    def to(self, recipient: str) -> _Copies:
        """Without the recipient, nor anyone twice (CC wins over BCC)."""
        cc = tuple(dict.fromkeys(a for a in self.cc if a.lower() != recipient.lower()))
        taken = {a.lower() for a in (*cc, recipient)}
        bcc = tuple(dict.fromkeys(a for a in self.bcc if a.lower() not in taken))
        return _Copies(cc, bcc)


@dataclass(frozen=True)
class _Route:
    channel: str
    recipient: str
    inbox: Inbox


async def _switched_route(
    session: AsyncSession,
    conversation: Conversation,
    channel: str | None,
    channels: ChannelRegistry,
) -> _Route | None:
    """Where a reply the agent sends on another channel goes; None for the usual way."""
    if not channel or channel == (conversation.reply_channel or conversation.channel):
        return None
    reachable = {
        c.channel: c for c in await reply_channels(session, conversation.customer_id, channels)
    }
    target = reachable.get(channel)
    if target is None:
        raise ConversationError(f"The customer has no {channel} address to answer on.", 400)
    address = await _last_sender(session, conversation.id, channel) or target.address
    refusal = channels[channel].opted_out_refusal
    if refusal and (
        (target.opted_out and address == target.address)
        or await session.scalar(
            select(CustomerAddress.id).where(
                CustomerAddress.channel == channel,
                CustomerAddress.address == address,
                CustomerAddress.opted_out_at.is_not(None),
            )
        )
    ):
        raise ConversationError(refusal.format(address=address))
    # From the inbox the customer last wrote to on that channel, else the first one.
    inbox = await session.scalar(
        select(Inbox)
        .join(Conversation, Conversation.inbox_id == Inbox.id)
        .where(Conversation.customer_id == conversation.customer_id, Inbox.channel == channel)
        .order_by(Conversation.id.desc())
        .limit(1)
    ) or await session.scalar(
        select(Inbox).where(Inbox.channel == channel).order_by(Inbox.id).limit(1)
    )
    if inbox is None:
        raise ConversationError(f"No {channel} inbox is configured to reply from.")
    return _Route(channel, address, inbox)


def _record_abandoned(
    session: AsyncSession,
    customer_id: int,
    conversation_id: int,
    reason: str,
    agent_id: int | None = None,
) -> None:
    crm.record(
        session,
        customer_id=customer_id,
        conversation_id=conversation_id,
        agent_id=agent_id,
        kind="conversation.abandoned",
        summary=f"Abandoned: {reason}",
        reason=reason,
    )
