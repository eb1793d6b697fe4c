"""The web survey page against hostile and clumsy clients: huge bodies, forged tokens and fields, script text,
and many submissions of one form at the same moment. Nothing is lost, doubled or run."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.app import Container
from bot.settings import Settings
from storage.models import Answer
from tests.e2e.web_harness import browser, issue, seed_customer, web_server


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        store_name="惠州江铃4S店",
        link_secret="test-secret-0123456789abcdef",
        web_rate_per_address=10_000,
        web_rate_per_link=10_000,
    )


def _count(app: Container, survey_id: int, question: str | None = None) -> int:
    with app.uow(read_only=True) as uow:
        query = select(func.count()).select_from(Answer).where(Answer.survey_id == survey_id)
        if question:
            query = query.where(Answer.question_id == question)
        return int(uow.session.scalar(query) or 0)


async def test_a_huge_body_is_refused_and_records_nothing(app: Container) -> None:
    _, survey_id = seed_customer(app, "every_kind")
    token = issue(app, survey_id)
    async with web_server(app) as base, browser(base) as me:
        page = await me.open(f"/s/{token}")
        async with me.session.post(
            f"{base}/s/{token}", data={"csrf": page.field("csrf"), "do": "start", "text": "长" * 200_000}
        ) as huge:
            assert huge.status == 413
        assert (await me.open(f"/s/{token}")).has("开始")
    assert _count(app, survey_id) == 0


async def test_forged_tokens_and_nonsense_fields_get_clear_pages_and_change_nothing(app: Container) -> None:
    _, survey_id = seed_customer(app, "every_kind")
    token = issue(app, survey_id)
    async with web_server(app) as base, browser(base) as me:
        for path in ("/s/" + "a" * 200, "/s/..%2F..%2Fetc%2Fpasswd", "/s/%0D%0ASet-Cookie:x=1", f"/s/{token[:-2]}"):
            page = await me.open(path)
            assert page.status == 404 and page.has("链接无效"), path
        async with me.session.post(f"{base}/s/{'b' * 22}", data={"do": "start"}) as forged:
            assert forged.status == 403
        await me.open(f"/s/{token}")
        question = await me.post(f"/s/{token}", [("do", "start")])
        for fields in (
            [("choice", "99")],
            [("choice", "-1")],
            [("choice", "１")],
            [],
        ):
            page = await me.post(f"/s/{token}", fields, page=question)
            assert page.status in (200, 422) and page.has("第 1 题"), fields
        for step in ("99999999999999999999", "x", "", "1e3"):
            async with me.session.post(
                f"{base}/s/{token}", data={"csrf": question.field("csrf"), "do": "answer", "step": step, "choice": "0"}
            ) as odd:
                assert odd.status == 200 and "已经回答过了" in await odd.text() and "第 1 题" in await odd.text()
    assert _count(app, survey_id) == 0


async def test_script_text_in_a_free_text_answer_is_stored_as_typed_and_shown_escaped(app: Container) -> None:
    _, survey_id = seed_customer(app, "every_kind")
    token = issue(app, survey_id)
    hostile = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>\"'&\x00"
    async with web_server(app) as base, browser(base) as me:
        await me.open(f"/s/{token}")
        await me.post(f"/s/{token}", [("do", "start")])
        await me.post(f"/s/{token}", [("choice", "0")])
        await me.post(f"/s/{token}", [("choice", "1")])
        await me.post(f"/s/{token}", [("rating", "3")])
        refused = await me.post(f"/s/{token}", [("text", hostile * 3)])  # too long: shown back, escaped
        assert refused.status == 422 and "<script>" not in refused.text and "&lt;script&gt;" in refused.text
        await me.post(f"/s/{token}", [("text", hostile[:49])])
        page = await me.post(f"/s/{token}", [("slot", (me.last or refused).field("slot"))])
        assert page.has("感谢王先生") and "<script>" not in page.text and "<img" not in page.text
        assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in page.text
    with app.uow(read_only=True) as uow:
        stored = uow.session.scalar(select(Answer.free_text).where(Answer.question_id == "remarks"))
    assert stored == hostile[:49].replace("\x00", "").strip()


async def test_many_submissions_of_one_form_at_once_record_one_answer(app: Container) -> None:
    _, survey_id = seed_customer(app, "every_kind")
    token = issue(app, survey_id)
    async with web_server(app) as base, browser(base) as me:
        await me.open(f"/s/{token}")
        question = await me.post(f"/s/{token}", [("do", "start")])
        fields = {"csrf": question.field("csrf"), "do": "answer", "step": question.field("step"), "choice": "0"}

        async def tap() -> int:
            async with me.session.post(f"{base}/s/{token}", data=fields) as response:
                await response.read()
                return response.status

        statuses = await asyncio.gather(*(tap() for _ in range(20)))
        assert set(statuses) == {200}
        page = await me.open(f"/s/{token}")
        assert page.has("最看重哪些方面")
    assert _count(app, survey_id, "opening") == 1 and _count(app, survey_id) == 1
