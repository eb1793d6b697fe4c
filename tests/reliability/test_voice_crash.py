"""kill -9 of `huifang run` in the middle of robot calls: every call resumes or ends cleanly, and every answer
given is stored exactly once.

The real process serves the voice webhooks and runs the dialler; the fake TwiML provider (on the test's event
loop, real HTTP, signed requests) places the calls and plays customers who take a moment over each answer.
While huifang is down the provider retries each webhook for a while (its connection-retry option), so a call
in progress goes on after the restart; a final status it could not deliver is delivered later.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import func, select

from bot.app import Container
from bot.sandbox.fake_telegram import FakeTelegramThread
from bot.sandbox.fake_voice import Answered, FakeVoiceProvider, Press, Speak
from bot.sandbox.voice_rig import free_port
from storage.models import Answer, Survey, VoiceCall
from tests.e2e.test_voice_calls import _store, _voice_survey
from tests.reliability.live_bot import BotProcess, env

CUSTOMERS = 8
REPLIES = (Press("3"), Press("1"), Speak("比亚迪", 0.9), Press("4"))  # agree, other brand, which, price
ANSWERS = 4


def _answers(app: Container) -> int:
    with app.uow(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Answer)) or 0)


async def test_kill_9_mid_call_resumes_the_calls_and_keeps_every_answer_once(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    store = _store(app)
    surveys = [_voice_survey(app, store, f"+86136{i:08d}") for i in range(CUSTOMERS)]
    provider = FakeVoiceProvider(retries=40, retry_delay=0.25, status_patience=60, think_seconds=0.4)
    await provider.start()
    for i in range(CUSTOMERS):
        provider.customer(f"+86136{i:08d}", Answered(REPLIES))
    port = free_port()
    with FakeTelegramThread() as telegram:
        environment = env(
            database_url,
            telegram,
            HUIFANG_CONTACT_MODES='["chat", "voice", "phone"]',
            HUIFANG_HTTP_PORT=str(port),
            HUIFANG_PUBLIC_URL=f"http://127.0.0.1:{port}",
            HUIFANG_VOICE_API_URL=provider.base_url,
            HUIFANG_VOICE_ACCOUNT_SID=provider.account_sid,
            HUIFANG_VOICE_AUTH_TOKEN=provider.auth_token,
            HUIFANG_VOICE_CALLER_ID="+867520000000",
            HUIFANG_VOICE_MAX_CONCURRENT="20",
            HUIFANG_VOICE_CALLS_PER_SECOND="20",
            HUIFANG_CALLING_START="00:00",
            HUIFANG_CALLING_END="23:59",
            HUIFANG_CALL_ON_WEEKENDS="true",
            HUIFANG_SKIP_PUBLIC_HOLIDAYS="false",
        )
        bot = BotProcess(environment, tmp_path / "run.log")
        bot.start()
        try:
            deadline = time.monotonic() + 60
            while not (0 < _answers(app) < CUSTOMERS * ANSWERS):  # calls under way, some answered
                assert time.monotonic() < deadline, bot.output()[-3000:]
                await asyncio.sleep(0.05)
            at_kill = _answers(app)
            bot.kill()
            await asyncio.sleep(1.0)
            bot.start()
            calls = await provider.wait_calls(CUSTOMERS, timeout=90)
            deadline = time.monotonic() + 30
            while True:  # the final statuses reach huifang once it is back
                with app.uow(read_only=True) as uow:
                    live = uow.session.scalar(select(func.count()).where(VoiceCall.ended_at.is_(None)))
                if live == 0 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
        finally:
            bot.stop()
            await provider.stop()

    assert 0 < at_kill < CUSTOMERS * ANSWERS
    assert len(calls) == CUSTOMERS  # no survey was called twice
    assert live == 0
    with app.uow(read_only=True) as uow:
        for survey_id in surveys:
            survey = uow.session.get(Survey, survey_id)
            assert survey is not None
            rows = uow.session.scalars(select(Answer.question_id).where(Answer.survey_id == survey_id)).all()
            assert len(rows) == len(set(rows))  # nothing doubled
            if survey.status == "completed":
                assert sorted(rows) == ["opening", "q1", "q1_brand", "q2"]
            else:  # the call could not go on: it ended cleanly, the answers so far kept
                assert survey.status == "partial", (survey.status, rows)
    completed = sum(1 for c in calls if c.hung_up_by == "robot")
    assert completed >= CUSTOMERS - 2, [c.hung_up_by for c in calls]
