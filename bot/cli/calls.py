"""`huifang calls export` / `huifang calls import`: the call sheet for teams that dial from another system."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.support import Fatal, cli_text, container

_SUFFIXES = (".xlsx", ".csv")


@click.group("calls")
def calls() -> None:
    """电话回访拨打名单：导出当天名单，导回拨打结果与答案（供用其他系统拨号的团队使用）。"""


@calls.command("export")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--store", help="门店名称（默认取 HUIFANG_STORE_NAME）")
@click.pass_context
def calls_export(ctx: click.Context, file: Path, store: str | None) -> None:
    """把当天的拨打名单按拨打顺序写入 FILE（.xlsx，或 .csv），含完整电话和待填写的列。"""
    from bot.services.call_sheet import call_day, export_calls

    if file.suffix.lower() not in _SUFFIXES:
        raise Fatal(cli_text("errors.file_type", suffix=file.suffix))
    with container(ctx) as app:
        store_name = store or app.settings.store_name
        kit, phone = app.survey_kit(), app.phone_settings()
        with app.uow() as uow:
            store_id = uow.stores.id_by_name(store_name)
            if store_id is None:
                raise Fatal(cli_text("errors.store_unknown", store=store_name))
            try:
                count = export_calls(uow, kit, phone, store_id, file, app.clock)
            except OSError as exc:
                raise Fatal(cli_text("errors.file_unwritable", cause=exc)) from None
        day = call_day(kit, phone, app.clock)
    click.echo(cli_text("calls.exported", day=f"{day:%Y-%m-%d}", count=count, file=file))
    if file.suffix.lower() == ".csv":
        from bot.services.call_sheet.columns import GUIDE_SHEET

        click.echo(cli_text("calls.notes_file", file=file.with_name(f"{file.stem}.{GUIDE_SHEET}.csv")))
    else:
        click.echo(cli_text("calls.notes_sheet"))


@calls.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="只检查并报告，不写入数据库")
@click.pass_context
def calls_import(ctx: click.Context, file: Path, dry_run: bool) -> None:
    """导回填好的拨打名单：记录拨打结果、重拨时间和问卷答案；有问题的行写入拒绝文件。"""
    from bot.services.call_sheet import CallImportFailed, import_calls

    with container(ctx) as app:
        try:
            summary = import_calls(app.uow, app.survey_kit(), file, app.phone_settings(), app.clock, dry_run=dry_run)
        except CallImportFailed as exc:
            raise Fatal(str(exc)) from None
    click.echo(cli_text("calls.file", file=file))
    click.echo(
        cli_text(
            "calls.rows",
            total=summary.total,
            recorded=summary.recorded,
            unchanged=summary.unchanged,
            rejected=summary.rejected,
            skipped=summary.skipped,
        )
    )
    if summary.cut_short:
        click.echo(cli_text("calls.cut_short", count=summary.cut_short))
    if summary.rejects_path:
        click.echo(cli_text("calls.rejected", rejected=summary.rejected, path=summary.rejects_path))
    if dry_run:
        click.echo(cli_text("calls.dry_run"))
    elif summary.recorded == 0 and summary.unchanged:
        click.echo(cli_text("calls.nothing_new"))
