"""Contacts: dispositions per channel, AAPOR group counts and rates, tracking failures."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from bot.domain import dispositions as disp
from bot.domain.statistics import (
    RATE_DEFINITIONS,
    AaporCounts,
    aapor_rates,
    share,
)
from bot.services.reports.model import TOTAL, Column, Context, Table
from storage.queries import reports as q

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


def section(session: Any, ctx: Context) -> list[Table]:
    start, end = ctx.bounds(ctx.period)
    return contact_tables(q.case_dispositions(session, start, end, disp.OUTCOME_DISPOSITION), ctx.settings.e)
