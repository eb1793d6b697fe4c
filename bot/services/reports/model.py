"""The report model: tables, columns, parameters, the built report and what every section reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.domain.statistics import (
    Period,
    ReportSettings,
)
from bot.services.reports.facts import QuestionFacts
from bot.texts import report_text, report_value

SECTIONS = ("reasons", "contacts", "discipline", "recovery", "owners", "lapsed")
BY_HEADERS: dict[str, str] = dict(report_value("breakdowns"))
LAPSE_GROUPS: tuple[str, ...] = tuple(report_value("lapse_groups"))
LAPSED_QUESTIONNAIRE = "lapsed"
ALL_TIME_START = date(2000, 1, 1)
UNKNOWN = report_text("words.unknown")
UNASSIGNED = report_text("words.unassigned")
TOTAL = report_text("words.total")
ALL = report_text("words.all")
OTHER = report_text("words.other")


class ReportError(ValueError):
    """The report cannot be built as asked; the message is Chinese, for staff."""


# --------------------------------------------------------------------------------------------------------------
# The report model


@dataclass(frozen=True)
class Column:
    """A column: stable ASCII ``key`` (JSON, CSV header row 2), Chinese ``header``, and how to format it.

    kind: text | int | share (Fraction 0..1) | pp (Fraction, percentage points) | number (Fraction/float)."""

    key: str
    header: str
    kind: str = "text"


@dataclass
class Table:
    """One named table of a report."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    chart: tuple[str, str] | None = None  # (label column, value column) for bar charts
    total_row: bool = False  # the last row is a total (charts leave it out)

    @property
    def empty(self) -> bool:
        return not self.rows

    @property
    def empty_text(self) -> str:
        return report_text("report.empty_table")


def columns(table: str, *specs: str) -> tuple[Column, ...]:
    """The columns of ``table`` from ``key`` or ``key:kind`` specs; headers from ``tables.<table>.columns``."""
    result = []
    for spec in specs:
        key, _, kind = spec.partition(":")
        result.append(Column(key, report_text(f"tables.{table}.columns.{key}"), kind or "text"))
    return tuple(result)


@dataclass(frozen=True)
class ReportParams:
    """What to report on. ``period`` None: the last full ISO week before today (the weekly summary)."""

    questionnaire: str = "defeat"
    period: Period | None = None
    all_time: bool = False
    by: str | None = None
    sections: tuple[str, ...] = SECTIONS


@dataclass
class Report:
    """A built report: its period and its tables in display order."""

    title: str
    questionnaire: str
    period: Period
    previous: Period | None
    timezone: str
    generated_at: datetime
    tables: list[Table]
    percent_decimals: int = 1

    @property
    def empty(self) -> bool:
        return all(t.empty for t in self.tables)

    def table(self, key: str) -> Table:
        """The table with this key (KeyError if the report has none)."""
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)


@dataclass(frozen=True)
class Context:
    settings: ReportSettings
    period: Period
    previous: Period | None
    now: datetime
    today: date
    facts: QuestionFacts

    def bounds(self, period: Period) -> tuple[datetime, datetime]:
        return period.utc_bounds(self.settings.tz)
