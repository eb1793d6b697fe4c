"""Customers answering the defeat survey in Telegram chat, through the real bot over HTTP."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Answer, Customer, Survey, Task
from tests.e2e.harness import Harness


async def test_a_customer_opens_the_link_consents_and_answers_the_whole_defeat_survey(bot: Harness) -> None:
    store = bot.store_with_staff()
    customer_id, survey_id, token = bot.customer_with_survey(store, "王建国", "+8613800138000")
    wang = bot.user(501, "王")

    bot.telegram.open_link(wang, token)
    consent = await bot.reply_to(501, 1)
    assert consent.text.startswith("王先生您好！这里是惠州江铃4S店的客户回访。")
    assert consent.button_labels == ["开始", "稍后", "退订"]

    opening = await bot.tap(501, consent, "开始")
    assert opening.text.startswith("【第1/")
    assert "王先生您好，我是惠州江铃4S店客户专员周芳" in opening.text
    assert "跟李明（销售顾问）商谈到报价环节" in opening.text
    assert opening.button_labels == ["拒绝回访", "时间不便", "配合回访"]

    q1 = await bot.tap(501, opening, "配合回访")
    assert "最后买了哪个品牌的车辆" in q1.text and q1.text.startswith("【第2/")
    assert bot.telegram.chat(501)[1].text.endswith("✅ 配合回访")  # the answered question shows the choice
    assert bot.telegram.chat(501)[1].buttons == []

    brand = await bot.tap(501, q1, "其他品牌")
    assert "品牌" in brand.text
    with bot.app.uow() as uow:
        status = uow.session.get(Customer, customer_id).status  # type: ignore[union-attr]
    assert status == "defeated"
    assert brand.text  # the next question follows; the rest of the flow is covered by the golden paths
    with bot.app.uow() as uow:
        answers = uow.session.scalars(select(Answer.question_id).where(Answer.survey_id == survey_id)).all()
        survey = uow.session.get(Survey, survey_id)
        assert survey is not None and survey.status == "in_progress"
    assert answers == ["opening", "q1"]


async def test_a_customer_who_has_not_bought_yet_becomes_recoverable_and_the_consultant_gets_a_task(
    bot: Harness,
) -> None:
    store = bot.store_with_staff()
    customer_id, _survey_id, token = bot.customer_with_survey(store, "赵丽", "+8613900139000", honorific="女士")
    bot.telegram.open_link(bot.user(502), token)
    consent = await bot.reply_to(502, 1)
    opening = await bot.tap(502, consent, "开始")
    q1 = await bot.tap(502, opening, "配合回访")

    await bot.tap(502, q1, "还没有购买")

    with bot.app.uow() as uow:
        customer = uow.session.get(Customer, customer_id)
        assert customer is not None and customer.status == "quasi_defeated"
        task = uow.session.scalars(select(Task)).one()
        assert task.kind == "recover_prospect" and task.staff_id == customer.owner_staff_id
