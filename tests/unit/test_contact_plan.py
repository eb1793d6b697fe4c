"""The contact plan over time: modes in order, waits, caps, modes that cannot be used, and the case's result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.contact_plan import (
    ContactPlan,
    Mode,
    Move,
    Place,
    PlanError,
    Reach,
    SkipReason,
    Stage,
    advance,
    may_try,
    plan_from_mapping,
    start,
)
from bot.domain.dispositions import case_result
from bot.domain.lifecycle import Event, EventKind, IllegalTransition, SurveyStatus, transition

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)

DEFEAT = plan_from_mapping(
    "defeat",
    [
        {"mode": "chat", "wait": "3d", "attempts": 2},
        {"mode": "web", "wait": "3d", "attempts": 1},
        {"mode": "voice", "wait": "2d", "attempts": 3},
        {"mode": "phone", "wait": "5d", "attempts": 6},
    ],
)
EVERYTHING = frozenset(Mode)


def test_a_customer_bound_to_chat_starts_in_chat() -> None:
    step = start(DEFEAT, Reach(EVERYTHING, chat_bound=True), T0)
    assert (step.move, step.mode, step.skipped) == (Move.ENTER, Mode.CHAT, ())


def test_a_customer_not_on_telegram_starts_with_the_sms_link_and_the_plan_says_chat_was_skipped() -> None:
    step = start(DEFEAT, Reach(EVERYTHING, chat_bound=False), T0)
    assert step.mode is Mode.WEB
    assert [(s.mode, s.reason) for s in step.skipped] == [(Mode.CHAT, SkipReason.NO_CHAT)]


def test_chat_unanswered_for_its_wait_moves_to_the_next_mode() -> None:
    reach = Reach(EVERYTHING, chat_bound=True)
    place = start(DEFEAT, reach, T0).place
    assert place is not None
    assert advance(DEFEAT, place, reach, T0 + 3 * DAY - timedelta(minutes=1)).move is Move.STAY
    moved = advance(DEFEAT, place, reach, T0 + 3 * DAY)
    assert (moved.move, moved.mode) == (Move.ENTER, Mode.WEB)
    assert moved.place == Place(1, T0 + 3 * DAY, 0)


def test_a_time_travel_through_every_mode_ends_the_survey_as_non_contact() -> None:
    reach = Reach(EVERYTHING, chat_bound=True)
    now, step = T0, start(DEFEAT, reach, T0)
    seen = [step.mode]
    while step.move is not Move.END:
        now += DAY
        assert step.place is not None
        step = advance(DEFEAT, step.place, reach, now)
        if step.move is Move.ENTER:
            seen.append(step.mode)
    assert seen == [Mode.CHAT, Mode.WEB, Mode.VOICE, Mode.PHONE]
    assert now == T0 + (3 + 3 + 2 + 5) * DAY
    assert transition(SurveyStatus.INVITED, Event(EventKind.CALL_FINAL, "non_contact")).status is (
        SurveyStatus.NON_CONTACT
    )


def test_a_mode_whose_adapter_is_not_configured_is_skipped_and_named() -> None:
    reach = Reach(frozenset({Mode.CHAT}), chat_bound=True)  # no SMS, no voice robot: specialists only after chat
    place = start(DEFEAT, reach, T0).place
    assert place is not None
    moved = advance(DEFEAT, place, reach, T0 + 3 * DAY)
    assert moved.mode is Mode.PHONE
    assert [(s.mode, s.reason) for s in moved.skipped] == [
        (Mode.WEB, SkipReason.NOT_CONFIGURED),
        (Mode.VOICE, SkipReason.NOT_CONFIGURED),
    ]


def test_a_customer_who_blocks_the_bot_leaves_chat_at_once() -> None:
    place = Place(0, T0, 1)
    blocked = Reach(EVERYTHING, chat_bound=True, unreachable=frozenset({Mode.CHAT}))
    assert advance(DEFEAT, place, blocked, T0 + timedelta(hours=1)).mode is Mode.WEB


def test_a_mode_that_gave_up_on_the_customer_moves_on_before_its_wait() -> None:
    place = Place(3 - 1, T0, 3, exhausted=True)  # voice: three unanswered calls
    step = advance(DEFEAT, place, Reach(EVERYTHING), T0 + timedelta(hours=5))
    assert step.mode is Mode.PHONE


def test_no_usable_mode_at_all_ends_at_once() -> None:
    step = start(DEFEAT, Reach(frozenset({Mode.CHAT}), chat_bound=False, has_phone=False), T0)
    assert step.move is Move.END
    assert [s.reason for s in step.skipped] == [
        SkipReason.NO_CHAT,
        SkipReason.NOT_CONFIGURED,
        SkipReason.NOT_CONFIGURED,
        SkipReason.NO_PHONE,
    ]


def test_tries_are_capped_per_mode() -> None:
    assert may_try(DEFEAT, Place(0, T0, 1))
    assert not may_try(DEFEAT, Place(0, T0, 2))
    assert not may_try(DEFEAT, Place(3, T0, 0, exhausted=True))


def test_a_refusal_in_any_mode_ends_the_survey_for_every_mode() -> None:
    for status in (SurveyStatus.INVITED, SurveyStatus.IN_PROGRESS):
        ended = transition(status, Event(EventKind.END_CALL, "refusal")).status
        assert ended.final
        with pytest.raises(IllegalTransition):  # no later mode can offer it again
            transition(ended, Event(EventKind.NEXT_MODE))
        with pytest.raises(IllegalTransition):
            transition(ended, Event(EventKind.INVITE))


def test_the_case_result_is_the_best_across_modes() -> None:
    assert case_result(["no_reply", "no_answer", "completed"]).code == "completed"
    assert case_result(["vacant", "no_reply"]).code == "no_reply"
    assert case_result(["no_answer", "refused", "partial"]).code == "partial"
    assert case_result([]).code == "not_attempted"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([], "non-empty list"),
        ([{"mode": "fax", "wait": "1d"}], "mode 'fax' is not one of"),
        ([{"mode": "chat", "wait": "soon"}], "should look like 3d"),
        ([{"mode": "chat", "wait": "1d", "attempts": 0}], "attempts should be"),
        ([{"mode": "chat"}, {"mode": "chat"}], "appears twice"),
        ([{"mode": "chat", "tries": 2}], "unknown key(s) tries"),
    ],
)
def test_a_malformed_plan_is_refused_naming_the_entry(entries: list[dict[str, object]], message: str) -> None:
    with pytest.raises(PlanError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_from_mapping("defeat", entries)


def test_waits_read_days_hours_and_minutes() -> None:
    plan = plan_from_mapping("x", [{"mode": "chat", "wait": "12h"}, {"mode": "phone", "wait": "30m"}])
    assert plan == ContactPlan("x", (Stage(Mode.CHAT, timedelta(hours=12)), Stage(Mode.PHONE, timedelta(minutes=30))))
