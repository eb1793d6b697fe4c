"""The mobile web survey page over real HTTP (`huifang run`'s application on a real port), checked in the database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.app import Container
from bot.domain.lifecycle import SurveyStatus
from storage.models import Answer, Customer, Survey
from tests.e2e.web_harness import browser, issue, seed_customer, web_server


def _survey(app: Container, survey_id: int) -> Survey:
    with app.uow(read_only=True) as uow:
        survey = uow.session.get(Survey, survey_id)
        assert survey is not None
        uow.session.expunge(survey)
        return survey


def _answers(app: Container, survey_id: int) -> list[tuple[str, str, int | None, str | None]]:
    with app.uow(read_only=True) as uow:
        rows = uow.session.scalars(select(Answer).where(Answer.survey_id == survey_id).order_by(Answer.id))
        return [(a.question_id, a.option_code, a.rating, a.free_text) for a in rows]


async def test_a_customer_consents_and_answers_every_kind_of_question_to_the_closing_words(app: Container) -> None:
    _, survey_id = seed_customer(app, "every_kind")
    token = issue(app, survey_id)
    async with web_server(app) as base, browser(base) as me:
        page = await me.open(f"/s/{token}")
        assert page.status == 200 and page.has("王先生您好") and page.has("惠州江铃4S店")
        assert "13800138000" not in page.text and page.has("开始") and page.has("退订")
        page = await me.post(f"/s/{token}", [("do", "start")])
        assert page.url.endswith(f"/s/{token}") and page.has("第 1 题") and page.has("可以")
        page = await me.post(f"/s/{token}", [("choice", "0")])
        assert page.has("谢谢！一共只有几个问题。") and page.has("最看重哪些方面")  # the message node, then multi
        page = await me.post(f"/s/{token}", [("choice", "0"), ("choice", "2")])
        assert page.has("推荐给朋友") and page.has("10")
        page = await me.post(f"/s/{token}", [("rating", "9")])
        assert page.has("最多50字")
        page = await me.post(f"/s/{token}", [("text", "x" * 51)])
        assert page.status == 422 and page.has("内容太长了") and page.has("x" * 51)  # nothing typed is lost
        page = await me.post(f"/s/{token}", [("text", "服务很好")])
        assert page.has("什么时候给您回个电话")
        slot = page.field("slot")
        page = await me.post(f"/s/{token}", [("slot", slot)])
        assert page.has("感谢王先生") and page.has("服务很好")
    assert _answers(app, survey_id) == [
        ("opening", "agree", None, None),
        ("reasons", "price", None, None),
        ("reasons", "service", None, None),
        ("score", "", 9, None),
        ("remarks", "", None, "服务很好"),
        ("when", "", None, None),
    ]
    survey = _survey(app, survey_id)
    assert survey.status == SurveyStatus.APPOINTMENT and survey.callback_at is not None


async def test_reload_double_submit_back_button_and_an_old_tab_never_record_twice_nor_move_back(
    app: Container,
) -> None:
    _, survey_id = seed_customer(app, "every_kind")
    token = issue(app, survey_id)
    async with web_server(app) as base, browser(base) as me, browser(base) as other_device:
        await me.open(f"/s/{token}")
        first_question = await me.post(f"/s/{token}", [("do", "start")])
        await me.post(f"/s/{token}", [("choice", "0")], page=first_question)
        again = await me.post(f"/s/{token}", [("choice", "1")], page=first_question)  # double tap / back + tap
        assert again.has("这一题已经回答过了") and again.has("最看重哪些方面")
        reloaded = await me.open(f"/s/{token}")
        assert reloaded.has("最看重哪些方面") and not reloaded.has("已经回答过了")
        # Another device (an old tab, a second phone) continues at the same question.
        elsewhere = await other_device.open(f"/s/{token}")
        assert elsewhere.has("最看重哪些方面") and elsewhere.has("第 2 题")
        await other_device.post(f"/s/{token}", [("choice", "1")])
        stale = await me.post(f"/s/{token}", [("choice", "3")], page=reloaded)
        assert stale.has("这一题已经回答过了") and stale.has("推荐给朋友")
    assert [a[:2] for a in _answers(app, survey_id)] == [("opening", "agree"), ("reasons", "brand")]


async def test_a_form_without_its_csrf_token_or_from_another_site_records_nothing(app: Container) -> None:
    _, survey_id = seed_customer(app, "every_kind")
    token = issue(app, survey_id)
    async with web_server(app) as base, browser(base) as me:
        await me.open(f"/s/{token}")
        async with me.session.post(f"{base}/s/{token}", data={"do": "start", "csrf": "forged"}) as forged:
            assert forged.status == 403 and "页面已过期" in await forged.text()
        good = me.last
        assert good is not None
        async with me.session.post(
            f"{base}/s/{token}",
            data={"do": "optout", "csrf": good.field("csrf")},
            headers={"Origin": "https://evil.example"},
        ) as cross_site:
            assert cross_site.status == 403
    survey = _survey(app, survey_id)
    assert survey.status == SurveyStatus.PENDING and survey.state is None


async def test_opting_out_on_the_page_ends_every_survey_at_once_and_the_link_says_so(app: Container) -> None:
    customer_id, survey_id = seed_customer(app, "every_kind")
    token = issue(app, survey_id)
    async with web_server(app) as base, browser(base) as me:
        page = await me.open(f"/s/{token}")
        confirm = await me.open(f"/s/{token}/optout")
        assert (
            confirm.has("确认退订") and _survey(app, survey_id).status == SurveyStatus.PENDING
        )  # a GET changes nothing
        done = await me.post(f"/s/{token}", [("do", "optout")], page=confirm)
        assert done.has("您已退订") and not done.has("开始")
        again = await me.open(f"/s/{token}")
        assert again.has("您已退订")
        assert page.status == 200
    assert _survey(app, survey_id).status == SurveyStatus.CANCELLED
    with app.uow(read_only=True) as uow:
        customer = uow.session.get(Customer, customer_id)
        assert customer is not None and customer.opted_out_at is not None
        records = [(r.channel, r.action, r.source) for r in uow.consents.for_customer(customer_id)]
    assert records[-1][:2] == ("web", "opt_out")  # kept, for `huifang report --consent`


async def test_consenting_on_the_page_is_kept_as_a_consent_record_of_the_web_channel(app: Container) -> None:
    customer_id, survey_id = seed_customer(app, "every_kind")
    token = issue(app, survey_id)
    async with web_server(app) as base, browser(base) as me:
        await me.open(f"/s/{token}")
        await me.post(f"/s/{token}", [("do", "start")])
    with app.uow(read_only=True) as uow:
        records = [(r.channel, r.action, r.source, r.wording) for r in uow.consents.for_customer(customer_id)]
    assert records == [("web", "consent", "web_page", "web/consent.html")]


async def test_unknown_expired_and_finished_links_get_a_clear_chinese_page(app: Container) -> None:
    _, survey_id = seed_customer(app, "every_kind")
    token = issue(app, survey_id, days=1)
    async with web_server(app) as base, browser(base) as me:
        unknown = await me.open("/s/" + "A" * 22)
        assert unknown.status == 404 and unknown.has("链接无效")
        nonsense = await me.open("/s/%3Cscript%3E")
        assert nonsense.status == 404 and nonsense.has("链接无效") and "<script>" not in nonsense.text
        app.clock.set(app.clock.now() + timedelta(days=2))  # type: ignore[attr-defined]
        expired = await me.open(f"/s/{token}")
        assert expired.status == 410 and expired.has("链接已过期")


def _bind_chat(app: Container, customer_id: int, chat_id: int) -> None:
    with app.uow() as uow:
        customer = uow.session.get(Customer, customer_id)
        assert customer is not None
        customer.telegram_chat_id = chat_id
        uow.commit()


async def test_a_survey_begun_in_chat_continues_on_the_page_and_then_in_chat_again(app: Container) -> None:
    from bot.services import chat
    from bot.services.surveys import Position

    customer_id, survey_id = seed_customer(app, "every_kind")
    _bind_chat(app, customer_id, 4242)
    kit = app.survey_kit()
    with app.uow() as uow:
        chat.consent(uow, kit, 4242, "小王")
        uow.commit()
    with app.uow() as uow:
        chat.answer_typed(uow, kit, 4242, "1")  # 可以, in chat
        uow.commit()
    token = issue(app, survey_id)
    async with web_server(app) as base, browser(base) as me:
        page = await me.open(f"/s/{token}")
        assert page.has("最看重哪些方面") and page.has("第 2 题") and not page.has("开始")  # no consent again
        page = await me.post(f"/s/{token}", [("choice", "1")])
        assert page.has("推荐给朋友")
    with app.uow() as uow:
        back_in_chat = chat.greet_again(uow, kit, 4242)
        assert isinstance(back_in_chat, Position) and back_in_chat.step.node_id == "score"
        chat.answer_typed(uow, kit, 4242, "8")
        uow.commit()
    async with web_server(app) as base, browser(base) as me:
        page = await me.open(f"/s/{token}")
        assert page.has("还有什么想对我们说的吗")
    assert [a[:3] for a in _answers(app, survey_id)] == [
        ("opening", "agree", None),
        ("reasons", "brand", None),
        ("score", "", 8),
    ]


async def test_opting_out_in_chat_is_honoured_by_the_page_at_once(app: Container) -> None:
    from bot.services import chat

    customer_id, survey_id = seed_customer(app, "every_kind")
    _bind_chat(app, customer_id, 4343)
    token = issue(app, survey_id)
    async with web_server(app) as base, browser(base) as me:
        page = await me.open(f"/s/{token}")
        assert page.has("开始")
        with app.uow() as uow:
            chat.opt_out(uow, app.survey_kit(), 4343)
            uow.commit()
        page = await me.post(f"/s/{token}", [("do", "start")], page=page)
        assert page.has("您已退订") and not page.has("第 1 题")
    assert _survey(app, survey_id).status == SurveyStatus.CANCELLED and _answers(app, survey_id) == []


async def test_a_link_or_an_address_that_asks_too_often_is_slowed_down_with_a_chinese_page(
    app: Container, database_url: str
) -> None:
    from bot.app import build
    from bot.settings import Settings

    strict = build(
        Settings(
            database_url=database_url,
            store_name="惠州江铃4S店",
            link_secret="test-secret-0123456789abcdef",
            web_rate_per_link=5,
            web_rate_per_address=8,
        ),
        clock=app.clock,
    )
    try:
        _, survey_id = seed_customer(strict, "every_kind")
        token, other = issue(strict, survey_id), issue(strict, survey_id)
        async with web_server(strict) as base, browser(base) as me:
            statuses = [(await me.open(f"/s/{token}")).status for _ in range(6)]
            assert statuses == [200] * 5 + [429] and me.last is not None and me.last.has("操作太频繁")
            statuses = [(await me.open(f"/s/{other}")).status for _ in range(4)]
            assert statuses == [200, 200, 429, 429]  # the address asked 8 times in all: its own limit
    finally:
        strict.close()
