"""Customer satisfaction: once a conversation closes, ask its customer for a 1-5 rating.

The question goes out once per conversation (the survey row is unique per conversation,
so of two hub processes hearing the same close only one asks), on the conversation's
channel where that channel's surveys are turned on (SWITCHBOARD_SURVEY_CHANNELS), never
to an address that opted out: a card in the chat widget while the visitor is there, a
link to a signed page in an email, a "reply 1-5" text by SMS or WhatsApp, a keypad
question to a caller still on the line when their agent hangs up (`ask_on_call`, which
the voice channel asks as the call ends rather than once the conversation closes). The
answer and any comment land on the customer's timeline and are announced as `CsatReceived`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm, outbox
from hub.bus import EventBus
from hub.contacts import ChannelAdapter, InboundContact, OutboundMessage
from hub.db import Sessions
from hub.events import ChatSurvey, CsatReceived
from hub.loops import Background
from hub.models import (
    Conversation,
    ConversationStatus,
    CustomerAddress,
    Inbox,
    Message,
    Survey,
    SurveyChannel,
    TimelineEvent,
    utcnow,
)
from hub.settings import Settings

__all__ = ["RATING_REPLY", "SurveyError", "SurveyTokens", "Surveys", "read_rating"]

# Channels a survey can go out on; on "voice" it is asked at the end of the call itself.
ASKABLE = ("chat", "email", "sms", "whatsapp", "voice")
CHANNEL_VOICE = "voice"
ON_THE_LINE = frozenset({CHANNEL_VOICE})  # asked by the channel while the customer is there
MAX_COMMENT = 2000
CHAT_QUESTION = "How did we do? Rate this chat from 1 (poor) to 5 (great)."
TEXT_QUESTION = (
    "How did we do? Reply with a number from 1 (poor) to 5 (great), and a comment if you like."
)
EMAIL_QUESTION = (
    "Thank you for contacting us. How did we do?\n\n"
    "Rate your conversation from 1 (poor) to 5 (great), with a comment if you like:\n{url}\n\n"
    "This message was sent automatically. To receive no more of these questions: {stop}\n"
)
# A text that is only a rating: one digit 1-5 (or "4/5"), then optionally a separator and
# a comment.
RATING_REPLY = re.compile(r"\s*([1-5])(?:\s*/\s*5)?(?:[\s.,:;!)/-]+(.*?))?\s*", re.DOTALL)
# "5 days late" is a complaint that starts with a number, not a 5 with a comment: a number
# followed by a quantity is left to be a contact, which an agent reads. No library tells a
# count from a score in a one-line text, so this short list of units decides.
QUANTITY = re.compile(
    r"(?:%|x\b|(?:days?|hours?|hrs?|minutes?|mins?|weeks?|months?|years?|times|items?"
    r"|pieces?|parcels?|orders?|euros?|dollars?|pounds?|calls?|emails?)\b)",
    re.IGNORECASE,
)
log = logging.getLogger(__name__)


class SurveyError(Exception):
    """An answer that cannot be recorded: `status` 404 no such survey, 409 already rated."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def read_rating(text: str) -> tuple[int, str] | None:
    """(rating, comment) when the text is a 1-5 rating, optionally followed by a comment."""
    match = RATING_REPLY.fullmatch(text)
    if match is None:
        return None
    comment = (match.group(2) or "").strip()
    if QUANTITY.match(comment) and not re.match(r"\s*[1-5]\s*[.,:;!)/-]", text):
        return None  # "5 days late", "2 hours on hold": a count, not a score
    return int(match.group(1)), comment[:MAX_COMMENT]


class SurveyTokens:
    """A conversation id plus an HMAC: the survey page's address cannot be guessed."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"survey:" + secret.encode()).digest()

    def issue(self, conversation_id: int) -> str:
        return f"{conversation_id}.{self._sign(conversation_id)}"

    def read(self, token: str) -> int | None:
        """The conversation id if the token is one we issued; None for anything else."""
        number, _, signature = token.partition(".")
        if not (number.isascii() and number.isdigit() and len(number) <= 18):
            return None
        if not signature.isascii() or not hmac.compare_digest(signature, self._sign(int(number))):
            return None
        return int(number)

    def _sign(self, conversation_id: int) -> str:
        digest = hmac.new(self._key, str(conversation_id).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode()


@dataclass(frozen=True)
class _Question:
    survey_id: int
    conversation_id: int
    channel: str
    address: str
    inbox: str
    subject: str


class Surveys:
    """Asks for ratings after conversations close and records the answers."""

    def __init__(
        self,
        sessions: Sessions,
        bus: EventBus,
        adapters: Mapping[str, ChannelAdapter],
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._adapters = adapters
        self._tokens = SurveyTokens(settings.secret_key)
        self._public_url = settings.public_url.rstrip("/")
        self._window = timedelta(seconds=settings.survey_reply_window)
        wanted = {c.strip() for c in settings.survey_channels.split(",") if c.strip()}
        unknown = wanted - set(ASKABLE)
        if unknown:
            raise ValueError(
                f"SWITCHBOARD_SURVEY_CHANNELS: no survey on {', '.join(sorted(unknown))}"
                f" (choose from {', '.join(ASKABLE)})"
            )
        self.defaults = frozenset(wanted)
        self._jobs = Background()

    @property
    def tokens(self) -> SurveyTokens:
        return self._tokens

    async def turned_on(self, session: AsyncSession) -> frozenset[str]:
        """The channels surveys go out on: the admin's choice for a channel, else the
        setting's (SWITCHBOARD_SURVEY_CHANNELS)."""
        chosen = dict(
            (await session.execute(select(SurveyChannel.channel, SurveyChannel.enabled)))
            .tuples()
            .all()
        )
        return frozenset(c for c in ASKABLE if chosen.get(c, c in self.defaults))

    async def turn(self, session: AsyncSession, choices: Mapping[str, bool]) -> None:
        """Record an admin's choice per channel, in the caller's transaction."""
        for channel, enabled in choices.items():
            if channel not in ASKABLE:
                raise ValueError(f"no survey on {channel}")
            stored = await session.get(SurveyChannel, channel)
            if stored is None:
                session.add(SurveyChannel(channel=channel, enabled=enabled))
            else:
                stored.enabled, stored.updated_at = enabled, utcnow()

    def ask_soon(self, conversation_id: int) -> None:
        """Ask in the background, so a slow mail relay holds up no other listener."""
        self._jobs.start(
            self._asked(conversation_id),
            f"asking conversation {conversation_id} for a rating failed",
        )

    async def close(self) -> None:
        """Stop questions still being sent (the survey row says whether one went)."""
        await self._jobs.close()

    async def _asked(self, conversation_id: int) -> None:
        await self.ask(conversation_id)

    async def ask(self, conversation_id: int) -> int | None:
        """Ask the customer of a closed conversation for a rating, once; the survey's id,
        or None when nobody is asked (turned off, opted out, asked already)."""
        try:
            async with self._sessions() as session, session.begin():
                question = await self._claim(session, conversation_id)
        except IntegrityError:
            return None  # another hub process asked
        if question is None:
            return None
        status = await self._send(question)
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Survey).where(Survey.id == question.survey_id).values(delivery_status=status)
            )
        return question.survey_id

    async def _claim(self, session: AsyncSession, conversation_id: int) -> _Question | None:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None or conversation.status != ConversationStatus.CLOSED:
            return None
        channel = conversation.reply_channel or conversation.channel
        if channel in ON_THE_LINE or channel not in await self.turned_on(session):
            return None
        address = conversation.reply_address or await _last_sender(session, conversation, channel)
        if address is None or await _opted_out(session, channel, address):
            return None
        inbox = await _inbox(session, conversation, channel)
        if inbox is None:
            return None
        survey = Survey(
            conversation_id=conversation.id,
            customer_id=conversation.customer_id,
            channel=channel,
            address=address,
        )
        session.add(survey)
        await session.flush()  # the unique conversation id refuses a second survey here
        crm.record(
            session,
            customer_id=conversation.customer_id,
            conversation_id=conversation.id,
            kind="survey.asked",
            summary=f"Asked for a rating by {channel}",
            channel=channel,
        )
        return _Question(
            survey.id, conversation.id, channel, address, inbox.address, conversation.subject
        )

    async def _send(self, question: _Question) -> str:
        if question.channel == "chat":
            await self._bus.publish(
                ChatSurvey(
                    visitor=question.address,
                    conversation_id=question.conversation_id,
                    question=CHAT_QUESTION,
                )
            )
            return "sent"
        adapter = self._adapters.get(question.channel)
        if adapter is None:
            return "failed"
        try:
            delivery = await adapter.send(self._outbound(question))
        except Exception as exc:  # noqa: BLE001 - a failed question is recorded, never retried
            log.warning("survey %d not sent: %s", question.survey_id, exc)
            return "failed"
        return "sent" if delivery.status not in ("failed", "opted_out") else "failed"

    def _outbound(self, question: _Question) -> OutboundMessage:
        headers: tuple[tuple[str, str], ...] = ()
        text = TEXT_QUESTION
        if question.channel == "email":
            url = self.page_url(question.conversation_id)
            stop = url + "/unsubscribe"
            text = EMAIL_QUESTION.format(url=url, stop=stop)
            headers = (
                ("Auto-Submitted", "auto-generated"),
                ("List-Unsubscribe", f"<{stop}>"),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            )
        return OutboundMessage(
            message_id=0,  # not a message of the conversation: kept on the survey row
            conversation_id=question.conversation_id,
            channel=question.channel,
            inbox=question.inbox,
            recipient=question.address,
            text=text,
            subject=question.subject or "Your conversation with us",
            headers=headers,
        )

    async def ask_on_call(self, conversation_id: int, address: str, call_sid: str) -> bool:
        """Whether the caller at `address` on call `call_sid`, whose agent just hung up,
        should hear the keypad question now: voice surveys are on, the number has not
        opted out, and this conversation was asked nothing yet, or was asked on this very
        call and not answered (Twilio retried its request)."""
        try:
            async with self._sessions() as session, session.begin():
                if CHANNEL_VOICE not in await self.turned_on(session):
                    return False
                survey = await session.scalar(
                    select(Survey).where(Survey.conversation_id == conversation_id)
                )
                if survey is not None:
                    return survey.rating is None and await _asked_on(session, survey, call_sid)
                conversation = await session.get(Conversation, conversation_id)
                if conversation is None or await _opted_out(session, CHANNEL_VOICE, address):
                    return False
                session.add(
                    Survey(
                        conversation_id=conversation_id,
                        customer_id=conversation.customer_id,
                        channel=CHANNEL_VOICE,
                        address=address,
                    )
                )
                await session.flush()  # the unique conversation id refuses a second survey
                crm.record(
                    session,
                    customer_id=conversation.customer_id,
                    conversation_id=conversation_id,
                    agent_id=conversation.agent_id,
                    kind="survey.asked",
                    summary="Asked for a rating on the keypad as the call ended",
                    channel=CHANNEL_VOICE,
                    sid=call_sid,
                )
        except IntegrityError:
            return False  # another hub process asked (a retry racing this one)
        return True

    def page_url(self, conversation_id: int) -> str:
        """The public page where the customer of this conversation rates it."""
        return f"{self._public_url}/survey/{self._tokens.issue(conversation_id)}"

    # --- answers ---------------------------------------------------------------------

    async def answer(
        self,
        conversation_id: int,
        rating: int,
        comment: str = "",
        *,
        channel: str | None = None,
        address: str | None = None,
        answer_id: str | None = None,
    ) -> int:
        """Record the rating of a conversation's survey, once; its id. The survey must
        exist (and, given `channel`/`address`, have been asked there) or SurveyError."""
        if not 1 <= rating <= 5:
            raise SurveyError("A rating is a whole number from 1 to 5.", 400)
        comment = comment.strip()[:MAX_COMMENT]
        async with self._sessions() as session, session.begin():
            survey = await session.scalar(
                select(Survey).where(Survey.conversation_id == conversation_id)
            )
            if survey is None or (channel, address) not in (
                (None, None),
                (survey.channel, survey.address),
            ):
                raise SurveyError("No such survey.", 404)
            recorded = await session.execute(
                update(Survey)
                .where(Survey.id == survey.id, Survey.rating.is_(None))
                .values(rating=rating, comment=comment, answered_at=utcnow(), answer_id=answer_id)
                .execution_options(synchronize_session=False)
            )
            if not recorded.rowcount:  # type: ignore[attr-defined]
                raise SurveyError("This conversation is rated already.", 409)
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            crm.record(
                session,
                customer_id=survey.customer_id,
                conversation_id=conversation_id,
                agent_id=conversation.agent_id,
                kind="survey.answered",
                summary=f"Rated {rating}/5" + (f": {comment}" if comment else ""),
                rating=rating,
                comment=comment,
                channel=survey.channel,
            )
            received = CsatReceived(
                survey_id=survey.id,
                conversation_id=conversation_id,
                customer_id=survey.customer_id,
                agent_id=conversation.agent_id,
                channel=survey.channel,
                rating=rating,
                comment=comment,
            )
            await outbox.add(session, received, survey.customer_id)
        await self._bus.publish(received)
        return received.survey_id

    async def answer_by_message(self, contact: InboundContact) -> bool:
        """Whether this text message is the rating a "reply 1-5" question waits for
        (then it is recorded, once per provider id); False: a contact like any other.

        Only the customer's next message within the window counts: anything else they
        wrote since the question means the question lapsed.
        """
        rating = read_rating(contact.text)
        if rating is None or contact.attachments:
            return False
        async with self._sessions() as session:
            if await _answered_by(session, contact):
                return True  # a provider's retry of the message already recorded
            waiting = await self._waiting(session, contact)
        if waiting is None:
            return False
        try:
            await self.answer(
                waiting,
                *rating,
                channel=contact.channel,
                address=contact.sender,
                answer_id=contact.external_id,
            )
        except (SurveyError, IntegrityError):
            async with self._sessions() as session:
                return await _answered_by(session, contact)  # a retry that raced this one
        return True

    async def _waiting(self, session: AsyncSession, contact: InboundContact) -> int | None:
        """The conversation whose text question this sender may still answer."""
        survey = await session.scalar(
            select(Survey)
            .where(
                Survey.channel == contact.channel,
                Survey.address == contact.sender,
                Survey.delivery_status == "sent",
                Survey.asked_at >= utcnow() - self._window,
            )
            .order_by(Survey.asked_at.desc(), Survey.id.desc())
            .limit(1)
        )
        if survey is None or survey.rating is not None:
            return None
        wrote_since = await session.scalar(
            select(
                exists().where(
                    Message.channel == contact.channel,
                    Message.direction == "incoming",
                    Message.sender == contact.sender,
                    Message.created_at > survey.asked_at,
                )
            )
        )
        return None if wrote_since else survey.conversation_id

    async def unsubscribe(self, conversation_id: int) -> bool:
        """The customer asked for no more survey emails: their address is opted out."""
        async with self._sessions() as session, session.begin():
            survey = await session.scalar(
                select(Survey).where(Survey.conversation_id == conversation_id)
            )
            if survey is None:
                return False
            address = await session.scalar(
                select(CustomerAddress).where(
                    CustomerAddress.channel == survey.channel,
                    CustomerAddress.address == survey.address,
                )
            )
            if address is not None and address.opted_out_at is None:
                address.opted_out_at = utcnow()
                crm.record(
                    session,
                    customer_id=address.customer_id,
                    conversation_id=conversation_id,
                    kind=f"{survey.channel}.opted_out",
                    summary=f"{survey.address} asked for no more surveys",
                    channel=survey.channel,
                    address=survey.address,
                )
        return True

    async def state(self, conversation_id: int) -> Survey | None:
        """The conversation's survey as stored, if it was asked."""
        async with self._sessions() as session:
            survey: Survey | None = await session.scalar(
                select(Survey).where(Survey.conversation_id == conversation_id)
            )
            return survey


async def _asked_on(session: AsyncSession, survey: Survey, call_sid: str) -> bool:
    """Whether this voice survey was asked on the call `call_sid`."""
    found = await session.scalar(
        select(TimelineEvent.id).where(
            TimelineEvent.conversation_id == survey.conversation_id,
            TimelineEvent.kind == "survey.asked",
            TimelineEvent.data["sid"].as_string() == call_sid,
        )
    )
    return survey.channel == CHANNEL_VOICE and found is not None


async def _answered_by(session: AsyncSession, contact: InboundContact) -> bool:
    found = await session.scalar(
        select(Survey.id).where(
            Survey.channel == contact.channel, Survey.answer_id == contact.external_id
        )
    )
    return found is not None


async def _last_sender(
    session: AsyncSession, conversation: Conversation, channel: str
) -> str | None:
    sender: str | None = await session.scalar(
        select(Message.sender)
        .where(
            Message.conversation_id == conversation.id,
            Message.channel == channel,
            Message.direction == "incoming",
            Message.sender != "",
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    return sender


async def _opted_out(session: AsyncSession, channel: str, address: str) -> bool:
    opted_out = await session.scalar(
        select(CustomerAddress.id).where(
            CustomerAddress.channel == channel,
            CustomerAddress.address == address,
            CustomerAddress.opted_out_at.is_not(None),
        )
    )
    return opted_out is not None


async def _inbox(session: AsyncSession, conversation: Conversation, channel: str) -> Inbox | None:
    """The inbox the question leaves from: the conversation's, or the first on `channel`."""
    inbox = await session.get(Inbox, conversation.inbox_id)
    if inbox is not None and inbox.channel == channel:
        return inbox
    found: Inbox | None = await session.scalar(
        select(Inbox).where(Inbox.channel == channel).order_by(Inbox.id).limit(1)
    )
    return found
