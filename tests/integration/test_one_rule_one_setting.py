"""One rule, one setting: the lapse stages decide both who is surveyed and what the report counts; calling
hours decide what callback time is accepted; mistakes in either setting are one 错误： line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Container, build
from bot.domain.clock import FixedClock
from bot.domain.engine import RejectReason
from bot.domain.people import Role
from bot.domain.statistics import parse_week
from bot.services.reports import ReportParams, build_report
from bot.settings import Settings
from scheduler import jobs
from storage.models import Customer, Survey, Vehicle

ROOT = Path(__file__).resolve().parents[2]
MakeApp = Callable[..., Container]
W48 = parse_week("2026-W48")  # Mon 2026-11-23 .. Sun 2026-11-29; the clock is Wed 2026-11-25 10:00 Shanghai


@pytest.fixture
def make_app(database_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeApp]:
    """The product built from the environment (as `huifang` builds it), with these HUIFANG_* variables set."""
    built: list[Container] = []

    def make(**env: str) -> Container:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        app = build(Settings(database_url=database_url, store_name="惠州江铃4S店"), clock=clock)
        built.append(app)
        return app

    yield make
    for app in built:
        app.close()


def _owner_away_four_months(app: Container) -> int:
    now = app.clock.now()
    with app.uow() as uow:
        store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
        consultant = uow.staff.add(store, "李明", Role.SALES_CONSULTANT, None, True, now)
        customer = Customer(store_id=store, name="王建国", honorific="先生", phone="+8613800138000", status="owner",
                            owner_staff_id=consultant, created_at=now, updated_at=now)  # fmt: skip
        uow.session.add(customer)
        uow.session.flush()
        uow.session.add(Vehicle(customer_id=customer.id, series="轻卡", delivery_date=date(2024, 3, 1),
                                last_service_date=date(2026, 7, 20), created_at=now, updated_at=now))  # fmt: skip
        uow.commit()
        return customer.id


def _surveyed_for(app: Container) -> list[str]:
    jobs.select_due(app.job_context())
    with app.uow() as uow:
        return list(uow.session.scalars(select(Survey.purpose)))


def _lapse_report(app: Container) -> tuple[list[tuple[str, int]], str]:
    report = build_report(app.read_uow, ReportParams(sections=("lapsed",), period=W48), app.report_settings(),
                          app.clock)  # fmt: skip
    table = report.table("lapse_stages")
    return [(row["stage"], row["count"]) for row in table.rows], table.note or ""


def test_four_months_away_is_not_yet_lapsed_by_default_neither_for_surveys_nor_for_the_report(
    make_app: MakeApp,
) -> None:
    app = make_app()
    _owner_away_four_months(app)

    assert _surveyed_for(app) == ["owner_care"]  # the monthly care survey, not the lapsed one
    stages, note = _lapse_report(app)
    assert stages == []
    assert "准流失≥6个月" in note


@pytest.mark.parametrize("variable", ["HUIFANG_LAPSE_PRE_MONTHS", "HUIFANG_REPORT_LAPSE_PRE_MONTHS"])
def test_setting_the_pre_lapse_months_changes_who_is_surveyed_and_what_the_report_counts(
    make_app: MakeApp, variable: str
) -> None:
    app = make_app(**{variable: "3"})
    _owner_away_four_months(app)

    assert _surveyed_for(app) == ["lapsed:3"]  # lapsed comes before owner care
    stages, note = _lapse_report(app)
    assert stages == [("准流失", 1)]
    assert "准流失≥3个月" in note


def test_a_typed_callback_time_on_a_holiday_or_a_closed_weekend_is_refused(make_app: MakeApp) -> None:
    app = make_app(HUIFANG_CALLING_START="10:00", HUIFANG_CALLING_END="16:00", HUIFANG_CALL_ON_WEEKENDS="false")
    from bot.domain.callback_time import callback_time_problem

    hours = app.survey_kit().hours
    now = datetime(2026, 9, 30, 11, 0)  # the day before National Day

    assert callback_time_problem(datetime(2026, 10, 2, 11, 0), now, hours) is RejectReason.OUTSIDE_HOURS
    assert callback_time_problem(datetime(2026, 10, 10, 11, 0), now, hours) is RejectReason.OUTSIDE_HOURS  # Sat
    assert callback_time_problem(datetime(2026, 10, 8, 16, 0), now, hours) is RejectReason.OUTSIDE_HOURS
    assert callback_time_problem(datetime(2026, 10, 8, 15, 30), now, hours) is None
    assert hours is app.calling_hours() is app.phone_settings().hours is app.job_context().hours  # built once


def _huifang(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUIFANG_")}
    clean.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], capture_output=True, text=True, cwd=cwd,
                          env=clean, timeout=60)  # fmt: skip


@pytest.mark.parametrize(
    ("env", "fragments"),
    [
        ({"HUIFANG_LAPSE_PRE_MONTHS": "12", "HUIFANG_LAPSE_MONTHS": "6"}, ["流失阶段月数须依次递增", "12、6、24"]),
        ({"HUIFANG_REPORT_LAPSE_FULL_MONTHS": "12"}, ["流失阶段月数须依次递增", "6、12、12"]),
        ({"HUIFANG_CALLING_START": "25:00"}, ["HUIFANG_CALLING_START", "“25:00”不是有效的时间"]),
        ({"HUIFANG_CALLING_START": "18:00", "HUIFANG_CALLING_END": "09:00"}, ["HUIFANG_CALLING_START（18:00）须早于"]),
    ],
)
def test_lapse_months_or_calling_hours_that_make_no_sense_are_one_line_and_exit_code_2(
    tmp_path: Path, env: dict[str, str], fragments: list[str]
) -> None:
    done = _huifang(tmp_path, **env)

    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("错误："), done.stderr
    assert all(fragment in done.stderr for fragment in fragments), done.stderr
    assert list(tmp_path.iterdir()) == []
