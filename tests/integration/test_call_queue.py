"""The phone channel on a real database: queue order, claims, call outcomes, retries, chat-then-phone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import Container
from bot.domain.calling import Next, PhoneSettings
from bot.domain.engine import Choose
from bot.domain.people import Role
from bot.services import calls
from bot.services.calls import CallCard, OutsideHours
from bot.services.surveys import Accepted, begin_survey, create_survey, submit_answer
from storage.models import Customer, Staff, Survey, Task

PHONE = PhoneSettings()


def _shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour - 8, minute, tzinfo=UTC)


def _seed(app: Container, customers: list[tuple[str, str]]) -> dict[str, int]:
    """Staff, and customers (name, questionnaire) each with a phone survey; returns name → survey id."""
    now = app.clock.now()
    ids = {}
    with app.uow() as uow:
        store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
        consultant = uow.staff.add(store, "李明", Role.SALES_CONSULTANT, None, True, now)
        uow.staff.add(store, "周芳", Role.CS_SPECIALIST, None, True, now)
        uow.staff.add(store, "吴敏", Role.CS_SPECIALIST, None, True, now)
        for index, (name, questionnaire) in enumerate(customers):
            customer = Customer(
                store_id=store,
                name=name,
                honorific="先生",
                phone=f"+861380013{index:04d}",
                status="defeated",
                owner_staff_id=consultant,
                created_at=now,
                updated_at=now,
            )
            uow.session.add(customer)
            uow.flush()
            survey = create_survey(uow, app.survey_kit(), customer.id, questionnaire, questionnaire, "phone",
                                   due_at=now - timedelta(hours=len(customers) - index))  # fmt: skip
            ids[name] = survey.id
        uow.commit()
    return ids


def _staff(app: Container, name: str) -> Staff:
    with app.uow(read_only=True) as uow:
        return uow.session.scalars(select(Staff).where(Staff.name == name)).one()


def _next(app: Container, name: str) -> CallCard | OutsideHours | None:
    with app.uow() as uow:
        card = calls.next_call(uow, app.survey_kit(), PHONE, _staff(app, name))
        uow.commit()
        return card


def _dial(app: Container, name: str, survey_id: int, code: str) -> calls.Dialled:
    with app.uow() as uow:
        result = calls.record_dial(uow, app.survey_kit(), PHONE, _staff(app, name), survey_id, code)
        uow.commit()
        return result


def _survey(app: Container, survey_id: int) -> Survey:
    with app.uow() as uow:
        survey = uow.session.get(Survey, survey_id)
        assert survey is not None
        return survey


def test_the_queue_offers_defeats_before_owner_care_and_the_longest_waiting_first(app: Container) -> None:
    ids = _seed(app, [("甲", "owner_care"), ("乙", "defeat"), ("丙", "defeat")])

    first, second = _next(app, "周芳"), _next(app, "吴敏")
    assert isinstance(first, CallCard) and first.survey_id == ids["乙"]  # defeat, waiting longer than 丙
    assert isinstance(second, CallCard) and second.survey_id == ids["丙"]
    assert _next(app, "周芳") == first  # asking again while holding a case gives that case back

    _dial(app, "周芳", first.survey_id, "line_busy")
    third = _next(app, "周芳")
    assert isinstance(third, CallCard) and third.survey_id == ids["甲"]
    assert first.phone.startswith("138") and "*" not in first.phone  # the holder sees the whole number
    assert first.consultant == "李明" and first.questionnaire == "战败回访"


def test_two_specialists_asking_at_the_same_moment_never_get_the_same_customer(app: Container) -> None:
    _seed(app, [("甲", "defeat"), ("乙", "defeat")])
    kit, zhou, wu = app.survey_kit(), _staff(app, "周芳"), _staff(app, "吴敏")

    if app.engine.dialect.name == "sqlite":
        # SQLite has one writer: the second claim waits (BEGIN IMMEDIATE) for the first to commit.
        def claim(member: Staff) -> object:
            with app.uow() as uow:
                card = calls.next_call(uow, kit, PHONE, member)
                uow.commit()
                return card

        with ThreadPoolExecutor(2) as pool:
            card_a, card_b = pool.map(claim, [zhou, wu])
    else:
        with app.uow() as first, app.uow() as second:
            # Both look at the queue before either has claimed anything.
            first.surveys.call_candidates(zhou.store_id, zhou.id, app.clock.now(), app.clock.now(), 6, ())
            second.surveys.call_candidates(wu.store_id, wu.id, app.clock.now(), app.clock.now(), 6, ())
            card_a = calls.next_call(first, kit, PHONE, zhou)
            first.commit()
            card_b = calls.next_call(second, kit, PHONE, wu)
            second.commit()

    assert isinstance(card_a, CallCard) and isinstance(card_b, CallCard)
    assert card_a.survey_id != card_b.survey_id


def test_a_claim_left_untouched_lapses_and_the_customer_is_offered_to_someone_else(app: Container) -> None:
    ids = _seed(app, [("甲", "defeat")])
    assert isinstance(_next(app, "周芳"), CallCard)
    assert _next(app, "吴敏") is None

    app.clock.set(app.clock.now() + PHONE.claim_timeout + timedelta(minutes=1))  # type: ignore[attr-defined]

    card = _next(app, "吴敏")
    assert isinstance(card, CallCard) and card.survey_id == ids["甲"]


def test_no_calls_are_offered_outside_calling_hours(app: Container) -> None:
    _seed(app, [("甲", "defeat")])
    app.clock.set(_shanghai(25, 20, 5))  # type: ignore[attr-defined]

    assert _next(app, "周芳") == OutsideHours(datetime(2026, 11, 26, 9, 0))


def test_no_answer_puts_the_customer_back_two_hours_later_and_three_end_it_as_non_contact(app: Container) -> None:
    ids = _seed(app, [("甲", "defeat")])
    app.clock.set(_shanghai(25, 10))  # type: ignore[attr-defined]
    _next(app, "周芳")

    dialled = _dial(app, "周芳", ids["甲"], "no_answer")

    assert dialled.next_try_local == datetime(2026, 11, 25, 12, 0)
    assert _next(app, "周芳") is None  # not before the retry time
    for moment in (_shanghai(25, 12), _shanghai(26, 9)):
        app.clock.set(moment)  # type: ignore[attr-defined]
        card = _next(app, "周芳")
        assert isinstance(card, CallCard) and card.attempts[-1][0] == "无人接听"
        last = _dial(app, "周芳", ids["甲"], "no_answer")
    assert last.decision.next is Next.END
    survey = _survey(app, ids["甲"])
    assert (survey.status, survey.outcome, survey.attempt_count) == ("non_contact", "non_contact", 3)


def test_a_vacant_number_stops_the_calls_and_gives_the_consultant_a_task_to_correct_it(app: Container) -> None:
    ids = _seed(app, [("甲", "defeat")])
    _next(app, "周芳")

    _dial(app, "周芳", ids["甲"], "vacant")

    with app.uow() as uow:
        task = uow.session.scalars(select(Task)).one()
        assert (task.kind, task.staff_id) == ("fix_phone", _staff(app, "李明").id)
    assert _survey(app, ids["甲"]).status == "not_eligible"
    assert _next(app, "吴敏") is None


def test_do_not_call_me_opts_the_customer_out_of_every_channel(app: Container) -> None:
    ids = _seed(app, [("甲", "defeat")])
    _next(app, "周芳")
    _dial(app, "周芳", ids["甲"], "connected")

    with app.uow() as uow:
        calls.end_call(uow, app.survey_kit(), _staff(app, "周芳"), ids["甲"], "do_not_call")
        uow.commit()
        customer = uow.session.scalars(select(Customer)).one()
    assert customer.opted_out_at is not None
    assert _survey(app, ids["甲"]).status == "refused"


def test_a_survey_begun_in_chat_goes_on_by_phone_without_asking_anything_twice(app: Container) -> None:
    ids = _seed(app, [("甲", "defeat")])
    kit = app.survey_kit()
    with app.uow() as uow:
        survey = uow.session.get(Survey, ids["甲"])
        assert survey is not None
        survey.channel = "chat"
        begin_survey(uow, kit, survey, "chat", "客服")
        assert isinstance(submit_answer(uow, kit, survey, Choose("agree", "opening"), "chat"), Accepted)
        survey.channel = "phone"  # the chat went quiet; the scheduler hands it to the phone queue
        uow.commit()

    card = _next(app, "周芳")
    assert isinstance(card, CallCard) and card.answers == (("opening", "配合回访"),)
    dialled = _dial(app, "周芳", ids["甲"], "connected")

    assert dialled.position is not None and dialled.position.step.node_id == "q1"
    with app.uow() as uow:
        result = calls.phone_answer(uow, kit, _staff(app, "周芳"), ids["甲"], Choose("not_yet", "q1"))
        uow.commit()
    assert isinstance(result, Accepted) and result.position.step.node_id == "q2"


def test_a_booked_callback_comes_first_in_that_specialists_queue_at_its_time(app: Container) -> None:
    ids = _seed(app, [("甲", "defeat"), ("乙", "defeat")])
    app.clock.set(_shanghai(25, 10))  # type: ignore[attr-defined]
    _next(app, "周芳")  # 甲
    _dial(app, "周芳", ids["甲"], "connected")
    with app.uow() as uow:
        calls.book_callback(uow, app.survey_kit(), _staff(app, "周芳"), ids["甲"], datetime(2026, 11, 25, 15, 0))
        uow.commit()

    app.clock.set(_shanghai(25, 15, 1))  # type: ignore[attr-defined]
    card = _next(app, "周芳")

    assert isinstance(card, CallCard) and card.survey_id == ids["甲"]
    assert card.callback_at == _shanghai(25, 15)


def test_a_customer_who_has_had_the_maximum_number_of_attempts_is_not_offered_again(app: Container) -> None:
    ids = _seed(app, [("甲", "defeat")])
    with app.uow() as uow:
        survey = uow.session.get(Survey, ids["甲"])
        assert survey is not None
        survey.attempt_count = PHONE.rules.max_attempts
        uow.commit()

    assert _next(app, "周芳") is None


def test_an_opted_out_customer_is_never_offered(app: Container) -> None:
    _seed(app, [("甲", "defeat")])
    with app.uow() as uow:
        uow.session.scalars(select(Customer)).one().opted_out_at = app.clock.now()
        uow.commit()

    assert _next(app, "周芳") is None
