"""The real bot (PTB Application) against the in-repo fake Bot API server, over HTTP, on a real database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from bot.app import Container
from bot.domain.links import LinkSubject
from bot.domain.people import Role
from bot.sandbox.fake_telegram import FakeTelegram, FakeUser, SentMessage
from bot.services.links import issue_link
from bot.services.surveys import create_survey
from bot.telegram.application import build_application
from bot.telegram.context import HuifangApplication
from storage.models import Answer, Customer, Survey, Vehicle


@dataclass
class Harness:
    """A running bot plus the handles a test needs to act as customers and staff."""

    app: Container
    telegram: FakeTelegram
    application: HuifangApplication | None = None
    users: dict[int, FakeUser] = field(default_factory=dict)

    async def start_bot(self) -> None:
        services = self.app.chat_services()
        # Simulated customers answer instantly; Telegram's 1 message/s per chat is tested on its own.
        self.application = build_application(
            services, self.telegram.token, self.telegram.api_url, per_chat_interval=0.0
        )
        await self.application.initialize()
        await self.application.start()
        assert self.application.updater is not None
        await self.application.updater.start_polling(poll_interval=0, timeout=1)

    async def stop_bot(self) -> None:
        if self.application is None:
            return
        assert self.application.updater is not None
        await self.application.updater.stop()
        await self.application.stop()
        await self.application.shutdown()
        self.application = None

    async def restart_bot(self) -> None:
        """A new Application on the same database, as after a crash or a deploy."""
        await self.stop_bot()
        await self.start_bot()

    # ------------------------------------------------------------------------------------------- data

    def store_with_staff(self) -> int:
        with self.app.uow() as uow:
            store_id = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", self.app.clock.now())
            uow.staff.add(store_id, "李明", Role.SALES_CONSULTANT, None, True, self.app.clock.now())
            uow.staff.add(store_id, "周芳", Role.CS_SPECIALIST, None, True, self.app.clock.now())
            uow.staff.add(store_id, "陈经理", Role.MANAGER, None, True, self.app.clock.now())
            uow.commit()
            return store_id

    def customer_with_survey(
        self,
        store_id: int,
        name: str,
        phone: str,
        questionnaire: str = "defeat",
        honorific: str = "先生",
        channel: str = "chat",
    ) -> tuple[int, int, str]:
        """A defeated prospect with a waiting survey; returns (customer id, survey id, deep link token)."""
        now = self.app.clock.now()
        with self.app.uow() as uow:
            consultant = uow.staff.by_names(store_id, ["李明"])["李明"]
            customer = Customer(store_id=store_id, name=name, honorific=honorific, phone=phone, status="defeated",
                                owner_staff_id=consultant.id, created_at=now, updated_at=now)  # fmt: skip
            uow.session.add(customer)
            uow.flush()
            delivered = date(2024, 5, 20)
            uow.session.add(Vehicle(customer_id=customer.id, series="轻卡", model="顺达", delivery_date=delivered,
                                    created_at=now, updated_at=now))  # fmt: skip
            survey = create_survey(uow, self.app.survey_kit(), customer.id, questionnaire, questionnaire, channel)
            link = issue_link(uow, self.app.link_issuer("huifang_test_bot"), LinkSubject.CUSTOMER, customer.id,
                              self.app.clock)  # fmt: skip
            uow.commit()
            return customer.id, survey.id, link.rsplit("=", 1)[1]

    def staff_link(self, store_id: int, name: str) -> str:
        with self.app.uow() as uow:
            member = uow.staff.by_names(store_id, [name])[name]
            link = issue_link(uow, self.app.link_issuer("huifang_test_bot"), LinkSubject.STAFF, member.id,
                              self.app.clock)  # fmt: skip
            uow.commit()
            return link.rsplit("=", 1)[1]

    def survey(self, survey_id: int) -> Survey:
        """The survey as stored now (detached, safe to read after the session)."""
        with self.app.uow() as uow:
            survey = uow.session.get(Survey, survey_id)
            assert survey is not None
            uow.session.expunge(survey)
            return survey

    def answers(self, survey_id: int) -> list[tuple[str, str, str | None, str | None]]:
        """(question, option, reason code, free text) of every stored answer, in order."""
        with self.app.uow() as uow:
            rows = uow.session.scalars(select(Answer).where(Answer.survey_id == survey_id).order_by(Answer.id))
            return [(a.question_id, a.option_code, a.reason_code, a.free_text) for a in rows]

    # ---------------------------------------------------------------------------------------- acting

    def user(self, user_id: int, name: str = "客户") -> FakeUser:
        return self.users.setdefault(user_id, FakeUser(user_id, name))

    async def reply_to(self, user_id: int, count: int) -> SentMessage:
        """Wait for the bot's ``count``-th message in this chat."""
        messages = await self.telegram.wait_for_count(user_id, count)
        return messages[count - 1]

    async def tap(self, user_id: int, message: SentMessage, label: str) -> SentMessage:
        """Tap a button and wait for the next new message in the chat."""
        before = len(self.telegram.chat(user_id))
        self.telegram.press(self.user(user_id), message, label)
        return await self.reply_to(user_id, before + 1)

    async def say(self, user_id: int, text: str) -> SentMessage:
        before = len(self.telegram.chat(user_id))
        self.telegram.send_text(self.user(user_id), text)
        return await self.reply_to(user_id, before + 1)


@contextlib.asynccontextmanager
async def running(app: Container) -> AsyncIterator[Harness]:
    async with FakeTelegram() as telegram:
        harness = Harness(app, telegram)
        await harness.start_bot()
        try:
            yield harness
        finally:
            await harness.stop_bot()
