"""WhatsApp templates: the approved messages (Twilio Content SIDs) admins list, and the
only ones WhatsApp takes once a customer's 24-hour window has closed."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "VARIABLE",
    "WhatsAppTemplateChange",
    "WhatsAppTemplateIn",
    "WhatsAppTemplateOut",
    "variables_in",
]

# Twilio's Content API writes a template's variables {{1}}, {{2}}, ... in its body.
VARIABLE = re.compile(r"\{\{\s*([1-9][0-9]?)\s*\}\}")
CONTENT_SID = r"^HX[0-9a-fA-F]{32}$"  # a Twilio Content SID: HX and 32 hex digits
LANGUAGE = r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$"  # en, pt_BR, es-MX


def variables_in(body: str) -> list[str]:
    """The body's variable numbers, each once, in number order ("1", "2")."""
    return sorted({m.group(1) for m in VARIABLE.finditer(body)}, key=int)


class WhatsAppTemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    content_sid: str = Field(pattern=CONTENT_SID)
    language: str = Field(pattern=LANGUAGE)
    body: str = Field(min_length=1, max_length=1024)  # WhatsApp's limit for a template body


class WhatsAppTemplateChange(BaseModel):
    """What changes; what is left out stays."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=1, max_length=100)
    content_sid: str | None = Field(None, pattern=CONTENT_SID)
    language: str | None = Field(None, pattern=LANGUAGE)
    body: str | None = Field(None, min_length=1, max_length=1024)


class WhatsAppTemplateOut(BaseModel):
    id: int
    name: str
    content_sid: str
    language: str
    body: str
    variables: list[str]  # the body's {{n}} numbers the agent fills in
