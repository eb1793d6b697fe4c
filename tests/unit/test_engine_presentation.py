"""One step, three renderings (chat, phone, voice), and the way back from buttons, typing and keypads."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.domain.engine import (
    BookCallback,
    Choose,
    ChooseMany,
    Confirm,
    FreeText,
    Rate,
    Result,
    Toggle,
    answer,
    start,
)
from bot.domain.presentation import (
    callback_input,
    encode_callback,
    for_chat,
    for_phone,
    for_voice,
    keypad_input,
    parse_callback,
    text_input,
)
from bot.questionnaires import SAMPLE_CONTEXT, load_catalog
from bot.rendering import TemplateRenderer

CATALOG = load_catalog()
DEFEAT = CATALOG.get("defeat")
RENDERER = TemplateRenderer()
OPENING = start(DEFEAT, SAMPLE_CONTEXT, RENDERER).step


def test_chat_shows_the_question_with_one_button_per_option_carrying_short_ids() -> None:
    view = for_chat(OPENING, "s42")
    assert view.text.startswith("王先生您好")
    assert [[b.label for b in row] for row in view.buttons] == [["拒绝回访"], ["时间不便"], ["配合回访"]]
    assert [row[0].data for row in view.buttons] == ["a:s42:0:0", "a:s42:0:1", "a:s42:0:2"]


def test_a_tapped_button_becomes_the_engine_input_for_its_own_node() -> None:
    data = parse_callback(for_chat(OPENING, "s42").buttons[2][0].data)
    assert data is not None and data.survey_ref == "s42"
    assert callback_input(DEFEAT, data) == Choose("agree", "opening")


def test_a_button_from_an_old_message_is_rejected_as_stale() -> None:
    moved = answer(DEFEAT, start(DEFEAT, SAMPLE_CONTEXT, RENDERER).state, Choose("agree"), RENDERER)
    assert isinstance(moved, Result)
    old = callback_input(DEFEAT, parse_callback("a:s42:0:2"))  # type: ignore[arg-type]
    assert old is not None
    assert answer(DEFEAT, moved.state, old, RENDERER).reason == "stale_question"  # type: ignore[union-attr]


def test_phone_view_gives_the_script_line_and_numbered_options() -> None:
    view = for_phone(OPENING)
    assert view.script == OPENING.text
    assert view.options == (
        ("1", "拒绝回访", "refuse"),
        ("2", "时间不便", "not_now"),
        ("3", "配合回访", "agree"),
    )
    assert view.instruction == "请根据客户的回答点选一项。"


def test_the_end_of_a_call_reminds_staff_to_let_the_customer_hang_up_first() -> None:
    refused = answer(DEFEAT, start(DEFEAT, SAMPLE_CONTEXT, RENDERER).state, Choose("refuse"), RENDERER)
    assert isinstance(refused, Result)
    assert "等客户先挂断电话" in for_phone(refused.step).instruction
    assert for_chat(refused.step, "s42").buttons == ()


def test_voice_prompt_lists_keypad_digits_and_reads_them_back() -> None:
    view = for_voice(OPENING)
    assert view.prompt.endswith("拒绝回访请按1，时间不便请按2，配合回访请按3。")
    assert view.expects == "digit"
    assert keypad_input(OPENING, "3") == Choose("agree", "opening")
    assert keypad_input(OPENING, "7") is None


def test_ratings_render_as_a_row_of_scores_and_a_spoken_range() -> None:
    delivery = CATALOG.get("delivery_3day")
    step = answer(delivery, start(delivery, SAMPLE_CONTEXT, RENDERER).state, Choose("agree"), RENDERER)
    assert isinstance(step, Result)
    chat = for_chat(step.step, "s1")
    assert [b.label for b in chat.buttons[0]] == ["1", "2", "3", "4", "5"]
    assert callback_input(delivery, parse_callback(chat.buttons[0][4].data)) == Rate(5, "q_delivery")  # type: ignore[arg-type]
    assert "请按1到5之间的数字打分" in for_voice(step.step).prompt
    assert keypad_input(step.step, "4#") == Rate(4, "q_delivery")


def test_multiple_choice_buttons_toggle_show_ticks_and_confirm() -> None:
    lapsed = CATALOG.get("lapsed")
    result = start(lapsed, SAMPLE_CONTEXT, RENDERER)
    for given in (
        Choose("agree"),
        Choose("dissatisfied"),
        Choose("cost_high"),
        Choose("willing"),
        Toggle("pickup_delivery"),
    ):
        result = answer(lapsed, result.state, given, RENDERER)  # type: ignore[assignment]
    chat = for_chat(result.step, "s9")
    labels = [row[0].label for row in chat.buttons]
    assert "✅ 上门取送车" in labels and labels[-1] == "确认"
    assert callback_input(lapsed, parse_callback(chat.buttons[-1][0].data)) == Confirm("q3")  # type: ignore[arg-type]
    assert callback_input(lapsed, parse_callback(chat.buttons[0][0].data)) == Toggle("labour_discount", "q3")  # type: ignore[arg-type]
    assert "选完请按井号键" in for_voice(result.step).prompt
    assert keypad_input(result.step, "13#") == ChooseMany(("labour_discount", "appointment_service"), "q3")


def test_callback_slots_are_offered_as_buttons_with_compact_times() -> None:
    step = answer(DEFEAT, start(DEFEAT, SAMPLE_CONTEXT, RENDERER).state, Choose("not_now"), RENDERER)
    assert isinstance(step, Result)
    chat = for_chat(step.step, "s42", [datetime(2024, 11, 26, 14, 0)])
    button = chat.buttons[0][0]
    assert (button.label, button.data) == ("11月26日 14:00", "b:s42:1:202411261400")
    assert callback_input(DEFEAT, parse_callback(button.data)) == BookCallback(  # type: ignore[arg-type]
        datetime(2024, 11, 26, 14, 0), "callback_time"
    )


def test_typed_text_is_read_as_an_option_number_a_label_a_rating_or_free_text() -> None:
    assert text_input(OPENING, "3") == Choose("agree", "opening")
    assert text_input(OPENING, "配合回访") == Choose("agree", "opening")
    assert text_input(OPENING, "好的") is None
    moved = answer(DEFEAT, start(DEFEAT, SAMPLE_CONTEXT, RENDERER).state, Choose("agree"), RENDERER)
    brand = answer(DEFEAT, moved.state, Choose("other_brand"), RENDERER)  # type: ignore[union-attr]
    assert text_input(brand.step, "吉利") == FreeText("吉利", "q1_brand")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "x",
        "a:s42:0",
        "c:s42:0:1",
        "a:s 42:0:1",
        "z:s42:0:1",
        "a:s42:x:1",
        "a:s42:²:1",
        "a:s42:١:1",
        "a:s42:99999:1",
    ],
)
def test_malformed_callback_data_is_ignored(bad: str) -> None:
    assert parse_callback(bad) is None


@pytest.mark.parametrize("value", ["²", "١", "1²", "９", "-0x1"])
def test_an_option_or_rating_in_callback_data_must_be_ascii_digits(value: str) -> None:
    for action in ("a", "t", "r"):
        decoded = parse_callback(f"{action}:s42:0:{value}")
        assert decoded is not None and callback_input(DEFEAT, decoded) is None


@pytest.mark.parametrize(
    "slot", ["99991231235", "２０２６１１２６１０００", "202602301000", "2026112610000", "zzzzzzzzzzzz"]
)
def test_a_malformed_callback_slot_is_ignored(slot: str) -> None:
    decoded = parse_callback(f"b:s42:1:{slot}")
    assert decoded is not None and callback_input(DEFEAT, decoded) is None


def test_typed_option_numbers_are_ascii_or_full_width_digits_and_nothing_else() -> None:
    lapsed = CATALOG.get("lapsed")
    result = start(lapsed, SAMPLE_CONTEXT, RENDERER)
    for given in (Choose("agree"), Choose("dissatisfied"), Choose("cost_high"), Choose("willing")):
        result = answer(lapsed, result.state, given, RENDERER)  # type: ignore[assignment]
    multi = result.step

    assert text_input(OPENING, "３") == Choose("agree", "opening")
    assert text_input(multi, "１，３") == ChooseMany(("labour_discount", "appointment_service"), "q3")
    assert text_input(multi, "1 ²") is None
    assert text_input(multi, "١") is None  # Arabic-Indic digits: not what a customer here types
    assert text_input(OPENING, "²") is None


def test_typed_free_text_loses_control_characters_that_no_database_or_sheet_can_hold() -> None:
    moved = answer(DEFEAT, start(DEFEAT, SAMPLE_CONTEXT, RENDERER).state, Choose("agree"), RENDERER)
    brand = answer(DEFEAT, moved.state, Choose("other_brand"), RENDERER)

    assert text_input(brand.step, "吉利\x00\x1b[31m 星越\n L") == FreeText("吉利[31m 星越\n L", "q1_brand")  # type: ignore[union-attr]


def test_callback_data_never_exceeds_64_bytes_and_refs_are_checked() -> None:
    assert len(encode_callback("b", "x" * 24, 999, "202612312359").encode()) <= 64
    with pytest.raises(ValueError):
        encode_callback("a", "x" * 25, 0, 0)
    with pytest.raises(ValueError):
        encode_callback("a", "has:colon", 0, 0)


@pytest.mark.parametrize(
    ("ref", "survey_id"),
    [("1", 1), ("zik0zj", 2147483647), ("zik0zk", None), ("z" * 24, None), ("0", None), ("²", None), (" 1", None)],
)
def test_a_survey_ref_stands_for_a_survey_id_the_database_can_hold_or_for_none(ref: str, survey_id: int | None) -> None:
    from bot.services.surveys import survey_id_of, survey_ref

    assert survey_id_of(ref) == survey_id
    assert survey_id_of(survey_ref(2147483647)) == 2147483647
