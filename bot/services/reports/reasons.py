"""Reasons: the Pareto table per question, reason groups, the breakdown (--by) and the 其他 free texts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.statistics import (
    Period,
    buckets,
    pp_change,
    share,
    share_change,
)
from bot.services.reports.facts import QuestionFacts
from bot.services.reports.model import BY_HEADERS, OTHER, UNKNOWN, Column, Context, ReportParams, Table, columns
from bot.texts import report_text, summary_label
from storage.queries import reports as q


def question_title(facts: QuestionFacts, question_id: str) -> str:
    title = facts.titles.get(question_id)
    return f"{question_id} {title}" if title else question_id


def reason_label(facts: QuestionFacts, question_id: str, code: str, stored_group: str) -> tuple[str, str]:
    label, group = facts.reasons.get((question_id, code), (code, stored_group))
    return label, group or stored_group


def change_words(now: int, total: int, before: int, total_before: int) -> str:
    """Whether a reason's share moved beyond noise since last period, in words (two-proportion z-test)."""
    return summary_label(f"changes.{share_change(now, total, before, total_before).value}")


def _chart_names(facts: QuestionFacts, question_id: str, code: str | None = None) -> dict[str, str]:
    """Names charts use instead of ids (not columns: tables and exports leave them out): the question's
    ``short`` name and text, the reason's ``short`` label."""
    names = {
        "question_short": facts.short_titles.get(question_id, ""),
        "question_text": facts.titles.get(question_id, ""),
    }
    if code is not None:
        names["reason_short"] = facts.short_reasons.get((question_id, code), "")
    return names


def _fold(counts: Iterable[q.ReasonCount], facts: QuestionFacts) -> dict[tuple[str, str], tuple[int, str]]:
    """(question, code) → (count, group): versions that grouped a code differently are merged by code."""
    folded: dict[tuple[str, str], tuple[int, str]] = {}
    for c in counts:
        key = (c.question_id, c.reason_code)
        n, _ = folded.get(key, (0, ""))
        folded[key] = (n + c.count, reason_label(facts, c.question_id, c.reason_code, c.reason_group)[1])
    return folded


def _question_totals(folded: dict[tuple[str, str], tuple[int, str]]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for (question, _), (n, _) in folded.items():
        totals[question] += n
    return totals


def reason_tables(
    current: list[q.ReasonCount],
    previous: list[q.ReasonCount] | None,
    facts: QuestionFacts,
    *,
    key_prefix: str = "",
    title_prefix: str = "",
) -> tuple[Table, Table]:
    """The Pareto table of reasons per question and the table of reason groups, with the change against the
    previous period in percentage points (reasons seen only last period are kept, at 0 now)."""
    period = _Folded(_fold(current, facts), _fold(previous or [], facts), previous is not None, facts)
    return _reasons_table(period, key_prefix, title_prefix), _groups_table(period, key_prefix, title_prefix)


@dataclass(frozen=True)
class _Folded:
    """Counts per (question, reason code) → (count, group) this period and the previous one."""

    cur: dict[tuple[str, str], tuple[int, str]]
    prev: dict[tuple[str, str], tuple[int, str]]
    has_previous: bool
    facts: QuestionFacts

    @property
    def cur_totals(self) -> dict[str, int]:
        return _question_totals(self.cur)

    @property
    def prev_totals(self) -> dict[str, int]:
        return _question_totals(self.prev)


def _reasons_table(period: _Folded, key_prefix: str, title_prefix: str) -> Table:
    cur, prev, facts = period.cur, period.prev, period.facts
    cur_totals, prev_totals = period.cur_totals, period.prev_totals
    keys = set(cur) | set(prev)

    def order(key: tuple[str, str]) -> tuple[int, str, int, bool, str]:
        question, code = key
        # Pareto: largest first; among equals, 其他 goes last.
        return (facts.order.get(question, 10_000), question, -cur.get(key, (0, ""))[0], code == "other", code)

    reasons = Table(
        key=f"{key_prefix}reasons",
        title=report_text("tables.reasons.title", prefix=title_prefix),
        columns=columns(
            "reasons",
            "question",
            "reason_code",
            "reason",
            "group",
            "count:int",
            "share:share",
            "cumulative:share",
            "previous_count:int",
            "previous_share:share",
            "change_pp:pp",
            "change_note",
        ),
        chart=("reason", "count"),
        note=report_text("tables.reasons.note"),
    )
    running: dict[str, int] = defaultdict(int)
    for key in sorted(keys, key=order):
        question, code = key
        n, group = cur.get(key, (0, ""))
        pn, pgroup = prev.get(key, (0, ""))
        running[question] += n
        label, _ = reason_label(facts, question, code, group or pgroup)
        now_share = share(n, cur_totals.get(question, 0))
        prev_share = share(pn, prev_totals.get(question, 0)) if period.has_previous else None
        reasons.rows.append(
            {
                "question": question_title(facts, question),
                "reason_code": code,
                "reason": label,
                "group": group or pgroup,
                "count": n,
                "share": now_share,
                "cumulative": share(running[question], cur_totals.get(question, 0)),
                "previous_count": pn if period.has_previous else None,
                "previous_share": prev_share,
                "change_pp": pp_change(now_share, prev_share),
                "change_note": change_words(n, cur_totals.get(question, 0), pn, prev_totals.get(question, 0))
                if period.has_previous
                else None,
                **_chart_names(facts, question, code),
            }
        )

    return reasons


def _groups_table(period: _Folded, key_prefix: str, title_prefix: str) -> Table:
    cur, prev, facts = period.cur, period.prev, period.facts
    cur_totals, prev_totals = period.cur_totals, period.prev_totals

    def by_group(folded: dict[tuple[str, str], tuple[int, str]]) -> dict[tuple[str, str], int]:
        result: dict[tuple[str, str], int] = defaultdict(int)
        for (question, _), (n, group) in folded.items():
            result[(question, group)] += n
        return result

    cur_groups, prev_groups = by_group(cur), by_group(prev)
    groups = Table(
        key=f"{key_prefix}reason_groups",
        title=report_text("tables.reason_groups.title", prefix=title_prefix),
        columns=columns(
            "reason_groups",
            "question",
            "group",
            "count:int",
            "share:share",
            "previous_share:share",
            "change_pp:pp",
            "change_note",
        ),
        chart=("group", "count"),
    )
    for question, group in sorted(
        set(cur_groups) | set(prev_groups),
        key=lambda k: (facts.order.get(k[0], 10_000), k[0], -cur_groups.get(k, 0), k[1] == OTHER, k[1]),
    ):
        n = cur_groups.get((question, group), 0)
        now_share = share(n, cur_totals.get(question, 0))
        prev_share = (
            share(prev_groups.get((question, group), 0), prev_totals.get(question, 0)) if period.has_previous else None
        )
        groups.rows.append(
            {
                **_chart_names(facts, question),
                "question": question_title(facts, question),
                "group": group or UNKNOWN,
                "count": n,
                "share": now_share,
                "previous_share": prev_share,
                "change_pp": pp_change(now_share, prev_share),
                "change_note": change_words(
                    n, cur_totals.get(question, 0), prev_groups.get((question, group), 0), prev_totals.get(question, 0)
                )
                if period.has_previous
                else None,
            }
        )
    return groups


def section(session: Any, ctx: Context, params: ReportParams) -> list[Table]:
    start, end = ctx.bounds(ctx.period)
    current = q.reason_counts(session, params.questionnaire, start, end)
    previous = None
    if ctx.previous is not None:
        previous = q.reason_counts(session, params.questionnaire, *ctx.bounds(ctx.previous))
    tables = list(reason_tables(current, previous, ctx.facts))
    if params.by:
        tables.append(_breakdown_table(session, ctx, params, start, end))
    texts = q.free_texts(
        session, params.questionnaire, ctx.facts.other_text_questions, start, end, ctx.settings.free_text_limit
    )
    others = Table(
        key="other_texts",
        title=report_text("tables.other_texts.title"),
        columns=columns("other_texts", "answered_at", "question", "text"),
        note=report_text("tables.other_texts.note", limit=ctx.settings.free_text_limit),
    )
    for t in texts:
        others.rows.append(
            {
                "answered_at": t.answered_at.astimezone(ctx.settings.tz).strftime("%Y-%m-%d %H:%M"),
                "question": question_title(ctx.facts, t.question_id),
                "text": t.text,
            }
        )
    tables.append(others)
    return tables


def _breakdown_table(session: Any, ctx: Context, params: ReportParams, start: datetime, end: datetime) -> Table:
    assert params.by is not None
    bounds: list[tuple[str, datetime, datetime]] = []
    if params.by in ("week", "month"):
        for label, lo, hi in buckets(ctx.period, params.by):
            utc_lo, utc_hi = Period(lo, hi).utc_bounds(ctx.settings.tz)
            bounds.append((label, utc_lo, utc_hi))
    counts = q.reason_counts_by(session, params.questionnaire, start, end, params.by, bounds)
    header = BY_HEADERS[params.by]
    table = Table(
        key="reasons_by",
        title=report_text("tables.reasons_by.title", header=header),
        columns=(
            Column("bucket", header),
            *columns("reasons_by", "question", "reason_code", "reason", "count:int", "share:share"),
        ),
        note=report_text("tables.reasons_by.note", header=header),
    )
    folded: dict[tuple[str, str, str], int] = defaultdict(int)
    for c in counts:
        folded[(c.bucket, c.question_id, c.reason_code)] += c.count
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for (bucket, question, _), n in folded.items():
        totals[(bucket, question)] += n
    bucket_order = {label: i for i, (label, _, _) in enumerate(bounds)}
    for (bucket, question, code), n in sorted(
        folded.items(),
        key=lambda kv: (
            bucket_order.get(kv[0][0], 0),
            kv[0][0] == "",
            kv[0][0],
            ctx.facts.order.get(kv[0][1], 10_000),
            kv[0][1],
            -kv[1],
            kv[0][2],
        ),
    ):
        table.rows.append(
            {
                "bucket": bucket or UNKNOWN,
                "question": question_title(ctx.facts, question),
                "reason_code": code,
                "reason": reason_label(ctx.facts, question, code, "")[0],
                **_chart_names(ctx.facts, question, code),
                "count": n,
                "share": share(n, totals[(bucket, question)]),
            }
        )
    return table
