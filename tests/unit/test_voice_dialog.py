"""The provider-neutral voice dialog: what a key, a phrase or silence means, and what the robot says next."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.domain.engine import BookCallback, Choose, FreeText, answer, start
from bot.domain.voice_dialog import (
    DialogRules,
    Gather,
    Hangup,
    Heard,
    Keys,
    Phrases,
    Say,
    Silence,
    Speech,
    Transfer,
    answering_machine,
    ask,
    call_disposition,
    person,
    read,
)
from bot.questionnaires import SAMPLE_CONTEXT, load_catalog
from bot.rendering import TemplateRenderer

CATALOG = load_catalog()
RENDERER = TemplateRenderer()
DEFEAT = CATALOG.get("defeat")
OPENING = start(DEFEAT, SAMPLE_CONTEXT, RENDERER)
RULES = DialogRules()
PHRASES = Phrases("按0转人工", "抱歉", "放弃", "已退订", "转接", "回电", "留言")
NOW = datetime(2026, 12, 2, 10, 0)


def _step_after(*codes: str):
    result = OPENING
    for code in codes:
        outcome = answer(DEFEAT, result.state, Choose(code, result.state.node_id), RENDERER)
        assert not hasattr(outcome, "reason"), outcome
        result = outcome
    return result.step


def test_a_key_chooses_the_option_read_out_with_it() -> None:
    reading = read(OPENING.step, Keys("3"), 0, RULES, NOW)
    assert reading == reading.__class__(Heard.ANSWER, Choose("agree", "opening"))


def test_saying_an_options_label_chooses_it() -> None:
    reading = read(OPENING.step, Speech("配合回访", 0.9), 0, RULES, NOW)
    assert (reading.heard, reading.given) == (Heard.ANSWER, Choose("agree", "opening"))


def test_speech_below_the_confidence_threshold_is_a_miss_not_an_answer() -> None:
    assert read(OPENING.step, Speech("配合回访", 0.2), 0, RULES, NOW).heard is Heard.MISS


def test_silence_and_unknown_keys_are_re_prompted_twice_then_the_robot_gives_up() -> None:
    assert read(OPENING.step, Silence(), 0, RULES, NOW).heard is Heard.MISS
    assert read(OPENING.step, Keys("7"), 1, RULES, NOW).heard is Heard.MISS
    assert read(OPENING.step, Silence(), 2, RULES, NOW).heard is Heard.GIVE_UP


def test_the_star_key_and_bie_zai_da_le_opt_out_and_zero_or_ren_gong_ask_for_a_person() -> None:
    assert read(OPENING.step, Keys("*"), 0, RULES, NOW).heard is Heard.OPT_OUT
    assert read(OPENING.step, Speech("别再打了", 0.9), 0, RULES, NOW).heard is Heard.OPT_OUT
    assert read(OPENING.step, Keys("0"), 0, RULES, NOW).heard is Heard.PERSON
    assert read(OPENING.step, Speech("转人工", 0.9), 0, RULES, NOW).heard is Heard.PERSON
    assert read(OPENING.step, Speech("再说一遍", 0.9), 2, RULES, NOW).heard is Heard.REPEAT


def test_a_free_text_question_keeps_what_was_said() -> None:
    step = _step_after("agree", "other_brand")
    assert step.kind.value == "text"
    reading = read(step, Speech("买了一台比亚迪", 0.8), 0, RULES, NOW)
    assert reading.given == FreeText("买了一台比亚迪", step.node_id)


def test_a_callback_time_can_be_said() -> None:
    step = _step_after("not_now")
    reading = read(step, Speech("明天下午3点", 0.9), 0, RULES, NOW)
    assert isinstance(reading.given, BookCallback)
    assert reading.given.at == datetime(2026, 12, 3, 15, 0)


def test_a_question_is_asked_as_one_gather_of_keys_and_speech_with_the_labels_as_hints() -> None:
    (gather,) = ask(OPENING.step, PHRASES, RULES, first=True)
    assert isinstance(gather, Gather)
    assert gather.digits and gather.speech and gather.num_digits == 1
    assert gather.hints == ("拒绝回访", "时间不便", "配合回访")
    assert "配合回访请按3" in gather.prompt and gather.prompt.endswith("按0转人工")
    (again,) = ask(OPENING.step, PHRASES, RULES, sorry=True)
    assert isinstance(again, Gather) and again.prompt.startswith("抱歉")


def test_the_end_node_is_said_and_the_call_hung_up() -> None:
    step = _step_after("refuse")
    actions = ask(step, PHRASES, RULES)
    assert isinstance(actions[0], Say) and actions[0].text and actions[1] == Hangup()


def test_a_person_is_reached_by_transfer_when_a_number_is_set_else_a_callback_is_promised() -> None:
    assert person(PHRASES, DialogRules(transfer_number="+867522000000")) == (
        Say("转接"),
        Transfer("+867522000000"),
    )
    assert person(PHRASES, RULES) == (Say("回电"), Hangup())


def test_an_answering_machine_gets_a_message_only_when_so_set() -> None:
    assert answering_machine(PHRASES, RULES) == (Hangup(),)
    assert answering_machine(PHRASES, DialogRules(machine_message=True)) == (Say("留言"), Hangup())


@pytest.mark.parametrize(
    ("status", "sip", "answered_by", "expected"),
    [
        ("busy", 486, None, "line_busy"),
        ("no-answer", None, None, "no_answer"),
        ("failed", 404, None, "vacant"),
        ("failed", 604, None, "vacant"),
        ("failed", 480, None, "powered_off"),
        ("failed", 603, None, "rejected_call"),
        ("failed", None, None, "unreachable"),
        ("completed", 200, "machine_end_beep", "answering_machine"),
        ("completed", 200, "human", None),
    ],
)
def test_call_statuses_become_the_shared_dispositions(
    status: str, sip: int | None, answered_by: str | None, expected: str | None
) -> None:
    connected = answered_by == "human"
    assert call_disposition(status, sip, answered_by, connected) == expected
