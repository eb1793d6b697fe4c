"""Customers answering the defeat survey in Telegram chat, through the real bot over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

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


async def _to_question_one(bot: Harness, user_id: int, name: str, phone: str, honorific: str = "先生"):  # type: ignore[no-untyped-def]
    store = bot.store_with_staff()
    customer_id, survey_id, token = bot.customer_with_survey(store, name, phone, honorific=honorific)
    bot.telegram.open_link(bot.user(user_id), token)
    consent = await bot.reply_to(user_id, 1)
    opening = await bot.tap(user_id, consent, "开始")
    return customer_id, survey_id, opening


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for something the bot does after its reply (e.g. setting a chat's command menu)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def test_a_customer_who_refuses_is_thanked_and_the_survey_ends_as_a_refusal(bot: Harness) -> None:
    _, survey_id, opening = await _to_question_one(bot, 510, "钱多多", "+8613700137000")

    closing = await bot.tap(510, opening, "拒绝回访")

    assert closing.buttons == []
    assert "打扰" in closing.text or "感谢" in closing.text
    survey = bot.survey(survey_id)
    assert (survey.status, survey.outcome) == ("refused", "refusal")


async def test_not_now_offers_callback_times_and_books_the_chosen_one_for_a_specialist(bot: Harness) -> None:
    _, survey_id, opening = await _to_question_one(bot, 511, "孙丽", "+8613600136000", honorific="女士")

    when = await bot.tap(511, opening, "时间不便")
    assert "什么时间方便" in when.text
    tomorrow_morning = next(label for label in when.button_labels if "10:00" in label)
    done = await bot.tap(511, when, tomorrow_morning)

    survey = bot.survey(survey_id)
    assert survey.status == "appointment"
    assert survey.callback_at is not None
    assert survey.callback_at.isoformat() == "2026-11-26T02:00:00+00:00"  # 10:00 in Shanghai, stored as UTC
    assert done.buttons == []
    with bot.app.uow() as uow:
        task = uow.session.scalars(select(Task)).one()
        specialist = uow.staff.by_names(task_store(uow), ["周芳"])["周芳"]
        assert (task.kind, task.staff_id, task.due_at) == ("callback", specialist.id, survey.callback_at)


def task_store(uow) -> int:  # type: ignore[no-untyped-def]
    from storage.models import Store

    return uow.session.scalars(select(Store.id)).one()


async def test_bought_another_brand_for_its_price_walks_to_the_closing_and_records_every_answer(bot: Harness) -> None:
    _, survey_id, opening = await _to_question_one(bot, 512, "周杰", "+8613500135000")
    q1 = await bot.tap(512, opening, "配合回访")
    brand = await bot.tap(512, q1, "其他品牌")

    q2 = await bot.say(512, "比亚迪 唐")
    assert "不选择从我公司购买的主要原因" in q2.text
    closing = await bot.tap(512, q2, "价格/价值")

    assert "感谢周先生您宝贵的意见" in closing.text
    assert brand.buttons == []
    assert bot.answers(survey_id) == [
        ("opening", "agree", None, None),
        ("q1", "other_brand", "other_brand", None),
        ("q1_brand", "", None, "比亚迪 唐"),
        ("q2", "price_value", "price_value", None),
    ]
    assert bot.survey(survey_id).status == "completed"


async def test_sales_performance_leads_to_q3_then_q4_then_q5_and_a_poor_attitude_alerts_the_manager(
    bot: Harness,
) -> None:
    _, survey_id, opening = await _to_question_one(bot, 513, "吴刚", "+8613400134000")
    q1 = await bot.tap(513, opening, "配合回访")
    brand = await bot.tap(513, q1, "其他品牌")
    q2 = await bot.say(513, "长城")
    q3 = await bot.tap(513, q2, "销售人员表现")
    assert "是哪方面" in q3.text
    q4 = await bot.tap(513, q3, "销售人员态度不好")
    assert "选择他品牌购买的主要原因" in q4.text
    q5 = await bot.tap(513, q4, "销售人员表现")
    assert "是哪方面" in q5.text
    closing = await bot.tap(513, q5, q5.button_labels[0])

    assert closing.buttons == [] and brand.text
    assert [a[0] for a in bot.answers(survey_id)] == ["opening", "q1", "q1_brand", "q2", "q3", "q4", "q5"]
    with bot.app.uow() as uow:
        alert = uow.session.scalars(select(Task).where(Task.kind == "alert")).one()
        manager = uow.staff.by_names(task_store(uow), ["陈经理"])["陈经理"]
        assert alert.staff_id == manager.id


async def test_a_customer_can_opt_out_mid_survey_and_is_never_asked_again(bot: Harness) -> None:
    customer_id, survey_id, opening = await _to_question_one(bot, 514, "郑爽", "+8613300133000", "女士")
    q1 = await bot.tap(514, opening, "配合回访")

    goodbye = await bot.say(514, "退订")

    assert goodbye.text.startswith("已为您退订")
    with bot.app.uow() as uow:
        customer = uow.session.get(Customer, customer_id)
        assert customer is not None and customer.opted_out_at is not None
    assert bot.survey(survey_id).status == "cancelled"
    sent = len(bot.telegram.chat(514))
    bot.telegram.press(bot.user(514), q1, "其他品牌")
    await _settle(bot)
    assert len(bot.telegram.chat(514)) == sent  # no new message
    assert bot.telegram.callback_answers[-1]["text"] == "本次回访已经结束，感谢您的配合！"
    assert [a[0] for a in bot.answers(survey_id)] == ["opening"]


async def _settle(bot: Harness) -> None:
    """Let the bot finish what it is doing (no reply is expected): wait until no call has come for 0.2 s."""
    import asyncio

    before = -1
    for _ in range(100):
        now = sum(v for k, v in bot.telegram.calls.items() if k != "getUpdates")
        if now == before:
            break
        before = now
        await asyncio.sleep(0.2)


async def test_tapping_an_old_question_is_answered_as_stale_and_never_recorded(bot: Harness) -> None:
    _, survey_id, opening = await _to_question_one(bot, 515, "冯巩", "+8613200132000")
    old_refuse = dict(opening.buttons)["拒绝回访"]
    await bot.tap(515, opening, "配合回访")
    sent = len(bot.telegram.chat(515))

    bot.telegram.press_data(bot.user(515), opening, old_refuse)
    await _settle(bot)

    assert bot.telegram.callback_answers[-1]["text"] == "这个问题已经回答过了，请回答最新的问题。"
    assert len(bot.telegram.chat(515)) == sent
    assert bot.answers(survey_id) == [("opening", "agree", None, None)]
    assert bot.survey(survey_id).status == "in_progress"


async def test_after_a_restart_the_next_tap_continues_at_the_same_question(bot: Harness) -> None:
    _, survey_id, opening = await _to_question_one(bot, 516, "陈红", "+8613100131000", "女士")
    q1 = await bot.tap(516, opening, "配合回访")

    await bot.restart_bot()
    q2 = await bot.tap(516, q1, "还没有购买")

    assert "不选择从我公司购买的主要原因" in q2.text
    assert [a[0] for a in bot.answers(survey_id)] == ["opening", "q1"]


async def test_an_update_delivered_twice_records_nothing_twice(bot: Harness) -> None:
    _, survey_id, opening = await _to_question_one(bot, 517, "林峰", "+8615800158000")
    sent_before = len(bot.telegram.chat(517))
    update_id = bot.telegram.press(bot.user(517), opening, "配合回访")
    await bot.reply_to(517, sent_before + 1)

    bot.telegram.redeliver(update_id)
    await _settle(bot)

    assert len(bot.telegram.chat(517)) == sent_before + 1
    assert bot.answers(survey_id) == [("opening", "agree", None, None)]


async def test_a_customer_who_blocked_the_bot_is_marked_unreachable(bot: Harness) -> None:
    customer_id, _, opening = await _to_question_one(bot, 518, "黄磊", "+8615900159000")
    bot.telegram.blocked.add(518)

    bot.telegram.press(bot.user(518), opening, "配合回访")
    unreachable_since = None
    for _ in range(100):
        with bot.app.uow() as uow:
            unreachable_since = uow.session.get(Customer, customer_id).chat_unreachable_at  # type: ignore[union-attr]
        if unreachable_since is not None:
            break
        await _settle(bot)
    assert unreachable_since == bot.app.clock.now()
    assert len(bot.telegram.chat(518)) == 2  # nothing was delivered after the block


async def test_a_free_text_answer_that_is_too_long_is_refused_with_the_limit_and_the_question_stays(
    bot: Harness,
) -> None:
    _, survey_id, opening = await _to_question_one(bot, 519, "何炅", "+8615000150000")
    q1 = await bot.tap(519, opening, "配合回访")
    await bot.tap(519, q1, "其他品牌")

    refusal = await bot.say(519, "长" * 60)
    assert refusal.text == "内容太长了（60字），最多50字，请精简后再发送。"
    q2 = await bot.say(519, "哈弗")

    assert "主要原因" in q2.text
    assert bot.answers(survey_id)[-1] == ("q1_brand", "", None, "哈弗")


async def test_a_429_from_telegram_is_waited_out_and_the_question_arrives_once(bot: Harness) -> None:
    _, _, opening = await _to_question_one(bot, 520, "谢娜", "+8615100151000", "女士")
    bot.telegram.fail_next("sendMessage", 429, retry_after=1)

    q1 = await bot.tap(520, opening, "配合回访")

    assert "哪个品牌" in q1.text
    assert sum("哪个品牌" in m.text for m in bot.telegram.chat(520)) == 1


async def test_several_customers_answering_at_once_never_see_each_others_questions(bot: Harness) -> None:
    import asyncio

    store = bot.store_with_staff()
    people = [("王一", 601), ("李二", 602), ("张三", 603), ("刘四", 604), ("陈五", 605)]
    tokens = {}
    for index, (name, user_id) in enumerate(people):
        tokens[user_id] = bot.customer_with_survey(store, name, f"+86137001370{index:02d}")[2]

    async def walk(name: str, user_id: int) -> str:
        bot.telegram.open_link(bot.user(user_id), tokens[user_id])
        consent = await bot.reply_to(user_id, 1)
        opening = await bot.tap(user_id, consent, "开始")
        assert f"{name[0]}先生您好" in opening.text
        q1 = await bot.tap(user_id, opening, "配合回访")
        return q1.text

    texts = await asyncio.gather(*(walk(name, uid) for name, uid in people))

    for (name, _), text in zip(people, texts, strict=True):
        assert f"恭喜{name[0]}先生购得爱车" in text


async def test_forged_expired_and_reused_links_bind_nothing(bot: Harness) -> None:
    from datetime import timedelta

    store = bot.store_with_staff()
    customer_id, _, token = bot.customer_with_survey(store, "马云", "+8618600186000")

    forged = await bot.say(701, "/start " + token[:-4] + "AAAA")
    assert forged.text == "抱歉，这个链接无效。请使用门店发给您的完整链接。"

    bot.telegram.open_link(bot.user(702), token)
    await bot.reply_to(702, 1)
    reused = await bot.say(703, "/start " + token)
    assert reused.text == "抱歉，这个链接已被其他账号使用。如有疑问请联系门店。"

    _, _, fresh = bot.customer_with_survey(store, "马化腾", "+8618700187000")
    bot.app.clock.set(bot.app.clock.now() + timedelta(days=31))  # type: ignore[attr-defined]
    expired = await bot.say(704, "/start " + fresh)
    assert expired.text == "抱歉，这个链接已过期。请联系门店重新发送链接。"

    with bot.app.uow() as uow:
        bound = uow.session.scalars(select(Customer.telegram_chat_id).where(Customer.telegram_chat_id.is_not(None)))
        assert list(bound) == [702]
        assert uow.session.get(Customer, customer_id).telegram_chat_id == 702  # type: ignore[union-attr]


async def test_staff_bind_with_their_link_and_see_their_tasks_with_done_and_postpone(bot: Harness) -> None:
    _, _, opening = await _to_question_one(bot, 801, "赵薇", "+8618800188000", "女士")
    q1 = await bot.tap(801, opening, "配合回访")
    await bot.tap(801, q1, "还没有购买")  # creates a recovery task for 李明

    stranger = await bot.say(802, "/tasks")
    assert stranger.text == "抱歉，此功能仅限本店员工使用。"

    with bot.app.uow() as uow:
        store_id = task_store(uow)
    bound = await bot.say(803, "/start " + bot.staff_link(store_id, "李明"))
    assert bound.text.startswith("李明，您好！您的 Telegram 账号已绑定为惠州江铃4S店员工。")
    await _until(lambda: "803" in bot.telegram.commands)
    assert [c for c, _ in bot.telegram.commands["803"]] == ["tasks", "today", "call", "help"]

    card = await bot.say(803, "/tasks")
    assert card.text.startswith("挽回准战败客户｜")
    assert "客户：赵女士（赵薇）  18800188000" in card.text  # the consultant calls her: full number
    assert "车辆：轻卡 顺达" in card.text
    assert card.button_labels == ["完成", "推迟"]

    bot.telegram.press(bot.user(803), card, "完成")
    done = await bot.telegram.wait_for(803, lambda m: m.text.startswith("✅ 已完成"))
    assert done.text == "✅ 已完成：挽回准战败客户｜赵女士"
    empty = await bot.say(803, "/tasks")
    assert empty.text == "您目前没有待办任务。"


async def test_a_manager_sees_alerts_with_the_phone_number_masked(bot: Harness) -> None:
    _, _, opening = await _to_question_one(bot, 804, "钟汉", "+8613912345678")
    q1 = await bot.tap(804, opening, "配合回访")
    await bot.tap(804, q1, "其他品牌")
    q2 = await bot.say(804, "吉利")
    q3 = await bot.tap(804, q2, "销售人员表现")
    await bot.tap(804, q3, "销售人员态度不好")
    with bot.app.uow() as uow:
        store_id = task_store(uow)

    await bot.say(805, "/start " + bot.staff_link(store_id, "陈经理"))
    card = await bot.say(805, "/tasks")

    assert card.text.startswith("客户预警｜")
    assert "139****5678" in card.text and "13912345678" not in card.text


async def test_a_manager_asks_for_this_weeks_numbers_and_other_staff_and_customers_cannot(bot: Harness) -> None:
    _, _, opening = await _to_question_one(bot, 807, "孙强", "+8613512345678")
    q1 = await bot.tap(807, opening, "配合回访")
    await bot.tap(807, q1, "其他品牌")
    q2 = await bot.say(807, "长安")
    await bot.tap(807, q2, "价格/价值")
    with bot.app.uow() as uow:
        store_id = task_store(uow)
    await bot.say(808, "/start " + bot.staff_link(store_id, "陈经理"))
    await bot.say(809, "/start " + bot.staff_link(store_id, "李明"))

    await _until(lambda: "808" in bot.telegram.commands)
    assert [c for c, _ in bot.telegram.commands["808"]] == ["tasks", "today", "call", "stats", "help"]
    stats = await bot.say(808, "/stats")
    consultant = await bot.say(809, "/stats")
    customer = await bot.say(807, "/stats")

    assert stats.text.startswith("📊 本周回访概况（2026-W")
    assert "截至目前" in stats.text
    # where the customer bought and why are shares of different wholes: each on its own line, by short names
    assert "\n战败原因（1 人回答）：价格高 1\n去向：他品牌 1\n" in stats.text
    assert "完成 1 人（100%）" in stats.text and "RR1" not in stats.text
    assert "13512345678" not in stats.text and "长安" not in stats.text  # no phone, no answer text
    assert consultant.text == "抱歉，本周统计仅限店长查看。"
    assert customer.text == "抱歉，此功能仅限本店员工使用。"


async def test_help_explains_how_to_answer_and_opt_out(bot: Harness) -> None:
    await _to_question_one(bot, 806, "韩梅", "+8613812345678", "女士")

    reply = await bot.say(806, "/help")

    assert "退订" in reply.text and "惠州江铃4S店" in reply.text and "李明" in reply.text
