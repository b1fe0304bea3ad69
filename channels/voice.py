"""Phone calls through Twilio Voice: the call menu, the hold queue and voicemail.

Twilio posts each call to `/webhooks/twilio/voice` and follows the TwiML we answer
with: a greeting and a menu, then either the Twilio queue (the call becomes a contact
in our queue, once per CallSid) or a voicemail recording (a contact once per
RecordingSid, its transcription added to the same conversation). Every webhook is
signed with the account's auth token over the public URL, as for SMS. Agents cannot
answer a call from the console yet, so the adapter reports replies as failed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import phonenumbers
from aiohttp import web
from sqlalchemy import select
from twilio.twiml.voice_response import Gather, VoiceResponse

from channels._twilio import bad_request, signed_form, storable
from hub.contacts import Attachment, Delivery, InboundContact, OutboundMessage
from hub.keys import INTAKE, SESSIONS, SETTINGS
from hub.models import Conversation, Inbox, Message
from hub.settings import Settings

CHANNEL = "voice"
CALL_PATH = "/webhooks/twilio/voice"
MENU_PATH = "/webhooks/twilio/voice/menu"
WAIT_PATH = "/webhooks/twilio/voice/wait"
RECORDED_PATH = "/webhooks/twilio/voice/recorded"
TRANSCRIPTION_PATH = "/webhooks/twilio/voice/transcription"
VOICEMAIL_SECONDS = 120  # Twilio transcribes recordings of two minutes or less
PHONE_CHARACTERS = re.compile(r"\+[0-9 ().-]{2,32}")

GREETING = "Thank you for calling."
MENU = "Press 1 for cards, 2 for loans, or 3 to leave a voicemail."
VOICEMAIL_PROMPT = "Please leave a message after the tone, then hang up."
GOODBYE = "Thank you, we will call you back. Goodbye."
# Each menu choice: the queue it waits in; the words a caller may say instead of a key.
QUEUES = {"1": "cards", "2": "loans"}
SPOKEN = {"card": "1", "loan": "2", "voicemail": "3", "message": "3"}
VOICEMAIL = "3"

log = logging.getLogger(__name__)


class VoiceAdapter:
    """Voice replies: an agent cannot answer a call with text, so each is reported failed."""

    name = CHANNEL

    async def send(self, message: OutboundMessage) -> Delivery:
        """Never delivered: calls are answered on the phone, not from the console."""
        log.warning(
            "Voice reply %s not sent: replies to calls are not supported", message.message_id
        )
        return Delivery("failed", detail="A call cannot be answered with a text reply yet.")


def setup(app: web.Application) -> None:
    app.router.add_post(CALL_PATH, incoming_call)
    app.router.add_post(MENU_PATH, menu_choice)
    app.router.add_post(WAIT_PATH, waiting)
    app.router.add_post(RECORDED_PATH, voicemail_recorded)
    app.router.add_post(TRANSCRIPTION_PATH, voicemail_transcribed)


# --- the call ------------------------------------------------------------------


async def incoming_call(request: web.Request) -> web.Response:
    """A new call: greet the caller and ask what they need."""
    form = await signed_form(request)
    _call_sid(form)
    settings = request.app[SETTINGS]
    answer = VoiceResponse()
    menu = Gather(input="dtmf speech", num_digits=1, action=_url(settings, MENU_PATH), timeout=5)
    menu.say(f"{GREETING} {MENU}")
    answer.append(menu)
    answer.redirect(_url(settings, MENU_PATH))  # no input: the menu takes a voicemail
    return _twiml(answer)


async def menu_choice(request: web.Request) -> web.Response:
    """The caller's choice: queue the call as a contact, or record a voicemail."""
    form = await signed_form(request)
    sid = _call_sid(form)
    settings = request.app[SETTINGS]
    choice = _choice(form)
    answer = VoiceResponse()
    if choice in QUEUES:
        queue = QUEUES[choice]
        await request.app[INTAKE].accept(
            InboundContact(
                channel=CHANNEL,
                inbox=_number(form, "To"),
                external_id=sid,
                sender=_caller(form),
                text=f"Phone call: {queue}",
                raw=storable(repr(dict(form))),
            )
        )
        answer.enqueue(queue, wait_url=_url(settings, WAIT_PATH))
    elif choice == VOICEMAIL:
        answer.say(VOICEMAIL_PROMPT)
        answer.record(
            max_length=VOICEMAIL_SECONDS,
            transcribe=True,
            transcribe_callback=_url(settings, TRANSCRIPTION_PATH),
            action=_url(settings, RECORDED_PATH),
        )
    else:
        answer.say("Sorry, that is not one of the choices.")
        answer.redirect(_url(settings, CALL_PATH))
    return _twiml(answer)


def _choice(form: Mapping[str, str]) -> str | None:
    """The key pressed, or the one the caller's words name; voicemail when nothing came."""
    digits = form.get("Digits", "").strip()
    if digits:
        return digits
    said = form.get("SpeechResult", "").lower()
    if not said:
        return VOICEMAIL
    return next((key for word, key in SPOKEN.items() if word in said), None)


async def waiting(request: web.Request) -> web.Response:
    """Played while the call waits in Twilio's queue: its position, then hold music."""
    form = await signed_form(request)
    position = form.get("QueuePosition", "")
    answer = VoiceResponse()
    if position.isascii() and position.isdigit():
        answer.say(f"You are number {int(position)} in the queue.")
    answer.play(request.app[SETTINGS].voice_hold_music_url)
    return _twiml(answer)


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
    if form.get("From", "").strip().lower().lstrip("+") in WITHHELD:
        return f"withheld:{_call_sid(form)}"
    return _number(form, "From")


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


__all__ = ["VoiceAdapter", "setup"]
