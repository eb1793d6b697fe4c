"""Lapsed customers: by stage, reason group, region, model and vehicle age."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from bot.domain.questionnaire import Questionnaire
from bot.domain.statistics import (
    LapseStage,
    age_bands,
    lapse_cutoffs,
    share,
)
from bot.services.reports.facts import question_facts
from bot.services.reports.model import (
    LAPSE_GROUPS,
    LAPSED_QUESTIONNAIRE,
    TOTAL,
    UNKNOWN,
    Column,
    Context,
    Table,
    columns,
)
from bot.services.reports.reasons import reason_label
from bot.texts import report_text
from storage.queries import reports as q

STAGES = (LapseStage.PRE, LapseStage.LAPSED, LapseStage.FULL)


def _lapse_dimension_table(
    key: str,
    counts: list[q.LapseCount],
    labels: dict[str, str] | None = None,
    order: dict[str, int] | None = None,
) -> Table:
    cols = (
        Column("value", report_text(f"tables.{key}.header")),
        *(Column(s.value, s.label, "int") for s in STAGES),
        *columns("lapse_dimension", "total:int", "share:share"),
    )
    title = report_text(f"tables.{key}.title")
    table = Table(key=key, title=title, columns=cols, chart=("value", "total"), total_row=True)
    cells: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in counts:
        cells[c.value][c.stage] += c.count
    grand = sum(sum(v.values()) for v in cells.values())

    def make_row(label: str, values: dict[str, int]) -> dict[str, Any]:
        row: dict[str, Any] = {"value": label}
        for s in STAGES:
            row[s.value] = values.get(s.value, 0)
        row["total"] = sum(values.values())
        row["share"] = share(row["total"], grand)
        return row

    items = sorted(
        cells.items(),
        key=lambda kv: (order.get(kv[0], 10_000) if order else 0, kv[0] == "", -sum(kv[1].values()), kv[0]),
    )
    table.rows = [make_row((labels or {}).get(v, v) or UNKNOWN, values) for v, values in items]
    if table.rows:
        summed: dict[str, int] = defaultdict(int)
        for values in cells.values():
            for k, n in values.items():
                summed[k] += n
        table.rows.append(make_row(TOTAL, summed))
    return table


def section(session: Any, ctx: Context, lapsed_qn: Questionnaire | None) -> list[Table]:
    as_of = min(ctx.today, ctx.period.end - timedelta(days=1))
    cutoffs = {stage.value: day for stage, day in lapse_cutoffs(as_of, ctx.settings).items()}
    stages = _stages_table(q.lapse_counts(session, "stage", cutoffs), ctx, as_of)
    groups, reasons = _reason_tables(session, ctx, lapsed_qn)
    bands = age_bands(as_of, ctx.settings)
    band_labels = {key: label for key, label, _, _ in bands}
    band_order = {key: i for i, (key, _, _, _) in enumerate(bands)}
    tables = [stages, groups, reasons]
    tables.append(_lapse_dimension_table("lapse_by_region", q.lapse_counts(session, "region", cutoffs)))
    tables.append(_lapse_dimension_table("lapse_by_model", q.lapse_counts(session, "model", cutoffs)))
    tables.append(
        _lapse_dimension_table(
            "lapse_by_age",
            q.lapse_counts(session, "age", cutoffs, [(k, after, until) for k, _, after, until in bands]),
            band_labels,
            band_order,
        )
    )
    return tables


def _stages_table(stage_counts: list[q.LapseCount], ctx: Context, as_of: date) -> Table:
    stages = Table(
        key="lapse_stages",
        title=report_text("tables.lapse_stages.title", as_of=as_of.isoformat()),
        columns=columns("lapse_stages", "stage", "count:int", "share:share"),
        chart=("stage", "count"),
        note=report_text(
            "tables.lapse_stages.note",
            pre=ctx.settings.lapse_pre_months,
            lapsed=ctx.settings.lapse_months,
            full=ctx.settings.lapse_full_months,
        ),
    )
    by_stage = {c.stage: c.count for c in stage_counts}
    total = sum(by_stage.values())
    for s in STAGES:
        if s.value in by_stage:
            stages.rows.append({"stage": s.label, "count": by_stage[s.value], "share": share(by_stage[s.value], total)})
    return stages


def _reason_tables(session: Any, ctx: Context, lapsed_qn: Questionnaire | None) -> tuple[Table, Table]:
    """Lapse causes (内因 / 外因) this period, reason by reason and per group."""
    facts = question_facts(lapsed_qn)
    cause_questions = {question for (question, _), (_, group) in facts.reasons.items() if group in LAPSE_GROUPS}
    start, end = ctx.bounds(ctx.period)
    counts = [c for c in q.reason_counts(session, LAPSED_QUESTIONNAIRE, start, end) if c.question_id in cause_questions]
    folded: dict[tuple[str, str], tuple[int, str, str]] = {}
    for c in counts:
        label, group = reason_label(facts, c.question_id, c.reason_code, c.reason_group)
        n = folded.get((group, label), (0, "", ""))[0]
        folded[(group, label)] = (n + c.count, c.reason_code, c.question_id)
    reason_total = sum(v[0] for v in folded.values())
    reasons = Table(
        key="lapse_reasons",
        title=report_text("tables.lapse_reasons.title"),
        columns=columns("lapse_reasons", "group", "reason", "count:int", "share:share"),
        chart=("reason", "count"),
        note=report_text("tables.lapse_reasons.note"),
    )
    group_totals: dict[str, int] = defaultdict(int)
    for (group, _), (n, _, _) in folded.items():
        group_totals[group] += n
    group_rank = {g: i for i, g in enumerate(LAPSE_GROUPS)}
    for (group, label), (n, _, _) in sorted(
        folded.items(), key=lambda kv: (group_rank.get(kv[0][0], 9), -kv[1][0], kv[0][1])
    ):
        reasons.rows.append({"group": group, "reason": label, "count": n, "share": share(n, reason_total)})
    groups = Table(
        key="lapse_reason_groups",
        title=report_text("tables.lapse_reason_groups.title"),
        columns=columns("lapse_reason_groups", "group", "count:int", "share:share"),
        chart=("group", "count"),
    )
    for group, n in sorted(group_totals.items(), key=lambda kv: (group_rank.get(kv[0], 9), kv[0])):
        groups.rows.append({"group": group, "count": n, "share": share(n, reason_total)})
    return groups, reasons
