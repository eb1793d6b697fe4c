"""Engine behaviour independent of one questionnaire: rejections, state round trips, multi choice, ratings."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from bot.domain.engine import (
    BookCallback,
    Choose,
    ChooseMany,
    Confirm,
    FreeText,
    Rate,
    Rejection,
    RejectReason,
    Result,
    State,
    Toggle,
    answer,
    current_step,
    start,
)
from bot.domain.questionnaire import ActionKind, NodeKind
from bot.questionnaires import SAMPLE_CONTEXT, load_catalog, load_text
from bot.rendering import TemplateRenderer

CATALOG = load_catalog()
RENDERER = TemplateRenderer()


def go(qid: str, *inputs: object) -> Result:
    q = CATALOG.get(qid)
    result = start(q, SAMPLE_CONTEXT, RENDERER)
    for given in inputs:
        outcome = answer(q, result.state, given, RENDERER)  # type: ignore[arg-type]
        assert isinstance(outcome, Result), outcome
        result = outcome
    return result


def rejected(qid: str, result: Result, given: object) -> Rejection:
    outcome = answer(CATALOG.get(qid), result.state, given, RENDERER)  # type: ignore[arg-type]
    assert isinstance(outcome, Rejection), outcome
    assert outcome.state == result.state
    return outcome


@pytest.mark.parametrize(
    ("inputs", "given", "reason"),
    [
        ((), Choose("maybe"), RejectReason.UNKNOWN_OPTION),
        ((), FreeText("好的"), RejectReason.WRONG_INPUT),
        ((), Choose("agree", node_id="q2"), RejectReason.STALE_QUESTION),
        ((Choose("agree"), Choose("other_brand")), FreeText("长" * 51), RejectReason.TEXT_TOO_LONG),
        ((Choose("agree"), Choose("other_brand")), FreeText("   "), RejectReason.TEXT_TOO_SHORT),
        ((Choose("not_now"),), BookCallback("明天下午"), RejectReason.BAD_TIME),
        (
            (Choose("not_now"),),
            BookCallback(datetime(2026, 11, 24, 10, 0), earliest=datetime(2026, 11, 25, 9, 0)),
            RejectReason.PAST_TIME,
        ),
        ((Choose("refuse"),), Choose("agree"), RejectReason.FINISHED),
    ],
)
def test_invalid_input_is_rejected_with_a_reason_and_leaves_the_state_unchanged(
    inputs: tuple[object, ...], given: object, reason: RejectReason
) -> None:
    assert rejected("defeat", go("defeat", *inputs), given).reason is reason


def test_a_rating_out_of_range_is_rejected() -> None:
    at_rating = go("delivery_3day", Choose("agree"))
    assert at_rating.step.kind is NodeKind.RATING and at_rating.step.scale == (1, 5)
    assert rejected("delivery_3day", at_rating, Rate(0)).reason is RejectReason.RATING_OUT_OF_RANGE
    assert rejected("delivery_3day", at_rating, Rate(6)).reason is RejectReason.RATING_OUT_OF_RANGE


def test_a_double_tap_on_an_old_keyboard_is_rejected_as_stale() -> None:
    after = go("defeat", Choose("agree", node_id="opening"))
    assert rejected("defeat", after, Choose("agree", node_id="opening")).reason is RejectReason.STALE_QUESTION


def test_a_state_from_another_version_is_rejected_and_finishes_on_its_own_version() -> None:
    old = CATALOG.get("defeat")
    new = load_text(old.text.replace("version: 1", "version: 2"), "defeat.yaml")
    in_flight = start(old, SAMPLE_CONTEXT, RENDERER)
    outcome = answer(new, in_flight.state, Choose("agree"), RENDERER)
    assert isinstance(outcome, Rejection) and outcome.reason is RejectReason.VERSION_MISMATCH
    assert isinstance(answer(old, in_flight.state, Choose("agree"), RENDERER), Result)


def test_state_survives_a_json_round_trip_mid_survey() -> None:
    q = CATALOG.get("defeat")
    mid = go("defeat", Choose("agree"), Choose("not_yet"))
    stored = json.dumps(mid.state.to_dict(), ensure_ascii=False)
    restored = State.from_dict(json.loads(stored))
    assert restored == mid.state
    assert current_step(q, restored, RENDERER) == mid.step
    after = answer(q, restored, Choose("price_value"), RENDERER)
    assert isinstance(after, Result) and after.state.outcome == "complete"


def test_the_engine_is_deterministic() -> None:
    inputs = (Choose("agree"), Choose("other_brand"), FreeText("某品牌"), Choose("no_stock"))
    assert go("defeat", *inputs) == go("defeat", *inputs)


def test_a_multiple_choice_is_confirmed_after_toggles_and_records_one_row_per_reason() -> None:
    at_multi = go("lapsed", Choose("agree"), Choose("dissatisfied"), Choose("cost_high"), Choose("willing"))
    assert at_multi.step.kind is NodeKind.MULTI
    toggled = go(
        "lapsed",
        Choose("agree"),
        Choose("dissatisfied"),
        Choose("cost_high"),
        Choose("willing"),
        Toggle("pickup_delivery"),
        Toggle("labour_discount"),
        Toggle("pickup_delivery"),
        Toggle("appointment_service"),
    )
    assert toggled.records == () and toggled.step.selected == ("labour_discount", "appointment_service")
    done = answer(CATALOG.get("lapsed"), toggled.state, Confirm(), RENDERER)
    assert isinstance(done, Result) and done.state.outcome == "complete"
    assert [r.option_code for r in done.records] == ["labour_discount", "appointment_service"]
    assert {r.reason_group for r in done.records} == {"回店条件"}
    answered = dict(done.state.answered())
    assert answered["q3"] == ("labour_discount", "appointment_service")


def test_a_multiple_choice_rejects_too_many_duplicates_and_nothing() -> None:
    at_multi = go("lapsed", Choose("agree"), Choose("dissatisfied"), Choose("cost_high"), Choose("willing"))
    four = ChooseMany(("labour_discount", "price_explained", "appointment_service", "pickup_delivery"))
    assert rejected("lapsed", at_multi, four).reason is RejectReason.TOO_MANY_CHOICES
    twice = ChooseMany(("labour_discount", "labour_discount"))
    assert rejected("lapsed", at_multi, twice).reason is RejectReason.DUPLICATE_OPTION
    assert rejected("lapsed", at_multi, Confirm()).reason is RejectReason.TOO_FEW_CHOICES
    assert rejected("lapsed", at_multi, ChooseMany(("free_car",))).reason is RejectReason.UNKNOWN_OPTION


def test_a_very_low_delivery_score_alerts_the_manager_and_raises_a_task() -> None:
    result = go("delivery_3day", Choose("agree"), Rate(1))
    kinds = [a.kind for a in result.actions]
    assert kinds == [ActionKind.ALERT_MANAGER, ActionKind.CREATE_TASK]
    assert result.records[0].rating == 1 and result.records[0].option_code == "dissatisfied"
    assert result.step.text.startswith("小李交车时给您讲解了车辆功能")


def test_a_problem_after_delivery_raises_a_task_for_the_service_advisor() -> None:
    result = go("delivery_3day", Choose("agree"), Rate(5), Rate(5), Rate(5), Choose("vehicle_problem"))
    task = next(a for a in result.actions if a.kind is ActionKind.CREATE_TASK)
    assert (task.role, task.task, task.due_hours) == ("service_advisor", "vehicle_issue", 24)
    finished = answer(CATALOG.get("delivery_3day"), result.state, FreeText("空调有异响"), RENDERER)
    assert isinstance(finished, Result) and finished.state.outcome == "complete"


def test_owner_care_adds_loyalty_points_up_to_ten() -> None:
    result = go(
        "owner_care",
        Choose("agree"),
        Rate(5),
        Choose("none"),
        Choose("always_here"),
        Choose("often"),
        Choose("yes"),
        Choose("no"),
        Choose("referred_buyer"),
        Choose("friends_family"),
        Choose("has_lead"),
        FreeText("张先生 13800000000"),
    )
    assert result.state.outcome == "complete"
    assert result.state.score("loyalty") == 10
    referral = go(
        "owner_care",
        Choose("agree"),
        Rate(3),
        Choose("none"),
        Choose("elsewhere"),
        Choose("never"),
        Choose("maybe"),
        Choose("yes"),
        Choose("not_willing"),
        Choose("same_industry"),
    )
    assert referral.state.score("loyalty") == 0
    assert referral.records[0].reason == "同行业推荐"


def test_earlier_answers_are_piped_into_later_texts() -> None:
    q = load_text(
        """
id: piping
version: 1
title: 引用
nodes:
  - id: brand
    kind: text
    text: 您买了哪个品牌？
    next: note
  - id: note
    kind: message
    text: "好的，{{ customer.title }}买的是{{ answers.brand }}。"
    next: done
  - id: done
    kind: end
    outcome: complete
    text: "再见，{{ customer.title }}。"
""",
        "piping.yaml",
    )
    first = start(q, SAMPLE_CONTEXT, RENDERER)
    result = answer(q, first.state, FreeText("某品牌"), RENDERER)
    assert isinstance(result, Result)
    assert result.step.preamble == ("好的，王先生买的是某品牌。",)
    assert result.step.text == "再见，王先生。"


def test_a_callback_time_can_be_given_as_an_iso_string_and_no_clock_is_read() -> None:
    result = go("defeat", Choose("not_now"), BookCallback("2025-01-02T09:30:00+08:00"))
    assert result.actions[0].at == "2025-01-02T09:30+08:00"
    assert result.state.outcome == "appointment"
    assert datetime.fromisoformat(result.records[0].at or "").hour == 9


def test_the_context_may_not_override_the_answers() -> None:
    with pytest.raises(ValueError, match="reserved"):
        start(CATALOG.get("defeat"), {**SAMPLE_CONTEXT, "answers": {}}, RENDERER)


def test_the_engine_modules_import_no_io_framework_and_read_no_clock() -> None:
    import ast
    from pathlib import Path

    import bot.domain

    forbidden = {"telegram", "sqlalchemy", "apscheduler", "jinja2", "storage", "scheduler", "httpx", "os"}
    for name in ("questionnaire", "engine", "presentation"):
        source = (Path(bot.domain.__file__).parent / f"{name}.py").read_text(encoding="utf-8")
        imported = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        assert not imported & forbidden, (name, imported & forbidden)
        assert ".now(" not in source and ".today(" not in source, name
