"""The managers' weekly summary on a real database: a short plain text and three phone-sized images.

Each test is a finding of issue 15 that main failed: opt-outs counted as refusals without saying so, jargon
(RR1, COOP1) and internal ids in the push, an overdue count for a past week that changed with the day the
report was run, changes on a handful of answers shown like changes on hundreds, a 1100×5891 chart no phone
can read, a "Pareto" without a cumulative line.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from matplotlib.lines import Line2D
from matplotlib.text import Text
from test_reports import W47, Seed, at

from bot.app import Container
from bot.domain.clock import FixedClock
from bot.domain.statistics import Period, ReportSettings, parse_week
from bot.services.reports import ReportParams, build_report
from bot.services.summary import WeekSummary, week_summary
from bot.services.weekly import summary_text
from bot.summary_charts import DPI, HEIGHT_PX, PHONE_PX, WIDTH_PX, summary_figures, summary_images
from bot.texts import Texts
from storage.models import Task

INTERNAL = re.compile(r"\b(q\d\w*|RR\d|COOP\d|REF\d|CON\d|[a-z]+_[a-z_]+|other|price_value|chat|phone)\b")


@pytest.fixture
def seed(app: Container) -> Seed:
    return Seed(app)


def _cases(seed: Seed, week_day: datetime, completed: int, unreached: int) -> None:
    for _ in range(completed):
        sv = seed.survey(outcome="complete", created=week_day)
        seed.attempt(sv, "completed", week_day)
    for _ in range(unreached):
        sv = seed.survey(outcome=None, created=week_day)
        seed.attempt(sv, "no_answer", week_day)


def _summary(app: Container, period: Period = W47) -> WeekSummary:
    return week_summary(app.uow, ReportSettings(), app.clock, period)


def _a_full_week(seed: Seed) -> None:
    """W47: completed, refused, opted out, unreachable cases; lost-sale reasons; scores; tasks."""
    when = at(2026, 11, 18)
    _cases(seed, when, completed=4, unreached=2)
    refused = seed.survey(outcome="refusal", created=when)
    seed.attempt(refused, "refused", when)
    opted = seed.survey(channel="chat", outcome=None, created=when)
    seed.attempt(opted, "opted_out", when)
    for code, n in (("price_value", 5), ("no_stock", 2), ("sales_performance", 2), ("other", 1)):
        for _ in range(n):
            seed.reason(code, when)
    for code in ("other_brand", "other_brand", "not_yet"):
        seed.reason(code, when, question="q1")
    for rating in (5, 4, 2):
        sv = seed.survey(questionnaire="delivery_3day", created=when)
        answer = seed.answer(sv, "q_delivery", "", when)
        answer.rating = rating
    li = seed.staff("李明")
    seed.task(li, at(2026, 11, 16, 9), at(2026, 11, 17, 9))  # open, overdue
    seed.task(li, at(2026, 11, 16, 9), at(2026, 11, 25, 9))  # open, not yet due
    seed.commit()


# --------------------------------------------------------------------------------------------------------------
# The text


def test_opt_outs_are_said_apart_from_refusals(app: Container, seed: Seed) -> None:
    _a_full_week(seed)

    text = summary_text(Texts(), _summary(app))

    assert "拒访 1 人，退订 1 人（单独计，不算拒访），联系不上 2 人\n" in text


def test_the_push_is_about_fifteen_plain_lines_without_rates_jargon_or_internal_ids(app: Container, seed: Seed) -> None:
    _a_full_week(seed)

    text = summary_text(Texts(), _summary(app))

    assert len(text.splitlines()) <= 16
    assert INTERNAL.findall(text) == []
    assert "应答率" not in text and "资格未知" not in text
    assert "战败原因（10 人回答）：价格高 5 · 缺车 2 · 销售表现 2\n" in text
    assert "去向：他品牌 2 · 尚未购车 1\n" in text
    assert "满意度（1–5分）：交车过程 3.7 分（3 人）" in text
    assert "逾期任务（截至周日结束）：李明 1\n" in text


def test_a_ten_point_rise_on_a_handful_of_cases_is_called_not_significant(app: Container, seed: Seed) -> None:
    _cases(seed, at(2026, 11, 18), completed=6, unreached=4)  # 60%
    _cases(seed, at(2026, 11, 11), completed=5, unreached=5)  # 50%
    seed.commit()

    text = summary_text(Texts(), _summary(app))

    assert "完成率 60%，与上周相比变化不显著（样本少）\n" in text
    assert "应访 10 人（上周 10 人，变化不显著（样本少））\n" in text


def test_a_fifteen_point_rise_on_a_hundred_cases_a_week_is_called_a_rise(app: Container, seed: Seed) -> None:
    _cases(seed, at(2026, 11, 18), completed=60, unreached=40)
    _cases(seed, at(2026, 11, 11), completed=45, unreached=55)
    seed.commit()

    text = summary_text(Texts(), _summary(app))

    assert "完成率 60%，比上周高 15 个百分点\n" in text
    assert "应访 100 人（上周 100 人，无明显差别）\n" in text


def test_the_overdue_count_of_a_past_week_does_not_change_with_the_day_it_is_read(app: Container, seed: Seed) -> None:
    li = seed.staff("李明")
    seed.task(li, at(2026, 11, 16, 9), at(2026, 11, 17, 9))  # overdue at the week's end, done on Tuesday after
    seed.task(li, at(2026, 11, 16, 9), at(2026, 11, 18, 9), "done", None, at(2026, 11, 19, 9))  # done late, in W47
    seed.commit()
    settings, params = ReportSettings(), ReportParams(period=W47, sections=("discipline",))

    def overdue(day: datetime) -> tuple[int, int]:
        clock = FixedClock(day.astimezone(UTC))
        table = build_report(app.uow, params, settings, clock).table("discipline")
        return table.rows[0]["open_overdue"], week_summary(app.uow, settings, clock, W47).tasks[0].overdue

    monday = overdue(at(2026, 11, 23, 9))
    with app.uow() as uow:  # Tuesday: the consultant does the task
        task = uow.session.query(Task).filter(Task.status == "open").one()
        task.status, task.done_at = "done", at(2026, 11, 24, 10)
        uow.commit()
    later = overdue(at(2026, 12, 10, 9))

    assert monday == later == (1, 1)


# --------------------------------------------------------------------------------------------------------------
# The images


def _texts(figure: Any) -> list[Text]:
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]


def test_each_image_is_phone_sized_and_every_text_is_legible_at_a_phones_width(app: Container, seed: Seed) -> None:
    _a_full_week(seed)

    figures = summary_figures(_summary(app))

    assert [name for name, _ in figures] == ["funnel", "reasons", "people"]
    for name, figure in figures:
        width, height = (figure.get_size_inches() * DPI).round()
        assert (width, height) == (WIDTH_PX, HEIGHT_PX) == (1080, 1350), name
        for text in _texts(figure):
            on_screen = text.get_fontsize() * DPI / 72 * PHONE_PX / WIDTH_PX
            assert on_screen >= 11, (name, text.get_text(), round(on_screen, 1))
    for _, data in summary_images(_summary(app)):
        assert data[16:24] == (1080).to_bytes(4, "big") + (1350).to_bytes(4, "big")  # the PNG header's size


def test_no_label_in_any_image_is_an_internal_id(app: Container, seed: Seed) -> None:
    _a_full_week(seed)

    labels = [t.get_text() for _, figure in summary_figures(_summary(app)) for t in _texts(figure)]

    assert [label for label in labels if INTERNAL.search(label)] == []
    assert {"价格高", "缺车", "销售\n表现", "其他\n原因", "他品牌", "尚未购车", "交车过程", "李明"} <= set(labels)


def test_the_reasons_image_is_a_true_pareto_with_a_cumulative_line_to_one_hundred_percent(
    app: Container, seed: Seed
) -> None:
    _a_full_week(seed)

    _, reasons = summary_figures(_summary(app))[1]
    pareto = reasons.axes[0]
    heights = [bar.get_height() for bar in pareto.patches]
    lines = [line for ax in reasons.axes for line in ax.get_lines() if isinstance(line, Line2D)]

    assert heights == sorted(heights, reverse=True) == [5, 2, 2, 1]
    [cumulative] = lines
    assert list(cumulative.get_ydata()) == [50.0, 70.0, 90.0, 100.0]


def test_an_empty_week_says_no_data_instead_of_drawing_empty_axes(app: Container) -> None:
    figures = summary_figures(week_summary(app.uow, ReportSettings(), app.clock, parse_week("2026-W40")))

    for name, figure in figures:
        assert "无数据" in [t.get_text() for t in _texts(figure)], name
        assert all(not ax.axison for ax in figure.axes), name


def test_the_summary_of_the_running_week_counts_overdue_tasks_until_now(app: Container, seed: Seed) -> None:
    li = seed.staff("李明")
    seed.task(li, at(2026, 11, 23, 9), at(2026, 11, 24, 9))  # overdue by Wednesday (the clock)
    seed.task(li, at(2026, 11, 23, 9), at(2026, 11, 27, 9))  # due Friday
    seed.commit()
    week = Period(date(2026, 11, 23), date(2026, 11, 23) + timedelta(days=7), "2026-W48")

    summary = week_summary(app.uow, ReportSettings(), app.clock, week, current=True)

    assert [(t.name, t.open_at_end, t.overdue) for t in summary.tasks] == [("李明", 2, 1)]
    assert "本周回访概况（2026-W48，11/23–11/29，截至目前）" in summary_text(Texts(), summary, images=False)


# --------------------------------------------------------------------------------------------------------------
# The report keeps the rates, explained, and judges its changes too


def test_each_reason_change_in_the_report_says_whether_it_is_more_than_noise(app: Container, seed: Seed) -> None:
    for _ in range(3):
        seed.reason("price_value", at(2026, 11, 18))
    seed.reason("no_stock", at(2026, 11, 18))
    seed.reason("price_value", at(2026, 11, 11))
    seed.reason("no_stock", at(2026, 11, 11))
    seed.commit()

    r = build_report(app.uow, ReportParams(period=W47, sections=("reasons",)), ReportSettings(), app.clock)

    assert [(row["reason"], row["change_note"]) for row in r.table("reasons").rows] == [
        ("价格高", "变化不显著（样本少）"),
        ("缺车", "变化不显著（样本少）"),
    ]
    assert {row["change_note"] for row in r.table("reason_groups").rows} == {"变化不显著（样本少）"}


def test_the_xlsx_explains_the_aapor_rates_in_words_under_the_table(app: Container, seed: Seed, tmp_path: Any) -> None:
    from openpyxl import load_workbook

    from bot.report_output import write

    _cases(seed, at(2026, 11, 18), completed=2, unreached=1)
    seed.commit()
    r = build_report(app.uow, ReportParams(period=W47, sections=("contacts",)), ReportSettings(), app.clock)
    write(r, "xlsx", tmp_path / "r.xlsx")

    sheet = load_workbook(tmp_path / "r.xlsx")["AAPOR 应答率、合作率、拒绝率、接触率"]
    last = [c.value for c in list(sheet.iter_rows())[-1]]

    assert str(last[0]).startswith("注：应答率 = 完成的个案 ÷ 全部应访个案")
    assert "合作率 = 完成 ÷ 联系上的个案" in str(last[0])
