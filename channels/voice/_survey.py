"""The keypad rating at the end of a call (when an admin turns voice surveys on).

A caller still on the line when their agent hangs up hears one question and answers
1-5 on the keypad; anything else, or silence, gets one "sorry" and a second try, then
the call ends without a rating. The answer is recorded by `hub.surveys` like a chat's
or a text's (timeline, `csat.received`, the CSAT reports), once per conversation. The
answer's address names the conversation, and is only believed for the call that
conversation's `Call` row holds: nobody can rate someone else's call.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from sqlalchemy import select
from twilio.twiml.voice_response import Gather, VoiceResponse

from hub.keys import SESSIONS, SETTINGS, SURVEYS
from hub.models import Call
from hub.settings import Settings
from hub.surveys import SurveyError

SURVEY_PATH = "/webhooks/twilio/voice/survey"
QUESTION = "Please rate this call from 1 to 5 on your keypad."
NOT_A_RATING = "Sorry, that was not a number from 1 to 5."
THANKS = "Thank you for your rating. Goodbye."
ANSWER_SECONDS = 8
RATINGS = frozenset("12345")
LAST_TRY = 2


async def keypad_question(
    request: web.Request, form: Mapping[str, str], sid: str
) -> VoiceResponse | None:
    """The question for a caller whose agent (who answered) just hung up, if they are
    still on the line and should be asked; None: the call just ends."""
    if form.get("CallStatus") != "in-progress":
        return None  # the caller hung up: Twilio reports the dial, but nobody listens
    async with request.app[SESSIONS]() as session:
        call = await session.scalar(select(Call).where(Call.sid == sid))
    if call is None or call.agent_id is None:
        return None
    if not await request.app[SURVEYS].ask_on_call(call.conversation_id, call.number, sid):
        return None
    return _question(request.app[SETTINGS], call.conversation_id, 1)


async def keypad_answer(request: web.Request, form: Mapping[str, str], sid: str) -> web.Response:
    """The key the caller pressed (or none): recorded once, thanks; else one more try."""
    conversation = request.query.get("conversation", "")
    if not (conversation.isascii() and conversation.isdigit() and len(conversation) <= 18):
        raise web.HTTPBadRequest(text="conversation is not a conversation id.")
    async with request.app[SESSIONS]() as session:
        call = await session.scalar(select(Call).where(Call.sid == sid))
    if call is None or call.conversation_id != int(conversation):
        raise web.HTTPForbidden(text="This call has no such conversation to rate.")
    digits = form.get("Digits", "").strip()
    answer = VoiceResponse()
    if digits in RATINGS and len(digits) == 1:
        try:
            await request.app[SURVEYS].answer(
                call.conversation_id,
                int(digits),
                channel="voice",
                address=call.number,
                answer_id=f"call:{sid}",
            )
        except SurveyError as exc:
            if exc.status != 409:  # 409: Twilio retried a rating recorded already
                answer.hangup()
                return _twiml(answer)
        answer.say(THANKS)
    elif request.query.get("attempt") == "1":
        return _twiml(_question(request.app[SETTINGS], call.conversation_id, LAST_TRY, True))
    answer.hangup()
    return _twiml(answer)


def _question(
    settings: Settings, conversation_id: int, attempt: int, sorry: bool = False
) -> VoiceResponse:
    # The survey texts have no translations yet, so the question is asked in English.
    action = (
        settings.public_url.rstrip("/")
        + SURVEY_PATH
        + f"?conversation={conversation_id}&attempt={attempt}"
    )
    answer = VoiceResponse()
    if sorry:
        answer.say(NOT_A_RATING)
    gather = Gather(input="dtmf", num_digits=1, timeout=ANSWER_SECONDS, action=action)
    gather.say(QUESTION)
    answer.append(gather)
    answer.redirect(action)  # no key pressed: the same as a key that is no rating
    return answer


def _twiml(answer: VoiceResponse) -> web.Response:
    return web.Response(text=str(answer), content_type="application/xml")


__all__ = ["SURVEY_PATH", "keypad_answer", "keypad_question"]
