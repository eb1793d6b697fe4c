"""The managers' weekly summary text, built from the same report tables as `huifang report`."""

from __future__ import annotations

from typing import Any

from bot.report_output import format_cell
from bot.services.reports import Report, Table
from bot.texts import Texts

TOP_REASONS = 5
RATES = ("RR1", "COOP1", "REF1", "CON1")


def _cell(table: Table, row: dict[str, Any], key: str, decimals: int) -> str:
    column = next(c for c in table.columns if c.key == key)
    return format_cell(row.get(key), column, decimals)


def _maybe(report: Report, key: str) -> Table | None:
    try:
        return report.table(key)
    except KeyError:
        return None


def _series_lines(by_series: Report | None) -> list[str]:
    """Per vehicle series, its two most frequent reasons."""
    table = _maybe(by_series, "reasons_by") if by_series is not None else None
    if table is None:
        return []
    top: dict[str, list[str]] = {}
    for row in sorted(table.rows, key=lambda r: -(r.get("count") or 0)):
        picks = top.setdefault(str(row.get("bucket") or "未知车系"), [])
        if len(picks) < 2:
            picks.append(f"{row.get('reason')} {row.get('count')}")
    return [f"• {series}：{'、'.join(picks)}" for series, picks in sorted(top.items())]


def summary_text(texts: Texts, report: Report, by_series: Report | None = None) -> str:
    """Last week at a glance: cases and rates, the top reasons with their change, recovery, overdue tasks."""
    d = report.percent_decimals
    lines: list[str] = []
    counts = _maybe(report, "aapor_counts")
    if counts is not None and not counts.empty:
        for row in counts.rows:
            lines.append(f"{row.get('label') or row.get('item')}：{_cell(counts, row, 'all', d)}")
    rates = _maybe(report, "aapor_rates")
    if rates is not None:
        for row in rates.rows:
            if row.get("rate") in RATES:
                lines.append(f"{row.get('label')}（{row['rate']}）：{_cell(rates, row, 'all', d)}")
    reasons = _maybe(report, "reasons")
    top = []
    if reasons is not None:
        for row in [r for r in reasons.rows if r.get("reason_code")][:TOP_REASONS]:
            change = _cell(reasons, row, "change_pp", d) if row.get("change_pp") is not None else ""
            top.append(
                f"• {row.get('reason')}：{_cell(reasons, row, 'count', d)}（{_cell(reasons, row, 'share', d)}"
                + (f"，较上周 {change}" if change else "")
                + "）"
            )
    recovery = _maybe(report, "recovery")
    recovered = []
    if recovery is not None:
        recovered = [
            f"• {r.get('consultant')}：回访 {r.get('surveyed')}，已成交 {r.get('bought')}" for r in recovery.rows
        ]
    discipline = _maybe(report, "discipline")
    overdue = []
    if discipline is not None:
        overdue = [
            f"• {r.get('staff')}：逾期 {r.get('open_overdue')}" for r in discipline.rows if r.get("open_overdue")
        ]
    return texts.message(
        "weekly_summary",
        period=report.period.label,
        empty=report.empty,
        lines=lines,
        top=top,
        series=_series_lines(by_series),
        recovered=recovered,
        overdue=overdue,
    )[:4000]
