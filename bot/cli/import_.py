"""`huifang import customers` / `huifang import staff`: upsert a list from a .csv or .xlsx file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.support import Fatal, cli_text, container


@click.group("import")
def import_group() -> None:
    """导入客户名单或员工名单（.csv 或 .xlsx）。"""


class _ProgressBar:
    """A progress bar on stderr, drawn only for a person watching a terminal."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: Any = None
        self._done = 0

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        if self._bar is None:
            self._bar = click.progressbar(length=total, label=self._label, file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(max(done - self._done, 0))
        self._done = done

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


@import_group.command("customers")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--store", help="门店名称（默认取 HUIFANG_STORE_NAME）")
@click.option("--create-store", is_flag=True, help="门店不存在时新建（否则拒绝，以免打错店名建出第二家店）")
@click.option("--dry-run", is_flag=True, help="只检查并报告，不写入数据库")
@click.pass_context
def import_customers_command(
    ctx: click.Context, file: Path, store: str | None, create_store: bool, dry_run: bool
) -> None:
    """导入客户名单：按手机号（门店内）更新客户，按车架号更新车辆。"""
    from bot.services.importing import ImportFailed, import_customers

    with container(ctx) as app:
        bar = _ProgressBar(cli_text("import.progress"))
        try:
            options = app.import_options(store, dry_run, create_store)
            summary = import_customers(app.uow, file, options, app.clock, bar)
        except ImportFailed as exc:
            raise Fatal(str(exc)) from None
        finally:
            bar.finish()
    _report_rows(file, summary.total, summary)
    click.echo(cli_text("import.vehicles", created=summary.vehicles_created, updated=summary.vehicles_updated))
    if summary.new_staff:
        click.echo(cli_text("import.new_staff", names=summary.new_staff))
    _report_common(summary.unknown_columns, summary.rejects_path, summary.rejected)
    _report_outcome(summary.changed_nothing, summary.total - summary.rejected, dry_run)


@import_group.command("staff")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--store", help="门店名称（默认取 HUIFANG_STORE_NAME）")
@click.option("--create-store", is_flag=True, help="门店不存在时新建（否则拒绝，以免打错店名建出第二家店）")
@click.option("--dry-run", is_flag=True, help="只检查并报告，不写入数据库")
@click.pass_context
def import_staff_command(ctx: click.Context, file: Path, store: str | None, create_store: bool, dry_run: bool) -> None:
    """导入员工名单：姓名、岗位（销售顾问/服务顾问/客服专员/经理）、手机、在职。"""
    from bot.services.importing import ImportFailed, import_staff

    with container(ctx) as app:
        try:
            summary = import_staff(app.uow, file, app.import_options(store, dry_run, create_store), app.clock)
        except ImportFailed as exc:
            raise Fatal(str(exc)) from None
    total = summary.created + summary.updated + summary.unchanged + summary.rejected
    _report_rows(file, total, summary)
    _report_common(summary.unknown_columns, summary.rejects_path, summary.rejected)
    _report_outcome(summary.changed_nothing, total - summary.rejected, dry_run)


def _report_rows(file: Path, total: int, summary: Any) -> None:
    click.echo(cli_text("import.file", file=file))
    click.echo(
        cli_text(
            "import.rows",
            total=total,
            created=summary.created,
            updated=summary.updated,
            unchanged=summary.unchanged,
            rejected=summary.rejected,
        )
    )


def _report_common(unknown: tuple[str, ...], rejects_path: str | None, rejected: int) -> None:
    if unknown:
        click.echo(cli_text("import.unknown_columns", columns=unknown))
    if rejects_path:
        click.echo(cli_text("import.rejected", rejected=rejected, path=rejects_path))


def _report_outcome(changed_nothing: bool, accepted: int, dry_run: bool) -> None:
    if dry_run:
        click.echo(cli_text("import.dry_run"))
    elif changed_nothing and accepted:
        click.echo(cli_text("import.nothing_changed"))
