"""Property-based tests: random walks through every shipped questionnaire."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.engine import (
    BookCallback,
    Choose,
    ChooseMany,
    FreeText,
    Input,
    Rate,
    Rejection,
    Result,
    State,
    Step,
    Toggle,
    answer,
    start,
)
from bot.domain.presentation import for_chat, for_phone, for_voice, parse_callback
from bot.domain.questionnaire import (
    BUTTON_LABEL_MAX,
    CALLBACK_DATA_MAX_BYTES,
    MESSAGE_TEXT_MAX,
    NodeKind,
    Questionnaire,
)
from bot.questionnaires import SAMPLE_CONTEXT, load_catalog
from bot.rendering import TemplateRenderer

CATALOG = load_catalog()
RENDERER = TemplateRenderer()
QUESTIONNAIRES = sorted(CATALOG.by_id)
SURVEY_REF = "s_0123456789abcdefghijkl"  # the longest ref allowed (24 characters)
SLOTS = [datetime(2024, 11, 26, 9, 0) + timedelta(hours=h) for h in range(3)]
WALKS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def valid_input(data: st.DataObject, q: Questionnaire, step: Step) -> Input:
    node = q.node(step.node_id)
    match step.kind:
        case NodeKind.SINGLE:
            return Choose(data.draw(st.sampled_from([o.code for o in step.options])), step.node_id)
        case NodeKind.MULTI:
            top = step.max_choices or len(step.options)
            codes = data.draw(
                st.lists(
                    st.sampled_from([o.code for o in step.options]),
                    min_size=step.min_choices,
                    max_size=top,
                    unique=True,
                )
            )
            return ChooseMany(tuple(codes), step.node_id)
        case NodeKind.TEXT:
            text = data.draw(
                st.text(alphabet="车好差贵远abc 123", min_size=1, max_size=node.max_length or 10).filter(
                    lambda t: len(t.strip()) >= node.min_length
                )
            )
            return FreeText(text, step.node_id)
        case NodeKind.RATING:
            lo, hi = step.scale or (0, 0)
            return Rate(data.draw(st.integers(lo, hi)), step.node_id)
        case _:
            return BookCallback(data.draw(st.sampled_from(SLOTS)), step.node_id)


def assert_fits_the_channels(step: Step) -> None:
    chat = for_chat(step, SURVEY_REF, SLOTS)
    assert 0 < len(chat.text) <= MESSAGE_TEXT_MAX
    for row in chat.buttons:
        for button in row:
            assert len(button.label) <= BUTTON_LABEL_MAX
            assert len(button.data.encode()) <= CALLBACK_DATA_MAX_BYTES
            assert parse_callback(button.data) is not None
    phone = for_phone(step)
    assert phone.script and phone.instruction
    voice = for_voice(step)
    assert voice.prompt
    if step.kind in (NodeKind.SINGLE, NodeKind.MULTI):
        assert [code for _, code in voice.keys] == [o.code for o in step.options]
        assert all(f"请按{digit}" in voice.prompt for digit, _ in voice.keys)


@pytest.mark.parametrize("qid", QUESTIONNAIRES)
@WALKS
@given(data=st.data())
def test_random_walks_reach_an_end_record_declared_codes_and_fit_every_channel(qid: str, data: st.DataObject) -> None:
    q = CATALOG.get(qid)
    declared = {(n.id, o.code) for n in q.nodes for o in n.options}
    questions = sum(1 for n in q.nodes if n.kind.is_question)
    result = start(q, SAMPLE_CONTEXT, RENDERER)
    assert_fits_the_channels(result.step)
    while not result.step.finished:
        assert result.state.steps < questions, "a walk must reach an end within the number of questions"
        outcome = answer(q, result.state, valid_input(data, q, result.step), RENDERER)
        assert isinstance(outcome, Result), outcome
        for record in outcome.records:
            assert record.question_id == result.step.node_id
            if record.option_code is not None:
                assert (record.question_id, record.option_code) in declared
            if q.node(record.question_id).tally and record.option_code is not None:
                assert record.reason_code and record.reason_group
        # Every intermediate state survives storage.
        assert State.from_dict(json.loads(json.dumps(outcome.state.to_dict()))) == outcome.state
        result = outcome
        assert_fits_the_channels(result.step)
    assert result.state.finished and result.state.outcome in {"complete", "refusal", "appointment", "partial"}
    for name, points in result.state.scores:
        assert 0 <= points <= (q.score_max(name) or 0)


junk_inputs = st.one_of(
    st.builds(Choose, st.text(max_size=12)),
    st.builds(Toggle, st.text(max_size=12)),
    st.builds(ChooseMany, st.lists(st.text(max_size=6), max_size=4).map(tuple)),
    st.builds(FreeText, st.text(max_size=600)),
    st.builds(Rate, st.integers(-50, 50)),
    st.builds(BookCallback, st.text(max_size=20)),
)


@pytest.mark.parametrize("qid", QUESTIONNAIRES)
@WALKS
@given(data=st.data(), junk=st.lists(junk_inputs, min_size=1, max_size=8))
def test_any_input_either_moves_on_or_is_rejected_leaving_the_state_unchanged(
    qid: str, data: st.DataObject, junk: list[Input]
) -> None:
    q = CATALOG.get(qid)
    result = start(q, SAMPLE_CONTEXT, RENDERER)
    for given_input in junk:
        if result.step.finished:
            break
        outcome = answer(q, result.state, given_input, RENDERER)
        if isinstance(outcome, Rejection):
            assert outcome.state is result.state
        else:
            assert outcome.state.steps >= result.state.steps
            result = outcome
