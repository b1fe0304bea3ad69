"""Macros: a canned reply plus actions (label, set an attribute, transfer, close)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.api_models.common import SkillName

__all__ = ["MacroAction", "MacroApply", "MacroChange", "MacroIn", "MacroOut"]


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AddLabel(_Action):
    type: Literal["label"]
    label: str = Field(min_length=1, max_length=40)


class SetAttribute(_Action):
    """A custom attribute's value on the customer (checked against its kind on applying)."""

    type: Literal["attribute"]
    key: str = Field(min_length=1, max_length=40)
    value: Any


class Transfer(_Action):
    type: Literal["transfer"]
    skill: SkillName


class Close(_Action):
    type: Literal["close"]
    code: str = Field(min_length=1, max_length=64)


MacroAction = Annotated[AddLabel | SetAttribute | Transfer | Close, Field(discriminator="type")]


class MacroChange(BaseModel):
    """Fields an admin changes on a macro; those left out stay."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=1, max_length=100)
    reply: str | None = Field(None, max_length=20_000)
    actions: list[MacroAction] | None = Field(None, max_length=20)

    @field_validator("actions")
    @classmethod
    def _one_ending(cls, actions: list[MacroAction] | None) -> list[MacroAction] | None:
        endings = [a for a in actions or () if a.type in ("transfer", "close")]
        if len(endings) > 1:
            raise ValueError("a macro transfers or closes the conversation, once.")
        if endings and actions and actions[-1] is not endings[0]:
            raise ValueError("a transfer or close comes last: the conversation leaves you.")
        return actions


class MacroIn(MacroChange):
    name: str = Field(min_length=1, max_length=100)


class MacroOut(BaseModel):
    id: int
    name: str
    reply: str
    actions: list[dict[str, Any]]


class MacroApply(BaseModel):
    """The reply as the agent edited it in the composer (the macro's own when left out)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, max_length=20_000)
