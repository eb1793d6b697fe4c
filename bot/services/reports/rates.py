"""Contacts: dispositions per channel, AAPOR group counts and rates, tracking failures, figures per contact mode."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from bot.domain import dispositions as disp
from bot.domain.statistics import (
    RATE_DEFINITIONS,
    AaporCounts,
    aapor_rates,
    share,
)
from bot.services.reports.model import ALL, Column, Context, Table, columns
from bot.texts import report_text, report_value
from storage.queries import reports as q

CHANNEL_LABELS: dict[str, str] = dict(report_value("modes"))
CHANNELS = tuple(
    (ch, CHANNEL_LABELS[ch]) for ch in ("chat", "voice", "phone")
)  # the modes with their own AAPOR columns


def contact_tables(counts: list[q.DispositionCount], e: float | None) -> list[Table]:
    """Dispositions per channel, AAPOR group counts and rates per channel and overall, and 跟踪失败."""
    by_channel: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in counts:
        by_channel[c.channel][c.code] += c.count
    channel_totals = {ch: sum(codes.values()) for ch, codes in by_channel.items()}
    order = {d.code: i for i, d in enumerate((*disp.DISPOSITIONS, disp.NOT_ATTEMPTED))}

    dispositions = Table(
        key="dispositions",
        title=report_text("tables.dispositions.title"),
        columns=columns("dispositions", "channel", "code", "label", "aapor", "count:int", "share:share"),
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
    group_columns = (
        *columns("aapor_counts", "item", "label"),
        *(Column(ch, label, "int") for ch, label in CHANNELS),
        *columns("aapor_counts", "all:int"),
    )
    group_table = Table(key="aapor_counts", title=report_text("tables.aapor_counts.title"), columns=group_columns)
    if counts:
        for g in disp.AaporGroup:
            row: dict[str, Any] = {"item": g.value, "label": g.label}
            for ch, _ in CHANNELS:
                row[ch] = groups.get(ch, {}).get(g, 0)
            row["all"] = overall[g]
            group_table.rows.append(row)

    rate_columns = (
        *columns("aapor_rates", "rate", "label"),
        *(Column(ch, label, "share") for ch, label in CHANNELS),
        *columns("aapor_rates", "all:share"),
    )
    rates_table = Table(
        key="aapor_rates",
        title=report_text("tables.aapor_rates.title"),
        columns=rate_columns,
        note=report_text(
            "tables.aapor_rates.note", e=report_text("tables.aapor_rates.e_estimated") if e is None else e
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
        title=report_text("tables.tracking_failures.title"),
        columns=columns("tracking_failures", "channel", "code", "label", "count:int", "share:share"),
        chart=("label", "count"),
        note=report_text("tables.tracking_failures.note"),
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
                "label": report_text("tables.tracking_failures.total"),
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


CONTACT_GROUPS = frozenset({disp.AaporGroup.I, disp.AaporGroup.P, disp.AaporGroup.R, disp.AaporGroup.O})


def case_codes(case: q.CaseAttempts) -> list[str]:
    """Everything a case's result is picked from: the engine's outcome, then every attempt, oldest first."""
    codes = [disp.OUTCOME_DISPOSITION[case.outcome]] if case.outcome in disp.OUTCOME_DISPOSITION else []
    return codes + [code for _, code in case.attempts]


def case_dispositions(cases: list[q.CaseAttempts]) -> list[q.DispositionCount]:
    """Cases per (channel the case is on, its one result across every mode: ``dispositions.case_result``)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for case in cases:
        counts[(case.channel, disp.case_result(case_codes(case)).code)] += 1
    return [q.DispositionCount(channel, code, n) for (channel, code), n in counts.items()]


def mode_table(cases: list[q.CaseAttempts], e: float | None) -> Table:
    """按联系方式: per mode, attempts, cases tried, reached and completed, and that mode's contact and
    response rates (its cases' result from that mode's attempts only); the last row is every case once, its
    result the best across modes (a chat without reply then completed by phone is one completed case)."""
    table = Table(
        key="contact_modes",
        title=report_text("tables.contact_modes.title"),
        columns=columns(
            "contact_modes",
            "mode",
            "attempts:int",
            "tried:int",
            "reached:int",
            "completed:int",
            "contact_rate:share",
            "response_rate:share",
        ),
        chart=("mode", "completed"),
        total_row=True,
        note=report_text("tables.contact_modes.note"),
    )
    by_mode: dict[str, list[list[str]]] = defaultdict(list)
    attempts: dict[str, int] = defaultdict(int)
    for case in cases:
        per_case: dict[str, list[str]] = defaultdict(list)
        for mode, code in case.attempts:
            per_case[mode].append(code)
            attempts[mode] += 1
        for mode, codes in per_case.items():
            by_mode[mode].append(codes)

    def row(label: str, results: list[disp.Disposition], tried: int, n_attempts: int) -> dict[str, Any]:
        groups = disp.group_counts(Counter(d.code for d in results))
        rates = aapor_rates(_counts(groups), e)
        return {
            "mode": label,
            "attempts": n_attempts,
            "tried": tried,
            "reached": sum(1 for d in results if d.group in CONTACT_GROUPS),
            "completed": sum(1 for d in results if d.group is disp.AaporGroup.I),
            "contact_rate": rates["CON1"],
            "response_rate": rates["RR1"],
        }

    channel_order = {ch: i for i, (ch, _) in enumerate(CHANNELS)}
    for mode in sorted(by_mode, key=lambda m: (channel_order.get(m, 99), m)):
        results = [disp.case_result(codes) for codes in by_mode[mode]]
        table.rows.append(row(CHANNEL_LABELS.get(mode, mode), results, len(results), attempts[mode]))
    if cases:
        results = [disp.case_result(case_codes(case)) for case in cases]
        tried = sum(1 for case in cases if case.attempts)
        table.rows.append(row(ALL, results, tried, sum(attempts.values())))
    return table


def section(session: Any, ctx: Context) -> list[Table]:
    start, end = ctx.bounds(ctx.period)
    cases = q.case_attempts(session, start, end)
    return [*contact_tables(case_dispositions(cases), ctx.settings.e), mode_table(cases, ctx.settings.e)]
