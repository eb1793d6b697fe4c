"""`huifang erase CUSTOMER` (PIPL): the customer's name, phone and chat are gone from every table, the coded
answers stay so the tallies do not change, the erasure is recorded, and they are never contacted again.
`huifang report --consent CUSTOMER` lists when and how a customer consented or opted out, per channel."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.app import Container
from bot.cli import main
from bot.domain.people import Role
from bot.services import chat, consent, sms
from bot.services.web_links import issue_web_link
from scheduler import jobs
from storage.models import (
    Answer,
    Base,
    ContactAttempt,
    Customer,
    ErasureRecord,
    InboundUpdate,
    LeadEvent,
    LinkToken,
    Survey,
    Task,
    Vehicle,
)

NAME, PHONE, CHAT = "欧阳娜娜", "+8613900139001", 7770011
OTHER_NAME, OTHER_PHONE = "司马光", "+8613900139002"


def _cli(database_url: str, *args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--database-url", database_url, *args], input=input)
    return result.exit_code, result.output


def _customer(app: Container, name: str, phone: str, chat_id: int | None) -> int:
    now = app.clock.now()
    with app.uow() as uow:
        store = uow.stores.id_by_name("惠州江铃4S店") or uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
        consultant = uow.staff.ensure(store, "李明", Role.SALES_CONSULTANT, now)[0]
        customer = Customer(
            store_id=store, name=name, honorific="女士", phone=phone, status="defeated", owner_staff_id=consultant,
            telegram_chat_id=chat_id, region="惠城区", created_at=now, updated_at=now,
        )  # fmt: skip
        uow.session.add(customer)
        uow.flush()
        uow.session.add(Vehicle(customer_id=customer.id, series="全顺", vin=f"LJXCU2{customer.id:011d}",
                                plate=f"粤L{customer.id:05d}", created_at=now, updated_at=now))  # fmt: skip
        uow.session.add(LeadEvent(customer_id=customer.id, kind="defeat", occurred_on=date(2026, 11, 20),
                                  stated_reason=f"{name}说价格高", created_at=now))  # fmt: skip
        survey = Survey(
            customer_id=customer.id, questionnaire_id="defeat", questionnaire_version="defeat@1", purpose="defeat",
            channel="chat", status="completed", outcome="complete", state={"context": {"title": f"{name}"}},
            created_at=now, updated_at=now, completed_at=now,
        )  # fmt: skip
        uow.session.add(survey)
        uow.flush()
        uow.session.add_all([
            Answer(survey_id=survey.id, question_id="q2", option_code="price", reason_code="price_high",
                   reason_group="product", answered_at=now),
            Answer(survey_id=survey.id, question_id="q2_other", option_code="", reason_code="other",
                   free_text=f"我是{name}，有事打{phone[3:]}", answered_at=now),
            ContactAttempt(survey_id=survey.id, channel="phone", attempted_at=now, disposition="completed",
                           note=f"{name}很客气，手机{phone}"),
            Task(staff_id=consultant, customer_id=customer.id, kind="recover", due_at=now,
                 note=f"回访{name} {phone}", created_at=now),
            LinkToken(nonce=f"nonce{customer.id}", subject="customer", subject_id=customer.id, expires_at=now,
                      created_at=now),
        ])  # fmt: skip
        issue_web_link(uow, survey.id, now, 14)
        uow.outbox.add(f"sms-invite:{survey.id}:1:0", "sms", phone,
                       {"text": f"【江铃】{name}，邀您回访", "customer_id": customer.id}, now)  # fmt: skip
        uow.outbox.add(f"task:{survey.id}", "telegram", "5550001",
                       {"template": "task_card", "context": {"customer": name, "phone": phone}}, now)  # fmt: skip
        if chat_id is not None:
            uow.outbox.add(f"invite:{survey.id}", "telegram", str(chat_id), {"text": "您好", "customer_id": 1}, now)
            uow.inbound.keep(chat_id, json.dumps({"message": {"chat": {"id": chat_id, "first_name": name}}}), now)
        uow.commit()
        return customer.id


def _every_value(app: Container) -> list[tuple[str, str]]:
    """(table, value as text) for every cell of every table."""
    found = []
    with app.uow() as uow:
        for table in Base.metadata.sorted_tables:
            for row in uow.session.execute(select(table)):
                for value in row:
                    text = (
                        json.dumps(value, ensure_ascii=False, default=str)
                        if isinstance(value, dict | list)
                        else str(value)
                    )
                    found.append((table.name, text))
    return found


def _tallies(app: Container) -> tuple[Counter[tuple[str | None, str | None]], list[Any]]:
    with app.uow() as uow:
        answers = Counter((r, g) for r, g in uow.session.execute(select(Answer.reason_code, Answer.reason_group)))
        rollup = sorted(uow.session.execute(select(Base.metadata.tables["reason_rollup"])).all())
        return answers, rollup


@pytest.fixture
def people(app: Container) -> tuple[int, int]:
    return _customer(app, NAME, PHONE, CHAT), _customer(app, OTHER_NAME, OTHER_PHONE, None)


def test_after_erasure_no_table_holds_the_name_the_phone_or_the_chat(
    app: Container, database_url: str, people: tuple[int, int]
) -> None:
    erased, other = people
    before = _every_value(app)
    assert any(NAME in v for _, v in before) and any(PHONE[3:] in v for _, v in before)

    code, output = _cli(database_url, "erase", PHONE, "--yes")

    assert code == 0, output
    assert f"已删除客户编号 {erased} 的个人信息" in output
    leaks = [(t, v) for t, v in _every_value(app) if NAME in v or PHONE[3:] in v or str(CHAT) in v]
    assert leaks == []
    # The other customer is untouched.
    remaining = _every_value(app)
    assert any(OTHER_NAME in v for _, v in remaining) and any(OTHER_PHONE in v for _, v in remaining)
    with app.uow() as uow:
        record = uow.session.scalars(select(ErasureRecord)).one()
        assert record.customer_id == erased and record.rows["answer"] == 1 and record.rows["outbound_message"] == 3
        assert uow.session.scalar(select(func.count()).select_from(LinkToken)) == 1  # the other customer's
        assert uow.session.scalar(select(func.count()).select_from(InboundUpdate)) == 0
        assert other in {c.id for c in uow.session.scalars(select(Customer).where(Customer.name == OTHER_NAME))}


def test_erasure_keeps_the_coded_answers_so_the_tallies_do_not_change(
    app: Container, database_url: str, people: tuple[int, int]
) -> None:
    before = _tallies(app)
    assert _cli(database_url, "erase", str(people[0]), "--yes")[0] == 0
    assert _tallies(app) == before
    with app.uow() as uow:
        survey = uow.session.scalars(select(Survey).where(Survey.customer_id == people[0])).one()
        assert (survey.status, survey.outcome) == ("completed", "complete")
        attempt = uow.session.scalars(select(ContactAttempt).where(ContactAttempt.survey_id == survey.id)).one()
        assert (attempt.disposition, attempt.note) == ("completed", None)


def test_an_erased_customer_is_never_contacted_again(app: Container, database_url: str) -> None:
    customer_id = _customer(app, NAME, PHONE, CHAT)
    with app.uow() as uow:  # a new defeat: due again
        uow.session.add(LeadEvent(customer_id=customer_id, kind="defeat", occurred_on=date(2026, 11, 24),
                                  created_at=app.clock.now()))  # fmt: skip
        uow.commit()
    assert _cli(database_url, "erase", str(customer_id), "--yes")[0] == 0
    app.clock.set(datetime(2026, 11, 25, 2, 0, tzinfo=UTC) + timedelta(days=1))  # type: ignore[attr-defined]
    report = jobs.select_due(app.job_context())
    assert report.surveys == 0


def test_erase_asks_first_and_refuses_an_unknown_customer(
    app: Container, database_url: str, people: tuple[int, int]
) -> None:
    code, output = _cli(database_url, "erase", PHONE, input="n\n")
    assert code == 0 and "什么也没有删除" in output and "139****9001" in output
    assert any(NAME in v for _, v in _every_value(app))
    code, output = _cli(database_url, "erase", "+8613700000000", "--yes")
    assert code == 2 and "找不到客户" in output


def test_report_consent_lists_every_consent_and_opt_out_with_channel_and_wording(
    app: Container, database_url: str
) -> None:
    customer_id = _customer(app, NAME, PHONE, CHAT)
    kit = app.survey_kit()
    with app.uow() as uow:
        chat.consent(uow, kit, CHAT, "周芳")
        uow.commit()
    app.clock.set(app.clock.now() + timedelta(days=2))  # type: ignore[attr-defined]
    with app.uow() as uow:
        sms.record_reply(uow, PHONE[3:], "TD", app.clock.now())

    code, output = _cli(database_url, "report", "--consent", PHONE)

    assert code == 0, output
    lines = output.strip().splitlines()
    assert lines[0] == f"{NAME}（139****9001，客户编号 {customer_id}）的同意与退订记录"
    assert lines[1].split("\t") == ["时间", "渠道", "操作", "方式", "原文"]
    assert lines[2].split("\t")[:4] == ["2026-11-25 10:00", "聊天", "同意", "聊天按钮"]
    assert lines[3].split("\t") == ["2026-11-27 10:00", "短信网页", "退订", "短信回复", "TD"]
    with app.uow() as uow:
        assert [e.action for e in consent.history(uow, customer_id)] == ["consent", "opt_out"]

    assert _cli(database_url, "erase", str(customer_id), "--yes")[0] == 0
    code, output = _cli(database_url, "report", "--consent", str(customer_id))
    assert code == 0 and NAME not in output and "139" not in output
    assert "短信网页\t退订" in output and "已删除个人信息" in output  # the records outlive the erasure
