"""Pure report definitions: AAPOR rates, shares, tiers, lapse stages, periods."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from bot.domain.lapse import LapseStages
from bot.domain.statistics import (
    RATE_DEFINITIONS,
    AaporCounts,
    LapseStage,
    Period,
    ReportSettings,
    aapor_rates,
    age_bands,
    buckets,
    lapse_stage,
    last_full_week,
    months_before,
    months_between,
    parse_week,
    percent_text,
    pp_change,
    pp_text,
    round_half_up,
    share,
    tier_from_scores,
)

# A hand-worked example: 120 cases.
EXAMPLE = AaporCounts(I=40, P=10, R=20, NC=10, O=5, UH=10, UO=5, NE=20)


def test_the_aapor_rates_of_a_hand_worked_example_with_e_one_half() -> None:
    rates = aapor_rates(EXAMPLE, e=0.5)

    # eligible I+P+R+NC+O = 85, unknown UH+UO = 15, e(UH+UO) = 7.5
    assert rates == {
        "RR1": Fraction(40, 100),
        "RR2": Fraction(50, 100),
        "RR3": Fraction(40 * 2, 185),
        "RR4": Fraction(50 * 2, 185),
        "RR5": Fraction(40, 85),
        "RR6": Fraction(50, 85),
        "COOP1": Fraction(40, 75),
        "COOP2": Fraction(50, 75),
        "COOP3": Fraction(40, 70),
        "COOP4": Fraction(50, 70),
        "REF1": Fraction(20, 100),
        "REF2": Fraction(20 * 2, 185),
        "REF3": Fraction(20, 85),
        "CON1": Fraction(75, 100),
        "CON2": Fraction(75 * 2, 185),
        "CON3": Fraction(75, 85),
    }
    assert set(rates) == set(RATE_DEFINITIONS)


def test_e_defaults_to_the_eligible_share_of_cases_whose_eligibility_is_known() -> None:
    assert EXAMPLE.estimated_e() == Fraction(85, 105)
    assert aapor_rates(EXAMPLE)["RR3"] == Fraction(40) / (85 + Fraction(85, 105) * 15)


def test_e_of_one_makes_rr3_equal_rr1_and_e_of_zero_makes_it_equal_rr5() -> None:
    assert aapor_rates(EXAMPLE, e=1.0)["RR3"] == aapor_rates(EXAMPLE)["RR1"]
    assert aapor_rates(EXAMPLE, e=0.0)["RR3"] == aapor_rates(EXAMPLE)["RR5"]


def test_no_cases_give_no_rates_rather_than_a_division_by_zero() -> None:
    assert all(v is None for v in aapor_rates(AaporCounts()).values())
    assert aapor_rates(AaporCounts(NE=3))["RR1"] is None


def test_the_seed_referral_table_rounds_to_its_printed_percentages() -> None:
    counts = {
        "老用户推荐": 251,
        "亲朋好友推荐": 101,
        "新用户推荐": 57,
        "同行业推荐": 35,
        "重复推荐": 23,
        "同区域推荐": 13,
    }
    total = sum(counts.values())

    assert total == 480
    assert [percent_text(share(n, total), 0) for n in counts.values()] == ["52%", "21%", "12%", "7%", "5%", "3%"]


def test_shares_round_half_up_not_to_even() -> None:
    assert round_half_up(Fraction(125, 10), 0) == 13  # round() would say 12
    assert percent_text(Fraction(1, 8), 0) == "13%"
    assert percent_text(Fraction(1, 8), 1) == "12.5%"
    assert percent_text(None) == "—"


def test_a_share_of_nothing_is_none_and_so_is_its_change() -> None:
    assert share(3, 0) is None
    assert pp_change(None, Fraction(1, 2)) is None
    assert pp_text(None) == "—"


def test_changes_are_in_percentage_points_with_a_sign() -> None:
    change = pp_change(Fraction(3, 5), Fraction(1, 2))

    assert change == 10
    assert pp_text(change) == "+10.0"
    assert pp_text(pp_change(Fraction(1, 5), Fraction(1, 2))) == "-30.0"
    assert pp_text(Fraction(0)) == "0.0"


@pytest.mark.parametrize(
    ("loyalty", "economic", "tier"),
    [
        (7, 6, "premium"),
        (10, 10, "premium"),
        (7, 5, "potential"),
        (6, 0, "potential"),
        (0, 6, "potential"),
        (5, 5, "ordinary"),
        (0, 0, "ordinary"),
        (None, 9, None),
        (9, None, None),
    ],
)
def test_an_owner_s_tier_follows_from_loyalty_and_economic_scores(
    loyalty: int | None, economic: int | None, tier: str | None
) -> None:
    assert tier_from_scores(loyalty, economic) == tier


def test_tier_thresholds_are_settings() -> None:
    strict = ReportSettings(tier_premium_loyalty=9, tier_premium_economic=9)

    assert tier_from_scores(8, 8, strict) == "potential"


@pytest.mark.parametrize(
    ("months", "stage"),
    [
        (5, None),
        (6, LapseStage.PRE),
        (11, LapseStage.PRE),
        (12, LapseStage.LAPSED),
        (23, LapseStage.LAPSED),
        (24, LapseStage.FULL),
        (60, LapseStage.FULL),
    ],
)
def test_the_lapse_stage_follows_the_months_since_the_last_visit(months: int, stage: LapseStage | None) -> None:
    assert lapse_stage(months) == stage


def test_whole_months_count_calendar_months_and_clamp_to_month_ends() -> None:
    assert months_between(date(2026, 1, 31), date(2026, 2, 28)) == 1
    assert months_between(date(2026, 1, 15), date(2026, 2, 14)) == 0
    assert months_between(date(2025, 11, 25), date(2026, 11, 25)) == 12
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 11, 25), 24) == date(2024, 11, 25)


def test_vehicle_age_bands_run_from_the_youngest_to_the_oldest() -> None:
    bands = age_bands(date(2026, 11, 25))

    assert [label for _, label, _, _ in bands] == ["1年以内", "1–2年", "2–3年", "3–5年", "5年以上"]
    assert bands[0][2:] == (date(2025, 11, 25), date(2026, 11, 25))
    assert bands[-1][2:] == (None, date(2021, 11, 25))


def test_an_iso_week_parses_to_monday_through_sunday() -> None:
    week = parse_week("2026-W47")

    assert (week.start, week.end, week.label) == (date(2026, 11, 16), date(2026, 11, 23), "2026-W47")
    assert week.previous() == parse_week("2026-W46")
    assert parse_week("2027-W01").previous().label == "2026-W53"


@pytest.mark.parametrize("text", ["2026-47", "2026-W54", "W47", "二〇二六"])
def test_a_malformed_or_impossible_week_is_refused_in_chinese(text: str) -> None:
    with pytest.raises(ValueError, match="周"):
        parse_week(text)


def test_the_previous_period_has_the_same_length_and_ends_where_this_one_starts() -> None:
    period = Period(date(2026, 11, 1), date(2026, 12, 1))

    assert period.previous() == Period(date(2026, 10, 2), date(2026, 11, 1))


def test_a_local_week_becomes_utc_bounds_in_the_store_time_zone() -> None:
    start, end = parse_week("2026-W47").utc_bounds("Asia/Shanghai")

    assert start == datetime(2026, 11, 15, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)


def test_the_weekly_summary_covers_the_last_full_week() -> None:
    assert last_full_week(date(2026, 11, 25)).label == "2026-W47"


def test_week_and_month_buckets_are_clipped_to_the_period() -> None:
    period = Period(date(2026, 11, 4), date(2026, 12, 3))

    assert buckets(period, "month") == [
        ("2026-11", date(2026, 11, 4), date(2026, 12, 1)),
        ("2026-12", date(2026, 12, 1), date(2026, 12, 3)),
    ]
    weeks = buckets(period, "week")
    assert weeks[0] == ("2026-W45", date(2026, 11, 4), date(2026, 11, 9))
    assert weeks[-1] == ("2026-W49", date(2026, 11, 30), date(2026, 12, 3))


def test_report_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        ReportSettings(e=1.5)
    with pytest.raises(ValueError):
        ReportSettings(lapse=LapseStages(pre=12, lapsed=6))
