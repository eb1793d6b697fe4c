"""SMS with the product as operators run it, in separate processes: `huifang jobs run send_sms` (cron) sends the
invitation through the fake provider, and `huifang run` serves the provider's callbacks, so an upstream T
opts the customer out; the logs hold no phone number, name or provider secret."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.app import Container
from bot.domain.people import Role
from bot.sandbox.fake_sms import FakeSmsProvider
from bot.sandbox.fake_telegram import FakeTelegramThread
from bot.services import sms
from bot.sms.callbacks import aliyun_urls
from storage.models import Customer, LeadEvent, Survey

SECRET = "sms-provider-secret-for-processes"
PATH_SECRET = "callback-path-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _customer(app: Container) -> int:
    now = app.clock.now() - timedelta(days=2)
    with app.uow() as uow:
        store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
        consultant = uow.staff.add(store, "李明", Role.SALES_CONSULTANT, None, True, now)
        customer = Customer(store_id=store, name="王建国", honorific="先生", phone="+8613800138077",
                            status="defeated", owner_staff_id=consultant, created_at=now, updated_at=now)  # fmt: skip
        uow.session.add(customer)
        uow.flush()
        uow.session.add(LeadEvent(customer_id=customer.id, kind="defeat", occurred_on=date(2026, 11, 24),
                                  created_at=now))  # fmt: skip
        uow.commit()
        return customer.id


async def _job(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot", "jobs", "run", *args], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


async def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            await asyncio.to_thread(urllib.request.urlopen, url, None, 1)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_cron_sends_the_invitation_and_huifang_run_takes_the_upstream_t(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    customer_id = _customer(app)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    report_url, upstream_url = aliyun_urls(base, PATH_SECRET)
    fake = FakeSmsProvider(secret=SECRET, templates={"SMS_9": sms.aliyun_template(base)},
                           aliyun_report_url=report_url, aliyun_upstream_url=upstream_url)  # fmt: skip
    async with fake:
        with FakeTelegramThread() as telegram:
            assert telegram.server is not None
            env = {k: v for k, v in os.environ.items() if not k.startswith("HUIFANG_")}
            env.update({
                "HUIFANG_DATABASE_URL": database_url, "HUIFANG_LINK_SECRET": "link-secret-0123456789abcdef",
                "HUIFANG_TELEGRAM_TOKEN": telegram.server.token, "HUIFANG_TELEGRAM_API_URL": telegram.server.api_url,
                "HUIFANG_CONTACT_MODES": '["chat", "web", "phone"]', "HUIFANG_PUBLIC_URL": base,
                "HUIFANG_HTTP_PORT": str(port), "HUIFANG_SMS_PROVIDER": "aliyun", "HUIFANG_SMS_API_URL": fake.url,
                "HUIFANG_SMS_ACCOUNT": fake.account, "HUIFANG_SMS_SECRET": SECRET, "HUIFANG_SMS_SIGN_NAME": "江铃汽车",
                "HUIFANG_SMS_TEMPLATE_CODE": "SMS_9", "HUIFANG_SMS_CALLBACK_SECRET": PATH_SECRET,
                "HUIFANG_SKIP_PUBLIC_HOLIDAYS": "false",
            })  # fmt: skip
            selected = await _job(env, "select_due", "--now", "2026-11-25T09:00")
            sent = await _job(env, "send_sms", "--now", "2026-11-25T10:00")
            assert selected.returncode == 0 and sent.returncode == 0, selected.stderr + sent.stderr
            (message,) = fake.messages
            assert message.text.startswith("【江铃汽车】王先生，") and f"{base}/s/" in (message.link or "")

            log = tmp_path / "run.log"
            with log.open("w") as sink:
                process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=sink, stderr=sink)
                try:
                    await _wait_for(f"{base}/healthz")
                    await fake.deliver_receipts()
                    await fake.reply("13800138077", "退订")
                finally:
                    process.send_signal(signal.SIGINT)
                    code = await asyncio.to_thread(process.wait, 30)

    assert code == 0
    assert fake.callback_answers == [200, 200]
    with app.uow() as uow:
        customer = uow.people.get(customer_id)
        assert customer is not None and customer.opted_out_at is not None
        assert uow.session.scalars(select(Survey.status)).all() == ["cancelled"]
    output = log.read_text() + sent.stdout + sent.stderr
    for secret in ("13800138077", "王建国", SECRET, PATH_SECRET, message.link or "-"):
        assert secret not in output
