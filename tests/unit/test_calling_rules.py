"""Calling hours and what each call outcome means for the next try (local Shanghai wall-clock times)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from bot.domain.calling import CallingHours, Next, RetryRules, decide

HOURS = CallingHours()
WED_10 = datetime(2026, 11, 25, 10, 0)  # a Wednesday


def test_calls_are_allowed_from_nine_until_just_before_eight_in_the_evening() -> None:
    assert not HOURS.is_open(datetime(2026, 11, 25, 8, 59))
    assert HOURS.is_open(datetime(2026, 11, 25, 9, 0))
    assert HOURS.is_open(datetime(2026, 11, 25, 19, 59))
    assert not HOURS.is_open(datetime(2026, 11, 25, 20, 0))


def test_weekends_and_public_holidays_can_be_closed_by_setting() -> None:
    hours = CallingHours(weekends=False, holidays=frozenset({date(2026, 10, 1)}))

    assert not hours.is_open(datetime(2026, 11, 28, 10, 0))  # Saturday
    assert not hours.is_open(datetime(2026, 10, 1, 10, 0))  # National Day
    assert hours.next_open(datetime(2026, 11, 27, 20, 30)) == datetime(2026, 11, 30, 9, 0)  # Fri night → Mon


def test_no_answer_is_tried_again_after_two_hours_on_a_different_half_day() -> None:
    first = decide("no_answer", WED_10, [], HOURS)
    assert (first.next, first.at) == (Next.RETRY, datetime(2026, 11, 25, 12, 0))

    second = decide("no_answer", datetime(2026, 11, 25, 14, 0), [("no_answer", WED_10)], HOURS)
    assert second.at == datetime(2026, 11, 26, 9, 0)  # the afternoon was used: next morning


def test_after_three_unanswered_calls_the_survey_ends_as_non_contact() -> None:
    earlier = [("no_answer", WED_10), ("unreachable", datetime(2026, 11, 25, 14, 0))]

    decision = decide("no_answer", datetime(2026, 11, 26, 9, 30), earlier, HOURS)

    assert (decision.next, decision.outcome) == (Next.END, "non_contact")


def test_a_busy_line_is_tried_again_in_thirty_minutes_but_never_after_hours() -> None:
    assert decide("line_busy", WED_10, [], HOURS).at == datetime(2026, 11, 25, 10, 30)
    assert decide("line_busy", datetime(2026, 11, 25, 19, 45), [], HOURS).at == datetime(2026, 11, 26, 9, 0)


@pytest.mark.parametrize("code", ["powered_off", "away"])
def test_a_phone_switched_off_or_a_customer_away_is_called_the_next_day(code: str) -> None:
    assert decide(code, WED_10, [], HOURS).at == datetime(2026, 11, 26, 9, 0)


def test_a_forwarded_call_is_retried_once_then_counts_as_no_answer() -> None:
    once = decide("forwarded", WED_10, [], HOURS)
    assert once.next is Next.RETRY

    twice = decide("forwarded", datetime(2026, 11, 25, 12, 0), [("forwarded", WED_10)], HOURS)
    assert twice.next is Next.RETRY and twice.at == datetime(2026, 11, 26, 9, 0)


@pytest.mark.parametrize("code", ["vacant", "suspended", "wrong_number"])
def test_a_bad_number_ends_the_calls_and_asks_the_owner_to_correct_it(code: str) -> None:
    decision = decide(code, WED_10, [], HOURS)

    assert (decision.next, decision.task, decision.outcome) == (Next.END, "fix_phone", "not_eligible")


@pytest.mark.parametrize("code", ["rejected_call", "refused"])
def test_a_rejected_call_or_a_refusal_ends_the_survey(code: str) -> None:
    decision = decide(code, WED_10, [], HOURS)
    assert (decision.next, decision.outcome, decision.opt_out) == (Next.END, "refusal", False)


def test_do_not_call_me_opts_the_customer_out_everywhere() -> None:
    assert decide("do_not_call", WED_10, [], HOURS).opt_out


def test_the_attempt_limit_ends_the_survey_whatever_the_outcome() -> None:
    rules = RetryRules(max_attempts=2)

    assert decide("line_busy", WED_10, [("line_busy", datetime(2026, 11, 25, 9, 30))], HOURS, rules).next is Next.END


def test_connected_goes_on_with_the_questionnaire() -> None:
    assert decide("connected", WED_10, [], HOURS).next is Next.CONNECTED


def test_half_days_split_at_noon() -> None:
    from bot.domain.calling import half_day

    assert half_day(datetime(2026, 11, 25, 11, 59)) == (date(2026, 11, 25), False)
    assert half_day(datetime.combine(date(2026, 11, 25), time(12))) == (date(2026, 11, 25), True)


# Callback slots offered as buttons: 10:00–16:00, no weekends, Mid-Autumn and National Day off (2026).
NARROW = CallingHours(
    time(10, 0), time(16, 0), weekends=False, holidays=frozenset(date(2026, 10, d) for d in range(1, 8))
)


@pytest.mark.parametrize(
    ("now", "slots"),
    [
        (datetime(2026, 9, 29, 10, 0), ["09-29 12:00", "09-30 10:00", "09-30 15:00"]),  # Tuesday morning
        (datetime(2026, 9, 29, 8, 30), ["09-29 10:00", "09-30 10:00", "09-30 15:00"]),  # before opening: 10:00
        (datetime(2026, 9, 29, 14, 5), ["09-30 10:00", "09-30 15:00"]),  # 16:00 would be closed
        (datetime(2026, 9, 30, 11, 0), ["09-30 13:00", "10-08 10:00", "10-08 15:00"]),  # before National Day
        (datetime(2026, 10, 3, 11, 0), ["10-08 10:00", "10-08 15:00"]),  # a holiday: nothing today
        (datetime(2026, 11, 27, 11, 0), ["11-27 13:00", "11-30 10:00", "11-30 15:00"]),  # Friday → Monday
    ],
)
def test_callback_slots_are_inside_the_hours_never_on_a_holiday_or_a_closed_weekend(
    now: datetime, slots: list[str]
) -> None:
    offered = NARROW.callback_slots(now)

    assert [s.strftime("%m-%d %H:%M") for s in offered] == slots
    assert all(NARROW.is_open(s) for s in offered)


def test_slots_move_inside_a_window_that_leaves_out_ten_or_three_oclock() -> None:
    afternoon = CallingHours(time(13, 30), time(17, 0))
    morning = CallingHours(time(8, 0), time(12, 30))

    assert afternoon.callback_slots(datetime(2026, 11, 25, 16, 0)) == [
        datetime(2026, 11, 26, 13, 30),
        datetime(2026, 11, 26, 15, 0),
    ]
    assert morning.callback_slots(datetime(2026, 11, 25, 12, 0)) == [
        datetime(2026, 11, 26, 10, 0),
        datetime(2026, 11, 26, 12, 0),
    ]


def test_the_example_callback_time_shown_can_be_booked() -> None:
    assert NARROW.example_callback(datetime(2026, 9, 30, 11, 0)) == datetime(2026, 10, 8, 14, 0)
    assert CallingHours(time(8, 0), time(12, 0)).example_callback(WED_10) == datetime(2026, 11, 26, 11, 0)
