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
