"""Reports: ``build_report`` turns stored answers, attempts, tasks and customers into named tables.

The same function feeds ``huifang report``, the weekly summary push and the managers' /stats. Counting is
done by the SQL in ``storage/queries/reports.py``; this module adds labels (from the current questionnaire
version: codes are stable across versions), shares, percentage-point changes and totals, from exact counts.

Tables hold raw values: ``int`` counts, ``Fraction`` shares (0..1), ``Fraction`` percentage points, text.
``bot/report_output.py`` formats them (table, json, csv, xlsx, png). The meaning of every table, column and
rate is in ``docs/reports.md``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from bot.domain import dispositions as disp
from bot.domain.clock import Clock
from bot.domain.questionnaire import NodeKind, Questionnaire
from bot.domain.statistics import (
    RATE_DEFINITIONS,
    TIER_CODES,
    TIER_LABELS,
    AaporCounts,
    LapseStage,
    Period,
    ReportSettings,
    aapor_rates,
    age_bands,
    buckets,
    lapse_cutoffs,
    last_full_week,
    pp_change,
    referral_label,
    share,
)
from storage.queries import reports as q
from storage.unit_of_work import SqlUnitOfWork

SECTIONS = ("reasons", "contacts", "discipline", "recovery", "owners", "lapsed")
BY_HEADERS = {"series": "车系", "model": "车型", "consultant": "销售顾问", "store": "门店", "week": "周", "month": "月"}
LAPSE_GROUPS = ("内因", "外因")
LAPSED_QUESTIONNAIRE = "lapsed"
ALL_TIME_START = date(2000, 1, 1)
UNKNOWN = "（未填）"
TOTAL = "合计"


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
        return "本期无数据"


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


# --------------------------------------------------------------------------------------------------------------
# Questionnaire facts used for labels


@dataclass(frozen=True)
class QuestionFacts:
    """What reports need from a questionnaire's current version."""

    order: dict[str, int]
    titles: dict[str, str]
    reasons: dict[tuple[str, str], tuple[str, str]]  # (question, reason code) → (label, group)
    recoverable: tuple[tuple[str, str], ...]  # (question, option code) tagged 'recoverable'
    other_text_questions: tuple[str, ...]  # free-text nodes reached from an 其他 option

    @classmethod
    def empty(cls) -> QuestionFacts:
        return cls({}, {}, {}, (), ())


def question_facts(qn: Questionnaire | None) -> QuestionFacts:
    """Labels, order, recoverable options and the 其他 free-text nodes of a questionnaire."""
    if qn is None:
        return QuestionFacts.empty()
    order: dict[str, int] = {}
    titles: dict[str, str] = {}
    reasons: dict[tuple[str, str], tuple[str, str]] = {}
    recoverable: list[tuple[str, str]] = []
    other_text: list[str] = []
    for index, node in enumerate(qn.nodes):
        order[node.id] = index
        titles[node.id] = _short_text(node.text)
        for option in node.options:
            if node.tally and (option.reason or option.reason_group):
                code = option.reason_code or option.code
                reasons.setdefault((node.id, code), (option.reason or option.label, option.reason_group or ""))
            if "recoverable" in option.tags:
                recoverable.append((node.id, option.code))
            if option.code == "other" or (option.reason_code or "").startswith("other") or option.label == "其他":
                for route in option.next:
                    if qn.has_node(route.goto) and qn.node(route.goto).kind is NodeKind.TEXT:
                        other_text.append(route.goto)
    return QuestionFacts(order, titles, reasons, tuple(recoverable), tuple(dict.fromkeys(other_text)))


def _short_text(template: str, limit: int = 24) -> str:
    """A question's text without template tags, cut to ``limit`` characters."""
    plain = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", template).strip()
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


_catalog_cache: dict[tuple[tuple[str, int], ...], dict[str, Questionnaire]] = {}


def _default_catalog(questionnaire_id: str) -> Questionnaire | None:
    """The current version of a shipped questionnaire; parsed once per change of the files (reports are
    built every few seconds by /stats, parsing and validating the YAML costs more than a weekly query)."""
    from bot.questionnaires import QUESTIONNAIRES_DIR, load_catalog, questionnaire_files

    try:
        key = tuple((str(p), p.stat().st_mtime_ns) for p in questionnaire_files(QUESTIONNAIRES_DIR))
        if key not in _catalog_cache:
            _catalog_cache.clear()
            _catalog_cache[key] = dict(load_catalog().by_id)
        return _catalog_cache[key].get(questionnaire_id)
    except Exception:  # a broken file elsewhere must not stop the report; labels fall back to codes
        return None


# --------------------------------------------------------------------------------------------------------------
# Building


def resolve_period(params: ReportParams, today: date) -> tuple[Period, Period | None]:
    """The report period and the previous period of the same length (None for all time)."""
    if params.all_time:
        return Period(ALL_TIME_START, today + timedelta(days=1), f"全部（截至 {today.isoformat()}）"), None
    period = params.period or last_full_week(today)
    return period, period.previous()


def build_report(
    uow_factory: Callable[[], SqlUnitOfWork],
    params: ReportParams,
    settings: ReportSettings,
    clock: Clock,
    questionnaires: Callable[[str], Questionnaire | None] = _default_catalog,
) -> Report:
    """Build the report ``params`` asks for, reading in one unit of work (one consistent snapshot)."""
    unknown = [s for s in params.sections if s not in SECTIONS]
    if unknown:
        raise ReportError(f"未知的报表部分：{'、'.join(unknown)}")
    if params.by is not None and params.by not in q.BREAKDOWNS:
        raise ReportError(f"未知的分组方式：{params.by}")
    tz = settings.tz
    now = clock.now()
    today = now.astimezone(tz).date()
    period, previous = resolve_period(params, today)
    qn = questionnaires(params.questionnaire)
    if qn is None and "reasons" in params.sections:
        raise ReportError(f"找不到问卷“{params.questionnaire}”")
    ctx = _Context(settings, period, previous, now, today, question_facts(qn))
    tables: list[Table] = []
    with uow_factory() as uow:
        session = uow.session
        for section in SECTIONS:
            if section not in params.sections:
                continue
            if section == "reasons":
                tables += _reasons_section(session, ctx, params)
            elif section == "contacts":
                tables += _contacts_section(session, ctx)
            elif section == "discipline":
                tables += _discipline_section(session, ctx)
            elif section == "recovery":
                tables += _recovery_section(session, ctx, params.questionnaire)
            elif section == "owners":
                tables += _owners_section(session, ctx)
            elif section == "lapsed":
                tables += _lapsed_section(session, ctx, questionnaires(LAPSED_QUESTIONNAIRE))
    title = f"{qn.title if qn else params.questionnaire} · 统计报表"
    return Report(
        title, params.questionnaire, period, previous, settings.timezone, now, tables, settings.percent_decimals
    )


@dataclass(frozen=True)
class _Context:
    settings: ReportSettings
    period: Period
    previous: Period | None
    now: datetime
    today: date
    facts: QuestionFacts

    def bounds(self, period: Period) -> tuple[datetime, datetime]:
        return period.utc_bounds(self.settings.tz)


# --------------------------------------------------------------------------------------------------------------
# Reasons


def _question_title(facts: QuestionFacts, question_id: str) -> str:
    title = facts.titles.get(question_id)
    return f"{question_id} {title}" if title else question_id


def _reason_label(facts: QuestionFacts, question_id: str, code: str, stored_group: str) -> tuple[str, str]:
    label, group = facts.reasons.get((question_id, code), (code, stored_group))
    return label, group or stored_group


def _fold(counts: Iterable[q.ReasonCount], facts: QuestionFacts) -> dict[tuple[str, str], tuple[int, str]]:
    """(question, code) → (count, group): versions that grouped a code differently are merged by code."""
    folded: dict[tuple[str, str], tuple[int, str]] = {}
    for c in counts:
        key = (c.question_id, c.reason_code)
        n, _ = folded.get(key, (0, ""))
        folded[key] = (n + c.count, _reason_label(facts, c.question_id, c.reason_code, c.reason_group)[1])
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
    cur = _fold(current, facts)
    prev = _fold(previous or [], facts)
    cur_totals, prev_totals = _question_totals(cur), _question_totals(prev)
    keys = set(cur) | set(prev)

    def order(key: tuple[str, str]) -> tuple[int, str, int, bool, str]:
        question, code = key
        # Pareto: largest first; among equals, 其他 goes last.
        return (facts.order.get(question, 10_000), question, -cur.get(key, (0, ""))[0], code == "other", code)

    reasons = Table(
        key=f"{key_prefix}reasons",
        title=f"{title_prefix}原因统计（帕累托）",
        columns=(
            Column("question", "问题"),
            Column("reason_code", "原因代码"),
            Column("reason", "原因"),
            Column("group", "原因分组"),
            Column("count", "次数", "int"),
            Column("share", "占比", "share"),
            Column("cumulative", "累计占比", "share"),
            Column("previous_count", "上期次数", "int"),
            Column("previous_share", "上期占比", "share"),
            Column("change_pp", "变化（百分点）", "pp"),
        ),
        chart=("reason", "count"),
        note="占比 = 该原因次数 ÷ 同一问题的原因总次数；“其他”的原话只列出供阅读，不单独计为原因。",
    )
    running: dict[str, int] = defaultdict(int)
    for key in sorted(keys, key=order):
        question, code = key
        n, group = cur.get(key, (0, ""))
        pn, pgroup = prev.get(key, (0, ""))
        running[question] += n
        label, _ = _reason_label(facts, question, code, group or pgroup)
        now_share = share(n, cur_totals.get(question, 0))
        prev_share = share(pn, prev_totals.get(question, 0)) if previous is not None else None
        reasons.rows.append(
            {
                "question": _question_title(facts, question),
                "reason_code": code,
                "reason": label,
                "group": group or pgroup,
                "count": n,
                "share": now_share,
                "cumulative": share(running[question], cur_totals.get(question, 0)),
                "previous_count": pn if previous is not None else None,
                "previous_share": prev_share,
                "change_pp": pp_change(now_share, prev_share),
            }
        )

    def by_group(folded: dict[tuple[str, str], tuple[int, str]]) -> dict[tuple[str, str], int]:
        result: dict[tuple[str, str], int] = defaultdict(int)
        for (question, _), (n, group) in folded.items():
            result[(question, group)] += n
        return result

    cur_groups, prev_groups = by_group(cur), by_group(prev)
    groups = Table(
        key=f"{key_prefix}reason_groups",
        title=f"{title_prefix}原因分组统计",
        columns=(
            Column("question", "问题"),
            Column("group", "原因分组"),
            Column("count", "次数", "int"),
            Column("share", "占比", "share"),
            Column("previous_share", "上期占比", "share"),
            Column("change_pp", "变化（百分点）", "pp"),
        ),
        chart=("group", "count"),
    )
    for question, group in sorted(
        set(cur_groups) | set(prev_groups),
        key=lambda k: (facts.order.get(k[0], 10_000), k[0], -cur_groups.get(k, 0), k[1] == "其他", k[1]),
    ):
        n = cur_groups.get((question, group), 0)
        now_share = share(n, cur_totals.get(question, 0))
        prev_share = (
            share(prev_groups.get((question, group), 0), prev_totals.get(question, 0)) if previous is not None else None
        )
        groups.rows.append(
            {
                "question": _question_title(facts, question),
                "group": group or UNKNOWN,
                "count": n,
                "share": now_share,
                "previous_share": prev_share,
                "change_pp": pp_change(now_share, prev_share),
            }
        )
    return reasons, groups


def _reasons_section(session: Any, ctx: _Context, params: ReportParams) -> list[Table]:
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
        title="“其他”原因原话（供阅读，不计入统计）",
        columns=(Column("answered_at", "时间"), Column("question", "问题"), Column("text", "原话")),
        note=f"最近 {ctx.settings.free_text_limit} 条。",
    )
    for t in texts:
        others.rows.append(
            {
                "answered_at": t.answered_at.astimezone(ctx.settings.tz).strftime("%Y-%m-%d %H:%M"),
                "question": _question_title(ctx.facts, t.question_id),
                "text": t.text,
            }
        )
    tables.append(others)
    return tables


def _breakdown_table(session: Any, ctx: _Context, params: ReportParams, start: datetime, end: datetime) -> Table:
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
        title=f"原因统计（按{header}）",
        columns=(
            Column("bucket", header),
            Column("question", "问题"),
            Column("reason_code", "原因代码"),
            Column("reason", "原因"),
            Column("count", "次数", "int"),
            Column("share", "占比", "share"),
        ),
        note=f"占比 = 该原因次数 ÷ 同一{header}、同一问题的原因总次数。",
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
                "question": _question_title(ctx.facts, question),
                "reason_code": code,
                "reason": _reason_label(ctx.facts, question, code, "")[0],
                "count": n,
                "share": share(n, totals[(bucket, question)]),
            }
        )
    return table


# --------------------------------------------------------------------------------------------------------------
# Contacts


CHANNELS = (("chat", "聊天"), ("phone", "电话"))
CHANNEL_LABELS = {"chat": "聊天", "phone": "电话", "voice": "语音"}


def contact_tables(counts: list[q.DispositionCount], e: float | None) -> list[Table]:
    """Dispositions per channel, AAPOR group counts and rates per channel and overall, and 跟踪失败."""
    by_channel: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in counts:
        by_channel[c.channel][c.code] += c.count
    channel_totals = {ch: sum(codes.values()) for ch, codes in by_channel.items()}
    order = {d.code: i for i, d in enumerate((*disp.DISPOSITIONS, disp.NOT_ATTEMPTED))}

    dispositions = Table(
        key="dispositions",
        title="联系结果（按个案的最终结果）",
        columns=(
            Column("channel", "渠道"),
            Column("code", "结果代码"),
            Column("label", "结果"),
            Column("aapor", "AAPOR类别"),
            Column("count", "个案数", "int"),
            Column("share", "占本渠道个案", "share"),
        ),
        chart=("label", "count"),
    )
    channel_order = {ch: i for i, (ch, _) in enumerate(CHANNELS)}
    for channel in sorted(by_channel, key=lambda ch: (channel_order.get(ch, 99), ch)):
        for code, n in sorted(by_channel[channel].items(), key=lambda kv: (order.get(kv[0], 999), kv[0])):
            d = disp.disposition(code)
            dispositions.rows.append(
                {
                    "channel": CHANNEL_LABELS.get(channel, channel),
                    "code": code,
                    "label": d.label,
                    "aapor": d.group.value,
                    "count": n,
                    "share": share(n, channel_totals[channel]),
                }
            )

    groups = {ch: disp.group_counts(codes) for ch, codes in by_channel.items()}
    overall = _sum_groups(groups.values())
    columns = (
        Column("item", "项目"),
        Column("label", "说明"),
        *(Column(ch, label, "int") for ch, label in CHANNELS),
        Column("all", "全部", "int"),
    )
    group_table = Table(key="aapor_counts", title="AAPOR 分类个案数", columns=columns)
    if counts:
        for g in disp.AaporGroup:
            row: dict[str, Any] = {"item": g.value, "label": g.label}
            for ch, _ in CHANNELS:
                row[ch] = groups.get(ch, {}).get(g, 0)
            row["all"] = overall[g]
            group_table.rows.append(row)

    rate_columns = (
        Column("rate", "指标"),
        Column("label", "说明"),
        *(Column(ch, label, "share") for ch, label in CHANNELS),
        Column("all", "全部", "share"),
    )
    rates_table = Table(
        key="aapor_rates",
        title="AAPOR 应答率、合作率、拒绝率、接触率",
        columns=rate_columns,
        note=(
            "e（资格未知个案中估计合格的比例）："
            + ("按已知资格个案比例估计" if e is None else f"{e}")
            + "；公式见 docs/reports.md。"
        ),
    )
    if counts:
        per_channel = {ch: aapor_rates(_counts(groups.get(ch, {})), e) for ch, _ in CHANNELS}
        everything = aapor_rates(_counts(overall), e)
        for name, (label, _) in RATE_DEFINITIONS.items():
            row = {"rate": name, "label": label}
            for ch, _ in CHANNELS:
                row[ch] = per_channel[ch][name]
            row["all"] = everything[name]
            rates_table.rows.append(row)

    failures = Table(
        key="tracking_failures",
        title="跟踪失败",
        columns=(
            Column("channel", "渠道"),
            Column("code", "类型代码"),
            Column("label", "失败类型"),
            Column("count", "个案数", "int"),
            Column("share", "占全部个案", "share"),
        ),
        chart=("label", "count"),
        note="占全部个案 = 该类型个案数 ÷ 本渠道本期全部个案数（含完成）。",
    )
    for channel in sorted(by_channel, key=lambda ch: (channel_order.get(ch, 99), ch)):
        failed = [(code, n) for code, n in by_channel[channel].items() if disp.disposition(code).tracking_failure]
        if not failed:
            continue
        for code, n in sorted(failed, key=lambda kv: (-kv[1], order.get(kv[0], 999), kv[0])):
            failures.rows.append(
                {
                    "channel": CHANNEL_LABELS.get(channel, channel),
                    "code": code,
                    "label": disp.disposition(code).label,
                    "count": n,
                    "share": share(n, channel_totals[channel]),
                }
            )
        subtotal = sum(n for _, n in failed)
        failures.rows.append(
            {
                "channel": CHANNEL_LABELS.get(channel, channel),
                "code": "total",
                "label": f"跟踪失败{TOTAL}",
                "count": subtotal,
                "share": share(subtotal, channel_totals[channel]),
            }
        )
    return [dispositions, group_table, rates_table, failures]


def _sum_groups(groups: Iterable[dict[disp.AaporGroup, int]]) -> dict[disp.AaporGroup, int]:
    result = dict.fromkeys(disp.AaporGroup, 0)
    for g in groups:
        for k, v in g.items():
            result[k] += v
    return result


def _counts(groups: dict[disp.AaporGroup, int]) -> AaporCounts:
    return AaporCounts(**{g.value: groups.get(g, 0) for g in disp.AaporGroup})


def _contacts_section(session: Any, ctx: _Context) -> list[Table]:
    start, end = ctx.bounds(ctx.period)
    return contact_tables(q.case_dispositions(session, start, end, disp.OUTCOME_DISPOSITION), ctx.settings.e)


# --------------------------------------------------------------------------------------------------------------
# Discipline and recovery


def _median_hours(total_seconds: int | None, terms: int) -> Fraction | None:
    if total_seconds is None or terms == 0:
        return None
    return Fraction(total_seconds, terms * 3600)


def _discipline_section(session: Any, ctx: _Context) -> list[Table]:
    start, end = ctx.bounds(ctx.period)
    rows = q.task_discipline(session, start, end, ctx.now)
    table = Table(
        key="discipline",
        title="跟进纪律（按员工）",
        columns=(
            Column("staff", "员工"),
            Column("created", "新建任务", "int"),
            Column("done", "已完成", "int"),
            Column("open_overdue", "逾期未完成", "int"),
            Column("done_late", "逾期完成", "int"),
            Column("median_hours", "首次跟进中位时长（小时）", "number"),
            Column("within_24h", "24小时内跟进占比", "share"),
        ),
        chart=("staff", "open_overdue"),
        total_row=True,
        note="本期新建的任务；逾期按当前时间计；24小时占比只计已跟进或已满24小时的任务。",
    )
    for r in sorted(rows, key=lambda r: (-r.created, r.name, r.staff_id or 0)):
        table.rows.append(
            {
                "staff": r.name or "（未分配）",
                "created": r.created,
                "done": r.done,
                "open_overdue": r.open_overdue,
                "done_late": r.done_late,
                "median_hours": _median_hours(r.median_seconds_twice, r.median_terms),
                "within_24h": share(r.within_24h, r.judged_24h),
            }
        )
    if rows:
        median = q.overall_median_delay(session, start, end)
        table.rows.append(
            {
                "staff": TOTAL,
                "created": sum(r.created for r in rows),
                "done": sum(r.done for r in rows),
                "open_overdue": sum(r.open_overdue for r in rows),
                "done_late": sum(r.done_late for r in rows),
                "median_hours": _median_hours(*median) if median else None,
                "within_24h": share(sum(r.within_24h for r in rows), sum(r.judged_24h for r in rows)),
            }
        )
    return [table]


def _recovery_section(session: Any, ctx: _Context, questionnaire_id: str) -> list[Table]:
    start, end = ctx.bounds(ctx.period)
    rows = q.recovery(session, questionnaire_id, ctx.facts.recoverable, start, end)
    table = Table(
        key="recovery",
        title="准战败客户挽回",
        columns=(
            Column("consultant", "销售顾问"),
            Column("surveyed", "准战败回访数", "int"),
            Column("bought", "已成交", "int"),
            Column("rate", "挽回率", "share"),
        ),
        chart=("consultant", "bought"),
        total_row=True,
        note="本期回访中答“还没有购买”（准战败）的客户，及其中现在已是保有客户（已在本店购车）的人数。",
    )
    for r in sorted(rows, key=lambda r: (-r.surveyed, r.name)):
        table.rows.append(
            {
                "consultant": r.name or "（未分配）",
                "surveyed": r.surveyed,
                "bought": r.bought,
                "rate": share(r.bought, r.surveyed),
            }
        )
    if rows:
        surveyed, bought = q.recovery_total(session, questionnaire_id, ctx.facts.recoverable, start, end)
        table.rows.append(
            {"consultant": TOTAL, "surveyed": surveyed, "bought": bought, "rate": share(bought, surveyed)}
        )
    return [table]


# --------------------------------------------------------------------------------------------------------------
# Owners


def _tier_rule(s: ReportSettings) -> q.TierRule:
    return q.TierRule(
        s.tier_premium_loyalty, s.tier_premium_economic, s.tier_potential_loyalty, s.tier_potential_economic
    )


def concentration_table(counts: list[q.ConcentrationCount], dimension: str, year: int) -> Table:
    """Rows = region (or industry); columns = each tier last year / this year, totals, this year's share."""
    header = {"region": "区域", "industry": "行业"}[dimension]
    columns: list[Column] = [Column("value", header)]
    for tier in TIER_CODES:
        columns.append(Column(f"{tier}_prev", f"{TIER_LABELS[tier]} {year - 1}年", "int"))
        columns.append(Column(f"{tier}_curr", f"{TIER_LABELS[tier]} {year}年", "int"))
    columns += [
        Column("total_prev", f"合计 {year - 1}年", "int"),
        Column("total_curr", f"合计 {year}年", "int"),
        Column("share_curr", f"{year}年占比", "share"),
        Column("change", "同比变化", "int"),
    ]
    title = {"region": "基盘客户分级 · 区域集中度", "industry": "基盘客户分级 · 行业分级"}[dimension]
    table = Table(
        key=f"{dimension}_tiers",
        title=title,
        columns=tuple(columns),
        chart=("value", "total_curr"),
        total_row=True,
        note="按客户首次购车年份统计（本年与上年）；等级按忠诚度与经济能力评分计算。",
    )
    cells: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in counts:
        cells[c.value][f"{c.tier}_{c.year}"] += c.count
    grand_curr = sum(v for row in cells.values() for k, v in row.items() if k.endswith("_curr"))

    def make_row(label: str, values: dict[str, int]) -> dict[str, Any]:
        row: dict[str, Any] = {"value": label}
        for tier in TIER_CODES:
            row[f"{tier}_prev"] = values.get(f"{tier}_prev", 0)
            row[f"{tier}_curr"] = values.get(f"{tier}_curr", 0)
        row["total_prev"] = sum(row[f"{t}_prev"] for t in TIER_CODES)
        row["total_curr"] = sum(row[f"{t}_curr"] for t in TIER_CODES)
        row["share_curr"] = share(row["total_curr"], grand_curr)
        row["change"] = row["total_curr"] - row["total_prev"]
        return row

    rows = [make_row(value or UNKNOWN, values) for value, values in cells.items()]
    rows.sort(key=lambda r: (r["value"] == UNKNOWN, -r["total_curr"], -r["total_prev"], r["value"]))
    if rows:
        summed: dict[str, int] = defaultdict(int)
        for values in cells.values():
            for k, v in values.items():
                summed[k] += v
        rows.append(make_row(TOTAL, summed))
    table.rows = rows
    return table


def referral_table(counts: list[tuple[str, int]]) -> Table:
    """推荐来源: count and share of all referrals, largest first, with a 合计 row."""
    table = Table(
        key="referrals",
        title="推荐成果（按推荐来源）",
        columns=(Column("source", "推荐来源"), Column("count", "推荐数", "int"), Column("share", "比例", "share")),
        chart=("source", "count"),
        total_row=True,
        note="本期新建客户中填写了推荐来源的人数。",
    )
    merged: dict[str, int] = defaultdict(int)
    for source, n in counts:
        merged[referral_label(source)] += n
    total = sum(merged.values())
    for label, n in sorted(merged.items(), key=lambda kv: (-kv[1], kv[0])):
        table.rows.append({"source": label, "count": n, "share": share(n, total)})
    if total:
        table.rows.append({"source": TOTAL, "count": total, "share": share(total, total)})
    return table


def _owners_section(session: Any, ctx: _Context) -> list[Table]:
    rule = _tier_rule(ctx.settings)
    summary = q.tier_summary(session, rule)
    tiers = Table(
        key="tiers",
        title="基盘客户分级（当前）",
        columns=(
            Column("tier", "等级"),
            Column("customers", "客户数", "int"),
            Column("share", "占比", "share"),
            Column("loyalty_avg", "平均忠诚度（10分）", "number"),
            Column("economic_avg", "平均经济能力（10分）", "number"),
        ),
        chart=("tier", "customers"),
        note=(
            f"优质：忠诚度≥{ctx.settings.tier_premium_loyalty} 且经济能力≥{ctx.settings.tier_premium_economic}；"
            f"潜力：忠诚度≥{ctx.settings.tier_potential_loyalty} 或经济能力≥"
            f"{ctx.settings.tier_potential_economic}；其余为一般；未评分的沿用已登记等级。"
        ),
    )
    total = sum(s.customers for s in summary)
    by_tier = {s.tier: s for s in summary}
    for tier in TIER_CODES:
        s = by_tier.get(tier)
        if s is None:
            continue
        tiers.rows.append(
            {
                "tier": TIER_LABELS[tier],
                "customers": s.customers,
                "share": share(s.customers, total),
                "loyalty_avg": share(s.loyalty_sum, s.loyalty_n),
                "economic_avg": share(s.economic_sum, s.economic_n),
            }
        )
    year = (ctx.period.end - timedelta(days=1)).year
    tables = [tiers]
    for dimension in ("region", "industry"):
        tables.append(concentration_table(q.owner_concentration(session, dimension, rule, year), dimension, year))
    tables.append(referral_table(q.referral_counts(session, *ctx.bounds(ctx.period))))
    return tables


# --------------------------------------------------------------------------------------------------------------
# Lapsed


STAGES = (LapseStage.PRE, LapseStage.LAPSED, LapseStage.FULL)


def _lapse_dimension_table(
    key: str,
    title: str,
    header: str,
    counts: list[q.LapseCount],
    labels: dict[str, str] | None = None,
    order: dict[str, int] | None = None,
) -> Table:
    columns = (
        Column("value", header),
        *(Column(s.value, s.label, "int") for s in STAGES),
        Column("total", TOTAL, "int"),
        Column("share", "占比", "share"),
    )
    table = Table(key=key, title=title, columns=columns, chart=("value", "total"), total_row=True)
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


def _lapsed_section(session: Any, ctx: _Context, lapsed_qn: Questionnaire | None) -> list[Table]:
    as_of = min(ctx.today, ctx.period.end - timedelta(days=1))
    cutoffs = {stage.value: day for stage, day in lapse_cutoffs(as_of, ctx.settings).items()}
    stage_counts = q.lapse_counts(session, "stage", cutoffs)
    stages = Table(
        key="lapse_stages",
        title=f"流失客户（按阶段，截至 {as_of.isoformat()}）",
        columns=(Column("stage", "阶段"), Column("count", "车辆数", "int"), Column("share", "占比", "share")),
        chart=("stage", "count"),
        note=(
            f"距上次进店：准流失≥{ctx.settings.lapse_pre_months}个月，流失≥{ctx.settings.lapse_months}个月，"
            f"彻底流失≥{ctx.settings.lapse_full_months}个月。"
        ),
    )
    by_stage = {c.stage: c.count for c in stage_counts}
    total = sum(by_stage.values())
    for s in STAGES:
        if s.value in by_stage:
            stages.rows.append({"stage": s.label, "count": by_stage[s.value], "share": share(by_stage[s.value], total)})

    facts = question_facts(lapsed_qn)
    cause_questions = {question for (question, _), (_, group) in facts.reasons.items() if group in LAPSE_GROUPS}
    start, end = ctx.bounds(ctx.period)
    counts = [c for c in q.reason_counts(session, LAPSED_QUESTIONNAIRE, start, end) if c.question_id in cause_questions]
    folded: dict[tuple[str, str], tuple[int, str, str]] = {}
    for c in counts:
        label, group = _reason_label(facts, c.question_id, c.reason_code, c.reason_group)
        n = folded.get((group, label), (0, "", ""))[0]
        folded[(group, label)] = (n + c.count, c.reason_code, c.question_id)
    reason_total = sum(v[0] for v in folded.values())
    reasons = Table(
        key="lapse_reasons",
        title="流失原因（内因 / 外因）",
        columns=(
            Column("group", "原因分组"),
            Column("reason", "原因"),
            Column("count", "次数", "int"),
            Column("share", "占比", "share"),
        ),
        chart=("reason", "count"),
        note="本期流失回访的原因答案；占比 = 次数 ÷ 全部原因次数。",
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
        title="流失原因分组",
        columns=(Column("group", "原因分组"), Column("count", "次数", "int"), Column("share", "占比", "share")),
        chart=("group", "count"),
    )
    for group, n in sorted(group_totals.items(), key=lambda kv: (group_rank.get(kv[0], 9), kv[0])):
        groups.rows.append({"group": group, "count": n, "share": share(n, reason_total)})

    bands = age_bands(as_of, ctx.settings)
    band_labels = {key: label for key, label, _, _ in bands}
    band_order = {key: i for i, (key, _, _, _) in enumerate(bands)}
    tables = [stages, groups, reasons]
    tables.append(
        _lapse_dimension_table(
            "lapse_by_region", "流失客户（按区域）", "区域", q.lapse_counts(session, "region", cutoffs)
        )
    )
    tables.append(
        _lapse_dimension_table(
            "lapse_by_model", "流失客户（按车型）", "车型", q.lapse_counts(session, "model", cutoffs)
        )
    )
    tables.append(
        _lapse_dimension_table(
            "lapse_by_age",
            "流失客户（按车龄）",
            "车龄",
            q.lapse_counts(session, "age", cutoffs, [(k, after, until) for k, _, after, until in bands]),
            band_labels,
            band_order,
        )
    )
    return tables
