"""The phone menu stored as data (hub.phone_menu), read for each call and spoken as TwiML.

Business hours decide where a call starts: the menu's first step when the number's
team (its inbox's schedule) is open, its out-of-hours branch when closed. A queue with
hours of its own sends callers to that branch too while it is closed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from twilio.twiml.voice_response import Gather, VoiceResponse

from hub.db import Sessions
from hub.hours import Schedule, is_open, next_opening
from hub.models import PhoneMenu as StoredMenu
from hub.models import utcnow
from hub.phone_menu import CLOSED, MAIN_MENU, MenuStep, PhoneMenu
from hub.schedules import hours_of

__all__ = ["closed_now", "load_menu", "say", "step_gather"]

MENU_TIMEOUT_SECONDS = 5


async def load_menu(sessions: Sessions) -> PhoneMenu | None:
    """The stored menu; None when the hub has none (callers then wait in one queue)."""
    async with sessions() as session:
        stored = await session.scalar(select(StoredMenu.menu).where(StoredMenu.name == MAIN_MENU))
    return None if stored is None else PhoneMenu.model_validate(stored)


async def closed_now(
    sessions: Sessions, number: str, queue: str | None = None
) -> tuple[bool, datetime | None]:
    """Whether the team behind the called `number` (or `queue`, if it keeps hours of its
    own) is closed now, and when it opens next."""
    async with sessions() as session:
        schedule = await hours_of(session, channel="voice", inbox=number, queue=queue)
    if schedule is None:
        return False, None
    now = utcnow()
    return (not is_open(schedule, now)), _opening(schedule, now)


def _opening(schedule: Schedule, now: datetime) -> datetime | None:
    opening = next_opening(schedule, now)
    return None if opening is None else opening.astimezone(schedule.zone())


def say(answer: VoiceResponse | Gather, text: str, step: MenuStep) -> None:
    if step.voice:
        answer.say(text, language=step.language, voice=step.voice)
    else:
        answer.say(text, language=step.language)


def step_gather(
    answer: VoiceResponse,
    menu: PhoneMenu,
    name: str,
    action: str,
    greeting: bool = False,
    opening: datetime | None = None,
) -> None:
    """The step's prompt inside a `<Gather>` of one key or speech, posted to `action`."""
    step = menu.step(name)
    assert step is not None
    prompt = step.prompt
    if name == CLOSED:
        prompt = prompt.replace("{opening}", spoken_time(opening))
    if greeting and menu.greeting:
        prompt = f"{menu.greeting} {prompt}"
    gather = Gather(
        input="dtmf speech",
        num_digits=1,
        action=action,
        timeout=MENU_TIMEOUT_SECONDS,
        language=step.language,
    )
    say(gather, prompt, step)
    answer.append(gather)


def spoken_time(opening: datetime | None) -> str:
    """When a team opens next, as said to a caller: "on Monday at 09:00"."""
    if opening is None:
        return "later"
    return f"on {opening.strftime('%A')} at {opening.strftime('%H:%M')}"
