"""`huifang import customers` / `huifang import staff`: upsert a list from a .csv or .xlsx file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.support import Fatal, container


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
        bar = _ProgressBar("导入中")
        try:
            options = app.import_options(store, dry_run, create_store)
            summary = import_customers(app.uow, file, options, app.clock, bar)
        except ImportFailed as exc:
            raise Fatal(str(exc)) from None
        finally:
            bar.finish()
    click.echo(f"文件：{file}")
    click.echo(
        f"共 {summary.total} 行：新建 {summary.created}，更新 {summary.updated}，"
        f"未变 {summary.unchanged}，拒绝 {summary.rejected}"
    )
    click.echo(f"车辆：新建 {summary.vehicles_created}，更新 {summary.vehicles_updated}")
    if summary.new_staff:
        click.echo(f"表中出现、系统中没有的销售顾问，已新建：{'、'.join(summary.new_staff)}")
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
    click.echo(f"文件：{file}")
    click.echo(
        f"共 {total} 行：新建 {summary.created}，更新 {summary.updated}，"
        f"未变 {summary.unchanged}，拒绝 {summary.rejected}"
    )
    _report_common(summary.unknown_columns, summary.rejects_path, summary.rejected)
    _report_outcome(summary.changed_nothing, total - summary.rejected, dry_run)


def _report_common(unknown: tuple[str, ...], rejects_path: str | None, rejected: int) -> None:
    if unknown:
        click.echo(f"未识别的列（已忽略）：{'、'.join(unknown)}")
    if rejects_path:
        click.echo(f"{rejected} 行被拒绝，原因见：{rejects_path}")


def _report_outcome(changed_nothing: bool, accepted: int, dry_run: bool) -> None:
    if dry_run:
        click.echo("试运行：以上为将要发生的变化，数据库未做任何更改。")
    elif changed_nothing and accepted:
        click.echo("文件内容与数据库一致，本次未做任何更改。")
