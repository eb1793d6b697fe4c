"""The survey lifecycle's transition table: every state × every event."""

from __future__ import annotations

import pytest

from bot.domain.dispositions import BY_CODE
from bot.domain.lifecycle import (
    ACTIVE,
    ACTIVE_VALUES,
    Event,
    EventKind,
    IllegalTransition,
    SurveyStatus,
    Transition,
    transition,
)

S = SurveyStatus
E = EventKind

# What each (state, event) gives: a Transition, or None where the event does not apply to that state.
# Events with a parameter are listed once per interesting value.
EVENTS: dict[str, Event] = {
    "invite": Event(E.INVITE),
    "begin": Event(E.BEGIN),
    "begin afresh in another mode": Event(E.BEGIN, started=True),
    "answer": Event(E.ANSWER),
    "finish complete": Event(E.FINISH, "complete"),
    "finish refusal": Event(E.FINISH, "refusal"),
    "finish appointment": Event(E.FINISH, "appointment"),
    "finish partial": Event(E.FINISH, "partial"),
    "book callback": Event(E.BOOK_CALLBACK),
    "call retry, not started": Event(E.CALL_RETRY),
    "call retry, started": Event(E.CALL_RETRY, started=True),
    "call final non_contact": Event(E.CALL_FINAL, "non_contact"),
    "call final not_eligible": Event(E.CALL_FINAL, "not_eligible"),
    "call final refusal": Event(E.CALL_FINAL, "refusal"),
    "end call refusal": Event(E.END_CALL, "refusal"),
    "end call partial": Event(E.END_CALL, "partial"),
    "no reply": Event(E.NO_REPLY),
    "opt out": Event(E.OPT_OUT),
    "next mode, not started": Event(E.NEXT_MODE),
    "next mode, started": Event(E.NEXT_MODE, started=True),
    "plan ended": Event(E.PLAN_ENDED),
    "recover": Event(E.RECOVER),
}

T = Transition
OPTED_OUT = T(S.CANCELLED, "opted_out", "opted_out")
FINISHED = {
    "finish complete": T(S.COMPLETED, "completed", "complete"),
    "finish refusal": T(S.REFUSED, "refused", "refusal"),
    "finish appointment": T(S.APPOINTMENT, "appointment", "appointment"),
    "finish partial": T(S.PARTIAL, "partial", "partial"),
}
ENDED_BY_CALL = {
    "call final non_contact": T(S.NON_CONTACT, None, "non_contact"),
    "call final not_eligible": T(S.NOT_ELIGIBLE, None, "not_eligible"),
    "call final refusal": T(S.REFUSED, None, "refusal"),
    "end call refusal": T(S.REFUSED, "refused", "refusal"),
    "end call partial": T(S.PARTIAL, "partial", "partial"),
    "book callback": T(S.APPOINTMENT, "appointment", "appointment"),
    "opt out": OPTED_OUT,
}


def _expected(status: SurveyStatus, name: str) -> Transition | None:
    if name == "recover":
        return T(status, resend=status in (S.INVITED, S.IN_PROGRESS))
    if status.final:
        return None
    if name in ENDED_BY_CALL:
        return ENDED_BY_CALL[name]
    if name == "invite":
        return T(S.INVITED) if status in (S.PENDING, S.INVITED) else None
    if name == "begin":
        return None if status is S.IN_PROGRESS else T(S.IN_PROGRESS)
    if name == "begin afresh in another mode":
        return T(S.IN_PROGRESS)
    if name == "answer":
        return T(S.IN_PROGRESS) if status is S.IN_PROGRESS else None
    if name in FINISHED:
        return FINISHED[name] if status is S.IN_PROGRESS else None
    if name.startswith("call retry"):
        if status is S.APPOINTMENT:
            return T(S.IN_PROGRESS if "started" in name and "not" not in name else S.PENDING)
        return T(status)
    if name == "no reply":
        return T(S.EXPIRED, "no_reply", "no_response") if status in (S.INVITED, S.IN_PROGRESS) else None
    if name.startswith("next mode"):
        if status is S.APPOINTMENT:
            return None
        return T(
            S.PENDING if "not started" in name else S.IN_PROGRESS,
            "no_reply" if status in (S.INVITED, S.IN_PROGRESS) else None,
        )
    if name == "plan ended":
        if status in (S.INVITED, S.IN_PROGRESS):
            return T(S.EXPIRED, "no_reply", "no_response")
        return T(S.NON_CONTACT, None, "non_contact") if status is S.PENDING else None
    raise AssertionError(name)


@pytest.mark.parametrize("status", list(SurveyStatus), ids=lambda s: s.value)
@pytest.mark.parametrize("name", list(EVENTS))
def test_every_state_and_event_has_one_defined_result(status: SurveyStatus, name: str) -> None:
    expected = _expected(status, name)
    if expected is None:
        with pytest.raises(IllegalTransition):
            transition(status, EVENTS[name])
    else:
        assert transition(status, EVENTS[name]) == expected


def test_a_finished_survey_takes_no_more_answers_whatever_the_channel() -> None:
    for status in SurveyStatus:
        if status.final:
            for kind in (E.ANSWER, E.FINISH, E.BEGIN, E.OPT_OUT, E.NO_REPLY, E.CALL_FINAL):
                with pytest.raises(IllegalTransition):
                    transition(status, Event(kind, "complete"))


def test_pressing_start_twice_does_not_begin_the_survey_again() -> None:
    running = transition(S.INVITED, Event(E.BEGIN)).status
    with pytest.raises(IllegalTransition):
        transition(running, Event(E.BEGIN))


def test_crash_recovery_keeps_every_state_and_resends_only_what_a_customer_waits_on() -> None:
    for status in SurveyStatus:
        result = transition(status, Event(E.RECOVER))
        assert result.status is status
        assert result.disposition is None
        assert result.resend is (status in (S.INVITED, S.IN_PROGRESS))


def test_opt_out_ends_every_active_survey_in_any_mode() -> None:
    for status in ACTIVE:
        assert transition(status, Event(E.OPT_OUT)).status is S.CANCELLED


def test_every_recorded_disposition_is_a_known_disposition() -> None:
    for status in SurveyStatus:
        for event in EVENTS.values():
            try:
                result = transition(status, event)
            except IllegalTransition:
                continue
            assert result.disposition is None or result.disposition in BY_CODE


def test_the_active_states_are_the_ones_a_customer_can_still_answer_in() -> None:
    assert set(ACTIVE_VALUES) == {"pending", "invited", "in_progress", "appointment"}
    assert all(not s.final for s in ACTIVE) and all(s.final for s in SurveyStatus if s not in ACTIVE)


def test_moving_to_the_next_mode_records_no_reply_only_where_the_survey_had_been_offered() -> None:
    assert transition(S.INVITED, Event(E.NEXT_MODE)) == T(S.PENDING, "no_reply")
    assert transition(S.IN_PROGRESS, Event(E.NEXT_MODE, started=True)) == T(S.IN_PROGRESS, "no_reply")
    assert transition(S.PENDING, Event(E.NEXT_MODE)) == T(S.PENDING)


def test_a_plan_with_no_mode_left_expires_an_offered_survey_and_ends_an_unoffered_one_as_non_contact() -> None:
    assert transition(S.INVITED, Event(E.PLAN_ENDED)).status is S.EXPIRED
    assert transition(S.PENDING, Event(E.PLAN_ENDED)).status is S.NON_CONTACT
    with pytest.raises(IllegalTransition):
        transition(S.APPOINTMENT, Event(E.PLAN_ENDED))


def test_every_state_has_a_chinese_label_for_staff() -> None:
    labels = [s.label for s in SurveyStatus]
    assert len(set(labels)) == len(labels)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in labels)


def test_the_transition_table_above_covers_every_kind_of_event() -> None:
    assert {event.kind for event in EVENTS.values()} == set(EventKind)
