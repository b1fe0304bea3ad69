"""Custom attributes on customers: the kinds an admin may define, and what a value of
each kind may be.

A value is checked by pydantic against its attribute's kind: text (up to 500
characters), number (finite; whole numbers stay whole), date (YYYY-MM-DD, a real day),
boolean (true or false, not "yes" nor 1) and list (one of the attribute's options).
Each value also has a canonical text, `value_key`, stored beside it and indexed, so
the directory finds customers by value whichever way the value was typed.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import CustomerAttribute, CustomerAttributeValue

__all__ = [
    "KINDS",
    "AttributeValueError",
    "attribute_values",
    "check_filter",
    "check_value",
    "shown",
]

KINDS = ("text", "number", "date", "boolean", "list")
MAX_TEXT = 500
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class AttributeValueError(ValueError):
    """A value its attribute's kind refuses; the message says what it should be."""


def _finite(number: float) -> float:
    if not math.isfinite(number):
        raise ValueError("a number must be finite")
    return number


def _day(text: str) -> str:
    if not _DAY.match(text):
        raise ValueError("a date is written YYYY-MM-DD")
    return date.fromisoformat(text).isoformat()  # refuses 2024-02-31


_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "text": TypeAdapter(
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
    ),
    "number": TypeAdapter(Annotated[StrictInt | StrictFloat, AfterValidator(_finite)]),
    "date": TypeAdapter(
        Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_day)]
    ),
    "boolean": TypeAdapter(StrictBool),
    "list": TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]),
}


def check_value(attribute: CustomerAttribute, raw: Any) -> tuple[Any, str]:
    """The value as stored and its canonical text; AttributeValueError if the kind refuses it."""
    try:
        value = _ADAPTERS[attribute.kind].validate_python(raw)
    except ValidationError as exc:
        raise AttributeValueError(exc.errors()[0]["msg"]) from None
    if attribute.kind == "list" and value not in attribute.options:
        raise AttributeValueError(f"must be one of: {', '.join(attribute.options)}")
    if attribute.kind == "number" and isinstance(value, float) and value.is_integer():
        value = int(value)
    return value, value_key(attribute.kind, value)


def check_filter(attribute: CustomerAttribute, text: str) -> str:
    """The canonical text of a value typed into a query string, to compare with `value_key`."""
    raw: Any = text
    if attribute.kind == "number":
        try:
            raw = float(text)
        except ValueError:
            raise AttributeValueError("must be a number") from None
    elif attribute.kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise AttributeValueError("must be true or false")
        raw = text.lower() == "true"
    return check_value(attribute, raw)[1]


def value_key(kind: str, value: Any) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "number":
        return repr(value)
    if kind == "text":
        return " ".join(str(value).split()).lower()[:200]
    return str(value)


def shown(value: Any) -> str:
    """A value as a person reads it on the timeline."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


async def attribute_values(session: AsyncSession, customer_id: int) -> dict[str, Any]:
    """The customer's values by attribute key."""
    rows = await session.execute(
        select(CustomerAttribute.key, CustomerAttributeValue.value)
        .join(CustomerAttribute, CustomerAttribute.id == CustomerAttributeValue.attribute_id)
        .where(CustomerAttributeValue.customer_id == customer_id)
        .order_by(CustomerAttribute.id)
    )
    return {key: value for key, value in rows}
