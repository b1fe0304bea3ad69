"""The console's softphone: the agent's ring number, and calls placed from a customer's page."""

from __future__ import annotations

from typing import Annotated

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = ["HoldIn", "OutboundCallIn", "PhoneNumber", "RingNumberIn"]


def _e164(value: str) -> str:
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number: write it with + and the country code") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


PhoneNumber = Annotated[str, Field(max_length=32), AfterValidator(_e164)]


class RingNumberIn(BaseModel):
    """The agent's own phone, rung instead of the console's softphone; null: the softphone."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    ring_number: PhoneNumber | None


class OutboundCallIn(BaseModel):
    """A call from the console to one of a customer's numbers."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: int = Field(gt=0, strict=True)
    address: str = Field(min_length=2, max_length=32)


class HoldIn(BaseModel):
    """Hold music for the caller (true), or the caller back through to the agent (false)."""

    model_config = ConfigDict(extra="forbid")

    on: bool = Field(strict=True)
