"""Lapse stages: one rule for due selection and reports (准流失 / 流失 / 彻底流失 by whole months away)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.dates import months_between
from bot.domain.lapse import LapseStage, LapseStages

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("last_visit", "stage"),
    [
        (date(2026, 5, 26), None),
        (date(2026, 5, 25), LapseStage.PRE),
        (date(2025, 11, 26), LapseStage.PRE),
        (date(2025, 11, 25), LapseStage.LAPSED),
        (date(2024, 11, 25), LapseStage.FULL),
        (date(2019, 1, 1), LapseStage.FULL),
    ],
)
def test_a_customer_reaches_each_stage_on_the_same_day_of_the_month(last_visit: date, stage: LapseStage | None) -> None:
    assert LapseStages().stage_of(last_visit, TODAY) == stage


def test_from_the_last_day_of_a_month_a_month_ends_on_the_last_day_of_a_shorter_one() -> None:
    stages = LapseStages()

    assert stages.stage_of(date(2026, 8, 31), date(2027, 2, 27)) is None
    assert stages.stage_of(date(2026, 8, 31), date(2027, 2, 28)) is LapseStage.PRE
    assert stages.cutoffs(date(2027, 2, 28))[LapseStage.PRE] == date(2026, 8, 31)


def test_other_months_move_every_stage() -> None:
    stages = LapseStages(pre=3, lapsed=9, full=18)

    assert stages.stage_of(date(2026, 8, 25), TODAY) is LapseStage.PRE
    assert stages.stage_of(date(2026, 2, 25), TODAY) is LapseStage.LAPSED
    assert stages.stage_of(date(2025, 5, 25), TODAY) is LapseStage.FULL
    assert [stages.months(s) for s in LapseStage] == [3, 9, 18]


@given(
    today=st.dates(date(2020, 1, 1), date(2035, 12, 31)),
    back=st.integers(0, 1200),
    months=st.tuples(st.integers(1, 12), st.integers(1, 12), st.integers(1, 24)),
)
def test_the_sql_cut_offs_say_the_same_as_the_stage_of_a_visit(
    today: date, back: int, months: tuple[int, int, int]
) -> None:
    pre, step, last = months
    stages = LapseStages(pre, pre + step, pre + step + last)
    visit = today - timedelta(days=back)
    cutoffs = stages.cutoffs(today)

    reached = [stage for stage in LapseStage if visit <= cutoffs[stage]]
    assert stages.stage_of(visit, today) == (reached[-1] if reached else None)
    assert stages.stage_of(visit, today) == stages.stage_after(months_between(visit, today))


def test_lapse_months_that_do_not_increase_are_refused() -> None:
    with pytest.raises(ValueError):
        LapseStages(pre=12, lapsed=6, full=24)
    with pytest.raises(ValueError):
        LapseStages(pre=0, lapsed=6, full=24)
