"""Golden paths through the 战败回访 (defeat) questionnaire, as a specialist on the phone walks them."""

from __future__ import annotations

from datetime import datetime

from bot.domain.engine import (
    BookCallback,
    Choose,
    FreeText,
    Input,
    Rejection,
    Result,
    State,
    answer,
    start,
)
from bot.domain.questionnaire import Action, ActionKind
from bot.questionnaires import SAMPLE_CONTEXT, load_catalog
from bot.rendering import TemplateRenderer

DEFEAT = load_catalog().get("defeat")
RENDERER = TemplateRenderer()


def walk(*inputs: Input) -> tuple[State, list[Result]]:
    """Start the defeat survey and apply inputs, failing on any rejection."""
    result = start(DEFEAT, SAMPLE_CONTEXT, RENDERER)
    results = [result]
    for given in inputs:
        outcome = answer(DEFEAT, result.state, given, RENDERER)
        assert not isinstance(outcome, Rejection), outcome
        result = outcome
        results.append(result)
    return result.state, results


def all_actions(results: list[Result]) -> list[Action]:
    return [a for r in results for a in r.actions]


def visited(results: list[Result]) -> list[str]:
    return [r.step.node_id for r in results]


def test_customer_who_refuses_is_thanked_and_the_survey_ends_as_a_refusal() -> None:
    state, results = walk(Choose("refuse"))
    assert visited(results) == ["opening", "end_refusal"]
    assert state.finished and state.outcome == "refusal"
    assert results[-1].step.text.startswith("好的，不打扰您了")
    assert all_actions(results) == []


def test_customer_short_of_time_books_a_callback_and_the_survey_ends_as_an_appointment() -> None:
    when = datetime(2024, 11, 26, 14, 0)
    state, results = walk(Choose("not_now"), BookCallback(when))
    assert visited(results) == ["opening", "callback_time", "end_appointment"]
    assert state.outcome == "appointment"
    assert results[-1].records[0].at == "2024-11-26T14:00"
    assert all_actions(results) == [
        Action(ActionKind.BOOK_CALLBACK, role="cs_specialist", at="2024-11-26T14:00", question_id="callback_time")
    ]
    assert "11月26日 14:00再给您回电" in results[-1].step.text


def test_customer_who_bought_another_brand_for_price_reaches_the_closing() -> None:
    state, results = walk(Choose("agree"), Choose("other_brand"), FreeText("吉利 星越L"), Choose("price_value"))
    assert visited(results) == ["opening", "q1", "q1_brand", "q2", "closing"]
    assert state.outcome == "complete"
    price = results[-1].records[0]
    assert (price.question_id, price.option_code, price.reason, price.reason_group) == (
        "q2",
        "price_value",
        "价格高",
        "价格较高",
    )
    assert results[3].records[0].text == "吉利 星越L"
    assert [a.status for a in all_actions(results)] == ["defeated"]


def test_sales_performance_leads_to_q3_then_q4_then_q5_then_the_closing() -> None:
    state, results = walk(
        Choose("agree"),
        Choose("other_brand"),
        FreeText("某品牌"),
        Choose("sales_performance"),
        Choose("knowledge_poor"),
        Choose("sales_performance"),
        Choose("professional"),
    )
    assert visited(results) == ["opening", "q1", "q1_brand", "q2", "q3", "q4", "q5", "closing"]
    assert state.outcome == "complete"
    tallied = [(r.question_id, r.reason_code, r.reason_group) for res in results for r in res.records if r.reason]
    assert tallied == [
        ("q1", "other_brand", "购车去向"),
        ("q2", "sales_performance", "销售人员"),
        ("q3", "knowledge_poor", "销售人员"),
        ("q4", "sales_performance", "销售人员"),
        ("q5", "professional", "销售人员"),
    ]


def test_customer_who_has_not_bought_yet_is_marked_recoverable_and_a_task_is_created() -> None:
    state, results = walk(Choose("agree"), Choose("not_yet"), Choose("price_value"))
    assert visited(results) == ["opening", "q1", "q2", "closing"]
    assert state.outcome == "complete"
    actions = results[2].actions
    assert Action(ActionKind.SET_STATUS, status="quasi_defeated", question_id="q1") in actions
    assert (
        Action(
            ActionKind.CREATE_TASK,
            role="sales_consultant",
            task="recover_prospect",
            due_hours=24,
            question_id="q1",
        )
        in actions
    )
    assert results[2].records[0].tags == ("recoverable",)


def test_customer_who_has_not_bought_yet_skips_the_why_them_question_after_q3() -> None:
    _, results = walk(Choose("agree"), Choose("not_yet"), Choose("sales_performance"), Choose("attitude_poor"))
    assert visited(results) == ["opening", "q1", "q2", "q3", "closing"]
    assert Action(ActionKind.ALERT_MANAGER, reason="sales_attitude_complaint", question_id="q3") in results[-1].actions


def test_our_brand_bought_elsewhere_is_asked_where() -> None:
    _, results = walk(Choose("agree"), Choose("our_brand_elsewhere"), FreeText("隔壁市的4S店"), Choose("no_stock"))
    assert visited(results) == ["opening", "q1", "q1_where", "q2", "closing"]
    assert results[2].step.text == "请问在哪里购买的呢？"


def test_other_reason_is_recorded_as_a_coded_reason_plus_the_customers_words() -> None:
    _, results = walk(Choose("agree"), Choose("other_brand"), FreeText("X"), Choose("other"), FreeText("离家太远"))
    assert visited(results)[-2:] == ["q2_other", "closing"]
    assert results[4].records[0].reason_code == "other"
    assert results[5].records[0].text == "离家太远"


def test_questions_pipe_the_customers_title() -> None:
    _, results = walk(Choose("agree"))
    assert results[1].step.text == "首先恭喜王先生购得爱车，请教王先生最后买了哪个品牌的车辆？"
