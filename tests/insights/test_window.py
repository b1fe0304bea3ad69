"""Report windows as people type them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from insights.window import parse_since, start_of_day

NOW = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)


def test_relative_and_absolute_windows() -> None:
    assert parse_since("30d", NOW) == NOW - timedelta(days=30)
    assert parse_since("2w", NOW) == NOW - timedelta(weeks=2)
    assert parse_since("48H", NOW) == NOW - timedelta(hours=48)
    assert parse_since("2026-03-01", NOW) == datetime(2026, 3, 1, tzinfo=UTC)
    assert start_of_day(NOW) == datetime(2026, 3, 31, tzinfo=UTC)


@pytest.mark.parametrize("text", ["0d", "soon", "2027-01-01", "-3d"])
def test_windows_that_make_no_sense_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_since(text, NOW)
