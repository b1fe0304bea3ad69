"""Erlang C against the textbook case: 100 contacts per 30 minutes, 180 s handle time."""

from __future__ import annotations

import pytest

from routing.erlang import agents_needed, probability_of_waiting, staffing

ARRIVALS = 100 / 1800


def test_textbook_case_with_fourteen_agents() -> None:
    result = staffing(14, ARRIVALS, handle_seconds=180, target_seconds=20)
    assert result.traffic == pytest.approx(10.0)
    assert result.probability_of_waiting == pytest.approx(0.1741, abs=5e-5)
    assert result.service_level == pytest.approx(0.8884, abs=5e-5)
    assert result.average_speed_of_answer == pytest.approx(7.84, abs=5e-3)
    assert result.occupancy == pytest.approx(0.714, abs=5e-4)


def test_agents_needed_is_the_fewest_that_reach_the_target() -> None:
    result = agents_needed(ARRIVALS, 180, target_seconds=20, target_service_level=0.8)
    assert result.agents == 14
    assert result.service_level >= 0.8
    assert staffing(13, ARRIVALS, 180, 20).service_level < 0.8


def test_too_few_agents_means_everyone_waits() -> None:
    assert probability_of_waiting(10, 10.0) == 1.0
    assert staffing(9, ARRIVALS, 180, 20).service_level == 0.0


def test_no_traffic_needs_no_agents() -> None:
    assert agents_needed(0, 180, 20, 0.8).agents == 0


def test_large_centres_stay_numerically_stable() -> None:
    result = agents_needed(2.0, 300, target_seconds=30, target_service_level=0.9)
    assert 600 < result.agents < 640
    assert 0 < result.probability_of_waiting < 1
