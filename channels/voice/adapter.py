"""Phone calls through Twilio Voice: the call menu, the hold queue, callbacks and voicemail.

Twilio posts each call to `/webhooks/twilio/voice` and follows the TwiML we answer
with: a greeting and a menu, then either the Twilio queue (the call becomes a contact
in our queue, once per CallSid, and is put through to the agent who accepts it), a
callback request (a contact that waits in our queue while the caller hangs up), or a
voicemail recording (a contact once per RecordingSid, its transcription added to the
same conversation). A caller whose contact a queue limit turns away is told so and
offered the voicemail instead of holding for nobody. Call progress arrives at
`/webhooks/twilio/voice/status`; what happens to each call lives in `channels.voice._calls`.
Calls agents place from the console's softphone ask `/webhooks/twilio/voice/outbound`
(the TwiML app's voice URL) what to dial: `channels.voice._outbound`.
Every webhook is signed with the account's auth token over the public URL, as for SMS.
Agents talk on the phone, not in text, so the adapter reports text replies as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Mapping
from datetime import datetime

import phonenumbers
from aiohttp import web
from sqlalchemy import select
from twilio.rest import Client
from twilio.twiml.voice_response import Gather, VoiceResponse

from channels.twilio import bad_request, signed_form, storable
from channels.voice._bridge import BRIDGE_EVENTS, CallBridge
from channels.voice._calls import CALLBACK_REQUEST, ENDED, LEFT_QUEUE, PROGRESS, QUEUE, CallBook
from channels.voice._hold import CallHold
from channels.voice._menu import closed_now, load_menu, step_gather
from channels.voice._outbound import OUTBOUND_PATH, outbound_call
from channels.voice._survey import SURVEY_PATH, keypad_answer, keypad_question
from hub.channel_traits import ChannelTraits
from hub.contacts import Attachment, Delivery, InboundContact, OutboundMessage
from hub.keys import BUS, CONVERSATIONS, HOLD_CALL, INTAKE, SESSIONS, SETTINGS
from hub.listeners import following
from hub.loops import keep_running
from hub.models import Conversation, Inbox, Message
from hub.phone_menu import CLOSED, MenuOption, PhoneMenu, chosen
from hub.queue import GENERAL_QUEUE
from hub.settings import Settings

CHANNEL = "voice"
# An agent on a call takes nothing else; a caller is answered by text on the number.
TRAITS = ChannelTraits(
    CHANNEL,
    "Voice",
    default_capacity=1,
    replies_on="sms",
    reply_label="Call",
    exclusive=True,
)
CALL_PATH = "/webhooks/twilio/voice"
MENU_PATH = "/webhooks/twilio/voice/menu"
WAIT_PATH = "/webhooks/twilio/voice/wait"
RECORDED_PATH = "/webhooks/twilio/voice/recorded"
TRANSCRIPTION_PATH = "/webhooks/twilio/voice/transcription"
QUEUE_LEFT_PATH = "/webhooks/twilio/voice/queue-left"
CALLBACK_PATH = "/webhooks/twilio/voice/callback"
STATUS_PATH = "/webhooks/twilio/voice/status"
DIALED_PATH = "/webhooks/twilio/voice/dialed"
CATCH_UP_SECONDS = 15.0
CALLS = web.AppKey("calls", CallBook)
BRIDGE = web.AppKey("bridge", CallBridge)
VOICEMAIL_SECONDS = 120  # Twilio transcribes recordings of two minutes or less
PHONE_CHARACTERS = re.compile(r"\+[0-9 ().-]{2,32}")

VOICEMAIL_PROMPT = "Please leave a message after the tone, then hang up."
GOODBYE = "Thank you, we will call you back. Goodbye."
NO_CALLBACK = "Your number is withheld, so we cannot call you back."
CONFIRM_CALLBACK = "We will call you back on {number}. Press 1 to confirm, or 2 to go back."
CALLBACK_BOOKED = "Thank you. An agent will call you back on {number} soon. Goodbye."
QUEUE_TROUBLE = "Sorry, we cannot keep you waiting on the line right now."
NOBODY_ANSWERED = "Sorry, your agent could not take the call."
LINE_BUSY = "Sorry, all our lines are busy right now and we cannot keep you waiting."
NOBODY_FREE = "Sorry, nobody could answer your call in time."
NOT_A_CHOICE = "Sorry, that is not one of the choices."
YES = frozenset({"yes", "yeah", "confirm", "correct", "right"})
NO = frozenset({"no", "not", "wrong", "don't"})

log = logging.getLogger(__name__)


class VoiceAdapter:
    """Voice replies: an agent cannot answer a call with text, so each is reported failed."""

    name = CHANNEL

    async def send(self, message: OutboundMessage) -> Delivery:
        """Never delivered: calls are answered on the phone, not from the console."""
        log.warning("Voice reply %s not sent: calls are answered by phone", message.message_id)
        return Delivery(
            "failed", detail="A call is answered on the phone; to reach the caller, call back."
        )


def open_calls(app: web.Application, twilio: Client | None) -> None:
    """Keep the calls' record, and put calls through with `twilio` (None: not configured).
    Once conversations are open: a caller who leaves as an agent takes the call ends it.
    Agents hold and resume calls through `HOLD_CALL`."""
    settings = app[SETTINGS]
    app[CALLS] = CallBook(app[SESSIONS], app[BUS])
    app[BRIDGE] = CallBridge(
        app[SESSIONS],
        app[CONVERSATIONS],
        app[BUS],
        twilio,
        settings,
        _url(settings, STATUS_PATH),
        _url(settings, DIALED_PATH),
        lambda status: _sorry(settings, status),
    )
    hold = CallHold(
        app[SESSIONS], app[BUS], twilio, settings.voice_hold_music_url, app[BRIDGE].dial_twiml
    )
    app[HOLD_CALL] = hold.hold


def setup(app: web.Application) -> None:
    """Routes, and accepted calls put through (once `open_calls` has run at start-up)."""
    app.router.add_post(CALL_PATH, incoming_call)
    app.router.add_post(MENU_PATH, menu_choice)
    app.router.add_post(WAIT_PATH, waiting)
    app.router.add_post(QUEUE_LEFT_PATH, queue_left)
    app.router.add_post(CALLBACK_PATH, callback_confirmed)
    app.router.add_post(STATUS_PATH, call_status)
    app.router.add_post(DIALED_PATH, dialed)
    app.router.add_post(SURVEY_PATH, survey_answer)
    app.router.add_post(RECORDED_PATH, voicemail_recorded)
    app.router.add_post(TRANSCRIPTION_PATH, voicemail_transcribed)
    app.router.add_post(OUTBOUND_PATH, outbound_call)  # the console softphone's calls
    app.cleanup_ctx.append(_follow_assignments)


async def _follow_assignments(app: web.Application) -> AsyncIterator[None]:
    """Each accepted voice conversation puts its caller through to the agent."""
    async with following(app[BUS], BRIDGE_EVENTS.bind(app[BRIDGE])):
        catch_up = asyncio.create_task(_catch_up(app[BRIDGE]))
        yield
        catch_up.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await catch_up


async def _catch_up(bridge: CallBridge) -> None:
    """Now and then, put through accepted calls whose event no process heard."""
    await keep_running("catching up on accepted calls", bridge.catch_up, CATCH_UP_SECONDS)


# --- the call ------------------------------------------------------------------


async def incoming_call(request: web.Request) -> web.Response:
    """A call, or a caller sent back to a step (`?step=`): the menu's step as a gather;
    out of business hours, the menu's closed branch; with no menu, the general queue."""
    form = await signed_form(request)
    _call_sid(form)
    menu = await load_menu(request.app[SESSIONS])
    named = request.query.get("step")
    if menu is None:
        return await _queue_call(request, form, GENERAL_QUEUE, None)
    closed, opening = await closed_now(request.app[SESSIONS], _number(form, "To"))
    name = CLOSED if closed and named is None else named or menu.start
    if menu.step(name) is None:
        name = menu.start  # the admin removed the step since: start again
    return _twiml(_ask(request, menu, name, greeting=named is None, opening=opening))


def _ask(
    request: web.Request,
    menu: PhoneMenu,
    name: str,
    greeting: bool = False,
    opening: datetime | None = None,
) -> VoiceResponse:
    settings = request.app[SETTINGS]
    answer = VoiceResponse()
    action = _url(settings, MENU_PATH) + f"?step={name}"
    step_gather(answer, menu, name, action, greeting=greeting, opening=opening)
    answer.redirect(action)  # no input: the menu takes a voicemail
    return answer


async def menu_choice(request: web.Request) -> web.Response:
    """The caller's choice at a step: queue the call as a contact, go to another step,
    record a voicemail or offer a callback; silence records a voicemail."""
    form = await signed_form(request)
    _call_sid(form)
    settings = request.app[SETTINGS]
    menu = await load_menu(request.app[SESSIONS])
    name = request.query.get("step") or (menu.start if menu else "")
    step = menu.step(name) if menu is not None else None
    if menu is None or step is None:
        answer = VoiceResponse()
        answer.redirect(_url(settings, CALL_PATH))
        return _twiml(answer)
    digits, said = form.get("Digits", "").strip(), form.get("SpeechResult", "")
    if not digits and not said.strip():
        return _twiml(_voicemail_answer(settings))
    option = chosen(step, digits, said)
    if option is None:
        answer = VoiceResponse()
        answer.say(NOT_A_CHOICE)
        again = "" if name == menu.start else f"?step={name}"
        answer.redirect(_url(settings, CALL_PATH) + again)
        return _twiml(answer)
    return await _follow(request, form, menu, option)


async def _follow(
    request: web.Request, form: Mapping[str, str], menu: PhoneMenu, option: MenuOption
) -> web.Response:
    settings = request.app[SETTINGS]
    if option.to == "step" and option.step is not None:
        return _twiml(_ask(request, menu, option.step))
    if option.to == "queue" and option.queue is not None:
        closed, opening = await closed_now(request.app[SESSIONS], _number(form, "To"), option.queue)
        if closed:
            return _twiml(_ask(request, menu, CLOSED, opening=opening))
        return await _queue_call(request, form, option.queue, option)
    if option.to == "callback":
        return _twiml(_offer_callback(form, settings))
    return _twiml(_voicemail_answer(settings))


async def _queue_call(
    request: web.Request, form: Mapping[str, str], queue: str, option: MenuOption | None
) -> web.Response:
    """The call becomes a contact in our queue (once per CallSid) and waits in Twilio's."""
    sid, settings = _call_sid(form), request.app[SETTINGS]
    caller = _caller(form)
    accepted = await request.app[INTAKE].accept(
        InboundContact(
            channel=CHANNEL,
            inbox=_number(form, "To"),
            external_id=sid,
            sender=caller,
            text=f"Phone call: {queue}",
            raw=storable(repr(dict(form))),
            skill=option.skill if option else None,
            min_level=option.min_level if option else 1,
            language=option.language if option else None,
        )
    )
    await request.app[CALLS].opened(sid, accepted.conversation_id, QUEUE, caller)
    direct = await request.app[BRIDGE].put_through_now(sid)
    if direct is not None:
        return _twiml(direct)
    if await request.app[BRIDGE].turned_away_now(sid):
        # Routing turned the contact away already: the queue would hold them for nothing.
        status = await _status_of(request, accepted.conversation_id)
        return _twiml(_sorry(settings, status))
    answer = VoiceResponse()
    answer.enqueue(
        queue, wait_url=_url(settings, WAIT_PATH), action=_url(settings, QUEUE_LEFT_PATH)
    )
    return _twiml(answer)


def _offer_callback(form: Mapping[str, str], settings: Settings) -> VoiceResponse:
    answer = VoiceResponse()
    if _withheld(form):
        answer.say(NO_CALLBACK)
        _voicemail(answer, settings)
        return answer
    confirm = Gather(
        input="dtmf speech", num_digits=1, action=_url(settings, CALLBACK_PATH), timeout=5
    )
    confirm.say(CONFIRM_CALLBACK.format(number=_spoken(_caller(form))))
    answer.append(confirm)
    answer.redirect(_url(settings, CALL_PATH))  # no answer: back to the menu
    return answer


def _voicemail_answer(settings: Settings) -> VoiceResponse:
    answer = VoiceResponse()
    _voicemail(answer, settings)
    return answer


def _sorry(settings: Settings, status: str) -> VoiceResponse:
    """What a caller hears when routing turned their contact away: why, then voicemail."""
    answer = VoiceResponse()
    answer.say(LINE_BUSY if status == "rejected" else NOBODY_FREE)
    _voicemail(answer, settings)
    return answer


async def _status_of(request: web.Request, conversation_id: int) -> str:
    async with request.app[SESSIONS]() as session:
        conversation = await session.get(Conversation, conversation_id)
    return "" if conversation is None else conversation.status


def _voicemail(answer: VoiceResponse, settings: Settings) -> None:
    answer.say(VOICEMAIL_PROMPT)
    answer.record(
        max_length=VOICEMAIL_SECONDS,
        transcribe=True,
        transcribe_callback=_url(settings, TRANSCRIPTION_PATH),
        action=_url(settings, RECORDED_PATH),
    )


async def waiting(request: web.Request) -> web.Response:
    """Played while the call waits in Twilio's queue: its position, then hold music."""
    form = await signed_form(request)
    position = form.get("QueuePosition", "")
    answer = VoiceResponse()
    if position.isascii() and position.isdigit():
        answer.say(f"You are number {int(position)} in the queue.")
    answer.play(request.app[SETTINGS].voice_hold_music_url)
    return _twiml(answer)


async def queue_left(request: web.Request) -> web.Response:
    """The call left Twilio's queue (Enqueue's action): a caller who hung up abandoned it."""
    form = await signed_form(request)
    sid = _call_sid(form)
    result = form.get("QueueResult", "")
    if not result:
        raise bad_request("Missing field(s): QueueResult.")
    settings = request.app[SETTINGS]
    call = await request.app[CALLS].left_queue(sid, result[:16], _seconds(form, "QueueTime"))
    if call is not None and result in LEFT_QUEUE:
        reason = "the caller hung up while waiting" if result == "hangup" else f"queue {result}"
        await request.app[CONVERSATIONS].abandon(call.conversation_id, reason)
    # Our REST redirect to the agent dequeues the call too; should Twilio follow this
    # answer rather than the redirect, it says the same thing.
    through = await request.app[BRIDGE].dial_agent_of(call) if call is not None else None
    if through is not None and result == "redirected":
        return _twiml(through)
    if call is not None and result == "redirected":
        status = await _status_of(request, call.conversation_id)
        if status in ("rejected", "abandoned"):  # routing turned it away: the same words
            return _twiml(_sorry(settings, status))
    answer = VoiceResponse()
    if result in ("queue-full", "error", "system-error"):
        answer.say(QUEUE_TROUBLE)
        _voicemail(answer, settings)
    return _twiml(answer)


async def call_status(request: web.Request) -> web.Response:
    """A call status callback: the call's progress moves forward on the timeline, once."""
    form = await signed_form(request)
    sid = _call_sid(form)
    status = form.get("CallStatus", "")
    if status not in PROGRESS:
        raise bad_request(f"CallStatus is not one we know: {status[:20]!r}.")
    call = await request.app[CALLS].progressed(sid, status, _seconds(form, "CallDuration"))
    if call is not None and call.kind == QUEUE and status in ENDED:
        # The call ended while still waiting (its queue report may never come): abandoned.
        await request.app[CONVERSATIONS].abandon(
            call.conversation_id, "the caller hung up while waiting"
        )
    return web.Response(status=204)


async def dialed(request: web.Request) -> web.Response:
    """The `<Dial>` to the agent ended (its action): done (or the keypad rating, when voice
    surveys are on), or voicemail if nobody answered."""
    form = await signed_form(request)
    sid = _call_sid(form)
    dial_status = form.get("DialCallStatus", "")
    if not dial_status:
        raise bad_request("Missing field(s): DialCallStatus.")
    answered = await request.app[CALLS].dialed(
        sid, form.get("DialCallSid", "")[:64], dial_status[:16], _seconds(form, "DialCallDuration")
    )
    answer = VoiceResponse()
    if answered is False:
        answer.say(NOBODY_ANSWERED)
        _voicemail(answer, request.app[SETTINGS])
    elif answered and (question := await keypad_question(request, form, sid)) is not None:
        return _twiml(question)
    else:
        answer.hangup()
    return _twiml(answer)


async def survey_answer(request: web.Request) -> web.Response:
    """The key a caller pressed to rate their call (`channels.voice._survey`)."""
    form = await signed_form(request)
    return await keypad_answer(request, form, _call_sid(form))


# --- callback --------------------------------------------------------------------


async def callback_confirmed(request: web.Request) -> web.Response:
    """The caller confirmed their number: a callback contact waits; the call ends politely."""
    form = await signed_form(request)
    sid = _call_sid(form)
    settings = request.app[SETTINGS]
    answer = VoiceResponse()
    said = set(re.findall(r"[a-z']+", form.get("SpeechResult", "").lower()))
    confirmed = form.get("Digits", "").strip() == "1" or bool(said & YES and not said & NO)
    if _withheld(form) or not confirmed:
        answer.redirect(_url(settings, CALL_PATH))
        return _twiml(answer)
    number = _caller(form)
    accepted = await request.app[INTAKE].accept(
        InboundContact(
            channel=CHANNEL,
            inbox=_number(form, "To"),
            external_id=f"callback:{sid}",
            sender=number,
            text=f"Call back {number}",
            raw=storable(repr(dict(form))),
        )
    )
    await request.app[CALLS].opened(sid, accepted.conversation_id, CALLBACK_REQUEST, number)
    answer.say(CALLBACK_BOOKED.format(number=_spoken(number)))
    answer.hangup()
    return _twiml(answer)


def _spoken(number: str) -> str:
    """A number read out digit by digit: "+1 4 1 5 ..." rather than "fourteen billion"."""
    return " ".join(number.lstrip("+"))


def _seconds(form: Mapping[str, str], name: str) -> int | None:
    value = form.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 9 else None


# --- voicemail -----------------------------------------------------------------


async def voicemail_recorded(request: web.Request) -> web.Response:
    """The caller left a voicemail: it becomes a contact in the queue, once per recording."""
    form = await signed_form(request)
    _call_sid(form)
    recording = _sid(form, "RecordingSid")
    url = form.get("RecordingUrl", "")
    if not url:
        raise bad_request("Missing field(s): RecordingUrl.")
    seconds = form.get("RecordingDuration", "0")
    seconds = seconds if seconds.isascii() and seconds.isdigit() else "0"
    await request.app[INTAKE].accept(
        InboundContact(
            channel=CHANNEL,
            inbox=_number(form, "To"),
            external_id=f"voicemail:{recording}",
            sender=_caller(form),
            text=f"Voicemail ({int(seconds)} s)",
            attachments=(
                Attachment(
                    name=f"voicemail-{recording}.wav",
                    content_type="audio/x-wav",
                    size=0,  # Twilio holds the recording; its size is not sent
                    ref=storable(url),
                ),
            ),
            raw=storable(repr(dict(form))),
        )
    )
    answer = VoiceResponse()
    answer.say(GOODBYE)
    answer.hangup()
    return _twiml(answer)


async def voicemail_transcribed(request: web.Request) -> web.Response:
    """A voicemail's transcript: added to the voicemail's conversation, once."""
    form = await signed_form(request)
    recording = _sid(form, "RecordingSid")
    text = form.get("TranscriptionText", "").strip()
    if form.get("TranscriptionStatus") != "completed" or not text:
        return web.Response(status=204)
    caller = await _voicemail_caller(request, recording)
    if caller is None:
        log.warning("Transcription for unknown voicemail %s dropped", recording)
        return web.Response(status=204)
    inbox, sender = caller
    await request.app[INTAKE].accept(
        InboundContact(
            channel=CHANNEL,
            inbox=inbox,
            external_id=f"transcript:{recording}",
            sender=sender,
            text=storable(f"Voicemail transcript: {text}"),
            raw=storable(repr(dict(form))),
            needs_agent=False,  # the voicemail itself is what is queued
        )
    )
    return web.Response(status=204)


async def _voicemail_caller(request: web.Request, recording: str) -> tuple[str, str] | None:
    """The (inbox, sender) the voicemail was stored under, so the transcript joins it."""
    async with request.app[SESSIONS]() as session:
        row = (
            await session.execute(
                select(Inbox.address, Message.sender)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(Inbox, Inbox.id == Conversation.inbox_id)
                .where(
                    Message.channel == CHANNEL,
                    Message.external_id == f"voicemail:{recording}",
                )
            )
        ).first()
    return None if row is None else (row[0], row[1])


# --- webhooks ------------------------------------------------------------------


def _call_sid(form: Mapping[str, str]) -> str:
    return _sid(form, "CallSid")


def _sid(form: Mapping[str, str], name: str) -> str:
    sid = form.get(name, "")
    if not sid:
        raise bad_request(f"Missing field(s): {name}.")
    if len(sid) > 64 or not sid.isascii() or not sid.isalnum():
        raise bad_request(f"{name} is not a Twilio SID.")
    return sid


WITHHELD = frozenset({"anonymous", "restricted", "unknown", "private", "unavailable"})


def _caller(form: Mapping[str, str]) -> str:
    """The caller's number, or for a withheld caller ID an address of this call alone.

    A caller who hides their number still gets through: refusing the webhook would
    play them Twilio's error message instead of our menu.
    """
    if _withheld(form):
        return f"withheld:{_call_sid(form)}"
    return _number(form, "From")


def _withheld(form: Mapping[str, str]) -> bool:
    return form.get("From", "").strip().lower().lstrip("+") in WITHHELD


def _number(form: Mapping[str, str], name: str) -> str:
    """The field's phone number in E.164; HTTPBadRequest if it is not one."""
    number = form.get(name, "")
    if PHONE_CHARACTERS.fullmatch(number):
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is not None and phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise bad_request(f"{name} is not a phone number we can read: {number[:40]!r}.")


def _url(settings: Settings, path: str) -> str:
    return settings.public_url.rstrip("/") + path


def _twiml(answer: VoiceResponse) -> web.Response:
    return web.Response(text=str(answer), content_type="application/xml")


__all__ = ["BRIDGE", "CALLS", "TRAITS", "VoiceAdapter", "open_calls", "setup"]
