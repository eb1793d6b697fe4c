"""`huifang demo`: the whole follow-up cycle, offline, over a simulated fortnight, in under a minute.

A fresh SQLite database gets the sample staff and customers; the real bot (PTB Application) talks HTTP
to the local Telegram-compatible server; simulated customers open their SMS links and answer (or refuse,
postpone, opt out, ignore us) with realistic mixes; customers with no chat are called by the voice robot
(智能外呼, through the fake TwiML provider over HTTP: they press keys or speak, some never pick up, some are
answering machines, a few ask never to be called again); simulated specialists work the phone queue. The clock
jumps through the fortnight while the scheduler's jobs run at their times. At the end the weekly summary
is printed and the chart and an xlsx report are written to the folder it names. Nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from bot.app import Container, build
from bot.domain.clock import FixedClock
from bot.domain.engine import Choose, FreeText, Rate
from bot.domain.lifecycle import SurveyStatus
from bot.domain.links import LinkSubject
from bot.domain.questionnaire import NodeKind
from bot.sandbox.fake_sms import FakeSmsProvider
from bot.sandbox.fake_telegram import FakeTelegram, FakeUser, SentMessage
from bot.sandbox.fake_voice import Answered, FakeVoiceProvider, Press, Reply, Speak, Unanswered
from bot.sandbox.voice_rig import VoiceRig, voice_rig
from bot.services import calls
from bot.services.importing import import_customers, import_staff
from bot.services.links import issue_link
from bot.services.surveys import Accepted
from bot.settings import Settings
from bot.telegram.application import build_application
from bot.telegram.sender import TelegramSender
from bot.webserver import bound_port, build_web_app, start_web_server
from scheduler import jobs
from storage.models import Customer, Staff, Survey
from storage.schema import upgrade

if TYPE_CHECKING:
    from bot.telegram.context import ChatServices

log = logging.getLogger(__name__)

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # Monday 08:00 in Shanghai
DAYS = 14
TICKS = (8, 9, 10, 14, 16)  # local hours at which the clock stops each day

# How people answer: weights by button label (anything not listed weighs 1).
WEIGHTS = {
    "配合回访": 14, "时间不便": 2, "拒绝回访": 3,
    "其他品牌": 6, "还没有购买": 3, "本品牌（在别处购买）": 1,
    "价格/价值": 8, "缺车": 3, "销售人员表现": 3, "硬件设施": 2, "朋友推荐": 2, "其他": 1,
    "品牌": 5, "性价比": 5,
}  # fmt: skip
BRANDS = ("比亚迪", "长城", "五十铃", "福田", "上汽大通", "江淮")
CHAT_SHARE = 0.55  # customers who open the SMS link
WEB_SHARE = 0.5  # of the others: customers who answer on the web page the SMS links to
SILENT_SHARE = 0.15  # bound customers who never answer the invitation
OPT_OUT_SHARE = 0.05
DIAL_OUTCOMES = (("connected", 55), ("no_answer", 20), ("line_busy", 7), ("powered_off", 5), ("unreachable", 4),
                 ("vacant", 2), ("wrong_number", 2), ("rejected_call", 3), ("away", 2))  # fmt: skip


# SMS invitations (the web mode) through a local Aliyun-shaped provider; its receipts come back to our callbacks.
SMS_SETTINGS = {
    "contact_modes": ["chat", "web", "voice", "phone"], "sms_provider": "aliyun", "sms_account": "LTAI-demo",
    "sms_secret": "demo-sms-secret", "sms_sign_name": "江铃汽车", "sms_template_code": "SMS_DEMO",
    "sms_callback_secret": "demo-callback-secret-0123", "sms_per_second": 1000, "public_url": "http://127.0.0.1",
    # Every simulated web customer comes from 127.0.0.1: one address's limit would turn most of them away.
    "web_rate_per_address": 1_000_000,
}  # fmt: skip
SMS_FAILURES = (("MK:0001", "空号"), ("MK:0005", "停机"), ("IC:0015", "关机"))  # a few numbers that do not work


@dataclass
class Demo:
    app: Container
    telegram: FakeTelegram
    rng: random.Random
    sms: FakeSmsProvider | None = None
    links_opened: set[int] = field(default_factory=set)
    silent: set[int] = field(default_factory=set)
    handled: dict[int, int] = field(default_factory=dict)  # chat id -> messages already acted on
    summaries: list[str] = field(default_factory=list)
    voice: VoiceRig | None = None
    voice_calls: int = 0
    sms_read: int = 0  # SMS already seen by the simulated customers
    web_base: str = ""  # the web survey page, served by the same HTTP server `huifang run` starts
    on_the_web: dict[str, int] = field(default_factory=dict)  # how web customers ended: answered, later …


def _examples_dir() -> Path:
    for candidate in (Path.cwd() / "examples", Path(__file__).resolve().parents[2] / "examples"):
        if (candidate / "customers.csv").exists():
            return candidate
    raise FileNotFoundError("examples/customers.csv not found: run the demo from the project folder")


def _pick(rng: random.Random, labels: list[str]) -> str:
    return rng.choices(labels, weights=[WEIGHTS.get(label, 1) for label in labels])[0]


async def run_demo(out: Path, seed: int = 7, days: int = DAYS) -> dict[str, Any]:
    """Run the fortnight; returns what it measured (also printed by the CLI)."""
    out.mkdir(parents=True, exist_ok=True)
    database = out / "demo.db"
    database.unlink(missing_ok=True)
    clock = FixedClock(START)
    settings = Settings(database_url=f"sqlite:///{database}", store_name="惠州江铃4S店",
                        link_secret=SecretStr("demo-secret-not-for-production"), chart_dir=str(out),
                        voice_max_concurrent=40, **SMS_SETTINGS)  # type: ignore[arg-type]  # fmt: skip
    app = build(settings, clock=clock)
    upgrade(app.engine)
    examples = _examples_dir()
    options = app.import_options(None, False)
    import_staff(app.uow, examples / "staff.csv", options, clock)
    # The sample file has three deliberately bad rows: keep their rejects out of the examples folder.
    copy = out / "customers.csv"
    copy.write_bytes((examples / "customers.csv").read_bytes())
    imported = import_customers(app.uow, copy, options, clock)
    services = app.chat_services()
    async with FakeTelegram(bot_username="huifang_demo_bot") as telegram, _sms_channel(app, services) as fake_sms:
        demo = Demo(app, telegram, random.Random(seed), fake_sms, web_base=str(app.settings.public_url))
        # The clock jumps hours at a time, so Telegram's per-second limits would only slow the demo down.
        application = build_application(services, telegram.token, telegram.api_url, rate_limit=False)
        await application.initialize()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        sender = TelegramSender(application.bot)
        try:
            await _bind_staff(demo)
            async with voice_rig(app, calls_per_second=1000.0) as rig:  # no pacing wait in a simulation
                demo.voice = rig
                _voice_customers(demo, rig.provider)
                for day in range(days):
                    for hour in TICKS:
                        clock.set(START + timedelta(days=day, hours=hour - 8))
                        await _tick(demo, sender, hour, day)
        finally:
            await application.updater.stop()
            await application.stop()
            await application.shutdown()
    result = _finish(demo, out, imported.created, days)
    app.close()
    return result


@contextlib.asynccontextmanager
async def _sms_channel(app: Container, services: ChatServices) -> AsyncIterator[FakeSmsProvider]:
    """The fake SMS provider, and one HTTP server as `huifang run` serves it (the web survey page the SMS links
    to, the provider's receipts and replies), with the public URL set to it."""
    from bot.services.sms import aliyun_template
    from bot.sms.callbacks import aliyun_urls
    from bot.web.pages import web_page_mount

    mounts = [web_page_mount(app, services.transact), app.sms_callbacks().mount]
    runner = await start_web_server(build_web_app(mounts), "127.0.0.1", 0)
    base = f"http://127.0.0.1:{bound_port(runner)}"
    app.settings.public_url = base
    report_url, upstream_url = aliyun_urls(base, str(SMS_SETTINGS["sms_callback_secret"]))
    fake = FakeSmsProvider(account=str(SMS_SETTINGS["sms_account"]), secret=str(SMS_SETTINGS["sms_secret"]),
                           templates={"SMS_DEMO": aliyun_template(base)}, aliyun_report_url=report_url,
                           aliyun_upstream_url=upstream_url, auto_receipts=True)  # fmt: skip
    with app.uow() as uow:  # a few customers' numbers no longer work
        phones = [c.phone for c in uow.session.query(Customer).filter(Customer.telegram_chat_id.is_(None)).limit(40)]
    for phone, (code, message) in zip(phones[::13], SMS_FAILURES, strict=False):
        fake.fail(phone, code, message)
    try:
        async with fake:
            app.settings.sms_api_url = fake.url  # never the real provider
            yield fake
    finally:
        await runner.cleanup()


async def _bind_staff(demo: Demo) -> None:
    """Every staff member opens their invitation link (so digests and the weekly summary reach them)."""
    with demo.app.uow() as uow:
        staff = uow.session.query(Staff).all()
        links = {s.id: issue_link(uow, demo.app.link_issuer("huifang_demo_bot"), LinkSubject.STAFF, s.id,
                                  demo.app.clock).rsplit("=", 1)[1] for s in staff}  # fmt: skip
        uow.commit()
    for staff_id, token in links.items():
        user = FakeUser(100_000 + staff_id)
        demo.telegram.open_link(user, token)
        await demo.telegram.wait_for_count(user.id, 1, timeout=10)
        demo.handled[user.id] = 1


async def _tick(demo: Demo, sender: TelegramSender, hour: int, day: int) -> None:
    ctx = demo.app.job_context()
    jobs.select_due(ctx)
    await _open_links(demo)
    jobs.send_invitations(ctx)
    jobs.remind_and_expire(ctx)
    jobs.urgent(ctx)
    if hour == 9:
        jobs.staff_digest(ctx)
        if demo.app.clock.now().astimezone(demo.app.settings.tz).weekday() == 0 and day > 0:
            jobs.weekly_summary(ctx, demo.app.report_settings())
    await jobs.deliver(ctx, sender)
    await _customers_answer(demo)
    await jobs.send_sms(ctx)  # those still waiting in the web mode get the SMS with their page's link
    await _answer_on_the_web(demo)
    if hour in (10, 14) and demo.voice is not None:
        demo.voice_calls += len(await demo.voice.dial())
    if 9 <= hour < 20:
        _specialists_call(demo)
    if hour in (10, 16):
        _staff_work_tasks(demo)


# How the customers the robot calls behave (shares of the customers; the rest answer).
VOICE_MIX = (("answer", 62), ("no-answer", 18), ("busy", 6), ("machine", 6), ("vacant", 3), ("opt_out", 5))


def _voice_customers(demo: Demo, provider: FakeVoiceProvider) -> None:
    """Give every customer's number a behaviour for when the robot calls."""
    with demo.app.uow(read_only=True) as uow:
        customers = uow.session.query(Customer.id, Customer.phone).filter(Customer.phone.is_not(None)).all()
    for customer_id, phone in customers:
        kind = demo.rng.choices([k for k, _ in VOICE_MIX], [w for _, w in VOICE_MIX])[0]
        if kind == "answer":
            provider.customer(phone, Answered(respond=_listener(random.Random(customer_id))))
        elif kind == "opt_out":
            provider.customer(phone, Answered((Speak(VOICE_OPT_OUT, 0.93),)))
        elif kind == "machine":
            provider.customer(phone, Answered(machine=True))
        elif kind == "vacant":
            provider.customer(phone, Unanswered("failed", 404))
        else:
            provider.customer(phone, Unanswered(kind, 486 if kind == "busy" else None))


VOICE_OPT_OUT = "别再打了"
_MENU = re.compile(r"([^，。\s]+?)请按(\d)")


def _listener(rng: random.Random) -> Callable[[str], Reply]:
    """A customer on the phone: picks an option the way chat customers do (by key or by saying it), says a
    brand or an opinion when asked to speak, a time for a callback, a high score for a rating."""

    def respond(prompt: str) -> Reply:
        menu = _MENU.findall(prompt)
        if "可选择多项" in prompt:
            return Press("1#")
        if menu:
            label = _pick(rng, [m[0] for m in menu])
            digit = next(d for m, d in menu if m == label)
            return Speak(label, 0.92) if rng.random() < 0.4 else Press(digit)
        if "打分" in prompt:
            high = re.findall(r"按(\d+)到(\d+)", prompt)
            return Press(f"{high[0][1] if high else 5}#")
        if "方便回访的时间" in prompt:
            return Speak("明天下午3点", 0.9)
        return Speak(rng.choice(BRANDS) if "品牌" in prompt else "价格偏高", 0.88)

    return respond


def _staff_work_tasks(demo: Demo) -> None:
    """Consultants and advisors finish most of what is due (and leave some overdue, as people do)."""
    from bot.services import staff_desk

    clock = demo.app.clock
    with demo.app.uow() as uow:
        staff = uow.session.query(Staff).filter(Staff.active.is_(True)).all()
        for member in staff:
            for task in uow.tasks.open_for(member.id, due_before=clock.now() + timedelta(hours=4)):
                if demo.rng.random() < 0.7:
                    staff_desk.finish_task(uow, member, task.id, clock)
        uow.commit()


async def _open_links(demo: Demo) -> None:
    """Unbound customers with a waiting survey get the SMS; about half open the link."""
    with demo.app.uow() as uow:
        waiting = uow.session.query(Customer.id).join(Survey, Survey.customer_id == Customer.id).filter(
            Survey.status == SurveyStatus.PENDING, Customer.telegram_chat_id.is_(None), Customer.opted_out_at.is_(None)
        ).all()  # fmt: skip
        fresh = [cid for (cid,) in waiting if cid not in demo.links_opened]
        tokens: dict[int, str] = {}
        for cid in fresh:
            demo.links_opened.add(cid)
            if demo.rng.random() < CHAT_SHARE:
                link = issue_link(
                    uow, demo.app.link_issuer("huifang_demo_bot"), LinkSubject.CUSTOMER, cid, demo.app.clock
                )
                tokens[cid] = link.rsplit("=", 1)[1]
        uow.commit()
    for cid, token in tokens.items():
        user = FakeUser(200_000 + cid)
        if demo.rng.random() < SILENT_SHARE:
            demo.silent.add(user.id)
        demo.telegram.open_link(user, token)
    await asyncio.gather(*(demo.telegram.wait_for_count(200_000 + cid, 1, timeout=20) for cid in tokens))


async def _answer_on_the_web(demo: Demo) -> None:
    """About half of those who got an SMS since the last tick open the link it carries and answer on the page."""
    from bot.sandbox.web_customers import customers_on_the_web

    assert demo.sms is not None
    new, demo.sms_read = demo.sms.messages[demo.sms_read :], len(demo.sms.messages)
    links = [m.link for m in new if m.link and demo.rng.random() < WEB_SHARE]
    tokens = [link.rsplit("/", 1)[1] for link in links if link]
    ends = await customers_on_the_web(demo.web_base, tokens, demo.rng, _pick, (*BRANDS, "价格偏高", "服务很好"))
    for end, count in ends.items():
        demo.on_the_web[end] = demo.on_the_web.get(end, 0) + count


async def _customers_answer(demo: Demo) -> None:
    """Every customer with an unanswered message acts on it, all at once, until nobody has anything new."""
    for _ in range(12):
        pending = [
            chat
            for chat, messages in list(demo.telegram.messages.items())
            if chat >= 200_000 and chat not in demo.silent and len(messages) > demo.handled.get(chat, 0)
        ]
        if not pending:
            return
        await asyncio.gather(*(_act(demo, chat) for chat in pending))


async def _act(demo: Demo, chat: int) -> None:
    messages = demo.telegram.chat(chat)
    count = len(messages)
    demo.handled[chat] = count
    message = messages[-1]
    user = FakeUser(chat)
    rng = demo.rng
    labels = message.button_labels
    if "开始" in labels:
        if rng.random() < OPT_OUT_SHARE:
            demo.telegram.press(user, message, "退订")
        else:
            demo.telegram.press(user, message, "开始")
    elif labels and "确认" in labels:
        demo.telegram.press(user, message, rng.choice([label for label in labels if label != "确认"]))
        await _wait_change(demo, chat, count, message)
        demo.telegram.press(user, message, "确认")
        message = demo.telegram.chat(chat)[-1]
    elif labels:
        demo.telegram.press(user, message, _pick(rng, labels))
    elif "直接输入文字" in message.text or "请您具体说说" in message.text or "品牌、哪款车型" in message.text:
        demo.telegram.send_text(user, rng.choice(BRANDS) if "品牌" in message.text else "价格比别家贵了一些")
    else:
        return  # a closing or an acknowledgement: nothing to do
    await _wait_change(demo, chat, count, message)


async def _wait_change(demo: Demo, chat: int, count: int, edited: SentMessage | None) -> None:
    """Until the bot answered: a new message in the chat, or an edit of the one acted on."""
    edits = edited.edits if edited else 0
    for _ in range(200):
        if len(demo.telegram.chat(chat)) > count or (edited is not None and edited.edits > edits):
            return
        await asyncio.sleep(0.01)


def _specialists_call(demo: Demo) -> None:
    """Each specialist works through up to six calls per tick."""
    kit = demo.app.survey_kit()
    phone = demo.app.phone_settings()
    rng = demo.rng
    codes, weights = zip(*DIAL_OUTCOMES, strict=True)
    with demo.app.uow() as uow:
        specialists = uow.session.query(Staff).filter(Staff.role == "cs_specialist", Staff.active.is_(True)).all()
    for specialist in specialists:
        for _ in range(6):
            with demo.app.uow() as uow:
                card = calls.next_call(uow, kit, phone, specialist)
                if not isinstance(card, calls.CallCard):
                    uow.commit()
                    break
                dialled = calls.record_dial(uow, kit, phone, specialist, card.survey_id, rng.choices(codes, weights)[0])
                position = dialled.position
                steps = 0
                while position is not None and not position.finished and steps < 20:
                    steps += 1
                    if rng.random() < 0.03:
                        calls.end_call(uow, kit, specialist, card.survey_id, "partial")
                        break
                    step = position.step
                    if step.kind is NodeKind.TEXT:
                        given: Any = FreeText(rng.choice(BRANDS) if "品牌" in step.text else "价格偏高", step.node_id)
                    elif step.kind is NodeKind.RATING and step.scale:
                        given = Rate(
                            rng.choice([step.scale[1], step.scale[1], step.scale[1] - 1, step.scale[0]]), step.node_id
                        )
                    elif step.kind is NodeKind.CALLBACK:
                        calls.book_callback(uow, kit, specialist, card.survey_id,
                                            demo.app.clock.now().astimezone(demo.app.settings.tz).replace(tzinfo=None)
                                            + timedelta(days=1))  # fmt: skip
                        break
                    elif step.kind is NodeKind.MULTI:
                        from bot.domain.engine import ChooseMany

                        given = ChooseMany((rng.choice(step.options).code,), step.node_id)
                    else:
                        label = _pick(rng, [o.label for o in step.options])
                        given = Choose(next(o.code for o in step.options if o.label == label), step.node_id)
                    result = calls.phone_answer(uow, kit, specialist, card.survey_id, given)
                    position = result.position if isinstance(result, Accepted) else position
                uow.commit()


def _finish(demo: Demo, out: Path, imported: int, days: int) -> dict[str, Any]:
    from bot.domain.statistics import Period
    from bot.report_output import write
    from bot.services.reports import ReportParams, build_report

    local_start = START.astimezone(demo.app.settings.tz).date()
    period = Period(local_start, local_start + timedelta(days=days))
    report = build_report(demo.app.uow, ReportParams(period=period), demo.app.report_settings(), demo.app.clock)
    write(report, "xlsx", out / "report.xlsx")
    reasons = build_report(  # the reason charts, on phone-sized pages reasons.png, reasons-2.png, …
        demo.app.uow, ReportParams(period=period, sections=("reasons",)), demo.app.report_settings(), demo.app.clock
    )
    write(reasons, "png", out / "reasons.png")
    managers = [m for chat, m in demo.telegram.messages.items() if 100_000 <= chat < 200_000]
    weekly = [msg.text for chat_messages in managers for msg in chat_messages if msg.text.startswith("📊")]
    with demo.app.uow() as uow:
        surveys = uow.session.query(Survey).all()
        by_status: dict[str, int] = {}
        for survey in surveys:
            by_status[survey.status] = by_status.get(survey.status, 0) + 1
    return {
        "customers": imported,
        "surveys": len(surveys),
        "by_status": by_status,
        "messages": sum(len(m) for m in demo.telegram.messages.values()),
        "voice_calls": demo.voice_calls,
        "on_the_web": dict(demo.on_the_web),
        "weekly_summary": weekly[-1] if weekly else "",
        "sms": len(demo.sms.messages) if demo.sms else 0,
        "sms_example": demo.sms.messages[0].text if demo.sms and demo.sms.messages else "",
        "folder": str(out.resolve()),
    }
