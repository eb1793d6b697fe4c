"""`huifang report --format png` on a real database: phone-sized pages whose charts a manager can read.

Each test is a finding of issue 15 that main failed: one 1100×5891 strip, bars labelled with question ids
(`q1 购买他品牌`) and no key, a 帕累托 panel without a cumulative line, 跟踪失败合计 drawn beside its own parts,
an all-zero panel on a −0.06..0.06 axis, two bars both labelled 其他, and `--by series` dropping the breakdown.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from matplotlib.lines import Line2D
from matplotlib.text import Text
from PIL import Image
from test_reports import W47, Seed, at

from bot.app import Container
from bot.domain.statistics import ReportSettings
from bot.report_output import chart_panels, page_figures, write_png
from bot.services.reports import Report, ReportParams, build_report
from bot.summary_charts import DPI, PHONE_PX, WIDTH_PX

QUESTION_ID = re.compile(r"\bq\d\w*\b")


@pytest.fixture
def seed(app: Container) -> Seed:
    return Seed(app)


def _week(seed: Seed) -> None:
    """W47: reasons to two questions that each have an 其他, a series for some, contacts with failures."""
    when = at(2026, 11, 18)
    for code, n, series in (("price_value", 4, "轻卡"), ("no_stock", 2, "皮卡"), ("other", 1, None)):
        for _ in range(n):
            customer = seed.customer()
            if series:
                seed.vehicle(customer, series=series, model=f"{series}-1")
            seed.reason(code, when, customer=customer)
    for code in ("brand", "other"):
        seed.reason(code, when, question="q4")
    seed.reason("other_brand", when, question="q1")
    for disposition in ("no_answer", "vacant", "vacant", "completed"):
        sv = seed.survey(outcome="complete" if disposition == "completed" else None, created=when)
        seed.attempt(sv, disposition, when)
    seed.commit()


def _report(app: Container, **params: Any) -> Report:
    return build_report(app.uow, ReportParams(period=W47, **params), ReportSettings(), app.clock)


def _texts(figure: Any) -> list[Text]:
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]


def test_the_png_report_is_phone_sized_pages_out_png_out_2_png_each_legible_at_a_phones_width(
    app: Container, seed: Seed, tmp_path: Path
) -> None:
    _week(seed)
    report = _report(app)

    written = write_png(report, tmp_path / "out.png")

    assert len(written) >= 2
    assert [p.name for p in written] == ["out.png", *(f"out-{n}.png" for n in range(2, len(written) + 1))]
    assert all(Image.open(p).size == (1080, 1350) for p in written)
    for figure in page_figures(report):
        for text in _texts(figure):
            on_screen = text.get_fontsize() * DPI / 72 * PHONE_PX / WIDTH_PX
            assert on_screen >= 11, (text.get_text(), on_screen)


def test_no_chart_label_carries_a_question_id_and_each_reason_chart_has_a_key(app: Container, seed: Seed) -> None:
    _week(seed)

    panels = chart_panels(_report(app))
    reasons = [p for p in panels if p.pareto]

    assert [s for p in panels for s in (p.title, *p.labels) if QUESTION_ID.search(s)] == []
    assert {p.title.rsplit(" · ", 1)[-1] for p in reasons} >= {"战败原因", "选他品牌原因", "去向"}
    assert all(p.key.startswith("问题：") for p in reasons)
    assert "价格高" in next(p for p in reasons if p.title.endswith("战败原因")).labels


def test_no_chart_draws_two_bars_with_the_same_label(app: Container, seed: Seed) -> None:
    _week(seed)

    panels = chart_panels(_report(app))

    assert all(len(set(p.labels)) == len(p.labels) for p in panels)
    assert sum(1 for p in panels for label in p.labels if label == "其他原因") == 2  # q2's and q4's, apart


def test_the_pareto_chart_has_a_cumulative_line_ending_at_one_hundred_percent(app: Container, seed: Seed) -> None:
    _week(seed)

    first = page_figures(_report(app, sections=("reasons",)))[0]
    lines = [line for ax in first.axes for line in ax.get_lines() if isinstance(line, Line2D)]

    assert lines and all(list(line.get_ydata())[-1] == 100.0 for line in lines)
    cumulative = next(list(line.get_ydata()) for line in lines if len(line.get_ydata()) == 3)
    assert cumulative == sorted(cumulative)


def test_the_tracking_failure_total_is_not_drawn_beside_its_own_parts(app: Container, seed: Seed) -> None:
    _week(seed)

    failures = [p for p in chart_panels(_report(app, sections=("contacts",))) if p.title.startswith("跟踪失败")]

    assert failures and all("跟踪失败合计" not in p.labels for p in failures)
    assert sorted(failures[0].labels) == sorted(["空号", "无人接听"])


def test_an_all_zero_chart_says_no_data_instead_of_a_minus_point_zero_six_axis(app: Container, seed: Seed) -> None:
    seed.task(seed.staff("李明"), at(2026, 11, 16, 9), at(2026, 11, 30, 9))  # open, not overdue: overdue all 0
    seed.commit()

    report = _report(app, sections=("discipline",))
    [panel] = chart_panels(report)
    [figure] = page_figures(report)

    assert panel.empty
    assert "无数据" in [t.get_text() for t in _texts(figure)]
    assert all(not ax.axison for ax in figure.axes)


def test_by_series_keeps_the_breakdown_per_series_in_the_png(app: Container, seed: Seed) -> None:
    _week(seed)

    panels = chart_panels(_report(app, sections=("reasons",), by="series"))
    breakdown = {p.title.split(" · ")[-2]: p.labels for p in panels if "按车系" in p.title}

    assert breakdown["轻卡"] == ("价格高",) and breakdown["皮卡"] == ("缺车",)
