"""The voice use cases on a real database, without HTTP: what the dialler does with calls whose end never came."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.app import Container
from bot.domain.clock import FixedClock
from bot.domain.voice_dialog import Keys
from storage.models import Answer, Survey, VoiceCall
from tests.e2e.test_voice_calls import _store, _voice_survey


def test_a_call_whose_end_is_never_reported_is_ended_by_the_dialler_with_its_answers_kept(
    app: Container, clock: FixedClock
) -> None:
    survey_id = _voice_survey(app, _store(app), "+8613800138020")
    desk = app.voice_desk()
    (order,) = desk.plan_calls()
    reply = desk.answered(order.key, "human")
    desk.heard(order.key, reply.turn, Keys("3"))  # 配合回访; then the provider goes silent for good

    clock.set(clock.now() + timedelta(minutes=10))
    assert desk.plan_calls() == []  # still under way: not called twice, not ended yet
    clock.set(clock.now() + timedelta(minutes=25))
    desk.plan_calls()

    with app.uow(read_only=True) as uow:
        call = uow.session.scalars(select(VoiceCall).where(VoiceCall.key == order.key)).one()
        survey = uow.session.get(Survey, survey_id)
        answers = uow.session.scalars(select(Answer.question_id).where(Answer.survey_id == survey_id)).all()
    assert call.ended_at is not None and call.disposition == "partial"
    assert survey is not None and (survey.status, survey.outcome) == ("partial", "partial")
    assert answers == ["opening"]


def test_a_call_never_answered_nor_reported_is_ended_as_unreachable_and_retried_later(
    app: Container, clock: FixedClock
) -> None:
    survey_id = _voice_survey(app, _store(app), "+8613800138021")
    desk = app.voice_desk()
    (order,) = desk.plan_calls()  # placed (or not): nothing more is ever heard of it

    clock.set(clock.now() + timedelta(minutes=31))
    desk.plan_calls()

    with app.uow(read_only=True) as uow:
        call = uow.session.scalars(select(VoiceCall).where(VoiceCall.key == order.key)).one()
        survey = uow.session.get(Survey, survey_id)
    assert call.disposition == "unreachable"
    assert survey is not None and survey.status == "invited" and survey.next_try_at is not None
    assert survey.next_try_at > clock.now()
