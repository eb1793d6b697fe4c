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
from bot.services.reports.model import TOTAL, UNKNOWN, Column, Context, Table, columns
from bot.texts import report_text
from storage.queries import reports as q


def _tier_rule(s: ReportSettings) -> q.TierRule:
    return q.TierRule(
        s.tier_premium_loyalty, s.tier_premium_economic, s.tier_potential_loyalty, s.tier_potential_economic
    )


def concentration_table(counts: list[q.ConcentrationCount], dimension: str, year: int) -> Table:
    """Rows = region (or industry); columns = each tier last year / this year, totals, this year's share."""
    key = f"{dimension}_tiers"
    texts = "tables.tier_concentration"
    cols: list[Column] = [Column("value", report_text(f"tables.{key}.header"))]
    for tier in TIER_CODES:
        for suffix, y in (("prev", year - 1), ("curr", year)):
            header = report_text(f"{texts}.tier_year", tier=TIER_LABELS[tier], year=y)
            cols.append(Column(f"{tier}_{suffix}", header, "int"))
    cols += [
        Column("total_prev", report_text(f"{texts}.total_year", year=year - 1), "int"),
        Column("total_curr", report_text(f"{texts}.total_year", year=year), "int"),
        Column("share_curr", report_text(f"{texts}.share_year", year=year), "share"),
        Column("change", report_text(f"{texts}.change"), "int"),
    ]
    table = Table(
        key=key,
        title=report_text(f"tables.{key}.title"),
        columns=tuple(cols),
        chart=("value", "total_curr"),
        total_row=True,
        note=report_text(f"{texts}.note"),
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
        title=report_text("tables.referrals.title"),
        columns=columns("referrals", "source", "count:int", "share:share"),
        chart=("source", "count"),
        total_row=True,
        note=report_text("tables.referrals.note"),
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
        title=report_text("tables.tiers.title"),
        columns=columns("tiers", "tier", "customers:int", "share:share", "loyalty_avg:number", "economic_avg:number"),
        chart=("tier", "customers"),
        note=report_text(
            "tables.tiers.note",
            premium_loyalty=ctx.settings.tier_premium_loyalty,
            premium_economic=ctx.settings.tier_premium_economic,
            potential_loyalty=ctx.settings.tier_potential_loyalty,
            potential_economic=ctx.settings.tier_potential_economic,
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
