"""Wrap-up codes: the outcomes admins define and agents close conversations with."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["WrapUpCodeChange", "WrapUpCodeIn", "WrapUpCodeOut"]


class WrapUpCodeChange(BaseModel):
    """A new label, and whether the code is retired (offered no more); what is left out
    stays. The code itself never changes: closed conversations keep it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str | None = Field(None, min_length=1, max_length=100)
    retired: bool | None = Field(None, strict=True)


class WrapUpCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    label: str = Field(min_length=1, max_length=100)


class WrapUpCodeOut(BaseModel):
    id: int
    code: str
    label: str
    retired: bool
