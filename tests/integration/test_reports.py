"""Reports on a real database: hand-computed tables, identical on SQLite and PostgreSQL.

Run twice: plain (SQLite) and with HUIFANG_TEST_DATABASE_URL set (PostgreSQL); the fixtures and the expected
tables are the same, so passing both proves the SQL agrees across backends.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import Container
from bot.domain.statistics import Period, ReportSettings, parse_week
from bot.report_output import EMPTY_REPORT, render
from bot.services.reports import SECTIONS, Report, ReportParams, build_report
from bot.services.summary import week_summary
from bot.services.weekly import summary_text
from bot.texts import Texts
from storage.models import Answer, ContactAttempt, Customer, Staff, Store, Survey, Task, Vehicle

SH = ZoneInfo("Asia/Shanghai")
W47 = parse_week("2026-W47")  # Mon 2026-11-16 .. Sun 2026-11-22, Shanghai time; the clock is Wed 2026-11-25


def at(y: int, m: int, d: int, h: int = 12, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(y, m, d, h, minute, tzinfo=SH)


class Seed:
    """Builds fixtures through the ORM session of one unit of work."""

    def __init__(self, app: Container) -> None:
        self.app = app
        self.now = app.clock.now()
        self._phone = 13800000000
        self.uow = app.uow().__enter__()
        self.s = self.uow.session
        self.store = Store(name="惠州江铃4S店", timezone="Asia/Shanghai", created_at=self.now)
        self.s.add(self.store)
        self.s.flush()

    def staff(self, name: str) -> Staff:
        member = Staff(
            store_id=self.store.id, name=name, role="sales_consultant", created_at=self.now, updated_at=self.now
        )
        self.s.add(member)
        self.s.flush()
        return member

    def customer(self, **values: Any) -> Customer:
        self._phone += 1
        values.setdefault("created_at", self.now)
        c = Customer(
            store_id=self.store.id,
            name=values.pop("name", "王建国"),
            phone=f"+86{self._phone}",
            status=values.pop("status", "defeated"),
            updated_at=self.now,
            **values,
        )
        self.s.add(c)
        self.s.flush()
        return c

    def vehicle(self, customer: Customer, **values: Any) -> Vehicle:
        v = Vehicle(customer_id=customer.id, created_at=self.now, updated_at=self.now, **values)
        self.s.add(v)
        self.s.flush()
        return v

    def survey(
        self,
        customer: Customer | None = None,
        questionnaire: str = "defeat",
        version: str = "1",
        channel: str = "phone",
        outcome: str | None = "complete",
        created: datetime | None = None,
    ) -> Survey:
        sv = Survey(
            customer_id=(customer or self.customer()).id,
            questionnaire_id=questionnaire,
            questionnaire_version=version,
            purpose=questionnaire,
            channel=channel,
            status="done",
            outcome=outcome,
            created_at=created or self.now,
            updated_at=self.now,
        )
        self.s.add(sv)
        self.s.flush()
        return sv

    def answer(
        self, survey: Survey, question: str, code: str, when: datetime, group: str = "", text: str | None = None
    ) -> Answer:
        a = Answer(
            survey_id=survey.id,
            question_id=question,
            option_code=code if not text else "",
            reason_code=(code or None) if not text else None,
            reason_group=group or None,
            free_text=text,
            answered_at=when,
        )
        self.s.add(a)
        self.s.flush()
        return a

    def reason(
        self,
        code: str,
        when: datetime,
        question: str = "q2",
        questionnaire: str = "defeat",
        version: str = "1",
        customer: Customer | None = None,
    ) -> Survey:
        sv = self.survey(customer, questionnaire=questionnaire, version=version, created=when)
        self.answer(sv, question, code, when)
        return sv

    def attempt(self, survey: Survey, disposition: str, when: datetime, channel: str | None = None) -> None:
        self.s.add(
            ContactAttempt(
                survey_id=survey.id, channel=channel or survey.channel, attempted_at=when, disposition=disposition
            )
        )
        self.s.flush()

    def task(
        self,
        staff: Staff | None,
        created: datetime,
        due: datetime,
        status: str = "open",
        first_action: datetime | None = None,
        done: datetime | None = None,
    ) -> None:
        self.s.add(
            Task(
                staff_id=staff.id if staff else None,
                customer_id=self.customer().id,
                kind="recover_prospect",
                due_at=due,
                status=status,
                created_at=created,
                first_action_at=first_action,
                done_at=done,
            )
        )
        self.s.flush()

    def commit(self) -> None:
        self.uow.commit()
        self.uow.__exit__(None, None, None)


@pytest.fixture
def seed(app: Container) -> Seed:
    return Seed(app)


def report(app: Container, *sections: str, settings: ReportSettings | None = None, **params: Any) -> Report:
    return build_report(
        app.uow, ReportParams(sections=sections or SECTIONS, **params), settings or ReportSettings(), app.clock
    )


def rows(r: Report, key: str, *columns: str) -> list[tuple[Any, ...]]:
    return [tuple(row[c] for c in columns) for row in r.table(key).rows]


# --------------------------------------------------------------------------------------------------------------
# Reasons


def _seed_two_weeks(seed: Seed) -> None:
    # This week (W47): 价格 ×3, 缺车 ×1, 其他 ×1 (with words that must not become a reason of their own).
    seed.reason("price_value", at(2026, 11, 16, 0, 30))  # Monday 00:30 in Shanghai = Sunday 16:30 UTC
    seed.reason("price_value", at(2026, 11, 18))
    seed.reason("price_value", at(2026, 11, 22, 23, 30), version="2")  # a later version, same code
    seed.reason("no_stock", at(2026, 11, 19))
    other = seed.reason("other", at(2026, 11, 20))
    seed.answer(other, "q2_other", "", at(2026, 11, 20, 12, 1), text="离家太远，去了别的店")
    # Last week (W46): 价格 ×1, 缺车 ×1.
    seed.reason("price_value", at(2026, 11, 15, 23, 59))  # Sunday 23:59 in Shanghai: still W46
    seed.reason("no_stock", at(2026, 11, 10))
    # Next week and another questionnaire: never counted here.
    seed.reason("price_value", at(2026, 11, 23, 0, 10))
    seed.reason("cost_high", at(2026, 11, 18), question="q1_internal", questionnaire="lapsed")
    seed.commit()


def test_reason_shares_are_sorted_pareto_with_the_change_in_percentage_points(app: Container, seed: Seed) -> None:
    _seed_two_weeks(seed)

    r = report(app, "reasons", period=W47)

    assert rows(
        r, "reasons", "reason_code", "reason", "count", "share", "cumulative", "previous_count", "change_pp"
    ) == [
        ("price_value", "价格高", 3, Fraction(3, 5), Fraction(3, 5), 1, Fraction(10)),
        ("no_stock", "缺车", 1, Fraction(1, 5), Fraction(4, 5), 1, Fraction(-30)),
        ("other", "其他", 1, Fraction(1, 5), Fraction(1), 0, Fraction(20)),
    ]
    assert r.table("reasons").rows[0]["question"].startswith("q2 ")
    assert r.previous is not None and r.previous.label == "2026-W46"


def test_reason_groups_are_tallied_with_their_previous_share(app: Container, seed: Seed) -> None:
    _seed_two_weeks(seed)

    r = report(app, "reasons", period=W47)

    assert rows(r, "reason_groups", "group", "count", "share", "previous_share") == [
        ("价格较高", 3, Fraction(3, 5), Fraction(1, 2)),
        ("资源缺少", 1, Fraction(1, 5), Fraction(1, 2)),
        ("其他", 1, Fraction(1, 5), Fraction(0)),
    ]


def test_free_text_after_other_is_listed_for_reading_and_never_counted(app: Container, seed: Seed) -> None:
    _seed_two_weeks(seed)

    r = report(app, "reasons", period=W47)

    assert rows(r, "other_texts", "answered_at", "text") == [("2026-11-20 12:01", "离家太远，去了别的店")]
    assert all(row["reason_code"] != "" for row in r.table("reasons").rows)
    assert sum(row["count"] for row in r.table("reasons").rows) == 5


def test_a_period_that_is_not_whole_utc_days_gives_the_same_counts_as_the_answers(app: Container, seed: Seed) -> None:
    _seed_two_weeks(seed)

    for period in (W47, Period(date(2026, 11, 18), date(2026, 11, 19)), Period(date(2026, 1, 1), date(2027, 1, 1))):
        r = report(app, "reasons", period=period)
        with app.uow() as uow:
            start, end = period.utc_bounds(SH)
            raw = (
                uow.session.query(Answer)
                .join(Survey, Survey.id == Answer.survey_id)
                .filter(
                    Survey.questionnaire_id == "defeat",
                    Answer.reason_code.is_not(None),
                    Answer.answered_at >= start,
                    Answer.answered_at < end,
                )
                .count()
            )
        assert sum(row["count"] for row in r.table("reasons").rows) == raw


def test_reasons_break_down_by_week_in_the_store_time_zone(app: Container, seed: Seed) -> None:
    _seed_two_weeks(seed)

    r = report(app, "reasons", period=Period(date(2026, 11, 9), date(2026, 11, 30)), by="week")

    assert rows(r, "reasons_by", "bucket", "reason_code", "count", "share") == [
        ("2026-W46", "no_stock", 1, Fraction(1, 2)),
        ("2026-W46", "price_value", 1, Fraction(1, 2)),
        ("2026-W47", "price_value", 3, Fraction(3, 5)),
        ("2026-W47", "no_stock", 1, Fraction(1, 5)),
        ("2026-W47", "other", 1, Fraction(1, 5)),
        ("2026-W48", "price_value", 1, Fraction(1)),
    ]


def test_reasons_break_down_by_month_series_and_consultant(app: Container, seed: Seed) -> None:
    li, zhao = seed.staff("小李"), seed.staff("小赵")
    for series, staff, code in [
        ("轻卡", li, "price_value"),
        ("轻卡", li, "price_value"),
        ("皮卡", zhao, "no_stock"),
        (None, None, "no_stock"),
    ]:
        c = seed.customer(owner_staff_id=staff.id if staff else None)
        if series:
            seed.vehicle(c, series="旧车系", model="旧")  # an older car: the latest one counts
            seed.vehicle(c, series=series, model=f"{series}-1")
        seed.reason(code, at(2026, 11, 18), customer=c)
    seed.reason("brand", at(2026, 10, 31, 23), question="q4")
    seed.commit()

    by_series = report(app, "reasons", period=Period(date(2026, 10, 1), date(2026, 12, 1)), by="series")
    by_staff = report(app, "reasons", period=W47, by="consultant")
    by_month = report(app, "reasons", period=Period(date(2026, 10, 1), date(2026, 12, 1)), by="month")

    assert rows(by_series, "reasons_by", "bucket", "reason_code", "count") == [
        ("皮卡", "no_stock", 1),
        ("轻卡", "price_value", 2),
        ("（未填）", "no_stock", 1),
        ("（未填）", "brand", 1),
    ]
    assert rows(by_staff, "reasons_by", "bucket", "count") == [("小李", 2), ("小赵", 1), ("（未填）", 1)]
    assert rows(by_month, "reasons_by", "bucket", "reason_code", "count") == [
        ("2026-10", "brand", 1),
        ("2026-11", "no_stock", 2),
        ("2026-11", "price_value", 2),
    ]


def test_all_time_has_no_previous_period_and_counts_everything(app: Container, seed: Seed) -> None:
    _seed_two_weeks(seed)

    r = report(app, "reasons", all_time=True)

    assert r.previous is None
    assert sum(row["count"] for row in r.table("reasons").rows) == 8
    assert all(row["change_pp"] is None for row in r.table("reasons").rows)


def test_an_empty_period_gives_an_empty_report_that_says_so(app: Container, seed: Seed) -> None:
    _seed_two_weeks(seed)

    r = report(app, period=parse_week("2020-W01"))

    assert r.empty
    assert {t.key for t in r.tables if not t.empty} == set()
    for fmt in ("table", "json", "csv", "xlsx", "png"):
        assert render(r, fmt)
    assert EMPTY_REPORT in render(r, "table")
    assert json.loads(render(r, "json"))["empty"] is True


# --------------------------------------------------------------------------------------------------------------
# The roll-up stays exact


def _raw_total(app: Container) -> dict[tuple[str, str, str], int]:
    from sqlalchemy import func, select

    from storage.models import ReasonRollup

    with app.uow() as uow:
        raw = uow.session.execute(
            select(Survey.questionnaire_id, Answer.question_id, Answer.reason_code, func.count())
            .join(Survey, Survey.id == Answer.survey_id)
            .where(Answer.reason_code.is_not(None))
            .group_by(Survey.questionnaire_id, Answer.question_id, Answer.reason_code)
        ).all()
        rolled = uow.session.execute(
            select(
                ReasonRollup.questionnaire_id,
                ReasonRollup.question_id,
                ReasonRollup.reason_code,
                func.sum(ReasonRollup.answers),
            ).group_by(ReasonRollup.questionnaire_id, ReasonRollup.question_id, ReasonRollup.reason_code)
        ).all()
    return {
        "raw": {(a, b, c): int(n) for a, b, c, n in raw},
        "rolled": {(a, b, c): int(n) for a, b, c, n in rolled if n},
    }  # type: ignore[return-value]


def test_the_roll_up_follows_inserts_updates_and_deletes_including_cascades(app: Container, seed: Seed) -> None:
    _seed_two_weeks(seed)
    totals = _raw_total(app)
    assert totals["raw"] == totals["rolled"]

    with app.uow() as uow:
        s = uow.session
        first = s.query(Answer).filter(Answer.reason_code == "price_value").order_by(Answer.id).first()
        assert first is not None
        first.reason_code = "no_stock"
        first.answered_at = first.answered_at - timedelta(days=3)
        s.flush()
        s.delete(s.query(Answer).filter(Answer.reason_code == "other").one())
        s.flush()
        s.delete(s.query(Survey).filter(Survey.questionnaire_id == "lapsed").one())
        s.flush()
        victim = s.query(Survey).join(Answer).filter(Answer.reason_code == "no_stock").order_by(Survey.id).all()[-1]
        s.delete(s.get(Customer, victim.customer_id))
        uow.commit()

    totals = _raw_total(app)
    assert totals["raw"] == totals["rolled"]
    assert ("lapsed", "q1_internal", "cost_high") not in totals["rolled"]


def test_the_roll_up_triggers_are_installed(app: Container) -> None:
    with app.engine.connect() as connection:
        if app.engine.dialect.name == "sqlite":
            names = {r[0] for r in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='trigger'")}
            expected = {
                "trg_answer_rollup_insert",
                "trg_answer_rollup_update",
                "trg_answer_rollup_delete",
                "trg_survey_rollup_delete",
                "trg_survey_questionnaire_fixed",
            }
        else:
            names = {r[0] for r in connection.exec_driver_sql("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
            expected = {"answer_reason_rollup", "survey_reason_rollup_delete", "survey_questionnaire_fixed"}
    assert expected <= names


def test_a_survey_cannot_move_to_another_questionnaire(app: Container, seed: Seed) -> None:
    sv = seed.reason("price_value", at(2026, 11, 18))
    seed.commit()

    with app.uow() as uow, pytest.raises(Exception, match="questionnaire_id cannot change"):
        uow.session.get(Survey, sv.id).questionnaire_id = "lapsed"  # type: ignore[union-attr]
        uow.session.flush()


# --------------------------------------------------------------------------------------------------------------
# Contacts


def test_contact_outcomes_give_dispositions_aapor_rates_and_tracking_failures(app: Container, seed: Seed) -> None:
    when = at(2026, 11, 18)
    seed.survey(outcome="complete", created=when)
    seed.survey(outcome="complete", created=when)
    seed.survey(outcome="refusal", created=when)
    wrong = seed.survey(outcome=None, created=when)
    seed.attempt(wrong, "no_answer", when)
    seed.attempt(wrong, "vacant", when + timedelta(hours=2))  # the most informative attempt decides, not the latest
    silent = seed.survey(outcome=None, created=when)
    seed.attempt(silent, "no_answer", when)
    seed.survey(outcome=None, created=when)  # never tried
    seed.survey(channel="chat", outcome="complete", created=when)
    seed.survey(channel="chat", outcome=None, created=when)  # invitation sent, no reply recorded yet
    blocked = seed.survey(channel="chat", outcome=None, created=when)
    seed.attempt(blocked, "blocked", when)
    seed.survey(outcome="complete", created=at(2026, 11, 10))  # last week: not counted
    seed.commit()

    r = report(app, "contacts", period=W47)

    assert rows(r, "dispositions", "channel", "code", "count", "share") == [
        ("聊天", "completed", 1, Fraction(1, 3)),
        ("聊天", "blocked", 1, Fraction(1, 3)),
        ("聊天", "not_attempted", 1, Fraction(1, 3)),
        ("电话", "completed", 2, Fraction(2, 6)),
        ("电话", "refused", 1, Fraction(1, 6)),
        ("电话", "no_answer", 2, Fraction(2, 6)),  # 无人接听 then 空号: 空号 is about the number, not the customer
        ("电话", "not_attempted", 1, Fraction(1, 6)),
    ]
    rates = {row["rate"]: row for row in r.table("aapor_rates").rows}
    # phone: I=2, R=1, UH=3 (two no answer, never tried), NE=0; e = eligible/known = 3/3
    assert rates["RR1"]["phone"] == Fraction(2, 6)
    assert rates["RR3"]["phone"] == Fraction(2, 3 + 1 * 3)
    assert rates["REF1"]["phone"] == Fraction(1, 6)
    assert rates["CON1"]["phone"] == Fraction(3, 6)
    assert rates["COOP1"]["phone"] == Fraction(2, 3)
    # chat: I=1, R=1 (blocked), UH=1 → RR1 = 1/3; all: I=3, R=2, UH=4
    assert rates["RR1"]["chat"] == Fraction(1, 3)
    assert rates["RR1"]["all"] == Fraction(3, 9)
    assert rows(r, "tracking_failures", "channel", "label", "count", "share") == [
        ("聊天", "被屏蔽", 1, Fraction(1, 3)),
        ("聊天", "跟踪失败合计", 1, Fraction(1, 3)),
        ("电话", "无人接听", 2, Fraction(2, 6)),
        ("电话", "跟踪失败合计", 2, Fraction(1, 3)),
    ]


def _seed_cases_across_two_modes(seed: Seed) -> None:
    when = at(2026, 11, 18, 10)
    later = when + timedelta(days=1)
    # A: no reply in chat, then completed by phone: one completed case.
    a = seed.survey(channel="phone", outcome="complete", created=when)
    seed.attempt(a, "no_reply", when, channel="chat")
    seed.attempt(a, "completed", later, channel="phone")
    # B: no reply in chat, never called yet.
    b = seed.survey(channel="chat", outcome=None, created=when)
    seed.attempt(b, "no_reply", when)
    # C: refused on the phone.
    c = seed.survey(channel="phone", outcome="refusal", created=when)
    seed.attempt(c, "refused", later)
    # D: never tried.
    seed.survey(channel="chat", outcome=None, created=when)
    # E: no reply in chat, a callback booked by phone, then no answer at the booked time: still an appointment.
    e = seed.survey(channel="phone", outcome=None, created=when)
    seed.attempt(e, "no_reply", when, channel="chat")
    seed.attempt(e, "appointment", later, channel="phone")
    seed.attempt(e, "no_answer", later + timedelta(days=1), channel="phone")
    seed.commit()


def test_contact_figures_per_mode_count_a_case_in_every_mode_it_was_tried_and_once_overall(
    app: Container, seed: Seed
) -> None:
    _seed_cases_across_two_modes(seed)

    r = report(app, "contacts", period=W47)

    columns = ("mode", "attempts", "tried", "reached", "completed", "contact_rate", "response_rate")
    assert rows(r, "contact_modes", *columns) == [
        ("聊天", 3, 3, 0, 0, Fraction(0), Fraction(0)),
        ("电话", 4, 3, 3, 1, Fraction(1), Fraction(1, 3)),
        ("全部", 7, 4, 3, 1, Fraction(3, 5), Fraction(1, 5)),
    ]


def test_a_case_result_is_the_best_result_across_modes_not_the_latest_attempt(app: Container, seed: Seed) -> None:
    _seed_cases_across_two_modes(seed)

    r = report(app, "contacts", period=W47)

    assert rows(r, "dispositions", "channel", "code", "count") == [
        ("聊天", "no_reply", 1),
        ("聊天", "not_attempted", 1),
        ("电话", "completed", 1),
        ("电话", "refused", 1),
        ("电话", "appointment", 1),
    ]
    rates = {row["rate"]: row for row in r.table("aapor_rates").rows}
    # all five cases once: I=1 (chat no reply, then completed by phone), R=1, O=1, UO=1, UH=1 (never tried)
    assert rates["RR1"]["all"] == Fraction(1, 5)
    assert rates["CON1"]["all"] == Fraction(3, 5)


def test_a_fixed_e_setting_is_used_for_the_e_rates(app: Container, seed: Seed) -> None:
    seed.survey(outcome="complete", created=at(2026, 11, 18))
    seed.survey(outcome=None, created=at(2026, 11, 18))
    seed.commit()

    r = report(app, "contacts", period=W47, settings=ReportSettings(e=0.5))

    rates = {row["rate"]: row for row in r.table("aapor_rates").rows}
    assert rates["RR3"]["phone"] == Fraction(1, 1 + Fraction(1, 2))
    assert "0.5" in r.table("aapor_rates").note


# --------------------------------------------------------------------------------------------------------------
# Discipline and recovery


def test_follow_up_discipline_per_staff_member(app: Container, seed: Seed) -> None:
    li, zhao = seed.staff("小李"), seed.staff("小赵")
    now = app.clock.now()
    monday = at(2026, 11, 23, 9)
    seed.task(
        li, monday, monday + timedelta(hours=24), "done", monday + timedelta(hours=2), monday + timedelta(hours=3)
    )
    seed.task(li, monday, monday + timedelta(hours=24), "done", None, monday + timedelta(hours=30))  # late
    seed.task(li, monday, monday + timedelta(hours=24))  # open, overdue, never touched
    seed.task(zhao, now - timedelta(hours=1), now + timedelta(hours=23))  # too young to judge
    seed.task(zhao, at(2026, 11, 10), at(2026, 11, 11))  # another week
    seed.commit()

    r = report(app, "discipline", period=Period(date(2026, 11, 23), date(2026, 11, 30)))

    assert rows(
        r, "discipline", "staff", "created", "done", "open_overdue", "done_late", "median_hours", "within_24h"
    ) == [
        ("小李", 3, 2, 1, 1, Fraction(16), Fraction(1, 3)),
        ("小赵", 1, 0, 0, 0, None, None),
        ("合计", 4, 2, 1, 1, Fraction(16), Fraction(1, 3)),
    ]


def test_recovered_quasi_defeated_prospects_are_those_who_bought_later(app: Container, seed: Seed) -> None:
    li = seed.staff("小李")
    for status in ("owner", "quasi_defeated", "quasi_defeated"):
        c = seed.customer(status=status, owner_staff_id=li.id)
        seed.reason("not_yet", at(2026, 11, 18), question="q1", customer=c)
    seed.reason("other_brand", at(2026, 11, 18), question="q1")  # bought elsewhere: not recoverable
    seed.commit()

    r = report(app, "recovery", period=W47)

    assert rows(r, "recovery", "consultant", "surveyed", "bought", "rate") == [
        ("小李", 3, 1, Fraction(1, 3)),
        ("合计", 3, 1, Fraction(1, 3)),
    ]


# --------------------------------------------------------------------------------------------------------------
# Owners


def _owner(
    seed: Seed,
    region: str,
    bought: date,
    loyalty: int | None,
    economic: int | None,
    *,
    industry: str = "制造业",
    tier: str | None = None,
    status: str = "owner",
) -> None:
    c = seed.customer(
        status=status, region=region, industry=industry, loyalty_score=loyalty, economic_score=economic, tier=tier
    )
    seed.vehicle(c, series="轻卡", purchase_date=bought)


def test_the_region_by_tier_table_counts_owners_by_purchase_year(app: Container, seed: Seed) -> None:
    this, last = date(2026, 5, 1), date(2025, 5, 1)
    _owner(seed, "惠城区", this, 8, 7)  # 优质
    _owner(seed, "惠城区", this, 9, 6)  # 优质
    _owner(seed, "惠城区", this, 5, 6)  # 潜力
    _owner(seed, "惠城区", last, 2, 2)  # 一般
    _owner(seed, "惠城区", last, 7, 7)  # 优质
    _owner(seed, "博罗县", this, 1, 1, industry="服务业")
    _owner(seed, "博罗县", this, 3, 2, industry="服务业", status="lapsed")
    _owner(seed, "博罗县", last, 6, 0, industry="服务业")  # 潜力
    _owner(seed, "惠阳区", this, None, None, tier="potential")  # unscored: the recorded tier
    _owner(seed, "大亚湾区", this, None, None)  # unscored, untiered
    _owner(seed, "惠城区", date(2024, 5, 1), 9, 9)  # two years ago: not in the table
    _owner(seed, "惠城区", this, 9, 9, status="prospect")  # not an owner
    seed.commit()

    r = report(app, "owners", period=W47)

    cols = (
        "value",
        "premium_prev",
        "premium_curr",
        "potential_prev",
        "potential_curr",
        "ordinary_prev",
        "ordinary_curr",
        "unrated_curr",
        "total_prev",
        "total_curr",
        "share_curr",
        "change",
    )
    assert rows(r, "region_tiers", *cols) == [
        ("惠城区", 1, 2, 0, 1, 1, 0, 0, 2, 3, Fraction(3, 7), 1),
        ("博罗县", 0, 0, 1, 0, 0, 2, 0, 1, 2, Fraction(2, 7), 1),
        ("大亚湾区", 0, 0, 0, 0, 0, 0, 1, 0, 1, Fraction(1, 7), 1),
        ("惠阳区", 0, 0, 0, 1, 0, 0, 0, 0, 1, Fraction(1, 7), 1),
        ("合计", 1, 2, 1, 2, 1, 2, 1, 3, 7, Fraction(1), 4),
    ]
    headers = [c.header for c in r.table("region_tiers").columns]
    assert headers[1:3] == ["优质 2025年", "优质 2026年"]
    assert rows(r, "industry_tiers", "value", "total_prev", "total_curr")[:2] == [("制造业", 2, 5), ("服务业", 1, 2)]
    assert rows(r, "tiers", "tier", "customers") == [("优质", 4), ("潜力", 3), ("一般", 3), ("未分级", 1)]


def test_the_seed_referral_table_is_reproduced_from_customers(app: Container, seed: Seed) -> None:
    seed_counts = {
        "old_customer": 251,
        "friends_family": 101,
        "new_customer": 57,
        "same_industry": 35,
        "repeat": 23,
        "same_region": 13,
    }
    for source, n in seed_counts.items():
        for _ in range(n):
            seed.customer(status="prospect", referral_source=source, created_at=at(2026, 11, 18))
    seed.customer(status="prospect", referral_source="old_customer", created_at=at(2026, 11, 1))  # other week
    seed.customer(status="prospect", created_at=at(2026, 11, 18))  # no referral
    seed.commit()

    r = report(app, "owners", period=W47)

    table = r.table("referrals")
    from bot.report_output import format_cell

    assert [[format_cell(row[c.key], c, 0) for c in table.columns] for row in table.rows] == [
        ["老用户推荐", "251", "52%"],
        ["亲朋好友推荐", "101", "21%"],
        ["新用户推荐", "57", "12%"],
        ["同行业推荐", "35", "7%"],
        ["重复推荐", "23", "5%"],
        ["同区域推荐", "13", "3%"],
        ["合计", "480", "100%"],
    ]


# --------------------------------------------------------------------------------------------------------------
# Lapsed


def test_lapsed_customers_by_stage_region_model_age_and_reason_group(app: Container, seed: Seed) -> None:
    # as of Sunday 2026-11-22 (the end of W47): 6 / 12 / 24 months before
    for region, model, last_visit, delivered in [
        ("惠城区", "顺达", date(2026, 5, 1), date(2025, 6, 1)),  # 准流失, 1–2 years old
        ("惠城区", "全顺", date(2025, 10, 1), date(2020, 6, 1)),  # 流失, 5+ years
        ("博罗县", "顺达", date(2023, 1, 1), date(2022, 6, 1)),  # 彻底流失, 3–5 years
        ("博罗县", "顺达", date(2026, 9, 1), date(2026, 1, 1)),  # visited recently: not lapsed
    ]:
        c = seed.customer(status="owner", region=region)
        seed.vehicle(c, model=model, last_service_date=last_visit, delivery_date=delivered)
    lapsed = seed.customer(status="lapsed", region="惠东县", last_visit_date=date(2026, 4, 1))
    seed.vehicle(lapsed, model="全顺", delivery_date=date(2024, 6, 1))  # the customer's visit date counts
    for question, code, group in [
        ("q1_internal", "cost_high", "内因"),
        ("q1_internal", "cost_high", "内因"),
        ("q1_external", "far_away", "外因"),
        ("q2", "willing", "回店意愿"),
    ]:
        sv = seed.survey(questionnaire="lapsed", created=at(2026, 11, 18))
        seed.answer(sv, question, code, at(2026, 11, 18), group=group)
    seed.commit()

    r = report(app, "lapsed", period=W47)

    assert rows(r, "lapse_stages", "stage", "count") == [("准流失", 2), ("流失", 1), ("彻底流失", 1)]
    assert rows(r, "lapse_by_region", "value", "pre_lapsed", "lapsed", "fully_lapsed", "total") == [
        ("惠城区", 1, 1, 0, 2),
        ("博罗县", 0, 0, 1, 1),
        ("惠东县", 1, 0, 0, 1),
        ("合计", 2, 1, 1, 4),
    ]
    assert rows(r, "lapse_by_model", "value", "total") == [("全顺", 2), ("顺达", 2), ("合计", 4)]
    assert rows(r, "lapse_by_age", "value", "total") == [
        ("1–2年", 1),
        ("2–3年", 1),
        ("3–5年", 1),
        ("5年以上", 1),
        ("合计", 4),
    ]
    assert rows(r, "lapse_reason_groups", "group", "count", "share") == [
        ("内因", 2, Fraction(2, 3)),
        ("外因", 1, Fraction(1, 3)),
    ]
    assert rows(r, "lapse_reasons", "group", "reason", "count") == [
        ("内因", "费用高", 2),
        ("外因", "地理位置/距离远", 1),
    ]


def test_the_weekly_summary_has_the_funnel_and_one_figure_per_contact_mode(app: Container, seed: Seed) -> None:
    _seed_cases_across_two_modes(seed)

    text = summary_text(Texts(), week_summary(app.uow, ReportSettings(), app.clock, W47))

    assert "应访 5 人（上周无数据）\n联系上 3 人（60%），完成 1 人（20%）\n" in text
    assert "拒访 1 人，退订 0 人（单独计，不算拒访），联系不上 1 人，尚未联系上 1 人\n" in text
    assert "按方式：聊天 完成 0/3 · 电话 完成 1/3\n" in text


def test_the_weekly_summary_names_the_plans_modes_this_store_has_not_set_up(app: Container, seed: Seed) -> None:
    _seed_cases_across_two_modes(seed)
    kit = app.survey_kit()  # the shipped plans; HUIFANG_CONTACT_MODES left at chat and phone

    summary = week_summary(app.uow, ReportSettings(), app.clock, W47)
    text = summary_text(Texts(), summary, skipped=kit.unconfigured_modes())
    complete = summary_text(Texts(), summary, skipped=())

    assert "\n未开通、计划中跳过的联系方式：短信网页、智能外呼" in text
    assert "未开通" not in complete
