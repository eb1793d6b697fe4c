"""Week-over-week changes carry a small-sample guard: a ten-point rise on 8 answers is noise, on 800 it is real."""

from __future__ import annotations

import pytest

from bot.domain.statistics import Change, count_change, share_change, two_proportion_z, wilson_interval


def test_the_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson_interval(5, 10)  # type: ignore[misc]
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    low, high = wilson_interval(0, 20)  # type: ignore[misc]
    assert low == 0.0 and round(high, 4) == 0.1611  # never below zero, unlike the normal approximation
    assert wilson_interval(0, 0) is None


def test_the_two_proportion_z_statistic_matches_a_hand_computation() -> None:
    # 60/100 against 45/100: pooled p = 0.525, se = sqrt(.525*.475*(2/100)) = 0.070622…, z = 0.15/se = 2.1240
    assert round(two_proportion_z(60, 100, 45, 100) or 0, 4) == 2.1240
    assert two_proportion_z(3, 3, 5, 5) == 0.0
    assert two_proportion_z(1, 0, 1, 2) is None


def test_a_ten_point_rise_on_eight_answers_is_called_noise_with_few_cases() -> None:
    assert share_change(6, 8, 5, 8) is Change.FEW


def test_the_same_ten_point_rise_on_eight_hundred_answers_is_a_real_rise() -> None:
    assert share_change(600, 800, 520, 800) is Change.UP
    assert share_change(520, 800, 600, 800) is Change.DOWN


def test_a_small_change_on_many_answers_is_noise_but_not_for_lack_of_cases() -> None:
    assert share_change(410, 800, 400, 800) is Change.NOISE


def test_a_change_against_a_week_without_cases_cannot_be_judged() -> None:
    assert share_change(5, 10, 0, 0) is Change.NONE


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        (12, 8, Change.FEW),
        (300, 200, Change.UP),
        (200, 300, Change.DOWN),
        (410, 400, Change.NOISE),
        (0, 0, Change.NOISE),
    ],
)
def test_counts_are_judged_against_poisson_noise(now: int, before: int, expected: Change) -> None:
    assert count_change(now, before) is expected
