"""Automated voice surveys end to end: the dialler places calls through a fake TwiML provider over real HTTP,
the fake plays customers who press keys, speak, stay silent, hang up or are answering machines, and posts
signed webhooks to huifang's HTTP server; the database shows what a manager would see."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import Container
from bot.domain.clock import FixedClock
from bot.domain.people import Role
from bot.questionnaires import load_catalog
from bot.sandbox.fake_voice import Answered, HangUp, Press, Quiet, Speak, Unanswered
from bot.sandbox.voice_rig import voice_rig
from bot.services.surveys import create_survey
from bot.settings import Settings
from storage.models import Answer, ContactAttempt, Customer, Survey, Task, Vehicle, VoiceCall
from tests.e2e.voice_paths import covering_paths


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        store_name="惠州江铃4S店",
        contact_modes=["chat", "voice", "phone"],
        voice_max_concurrent=200,
    )


def _store(app: Container) -> int:
    with app.uow() as uow:
        now = app.clock.now()
        store_id = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
        uow.staff.add(store_id, "李明", Role.SALES_CONSULTANT, None, True, now)
        uow.staff.add(store_id, "周芳", Role.CS_SPECIALIST, None, True, now)
        uow.staff.add(store_id, "陈经理", Role.MANAGER, None, True, now)
        uow.commit()
        return store_id


def _voice_survey(app: Container, store_id: int, phone: str, questionnaire: str = "defeat") -> int:
    """A customer with a survey waiting in the voice mode; the survey id."""
    now = app.clock.now()
    with app.uow() as uow:
        consultant = uow.staff.by_names(store_id, ["李明"])["李明"]
        customer = Customer(store_id=store_id, name="王建国", honorific="先生", phone=phone, status="defeated",
                            owner_staff_id=consultant.id, created_at=now, updated_at=now)  # fmt: skip
        uow.session.add(customer)
        uow.flush()
        uow.session.add(Vehicle(customer_id=customer.id, series="轻卡", model="顺达", delivery_date=date(2026, 11, 20),
                                created_at=now, updated_at=now))  # fmt: skip
        survey = create_survey(uow, app.survey_kit(), customer.id, questionnaire, questionnaire, "voice")
        assert survey is not None
        uow.commit()
        return survey.id


def _survey(app: Container, survey_id: int) -> Survey:
    with app.uow(read_only=True) as uow:
        survey = uow.session.get(Survey, survey_id)
        assert survey is not None
        return survey


def _answers(app: Container, survey_id: int) -> list[tuple[str, str]]:
    with app.uow(read_only=True) as uow:
        rows = uow.session.scalars(select(Answer).where(Answer.survey_id == survey_id).order_by(Answer.id))
        return [(a.question_id, a.option_code) for a in rows]


def _attempts(app: Container, survey_id: int) -> list[tuple[str, str]]:
    with app.uow(read_only=True) as uow:
        rows = uow.session.scalars(select(ContactAttempt).where(ContactAttempt.survey_id == survey_id))
        return [(a.channel, a.disposition) for a in rows]


# ------------------------------------------------------------------------------------------- whole surveys


async def test_a_customer_who_presses_keys_completes_the_lost_prospect_survey_and_hears_the_closing(
    app: Container,
) -> None:
    store = _store(app)
    survey_id = _voice_survey(app, store, "+8613800138001")
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138001", Answered((Press("3"), Press("1"), Speak("比亚迪"), Press("4"))))
        (call,) = await rig.dial()

    survey = _survey(app, survey_id)
    assert (survey.status, survey.outcome, survey.channel) == ("completed", "complete", "voice")
    assert _answers(app, survey_id) == [
        ("opening", "agree"),
        ("q1", "other_brand"),
        ("q1_brand", ""),
        ("q2", "price_value"),
    ]
    assert "王先生您好" in call.prompts[0] and "配合回访请按3" in call.prompts[0]
    assert "转人工请按0" in call.prompts[0]
    assert call.hung_up_by == "robot" and "感谢" in call.transcript[-1]
    assert _attempts(app, survey_id) == [("voice", "completed")]


@pytest.mark.parametrize("questionnaire", sorted(load_catalog().by_id))
@pytest.mark.parametrize("by", ["keys", pytest.param("speech", marks=pytest.mark.once)])
async def test_every_branch_of_every_questionnaire_records_what_the_engine_records_for_the_same_answers(
    app: Container, questionnaire: str, by: str
) -> None:
    store = _store(app)
    tomorrow_3pm = datetime(2026, 11, 26, 15, 0)  # the fixed clock is Wednesday 2026-11-25 10:00 store time
    paths = covering_paths(load_catalog().get(questionnaire), by, tomorrow_3pm)
    surveys = []
    async with voice_rig(app) as rig:
        for i, path in enumerate(paths):
            phone = f"+86138{i:08d}"
            surveys.append(_voice_survey(app, store, phone, questionnaire))
            rig.provider.customer(phone, Answered(path.replies))
        calls = await rig.dial()

    assert len(calls) == len(paths)
    for path, survey_id in zip(paths, surveys, strict=True):
        survey = _survey(app, survey_id)
        expected_status = {"complete": "completed", "refusal": "refused"}.get(path.outcome, path.outcome)
        assert (survey.status, survey.outcome) == (expected_status, path.outcome), path
        assert [a for a in _answers(app, survey_id)] == [a for a in path.answered], path


# ------------------------------------------------------------------------------------------ the dialog


async def test_silence_and_nonsense_are_re_prompted_twice_and_the_answer_after_a_re_prompt_counts(
    app: Container,
) -> None:
    store = _store(app)
    survey_id = _voice_survey(app, store, "+8613800138002")
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138002", Answered((Quiet(), Speak("今天天气不错", 0.9), Press("1"))))
        (call,) = await rig.dial()

    assert len(call.prompts) == 3
    assert call.prompts[1].startswith("抱歉，我没有听清楚") and call.prompts[2].startswith("抱歉")
    assert _answers(app, survey_id) == [("opening", "refuse")]
    assert _survey(app, survey_id).status == "refused"


async def test_a_third_miss_ends_the_call_as_partial_and_hands_the_survey_to_a_specialist(app: Container) -> None:
    store = _store(app)
    survey_id = _voice_survey(app, store, "+8613800138003")
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138003", Answered((Press("3"), Quiet(), Quiet(), Speak("配合", 0.1))))
        (call,) = await rig.dial()

    survey = _survey(app, survey_id)
    assert (survey.status, survey.channel) == ("in_progress", "phone")  # the plan's next mode: a specialist
    assert _answers(app, survey_id) == [("opening", "agree")]  # kept
    assert ("voice", "partial") in _attempts(app, survey_id)
    assert "客服专员会再与您联系" in call.transcript[-1]


async def test_bie_zai_da_le_opts_the_customer_out_of_every_survey_at_once(app: Container) -> None:
    store = _store(app)
    survey_id = _voice_survey(app, store, "+8613800138004")
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138004", Answered((Speak("别再打了", 0.95),)))
        (call,) = await rig.dial()
        again = await rig.dial()

    survey = _survey(app, survey_id)
    assert (survey.status, survey.outcome) == ("cancelled", None) or survey.status == "cancelled"
    with app.uow(read_only=True) as uow:
        customer = uow.session.get(Customer, survey.customer_id)
        assert customer is not None and customer.opted_out_at is not None
    assert ("voice", "opted_out") in _attempts(app, survey_id)
    assert "不会再打扰您" in call.transcript[-1]
    assert again == []  # never called again


async def test_the_star_key_opts_out_too(app: Container) -> None:
    store = _store(app)
    survey_id = _voice_survey(app, store, "+8613800138005")
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138005", Answered((Press("*"),)))
        await rig.dial()
    assert _survey(app, survey_id).status == "cancelled"


async def test_a_request_for_a_person_transfers_to_the_store_and_puts_the_survey_first_in_the_call_queue(
    database_url: str, clock: FixedClock
) -> None:
    from bot.app import build

    settings = Settings(database_url=database_url, contact_modes=["voice"], voice_transfer_number="+867522000000")
    app = build(settings, clock=clock)
    try:
        store = _store(app)
        survey_id = _voice_survey(app, store, "+8613800138006")
        async with voice_rig(app) as rig:
            rig.provider.customer("+8613800138006", Answered((Press("3"), Speak("我要转人工", 0.9))))
            (call,) = await rig.dial()
        survey = _survey(app, survey_id)
        assert call.transferred_to == "+867522000000"
        assert "正在为您转接人工客服" in call.transcript[-1]
        assert survey.status == "appointment" and survey.callback_at == clock.now()
        assert _answers(app, survey_id) == [("opening", "agree")]
        with app.uow(read_only=True) as uow:
            tasks = uow.session.scalars(select(Task).where(Task.source_survey_id == survey_id)).all()
            assert [t.kind for t in tasks] == ["callback"]
    finally:
        app.close()


async def test_without_a_transfer_number_a_person_request_books_a_specialists_callback(app: Container) -> None:
    store = _store(app)
    survey_id = _voice_survey(app, store, "+8613800138007")
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138007", Answered((Press("0"),)))
        (call,) = await rig.dial()
    assert call.transferred_to is None and "客服专员会给您回电" in call.transcript[-1]
    assert _survey(app, survey_id).status == "appointment"


async def test_a_customer_who_hangs_up_mid_way_leaves_a_partial_survey_with_the_answers_so_far(
    app: Container,
) -> None:
    store = _store(app)
    survey_id = _voice_survey(app, store, "+8613800138008")
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138008", Answered((Press("3"), Press("2"), HangUp())))
        await rig.dial()
    survey = _survey(app, survey_id)
    assert (survey.status, survey.outcome) == ("partial", "partial")
    assert _answers(app, survey_id) == [("opening", "agree"), ("q1", "our_brand_elsewhere")]
    assert _attempts(app, survey_id) == [("voice", "partial")]


# ----------------------------------------------------------------------------------- machines and statuses


async def test_an_answering_machine_is_not_surveyed_and_is_tried_again_later(app: Container) -> None:
    store = _store(app)
    survey_id = _voice_survey(app, store, "+8613800138009")
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138009", Answered((Press("3"),), machine=True))
        (call,) = await rig.dial()
    assert call.prompts == [] and call.hung_up_by == "robot"
    survey = _survey(app, survey_id)
    assert survey.status == "invited" and survey.state is None
    assert survey.next_try_at is not None and survey.next_try_at > app.clock.now()
    assert _attempts(app, survey_id) == [("voice", "answering_machine")]


@pytest.mark.parametrize(
    ("status", "sip", "disposition", "survey_status"),
    [
        ("busy", 486, "line_busy", "invited"),
        ("no-answer", None, "no_answer", "invited"),
        ("failed", 480, "powered_off", "invited"),
        ("failed", 603, "rejected_call", "refused"),
        ("failed", 404, "vacant", "not_eligible"),
        ("failed", 604, "vacant", "not_eligible"),
        ("failed", None, "unreachable", "invited"),
    ],
)
async def test_each_call_status_becomes_its_disposition_and_the_phone_retry_rules_apply(
    app: Container, status: str, sip: int | None, disposition: str, survey_status: str
) -> None:
    store = _store(app)
    survey_id = _voice_survey(app, store, "+8613800138010")
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138010", Unanswered(status, sip))
        await rig.dial()
        again = await rig.dial()  # retries wait for their time: nothing is placed right away
    assert again == []
    assert _attempts(app, survey_id) == [("voice", disposition)]
    assert _survey(app, survey_id).status == survey_status


async def test_a_vacant_number_gives_the_consultant_a_task_to_correct_it(app: Container) -> None:
    store = _store(app)
    survey_id = _voice_survey(app, store, "+8613800138011")
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138011", Unanswered("failed", 404))
        await rig.dial()
    with app.uow(read_only=True) as uow:
        tasks = uow.session.scalars(select(Task).where(Task.source_survey_id == survey_id)).all()
    assert [t.kind for t in tasks] == ["fix_phone"]


async def test_unanswered_calls_are_retried_at_the_rules_times_then_the_plan_moves_on(
    app: Container, clock: FixedClock
) -> None:
    store = _store(app)
    survey_id = _voice_survey(app, store, "+8613800138012")
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138012", Unanswered("no-answer"))
        for _ in range(3):
            await rig.dial()
            survey = _survey(app, survey_id)
            if survey.next_try_at is not None:
                clock.set(survey.next_try_at + timedelta(minutes=1))
    survey = _survey(app, survey_id)
    assert _attempts(app, survey_id) == [("voice", "no_answer")] * 3
    assert survey.channel == "phone" and survey.status in ("invited", "pending")  # 3 no-answers: the next mode


# ------------------------------------------------------------------------------------------ the dialler


async def test_the_dialler_never_calls_outside_calling_hours_or_an_opted_out_customer(
    app: Container, clock: FixedClock
) -> None:
    store = _store(app)
    first = _voice_survey(app, store, "+8613800138013")
    second = _voice_survey(app, store, "+8613800138014")
    with app.uow() as uow:
        survey = uow.session.get(Survey, second)
        assert survey is not None
        customer = uow.session.get(Customer, survey.customer_id)
        assert customer is not None
        customer.opted_out_at = clock.now()
        uow.commit()
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138013", Answered((Press("1"),)))
        clock.set(datetime(2026, 11, 25, 13, 0, tzinfo=clock.now().tzinfo))  # 21:00 in Shanghai
        assert await rig.dial() == []
        clock.set(datetime(2026, 10, 1, 2, 0, tzinfo=clock.now().tzinfo))  # 国庆节, 10:00
        assert await rig.dial() == []
        clock.set(datetime(2026, 11, 26, 2, 0, tzinfo=clock.now().tzinfo))  # Thursday 10:00
        calls = await rig.dial()
    assert [c.to for c in calls] == ["+8613800138013"]
    assert _survey(app, first).status == "refused"


async def test_at_most_the_set_number_of_calls_are_under_way_at_once(database_url: str, clock: FixedClock) -> None:
    from bot.app import build

    app = build(Settings(database_url=database_url, contact_modes=["voice"], voice_max_concurrent=3), clock=clock)
    try:
        store = _store(app)
        for i in range(5):
            _voice_survey(app, store, f"+86139{i:08d}")
        async with voice_rig(app, ring_seconds=0.3) as rig:
            for i in range(5):
                rig.provider.customer(f"+86139{i:08d}", Answered((Press("1"),)))
            first = await rig.dial()
            second = await rig.dial()
        assert (len(first), len(second)) == (3, 2)
    finally:
        app.close()


async def test_new_calls_are_paced_to_the_set_calls_per_second(app: Container) -> None:
    store = _store(app)
    for i in range(6):
        _voice_survey(app, store, f"+86137{i:08d}")
    async with voice_rig(app, calls_per_second=10.0) as rig:
        calls = await rig.dial()
    starts = sorted(c.created_at for c in calls)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(calls) == 6 and min(gaps) >= 0.095


# ------------------------------------------------------------------------------------------ hostile input


async def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(app: Container) -> None:
    import aiohttp

    store = _store(app)
    survey_id = _voice_survey(app, store, "+8613800138015")
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138015", Answered((Press("3"), HangUp())))
        await rig.dial()
        with app.uow(read_only=True) as uow:
            key = uow.session.scalars(select(VoiceCall.key).where(VoiceCall.survey_id == survey_id)).one()
        url = rig.config.url(key, "turn/1")
        form = {"CallSid": "CAforged", "Digits": "1"}
        async with aiohttp.ClientSession() as session:
            forged = await session.post(url, data=form, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
            unsigned = await session.post(url, data=form)
            other_url = await session.post(
                url, data=form, headers={"X-Twilio-Signature": rig.provider.sign(url + "?x=1", form)}
            )
    assert (forged.status, unsigned.status, other_url.status) == (403, 403, 403)
    assert _answers(app, survey_id) == [("opening", "agree")]


async def test_a_webhook_the_provider_repeats_is_answered_with_the_current_question_and_stores_nothing_twice(
    app: Container,
) -> None:
    import aiohttp

    store = _store(app)
    survey_id = _voice_survey(app, store, "+8613800138016")
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138016", Answered((Press("3"), HangUp())))
        await rig.dial()
        with app.uow() as uow:  # put the finished call back under way, as if the provider still held it
            call = uow.session.scalars(select(VoiceCall).where(VoiceCall.survey_id == survey_id)).one()
            key, call.ended_at = call.key, None
            survey = uow.session.get(Survey, survey_id)
            assert survey is not None
            survey.status, survey.outcome, survey.completed_at = "in_progress", None, None
            uow.commit()
        url = rig.config.url(key, "turn/1")  # question 1 (the opening) was answered with 3 already
        form = {"CallSid": "CA1", "Digits": "1"}
        async with aiohttp.ClientSession() as session:
            replay = await session.post(url, data=form, headers={"X-Twilio-Signature": rig.provider.sign(url, form)})
            body = await replay.text()
            unknown = rig.config.url("NoSuchCallKey123", "turn/1")
            missing = await session.post(
                unknown, data=form, headers={"X-Twilio-Signature": rig.provider.sign(unknown, form)}
            )
    assert replay.status == 200 and "请教" in body  # q1 asked again: the repeat was not taken as q1's answer
    assert _answers(app, survey_id) == [("opening", "agree")]
    assert missing.status == 404


async def test_voice_contact_failures_appear_in_the_report_under_their_own_channel(app: Container) -> None:
    from bot.domain.statistics import Period
    from bot.services.reports import ReportParams, build_report

    store = _store(app)
    _voice_survey(app, store, "+8613800138017")
    _voice_survey(app, store, "+8613800138018")
    async with voice_rig(app) as rig:
        rig.provider.customer("+8613800138017", Unanswered("no-answer"))
        rig.provider.customer("+8613800138018", Answered(machine=True))
        await rig.dial()
    period = Period(date(2026, 11, 23), date(2026, 11, 30))
    report = build_report(app.uow, ReportParams(period=period), app.report_settings(), app.clock)
    failures = next(t for t in report.tables if t.key == "tracking_failures")
    rows = {(r["channel"], r["label"]) for r in failures.rows}
    assert ("语音", "无人接听") in rows and ("语音", "答录机") in rows
