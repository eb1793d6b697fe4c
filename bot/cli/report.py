"""`huifang report`: reason tallies, contact rates, follow-up discipline, recovery, owners and lapsed customers."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from bot.cli.support import Fatal, container


def _period(date_from: date | None, date_to: date | None, week: str | None) -> Any:
    from bot.domain.statistics import Period, parse_week

    if week and (date_from or date_to):
        raise Fatal("--week 不能与 --from/--to 同时使用")
    if week:
        try:
            return parse_week(week)
        except ValueError as exc:
            raise Fatal(str(exc)) from None
    if date_from is None and date_to is None:
        return None
    if date_from is None or date_to is None:
        raise Fatal("--from 与 --to 需要同时给出")
    if date_to < date_from:
        raise Fatal("--to 不能早于 --from")
    return Period(date_from, date_to + timedelta(days=1))


@click.command("report")
@click.option("--questionnaire", "questionnaire", default="defeat", show_default=True, help="原因统计所用问卷")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="起始日期（含），如 2026-11-01")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="截止日期（含），如 2026-11-30")
@click.option("--week", help="ISO 周，如 2026-W47（默认：上一个完整周）")
@click.option("--all-time", is_flag=True, help="全部时间（不做环比）")
@click.option(
    "--by",
    type=click.Choice(["series", "model", "consultant", "store", "week", "month"]),
    help="原因统计的分组：车系、车型、销售顾问、门店、周、月",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "xlsx", "png"]),
    default="table",
    show_default=True,
    help="输出格式",
)
@click.option("--out", type=click.Path(path_type=Path), help="输出文件（xlsx、png 必填）")
@click.option(
    "--section",
    "sections",
    multiple=True,
    type=click.Choice(["reasons", "contacts", "discipline", "recovery", "owners", "lapsed", "all"]),
    help="只输出某些部分（可重复；默认全部）",
)
@click.option("--consent", "consent_of", metavar="CUSTOMER", help="列出某位客户（手机号或客户编号）的同意与退订记录")
@click.pass_context
def report(
    ctx: click.Context,
    questionnaire: str,
    date_from: Any,
    date_to: Any,
    week: str | None,
    all_time: bool,
    by: str | None,
    fmt: str,
    out: Path | None,
    sections: tuple[str, ...],
    consent_of: str | None,
) -> None:
    """统计报表：战败原因、联系结果与应答率、跟进纪律、准战败挽回、基盘客户分级、流失客户。"""
    if consent_of is not None:
        _consent(ctx, consent_of)
        return
    from bot.report_output import BINARY_FORMATS, OutputError, write
    from bot.services.reports import SECTIONS, ReportError, ReportParams, build_report
    from bot.settings import report_settings

    if fmt in BINARY_FORMATS and out is None:
        raise Fatal(f"{fmt} 格式需要用 --out 指定输出文件")
    period = _period(date_from.date() if date_from else None, date_to.date() if date_to else None, week)
    if all_time and period is not None:
        raise Fatal("--all-time 不能与 --from/--to/--week 同时使用")
    chosen = SECTIONS if not sections or "all" in sections else tuple(s for s in SECTIONS if s in sections)
    params = ReportParams(questionnaire=questionnaire, period=period, all_time=all_time, by=by, sections=chosen)
    with container(ctx) as app:
        try:
            built = build_report(app.read_uow, params, report_settings(app.settings), app.clock)
        except (ReportError, ValueError) as exc:
            raise Fatal(str(exc)) from None
    try:
        text = write(built, fmt, out)
    except (OutputError, OSError) as exc:
        raise Fatal(str(exc)) from None
    if text is not None:
        click.echo(text, nl=False)
    else:
        click.echo(f"已写入：{out}", err=True)


def _consent(ctx: click.Context, ref: str) -> None:
    """`report --consent CUSTOMER`: when and how the customer consented or opted out, per channel."""
    from bot.rendering import render_string
    from bot.services.consent import consent_report, labels, render_table
    from bot.services.erasure import CustomerNotFound

    with container(ctx) as app:
        try:
            found = consent_report(app.read_uow, ref, app.settings.default_region_code)
        except CustomerNotFound:
            raise Fatal(render_string(labels()["not_found"], {"ref": ref})) from None
        click.echo(render_table(found, app.settings.tz))
