"""Business hours: when a team is open, and when it opens next.

A `Schedule` is a time zone, opening intervals per weekday in that zone's wall-clock
time, and holidays (whole local days closed). `is_open` and `next_opening` are pure:
they read the schedule and an aware instant, nothing else. Wall-clock times are read
through zoneinfo, so 09:00 stays 09:00 across a daylight-saving change; an opening
that falls in the hour a spring change skips opens when the clocks jump past it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "WEEKDAYS",
    "Holiday",
    "Interval",
    "Schedule",
    "add_business_seconds",
    "business_seconds_between",
    "holidays_from_ics",
    "is_open",
    "next_opening",
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIDNIGHT = time(0)
# Far enough to pass any run of holidays; a schedule closed that long never opens.
SEARCH_DAYS = 400
MAX_HOLIDAYS = 1000


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone, like Europe/Berlin") from None
    return name


class Interval(BaseModel):
    """Open from `opens` until just before `closes` (00:00: until midnight), local time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    opens: time
    closes: time

    @model_validator(mode="after")
    def _forward(self) -> Interval:
        if self.closes != MIDNIGHT and self.closes <= self.opens:
            raise ValueError("an interval closes after it opens (00:00 for midnight)")
        return self

    def holds(self, clock: time) -> bool:
        return self.opens <= clock and (self.closes == MIDNIGHT or clock < self.closes)


class Holiday(BaseModel):
    """A local day the team is closed all day."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    day: date
    name: str = Field("", max_length=200)


class Schedule(BaseModel):
    """A team's business hours: `weekly` names the open intervals of each weekday."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    timezone: Annotated[str, AfterValidator(_zone)] = Field(max_length=64)
    weekly: dict[Weekday, list[Interval]] = Field(default_factory=dict)
    holidays: list[Holiday] = Field(default_factory=list, max_length=MAX_HOLIDAYS)

    @model_validator(mode="after")
    def _tidy(self) -> Schedule:
        for day, intervals in self.weekly.items():
            ordered = sorted(intervals, key=lambda i: i.opens)
            for before, after in zip(ordered, ordered[1:], strict=False):
                if before.closes == MIDNIGHT or after.opens < before.closes:
                    raise ValueError(f"the intervals of {day} overlap")
            self.weekly[day] = ordered
        by_day = {h.day: h for h in self.holidays}  # a day imported twice is one holiday
        self.holidays = [by_day[d] for d in sorted(by_day)]
        return self

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def closed_days(self) -> frozenset[date]:
        return frozenset(h.day for h in self.holidays)


def is_open(schedule: Schedule, at: datetime) -> bool:
    """Whether the team is open at the aware instant `at`."""
    local = _local(schedule, at)
    if local.date() in schedule.closed_days():
        return False
    clock = local.time()
    return any(i.holds(clock) for i in schedule.weekly.get(WEEKDAYS[local.weekday()], []))


def next_opening(schedule: Schedule, at: datetime) -> datetime | None:
    """The first instant at or after `at` when the team is open (`at` itself when open),
    in UTC; None when the schedule never opens."""
    if is_open(schedule, at):
        return at.astimezone(UTC)
    zone, closed = schedule.zone(), schedule.closed_days()
    start = _local(schedule, at)
    for offset in range(SEARCH_DAYS):
        day = start.date() + timedelta(days=offset)
        if day in closed:
            continue
        for interval in schedule.weekly.get(WEEKDAYS[day.weekday()], []):
            opening = _instant(datetime.combine(day, interval.opens), zone)
            if opening > at and is_open(schedule, opening):
                return opening
    return None


def open_spans(schedule: Schedule, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The open stretches of time ending after `start`, in order, as UTC (from, until)
    pairs; the first may begin before `start`. Ends after SEARCH_DAYS local days."""
    zone, closed = schedule.zone(), schedule.closed_days()
    first = _local(schedule, start).date() - timedelta(days=1)
    for offset in range(SEARCH_DAYS):
        day = first + timedelta(days=offset)
        if day in closed:
            continue
        for interval in schedule.weekly.get(WEEKDAYS[day.weekday()], []):
            opens = _instant(datetime.combine(day, interval.opens), zone)
            closes_day = day + timedelta(days=1) if interval.closes == MIDNIGHT else day
            closes = _instant(datetime.combine(closes_day, interval.closes), zone)
            if closes > start and closes > opens:
                yield opens, closes


def business_seconds_between(schedule: Schedule, start: datetime, end: datetime) -> float:
    """How many seconds the team is open from `start` to `end` (0 when end <= start)."""
    total = 0.0
    for opens, closes in open_spans(schedule, start):
        if opens >= end:
            break
        total += (min(closes, end) - max(opens, start)).total_seconds()
    return total


def add_business_seconds(schedule: Schedule, start: datetime, seconds: float) -> datetime | None:
    """The instant, in UTC, by which the team has been open `seconds` since `start`;
    None when the schedule never opens that long."""
    remaining = timedelta(seconds=seconds)
    for opens, closes in open_spans(schedule, start):
        begin = max(opens, start)
        if begin + remaining <= closes:
            return (begin + remaining).astimezone(UTC)
        remaining -= closes - begin
    return None


def _local(schedule: Schedule, at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("at must be an aware datetime")
    return at.astimezone(schedule.zone())


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first UTC instant whose wall-clock time in `zone` is `wall` or later: `wall`
    itself, or, when a spring change skips it, the moment the clocks jump."""
    earliest = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)  # the later offset
    latest = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if earliest.astimezone(zone).replace(tzinfo=None) == wall:
        # An autumn change repeats the hour: its first occurrence.
        return min(earliest, latest)
    # In the skipped hour: the jump lies between the two readings; find its second.
    low, high = earliest, latest
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def holidays_from_ics(data: bytes, today: date | None = None) -> list[Holiday]:
    """The days of each event in an iCalendar file, named by its summary. An all-day
    event spanning days closes each of them; a timed event closes the day it starts.
    A recurring event (RRULE, RDATE, less its EXDATEs) closes each day it falls on from a
    year before `today` to RECUR_YEARS after it. ValueError when the file is not iCalendar."""
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise ValueError(f"not an iCalendar file: {exc}") from None
    holidays: list[Holiday] = []
    for event in calendar.walk("VEVENT"):
        if event.get("DTSTART") is None:
            continue
        name = str(event.get("SUMMARY", ""))[:200]
        for occurrence in _occurrences(calendar, event, today or date.today()):
            first = _day(occurrence.decoded("DTSTART"))
            end = occurrence.get("DTEND")
            last = _day(occurrence.decoded("DTEND")) - timedelta(days=1) if end else first
            day = first
            while day <= max(first, last) and len(holidays) <= MAX_HOLIDAYS:
                holidays.append(Holiday(day=day, name=name))
                day += timedelta(days=1)
    if len(holidays) > MAX_HOLIDAYS:
        raise ValueError(f"more than {MAX_HOLIDAYS} holiday days")
    return holidays


RECUR_YEARS = 3


def _occurrences(calendar: Any, event: Any, today: date) -> list[Any]:
    """The event itself, or each of its recurrences in the window around `today`:
    expanded by recurring-ical-events, which applies RRULE, RDATE and EXDATE as RFC 5545
    says (time zones and all-day events included)."""
    if not any(key in event for key in ("RRULE", "RDATE")):
        return [event]
    import recurring_ical_events
    from icalendar import Calendar

    alone = Calendar()
    for zone in calendar.walk("VTIMEZONE"):
        alone.add_component(zone)
    alone.add_component(event)
    start = today.replace(day=1) - timedelta(days=366)
    end = date(today.year + RECUR_YEARS, today.month, 1)
    try:
        return list(recurring_ical_events.of(alone).between(start, end))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"a recurring event cannot be read: {exc}") from None


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value
