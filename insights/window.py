"""Report windows from what people type: `30d`, `12w`, `48h` or an ISO date."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["parse_since", "start_of_day"]

_RELATIVE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """The start of a window: `now` minus a duration, or an absolute date or time (UTC)."""
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        if amount < 1:
            raise ValueError(f"--since {text!r}: the window must be at least one {unit}")
        try:
            return now - timedelta(**{_UNITS[unit]: amount})
        except OverflowError:
            raise ValueError(f"--since {text!r} reaches back before the calendar") from None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"cannot read {text!r} as a window: try 30d, 12w, 48h or 2026-01-31"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment >= now:
        raise ValueError(f"--since {text!r} is not in the past")
    return moment


def start_of_day(moment: datetime) -> datetime:
    """Midnight UTC before `moment`: daily counts then start with a whole first day."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
