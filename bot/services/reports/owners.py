"""Owners (基盘客户): tiers, concentration by region and industry, referrals."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from bot.domain.statistics import (
    TIER_CODES,
    TIER_LABELS,
    ReportSettings,
    referral_label,
    share,
)
from bot.services.reports.model import TOTAL, UNKNOWN, Column, Context, Table
from storage.queries import reports as q


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


def section(session: Any, ctx: Context) -> list[Table]:
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
