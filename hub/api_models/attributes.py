"""Custom attributes: the definitions admins write (what values of each kind may be is
hub.customer_attributes)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = ["AttributeChange", "AttributeIn", "AttributeOut"]

MAX_OPTIONS = 100
Kind = Literal["text", "number", "date", "boolean", "list"]


def _options(options: list[str]) -> list[str]:
    """Trimmed, each once, in the order given."""
    found: list[str] = []
    for raw in options:
        option = " ".join(raw.split())
        if not option or len(option) > 100:
            raise ValueError("each option is 1 to 100 characters")
        if option not in found:
            found.append(option)
    if len(found) > MAX_OPTIONS:
        raise ValueError(f"at most {MAX_OPTIONS} options")
    return found


Options = Annotated[list[str], AfterValidator(_options)]


class AttributeOut(BaseModel):
    id: int
    key: str
    label: str
    kind: str
    options: list[str]


class AttributeIn(BaseModel):
    """A new attribute: its key (what the API and filters name; stays as created), the
    label people read, its kind and, for a list, the options."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str = Field(min_length=1, max_length=100)
    kind: Kind
    options: Options = []


class AttributeChange(BaseModel):
    """A rename, or a list's new options."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str | None = Field(None, min_length=1, max_length=100)
    options: Options | None = None
