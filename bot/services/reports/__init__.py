"""Reports: ``build_report`` turns stored answers, attempts, tasks and customers into named tables.

The same function feeds ``huifang report``, the weekly summary push and the managers' /stats. Counting is
done by the SQL in ``storage/queries/reports/``; each section of the report is one module of this package
(``reasons``, ``rates`` (contacts, AAPOR), ``discipline``, ``recovery``, ``owners``, ``lapsed``), which adds
labels (from the current questionnaire version: codes are stable across versions), shares, percentage-point
changes and totals, from exact counts. This module builds the whole report from them.

Tables hold raw values: ``int`` counts, ``Fraction`` shares (0..1), ``Fraction`` percentage points, text.
``bot/report_output.py`` formats them (table, json, csv, xlsx, png). The meaning of every table, column and
rate is in ``docs/reports.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from bot.domain.clock import Clock
from bot.domain.questionnaire import Questionnaire
from bot.domain.statistics import Period, ReportSettings, last_full_week
from bot.services.reports import discipline, lapsed, owners, rates, reasons, recovery
from bot.services.reports.facts import QuestionFacts, default_catalog, question_facts
from bot.services.reports.model import (
    ALL_TIME_START,
    BY_HEADERS,
    LAPSED_QUESTIONNAIRE,
    SECTIONS,
    Column,
    Context,
    Report,
    ReportError,
    ReportParams,
    Table,
)
from bot.services.reports.owners import concentration_table, referral_table
from bot.services.reports.rates import CHANNEL_LABELS, CHANNELS, contact_tables
from bot.services.reports.reasons import reason_tables
from bot.texts import report_text
from storage.queries import reports as q
from storage.unit_of_work import SqlUnitOfWork

__all__ = [
    "BY_HEADERS",
    "CHANNELS",
    "CHANNEL_LABELS",
    "SECTIONS",
    "Column",
    "QuestionFacts",
    "Report",
    "ReportError",
    "ReportParams",
    "Table",
    "build_report",
    "concentration_table",
    "contact_tables",
    "question_facts",
    "reason_tables",
    "referral_table",
    "resolve_period",
]


def resolve_period(params: ReportParams, today: date) -> tuple[Period, Period | None]:
    """The report period and the previous period of the same length (None for all time)."""
    if params.all_time:
        return Period(
            ALL_TIME_START, today + timedelta(days=1), report_text("report.all_time", today=today.isoformat())
        ), None
    period = params.period or last_full_week(today)
    return period, period.previous()


def build_report(
    uow_factory: Callable[[], SqlUnitOfWork],
    params: ReportParams,
    settings: ReportSettings,
    clock: Clock,
    questionnaires: Callable[[str], Questionnaire | None] = default_catalog,
) -> Report:
    """Build the report ``params`` asks for, reading in one unit of work (one consistent snapshot)."""
    unknown = [s for s in params.sections if s not in SECTIONS]
    if unknown:
        raise ReportError(
            report_text("errors.unknown_sections", sections=report_text("words.list_separator").join(unknown))
        )
    if params.by is not None and params.by not in q.BREAKDOWNS:
        raise ReportError(report_text("errors.unknown_breakdown", by=params.by))
    tz = settings.tz
    now = clock.now()
    today = now.astimezone(tz).date()
    period, previous = resolve_period(params, today)
    qn = questionnaires(params.questionnaire)
    if qn is None and "reasons" in params.sections:
        raise ReportError(report_text("errors.unknown_questionnaire", questionnaire=params.questionnaire))
    ctx = Context(settings, period, previous, now, today, question_facts(qn))
    tables: list[Table] = []
    with uow_factory() as uow:
        session = uow.session
        for section in SECTIONS:
            if section not in params.sections:
                continue
            if section == "reasons":
                tables += reasons.section(session, ctx, params)
            elif section == "contacts":
                tables += rates.section(session, ctx)
            elif section == "discipline":
                tables += discipline.section(session, ctx)
            elif section == "recovery":
                tables += recovery.section(session, ctx, params.questionnaire)
            elif section == "owners":
                tables += owners.section(session, ctx)
            elif section == "lapsed":
                tables += lapsed.section(session, ctx, questionnaires(LAPSED_QUESTIONNAIRE))
    title = report_text("report.title", questionnaire=qn.title if qn else params.questionnaire)
    return Report(
        title, params.questionnaire, period, previous, settings.timezone, now, tables, settings.percent_decimals
    )
