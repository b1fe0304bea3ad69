"""The phone menu as data: steps with a prompt, and options by key or spoken word.

A caller starts at `start`; each option of a step leads to a queue (with, optionally,
the skill and minimum level and the language its calls need), a voicemail, a callback,
or another step. `closed` is what callers hear out of business hours: voicemail or a
callback only. Admins write it as JSON on the admin page; `PhoneMenu.model_validate`
refuses a menu with a step nobody reaches, an option leading nowhere, or a key used
twice in one step.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["CLOSED", "MAIN_MENU", "MenuOption", "MenuStep", "PhoneMenu", "chosen"]

CLOSED = "closed"  # the step id of the out-of-hours branch
MAIN_MENU = "main"  # the stored menu's name
_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_LANGUAGE = r"^[a-z]{2,3}(-[A-Za-z]{2})?$"
_WORD = re.compile(r"[a-z']+")


class MenuOption(BaseModel):
    """One choice: the key, the words that choose it too, and where it leads."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: str = Field(pattern=r"^[0-9*#]$")
    words: list[str] = Field(default_factory=list, max_length=20)
    to: Literal["queue", "voicemail", "callback", "step"]
    queue: str | None = Field(None, pattern=_NAME)
    skill: str | None = Field(None, pattern=_NAME)
    min_level: int = Field(1, ge=1, le=10)
    language: str | None = Field(None, pattern=_LANGUAGE)
    step: str | None = Field(None, pattern=_NAME)

    @field_validator("words")
    @classmethod
    def _lowercase(cls, words: list[str]) -> list[str]:
        cleaned = [" ".join(_WORD.findall(w.lower())) for w in words]
        if not all(cleaned):
            raise ValueError("each word needs letters")
        return cleaned

    @model_validator(mode="after")
    def _leads_somewhere(self) -> MenuOption:
        if self.to == "queue" and self.queue is None:
            raise ValueError(f"key {self.key} leads to a queue: name it")
        if self.to == "step" and self.step is None:
            raise ValueError(f"key {self.key} leads to a step: name it")
        return self


class MenuStep(BaseModel):
    """What the caller hears, in which language and voice, and what they may choose."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    prompt: str = Field(min_length=1, max_length=1000)
    language: str = Field("en-US", pattern=_LANGUAGE)
    voice: str | None = Field(None, pattern=r"^[A-Za-z0-9.\-]{1,64}$")
    options: list[MenuOption] = Field(default_factory=list, max_length=12)

    @model_validator(mode="after")
    def _keys_once(self) -> MenuStep:
        keys = [o.key for o in self.options]
        if len(keys) != len(set(keys)):
            raise ValueError("each key may lead to one place in a step")
        words = [w for o in self.options for w in o.words]
        if len(words) != len(set(words)):
            raise ValueError("each word may lead to one place in a step")
        return self


class PhoneMenu(BaseModel):
    """A greeting, the steps by id, where calls start, and the out-of-hours branch."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    greeting: str = Field("", max_length=500)
    start: str = Field(pattern=_NAME)
    steps: dict[str, MenuStep] = Field(min_length=1, max_length=50)
    closed: MenuStep

    @model_validator(mode="after")
    def _connected(self) -> PhoneMenu:
        for name in self.steps:
            if not re.match(_NAME, name) or name == CLOSED:
                raise ValueError(f"{name!r} cannot name a step (lowercase, digits, - or _)")
        if self.start not in self.steps:
            raise ValueError(f"calls start at {self.start!r}, which is not a step")
        for name, step in self.steps.items():
            for option in step.options:
                if option.to == "step" and option.step not in self.steps:
                    raise ValueError(f"key {option.key} of {name!r} leads to a missing step")
        if any(o.to in ("queue", "step") for o in self.closed.options):
            raise ValueError("out of hours, callers may leave a voicemail or ask for a callback")
        reached, waiting = {self.start}, [self.start]
        while waiting:
            for option in self.steps[waiting.pop()].options:
                if option.step is not None and option.step not in reached:
                    reached.add(option.step)
                    waiting.append(option.step)
        unreached = sorted(set(self.steps) - reached)
        if unreached:
            raise ValueError(f"no option leads to {', '.join(unreached)}")
        return self

    def step(self, name: str | None) -> MenuStep | None:
        """The step by id (None: the start; "closed": the out-of-hours branch)."""
        if name == CLOSED:
            return self.closed
        return self.steps.get(self.start if name is None else name)


def chosen(step: MenuStep, digits: str, said: str) -> MenuOption | None:
    """The option the caller's key names, or the first whose words they said."""
    if digits:
        return next((o for o in step.options if o.key == digits), None)
    spoken = " ".join(_WORD.findall(said.lower()))
    padded = f" {spoken} "
    for option in step.options:
        if any(f" {word} " in padded or word in spoken.split() for word in option.words):
            return option
    # "loans" still says "loan": a word the caller began with counts too.
    heard = spoken.split()
    for option in step.options:
        if any(h.startswith(w) for w in option.words for h in heard if " " not in w):
            return option
    return None
