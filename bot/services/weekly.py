"""The managers' weekly summary text, built from the same report tables as `huifang report`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from bot.domain.clock import Clock
from bot.domain.contact_plan import Mode
from bot.domain.statistics import Period, ReportSettings, week_period
from bot.report_output import format_cell
from bot.services.reports import Report, ReportParams, Table, build_report
from bot.texts import Texts
from storage.unit_of_work import SqlUnitOfWork

TOP_REASONS = 3  # per question
MAX_QUESTIONS = 4
RATES = ("RR1", "COOP1", "REF1", "CON1")


def _cell(table: Table, row: dict[str, Any], key: str, decimals: int) -> str:
    column = next(c for c in table.columns if c.key == key)
    return format_cell(row.get(key), column, decimals)


def _maybe(report: Report, key: str) -> Table | None:
    try:
        return report.table(key)
    except KeyError:
        return None


def _series_lines(texts: Texts, by_series: Report | None) -> list[dict[str, Any]]:
    """Per vehicle series, its two most frequent reasons (``series``, ``picks``: "reason count")."""
    table = _maybe(by_series, "reasons_by") if by_series is not None else None
    if table is None:
        return []
    top: dict[str, list[str]] = {}
    for row in sorted(table.rows, key=lambda r: -(r.get("count") or 0)):
        picks = top.setdefault(str(row.get("bucket") or texts.label("unknown_series")), [])
        if len(picks) < 2:
            picks.append(f"{row.get('reason')} {row.get('count')}")
    return [{"series": series, "picks": picks} for series, picks in sorted(top.items())]


def _mode_lines(modes: Table | None, d: int) -> list[dict[str, str]]:
    """One line per contact mode (chat, phone, …): cases tried, reached, completed and the mode's rates."""
    if modes is None:
        return []
    rows = modes.rows[:-1] if modes.total_row else modes.rows  # the all-modes row repeats the lines above
    keys = ("mode", "tried", "reached", "completed", "contact_rate", "response_rate")
    return [{key: _cell(modes, row, key, d) for key in keys} for row in rows]


def _reason_lines(reasons: Table | None, d: int) -> list[dict[str, Any]]:
    """Each tallied question under its own heading (``title``), with its most frequent ``reasons`` and their
    change.

    Questions are kept apart: where the customer bought (q1) and why (q2, q4) are shares of different
    wholes, and one list would rank them against each other.
    """
    if reasons is None:
        return []
    questions: list[dict[str, Any]] = []
    shown: dict[str, list[dict[str, Any]]] = {}
    for row in reasons.rows:
        if not row.get("reason_code") or not row.get("count"):
            continue
        question = str(row.get("question") or "")
        if question not in shown:
            if len(shown) == MAX_QUESTIONS:
                break
            shown[question] = []
            questions.append({"title": question.split(" ", 1)[-1], "reasons": shown[question]})
        if len(shown[question]) == TOP_REASONS:
            continue
        change = _cell(reasons, row, "change_pp", d) if row.get("change_pp") is not None else ""
        shown[question].append(
            {
                "reason": row.get("reason"),
                "count": _cell(reasons, row, "count", d),
                "share": _cell(reasons, row, "share", d),
                "change": change,
            }
        )
    return questions


def this_week_text(
    uow_factory: Callable[[], SqlUnitOfWork],
    texts: Texts,
    settings: ReportSettings,
    clock: Clock,
    today: date,
    skipped: Sequence[Mode] = (),
) -> str:
    """/stats: the current ISO week so far, in the weekly summary's shape, compared with last week."""
    report, by_series = week_reports(uow_factory, settings, clock, week_period(today))
    return summary_text(texts, report, by_series, current=True, skipped=skipped)


def week_reports(
    uow_factory: Callable[[], SqlUnitOfWork], settings: ReportSettings, clock: Clock, period: Period
) -> tuple[Report, Report]:
    """What a summary is made of: the full report of ``period`` and its reasons by vehicle series."""
    report = build_report(uow_factory, ReportParams(period=period), settings, clock)
    by_series = build_report(
        uow_factory, ReportParams(period=period, by="series", sections=("reasons",)), settings, clock
    )
    return report, by_series


def summary_text(
    texts: Texts,
    report: Report,
    by_series: Report | None = None,
    *,
    current: bool = False,
    skipped: Sequence[Mode] = (),
) -> str:
    """A week at a glance: cases and rates, one line per contact mode (and the plan's modes not set up here,
    which every survey skipped), the top reasons with their change, recovery, overdue tasks.

    ``current``: the week still running (/stats), not the last full week (the Monday push).
    """
    d = report.percent_decimals
    counts: list[dict[str, Any]] = []
    table = _maybe(report, "aapor_counts")
    if table is not None and not table.empty:
        for row in table.rows:
            if row.get("all"):  # a chat message lists what happened, not every empty category
                counts.append({"label": row.get("label") or row.get("item"), "value": _cell(table, row, "all", d)})
    rates: list[dict[str, Any]] = []
    table = _maybe(report, "aapor_rates")
    if table is not None:
        for row in table.rows:
            if row.get("rate") in RATES:
                rates.append({"label": row.get("label"), "rate": row["rate"], "value": _cell(table, row, "all", d)})
    top = _reason_lines(_maybe(report, "reasons"), d)
    modes = _mode_lines(_maybe(report, "contact_modes"), d)
    recovery = _maybe(report, "recovery")
    recovered = recovery.rows if recovery is not None else []
    discipline = _maybe(report, "discipline")
    overdue = [r for r in discipline.rows if r.get("open_overdue")] if discipline is not None else []
    return texts.message(
        "weekly_summary",
        current=current,
        period=report.period.label,
        empty=report.empty,
        counts=counts,
        rates=rates,
        modes=modes,
        skipped=[texts.mode(m.value) for m in skipped],
        top=top,
        series=_series_lines(texts, by_series),
        recovered=recovered,
        overdue=overdue,
    )[:4000]
