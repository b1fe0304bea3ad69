"""Business hours read as the team's own clock: weekdays, holidays, daylight-saving days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from hub.hours import (
    WEEKDAYS,
    Holiday,
    Schedule,
    add_business_seconds,
    business_seconds_between,
    holidays_from_ics,
    is_open,
    next_opening,
)

WEEKDAYS_NINE_TO_FIVE = {
    day: [{"opens": "09:00", "closes": "17:00"}] for day in ("mon", "tue", "wed", "thu", "fri")
}


def berlin(**changes: object) -> Schedule:
    fields: dict[str, object] = {
        "name": "Berlin office",
        "timezone": "Europe/Berlin",
        "weekly": WEEKDAYS_NINE_TO_FIVE,
    }
    fields.update(changes)
    return Schedule.model_validate(fields)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_open_during_local_hours_and_closed_outside_them() -> None:
    schedule = berlin()
    # Tuesday 2026-01-13, Berlin is UTC+1 in winter.
    assert not is_open(schedule, utc(2026, 1, 13, 7, 59))
    assert is_open(schedule, utc(2026, 1, 13, 8, 0))
    assert is_open(schedule, utc(2026, 1, 13, 15, 59))
    assert not is_open(schedule, utc(2026, 1, 13, 16, 0))
    assert not is_open(schedule, utc(2026, 1, 17, 10, 0))  # Saturday


def test_next_opening_is_now_when_open_and_monday_morning_after_friday_evening() -> None:
    schedule = berlin()
    assert next_opening(schedule, utc(2026, 1, 13, 10, 0)) == utc(2026, 1, 13, 10, 0)
    assert next_opening(schedule, utc(2026, 1, 16, 17, 30)) == utc(2026, 1, 19, 8, 0)


def test_the_weekend_of_the_spring_change_opens_at_nine_summer_time() -> None:
    # Clocks go from 02:00 to 03:00 on Sunday 2026-03-29: Monday 09:00 is 07:00 UTC.
    schedule = berlin()
    assert next_opening(schedule, utc(2026, 3, 27, 18, 0)) == utc(2026, 3, 30, 7, 0)
    assert not is_open(schedule, utc(2026, 3, 30, 6, 59))
    assert is_open(schedule, utc(2026, 3, 30, 7, 0))


def test_an_opening_in_the_skipped_hour_opens_when_the_clocks_jump() -> None:
    schedule = berlin(weekly={"sun": [{"opens": "02:30", "closes": "12:00"}]})
    # 2026-03-29 has no 02:30 in Berlin: the team opens at 03:00 CEST, 01:00 UTC.
    assert next_opening(schedule, utc(2026, 3, 28, 23, 0)) == utc(2026, 3, 29, 1, 0)
    assert not is_open(schedule, utc(2026, 3, 29, 0, 59))
    assert is_open(schedule, utc(2026, 3, 29, 1, 0))


def test_the_autumn_change_keeps_wall_clock_hours() -> None:
    # Clocks go back from 03:00 to 02:00 on Sunday 2026-10-25: Monday 09:00 is 08:00 UTC.
    schedule = berlin()
    assert next_opening(schedule, utc(2026, 10, 23, 18, 0)) == utc(2026, 10, 26, 8, 0)
    assert not is_open(schedule, utc(2026, 10, 26, 7, 30))


def test_a_holiday_is_closed_all_day_and_the_next_opening_skips_it() -> None:
    schedule = berlin(
        holidays=[
            {"day": "2026-12-24", "name": "Christmas Eve"},
            {"day": "2026-12-25", "name": "Christmas"},
        ]
    )
    assert not is_open(schedule, utc(2026, 12, 24, 10, 0))  # a Thursday
    assert next_opening(schedule, utc(2026, 12, 23, 17, 0)) == utc(2026, 12, 28, 8, 0)
    assert is_open(schedule, utc(2026, 12, 23, 10, 0))


def test_a_schedule_that_never_opens_has_no_next_opening() -> None:
    assert next_opening(berlin(weekly={}), utc(2026, 1, 13, 10, 0)) is None


def test_an_interval_until_midnight_and_split_days() -> None:
    schedule = berlin(
        timezone="America/New_York",
        weekly={
            "sat": [{"opens": "08:00", "closes": "12:00"}, {"opens": "18:00", "closes": "00:00"}]
        },
    )
    # Saturday 2026-01-17, New York is UTC-5.
    assert is_open(schedule, utc(2026, 1, 18, 4, 59))  # 23:59 local
    assert not is_open(schedule, utc(2026, 1, 18, 5, 0))  # Sunday 00:00 local
    assert next_opening(schedule, utc(2026, 1, 17, 17, 30)) == utc(2026, 1, 17, 23, 0)


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"timezone": "Mars/Olympus"}, "IANA"),
        ({"weekly": {"mon": [{"opens": "17:00", "closes": "09:00"}]}}, "closes after it opens"),
        (
            {
                "weekly": {
                    "mon": [
                        {"opens": "09:00", "closes": "13:00"},
                        {"opens": "12:00", "closes": "18:00"},
                    ]
                }
            },
            "overlap",
        ),
        ({"weekly": {"someday": []}}, "someday"),
        ({"holidays": [{"day": "2026-02-30"}]}, "holidays"),
    ],
)
def test_a_schedule_that_makes_no_sense_is_refused(
    changes: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        berlin(**changes)


def test_holidays_come_from_an_icalendar_file() -> None:
    ics = b"\r\n".join(
        [
            b"BEGIN:VCALENDAR",
            b"VERSION:2.0",
            b"PRODID:-//Example//Holidays//EN",
            b"BEGIN:VEVENT",
            b"UID:1@example.test",
            b"DTSTAMP:20260101T000000Z",
            b"DTSTART;VALUE=DATE:20261225",
            b"DTEND;VALUE=DATE:20261227",
            b"SUMMARY:Christmas",
            b"END:VEVENT",
            b"BEGIN:VEVENT",
            b"UID:2@example.test",
            b"DTSTAMP:20260101T000000Z",
            b"DTSTART;VALUE=DATE:20260501",
            b"SUMMARY:Labour Day",
            b"END:VEVENT",
            b"END:VCALENDAR",
            b"",
        ]
    )
    assert holidays_from_ics(ics) == [
        Holiday(day=date(2026, 12, 25), name="Christmas"),
        Holiday(day=date(2026, 12, 26), name="Christmas"),
        Holiday(day=date(2026, 5, 1), name="Labour Day"),
    ]


def test_a_yearly_holiday_closes_each_year_around_today_but_its_exceptions() -> None:
    ics = b"\r\n".join(
        [
            b"BEGIN:VCALENDAR",
            b"VERSION:2.0",
            b"PRODID:-//Example//Holidays//EN",
            b"BEGIN:VEVENT",
            b"UID:xmas@example.test",
            b"DTSTAMP:20200101T000000Z",
            b"DTSTART;VALUE=DATE:20201225",
            b"DTEND;VALUE=DATE:20201226",
            b"RRULE:FREQ=YEARLY",
            b"EXDATE;VALUE=DATE:20271225",
            b"SUMMARY:Christmas",
            b"END:VEVENT",
            b"BEGIN:VEVENT",
            b"UID:audit@example.test",
            b"DTSTAMP:20200101T000000Z",
            b"DTSTART;TZID=Europe/Berlin:20261201T090000",
            b"RRULE:FREQ=MONTHLY;COUNT=2",
            b"SUMMARY:Stock take",
            b"END:VEVENT",
            b"END:VCALENDAR",
            b"",
        ]
    )
    assert holidays_from_ics(ics, today=date(2026, 12, 2)) == [
        Holiday(day=date(2025, 12, 25), name="Christmas"),
        Holiday(day=date(2026, 12, 25), name="Christmas"),
        Holiday(day=date(2028, 12, 25), name="Christmas"),
        Holiday(day=date(2026, 12, 1), name="Stock take"),
        Holiday(day=date(2027, 1, 1), name="Stock take"),
    ]


def test_a_recurrence_that_cannot_be_read_is_refused() -> None:
    ics = b"\r\n".join(
        [
            b"BEGIN:VCALENDAR",
            b"VERSION:2.0",
            b"BEGIN:VEVENT",
            b"UID:bad@example.test",
            b"DTSTART;VALUE=DATE:20201225",
            b"RRULE:FREQ=SOMETIMES",
            b"SUMMARY:Christmas",
            b"END:VEVENT",
            b"END:VCALENDAR",
            b"",
        ]
    )
    with pytest.raises(ValueError):
        holidays_from_ics(ics, today=date(2026, 12, 2))


def test_a_file_that_is_not_icalendar_is_refused() -> None:
    with pytest.raises(ValueError, match="not an iCalendar file"):
        holidays_from_ics(b"Name,Date\nChristmas,2026-12-25\n")


HOUR = 3600


def test_business_time_runs_only_while_open_across_nights_and_weekends() -> None:
    schedule = berlin()
    # Friday 2026-01-16 16:00 Berlin (15:00 UTC): one hour left today, the rest on Monday.
    friday = utc(2026, 1, 16, 15, 0)
    assert add_business_seconds(schedule, friday, 2 * HOUR) == utc(2026, 1, 19, 9, 0)
    assert business_seconds_between(schedule, friday, utc(2026, 1, 19, 9, 0)) == 2 * HOUR
    # Started at night: the clock starts at the opening.
    night = utc(2026, 1, 13, 2, 0)
    assert add_business_seconds(schedule, night, 30 * 60) == utc(2026, 1, 13, 8, 30)
    # Tuesday 08:00 to Wednesday 09:00 UTC: all of Tuesday (8 h) and Wednesday's first hour.
    assert business_seconds_between(schedule, utc(2026, 1, 13, 8), utc(2026, 1, 14, 9)) == 9 * HOUR
    assert business_seconds_between(schedule, utc(2026, 1, 14, 9), utc(2026, 1, 13, 8)) == 0


def test_business_time_skips_holidays() -> None:
    schedule = berlin(holidays=[{"day": "2026-01-19", "name": "Closed Monday"}])
    friday = utc(2026, 1, 16, 15, 0)
    assert add_business_seconds(schedule, friday, 2 * HOUR) == utc(2026, 1, 20, 9, 0)
    assert business_seconds_between(schedule, friday, utc(2026, 1, 21, 8, 0)) == 9 * HOUR


def test_business_time_over_the_spring_change_counts_the_hours_that_exist() -> None:
    always = berlin(weekly={day: [{"opens": "00:00", "closes": "00:00"}] for day in WEEKDAYS})
    # Saturday noon to Sunday noon in Berlin, 2026-03-28/29: the clocks skip an hour.
    start, end = utc(2026, 3, 28, 11, 0), utc(2026, 3, 29, 10, 0)
    assert business_seconds_between(always, start, end) == 23 * HOUR
    assert add_business_seconds(always, start, 23 * HOUR) == end
    # Nine to five on the autumn Monday after the change is still eight hours, from 08:00 UTC.
    schedule = berlin()
    monday = utc(2026, 10, 26, 0, 0)
    assert add_business_seconds(schedule, monday, 8 * HOUR) == utc(2026, 10, 26, 16, 0)


def test_a_schedule_that_never_opens_never_reaches_a_target() -> None:
    never = berlin(weekly={})
    assert add_business_seconds(never, utc(2026, 1, 13, 8), 60) is None
    assert business_seconds_between(never, utc(2026, 1, 13), utc(2026, 2, 13)) == 0
