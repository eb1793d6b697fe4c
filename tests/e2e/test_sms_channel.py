"""The SMS channel end to end, over real HTTP against the fake providers (Aliyun and Twilio shapes): a survey
in the web mode gets one invitation SMS with its link; receipts land as contact attempts in the shared
dispositions; an upstream T opts the customer out everywhere, and nothing is sent to them after that."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import select

from bot.app import Container, build
from bot.domain.clock import FixedClock
from bot.domain.people import Role
from bot.sandbox.fake_sms import FakeSmsProvider
from bot.services import consent, sms
from bot.services.reports import ReportParams, build_report
from bot.services.web_links import WebLinkFound, find_web_link
from bot.settings import Settings
from bot.sms.callbacks import TWILIO_INBOUND, aliyun_urls
from bot.webserver import build_web_app, start_web_server
from scheduler.runner import job_table
from storage.models import ContactAttempt, Customer, LeadEvent, OutboundMessage, Survey

SECRET = "fake-provider-secret-0123456789"
CALLBACK_SECRET = "aliyun-callback-path-secret-42"
PHONE = "+8613800138001"


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class World:
    def __init__(self, app: Container, fake: FakeSmsProvider, base: str) -> None:
        self.app, self.fake, self.base = app, fake, base
        self.clock: FixedClock = app.clock  # type: ignore[assignment]

    def defeated(self, phone: str = PHONE, chat: int | None = None) -> int:
        now = self.clock.now()
        with self.app.uow() as uow:
            store = uow.stores.id_by_name("惠州江铃4S店") or uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
            consultant = uow.staff.ensure(store, "李明", Role.SALES_CONSULTANT, now)[0]
            customer = Customer(
                store_id=store, name="王建国", honorific="先生", phone=phone, status="defeated",
                owner_staff_id=consultant, telegram_chat_id=chat, created_at=now, updated_at=now,
            )  # fmt: skip
            uow.session.add(customer)
            uow.flush()
            uow.session.add(LeadEvent(customer_id=customer.id, kind="defeat", occurred_on=date(2026, 11, 24),
                                      created_at=now))  # fmt: skip
            uow.commit()
            return customer.id

    async def job(self, name: str, moment: datetime) -> object:
        self.clock.set(moment)
        table = job_table(self.app.job_context(), None, self.app.report_settings())
        return await table[name]()

    def survey(self) -> Survey:
        with self.app.uow() as uow:
            return uow.session.scalars(select(Survey)).one()

    def customer(self, customer_id: int) -> Customer:
        with self.app.uow() as uow:
            found = uow.people.get(customer_id)
            assert found is not None
            return found

    def attempts(self) -> list[tuple[str, str]]:
        with self.app.uow() as uow:
            rows = uow.session.scalars(select(ContactAttempt).order_by(ContactAttempt.id))
            return [(a.channel, a.disposition) for a in rows]

    def outbox(self) -> list[tuple[str, str, str]]:
        with self.app.uow() as uow:
            rows = uow.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))
            return [(m.channel, m.idempotency_key, m.status) for m in rows]


@pytest.fixture(params=["aliyun", "twilio"])
async def world(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[World]:
    provider = request.param
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=database_url, store_name="惠州江铃4S店", contact_modes=["chat", "web", "phone"],
        public_url=base, sms_provider=provider, sms_account="AC-test" if provider == "twilio" else "LTAI-test",
        sms_secret=SECRET, sms_sign_name="江铃汽车", sms_template_code="SMS_100", sms_from="+10000000000",
        sms_callback_secret=CALLBACK_SECRET, skip_public_holidays=False,
    )  # fmt: skip
    app = build(settings, clock=FixedClock(at("2026-11-25", 10)))
    report_url, upstream_url = aliyun_urls(base, CALLBACK_SECRET)
    fake = FakeSmsProvider(
        account=settings.sms_account or "", secret=SECRET, templates={"SMS_100": sms.aliyun_template(base)},
        aliyun_report_url=report_url, aliyun_upstream_url=upstream_url, twilio_inbound_url=base + TWILIO_INBOUND,
    )  # fmt: skip
    async with fake:
        app.settings.sms_api_url = fake.url
        runner = await start_web_server(build_web_app([app.sms_callbacks().mount]), "127.0.0.1", port)
        try:
            yield World(app, fake, base)
        finally:
            await runner.cleanup()
            app.close()


async def test_a_survey_in_the_web_mode_gets_one_sms_whose_link_opens_that_survey(world: World) -> None:
    world.defeated()  # no chat: the plan starts it in the web mode
    await world.job("select_due", at("2026-11-25", 9))
    queued, report = await world.job("send_sms", at("2026-11-25", 10))  # type: ignore[misc]

    assert (queued, report.sent) == (1, 1)
    (message,) = world.fake.messages
    assert message.text.startswith("【江铃汽车】王先生，惠州江铃4S店邀您做购车体验回访")
    assert message.text.endswith("回T退订")
    assert message.phone.endswith("13800138001")
    assert message.link is not None and message.link.startswith(f"{world.base}/s/")
    token = message.link.rsplit("/", 1)[1]
    survey = world.survey()
    with world.app.uow() as uow:
        found = find_web_link(uow, token, world.clock.now())
    assert isinstance(found, WebLinkFound) and found.survey_id == survey.id
    assert (survey.channel, survey.status, survey.stage_attempts) == ("web", "invited", 1)

    again, _ = await world.job("send_sms", at("2026-11-25", 10, 30))  # type: ignore[misc]
    assert again == 0 and len(world.fake.messages) == 1  # one try per day at most: not sent twice


async def test_a_second_try_goes_out_a_day_later_and_the_plans_cap_stops_a_third(world: World) -> None:
    world.defeated()
    await world.job("select_due", at("2026-11-25", 9))
    await world.job("send_sms", at("2026-11-25", 10))
    await world.job("send_sms", at("2026-11-26", 10, 5))  # 24 h later: the defeat plan's web stage has 2 tries
    await world.job("send_sms", at("2026-11-27", 10, 10))

    assert len(world.fake.messages) == 2
    assert world.fake.messages[0].link != world.fake.messages[1].link
    assert world.survey().stage_attempts == 2


async def test_no_sms_goes_out_outside_calling_hours(world: World) -> None:
    world.defeated()
    await world.job("select_due", at("2026-11-25", 8))
    queued, report = await world.job("send_sms", at("2026-11-25", 21))  # type: ignore[misc]
    assert (queued, report.sent, world.fake.messages) == (0, 0, [])
    await world.job("send_sms", at("2026-11-26", 9, 1))
    assert len(world.fake.messages) == 1


async def test_a_failed_delivery_is_a_contact_attempt_of_the_web_mode_recorded_once(world: World) -> None:
    world.defeated()
    world.fake.fail(PHONE, "30005" if world.app.settings.sms_provider == "twilio" else "MK:0001", "空号")
    await world.job("select_due", at("2026-11-25", 9))
    await world.job("send_sms", at("2026-11-25", 10))

    assert await world.fake.deliver_receipts() == 1
    world.fake.messages[0].reported = False  # the provider delivers the same receipt again
    await world.fake.deliver_receipts()

    assert world.fake.callback_answers in ([200, 200], [204, 204])
    assert world.attempts() == [("web", "vacant")]
    built = build_report(
        world.app.read_uow, ReportParams(all_time=True, sections=("contacts",)), world.app.report_settings(),
        world.clock,
    )  # fmt: skip
    failures = next(t for t in built.tables if t.key == "tracking_failures")
    assert next((r["channel"], r["label"], r["count"]) for r in failures.rows) == ("短信网页", "空号", 1)
    modes = next(t for t in built.tables if t.key == "contact_modes")
    assert next((r["mode"], r["attempts"]) for r in modes.rows) == ("短信网页", 1)


async def test_a_delivered_receipt_records_no_failure(world: World) -> None:
    world.defeated()
    await world.job("select_due", at("2026-11-25", 9))
    await world.job("send_sms", at("2026-11-25", 10))
    await world.fake.deliver_receipts()
    assert world.attempts() == []
    with world.app.uow() as uow:
        (message,) = uow.session.scalars(select(OutboundMessage)).all()
        assert message.receipt == "delivered"


async def test_an_upstream_t_opts_the_customer_out_everywhere_and_nothing_is_sent_after(world: World) -> None:
    provider = world.app.settings.sms_provider or ""
    customer_id = world.defeated()
    await world.job("select_due", at("2026-11-25", 9))
    await world.job("send_sms", at("2026-11-25", 10))

    await world.fake.reply("13800138001" if provider == "aliyun" else PHONE, "T", provider)

    survey = world.survey()
    assert survey.status == "cancelled"
    assert world.customer(customer_id).opted_out_at is not None
    assert ("web", "opted_out") in world.attempts()
    with world.app.uow() as uow:
        (entry,) = consent.history(uow, customer_id)
    assert (entry.channel, entry.action, entry.source, entry.wording) == ("web", "opt_out", "sms_reply", "T")

    sent = len(world.fake.messages)
    outbox = world.outbox()
    for day in ("2026-11-26", "2026-12-03", "2026-12-20"):  # every job, long after every mode's wait
        for name in ("select_due", "advance_plans", "send_invitations", "remind_and_expire", "send_sms"):
            await world.job(name, at(day, 10))
    assert len(world.fake.messages) == sent
    assert world.outbox() == outbox  # no SMS and no chat message queued
    assert world.survey().status == "cancelled"
    with world.app.uow() as uow:
        assert uow.session.scalars(select(Survey).where(Survey.status != "cancelled")).all() == []


async def test_an_opt_out_between_queueing_and_sending_wins(world: World) -> None:
    customer_id = world.defeated()
    await world.job("select_due", at("2026-11-25", 9))
    ctx = world.app.job_context()
    assert ctx.sms is not None
    with world.app.uow() as uow:
        assert sms.queue_invitations(uow, ctx.texts, ctx.plans, ctx.sms, world.clock.now()) == 1
    with world.app.uow() as uow:
        assert sms.record_reply(uow, "13800138001", "退订", world.clock.now()) == 1
    _, report = await world.job("send_sms", at("2026-11-25", 10, 1))  # type: ignore[misc]
    assert (report.sent, world.fake.messages) == (0, [])
    assert world.customer(customer_id).opted_out_at is not None


async def test_any_other_reply_changes_nothing(world: World) -> None:
    provider = world.app.settings.sms_provider or ""
    customer_id = world.defeated()
    await world.job("select_due", at("2026-11-25", 9))
    await world.job("send_sms", at("2026-11-25", 10))
    await world.fake.reply(PHONE, "好的，晚点填", provider)
    assert world.customer(customer_id).opted_out_at is None
    assert world.survey().status == "invited"


async def test_callbacks_without_the_providers_proof_are_refused_and_change_nothing(world: World) -> None:
    customer_id = world.defeated()
    await world.job("select_due", at("2026-11-25", 9))
    await world.job("send_sms", at("2026-11-25", 10))
    async with aiohttp.ClientSession() as client:
        forged = {"From": PHONE, "Body": "T"}
        async with client.post(world.base + TWILIO_INBOUND, data=forged) as response:
            twilio_status = response.status
        async with client.post(
            world.base + TWILIO_INBOUND, data=forged, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
        ) as response:
            twilio_bad_signature = response.status
        wrong = aliyun_urls(world.base, "not-the-secret-at-all")[1]
        async with client.post(wrong, json=[{"phone_number": "13800138001", "content": "T"}]) as response:
            aliyun_status = response.status
    provider = world.app.settings.sms_provider
    if provider == "twilio":
        assert (twilio_status, twilio_bad_signature) == (403, 403)
    else:
        assert aliyun_status == 404
    assert world.customer(customer_id).opted_out_at is None
    assert world.survey().status == "invited"


async def test_a_number_is_sent_at_most_the_daily_cap(world: World) -> None:
    world.app.settings.sms_per_number_per_day = 1
    world.defeated(phone=PHONE)
    await world.job("select_due", at("2026-11-25", 9))
    await world.job("send_sms", at("2026-11-25", 10))
    await world.job("send_sms", at("2026-11-26", 9, 30))  # the resend is due, but within 24 h of the first
    assert len(world.fake.messages) == 1
    await world.job("send_sms", at("2026-11-26", 10, 5))
    assert len(world.fake.messages) == 2


def test_without_an_sms_provider_there_is_no_sms_job(app: Container) -> None:
    assert "send_sms" not in job_table(app.job_context(), None, app.report_settings())
