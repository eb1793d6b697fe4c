"""The `huifang` command line: parses arguments, builds settings, calls the composition root.

Messages for staff are Chinese. Exit codes: 0 done, 1 done with problems to look at, 2 could not run
(bad file, unmigrated database, bad settings).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bot.cli_support import Fatal, container


def _expected_error(exc: BaseException) -> str | None:
    """The line to show for an error a command may meet through no bug of ours (a database or the Bot API that
    cannot be reached, a missing setting, Ctrl-C), or None for a real bug, which must surface as a traceback."""
    import aiohttp
    import httpx
    from sqlalchemy.exc import InterfaceError, OperationalError
    from telegram.error import InvalidToken, NetworkError

    from bot.app import MissingSetting
    from bot.cli_support import first_line

    if isinstance(exc, KeyboardInterrupt):
        return "已中断（Ctrl-C），命令没有完成"
    if isinstance(exc, MissingSetting):
        return str(exc)
    if isinstance(exc, OperationalError | InterfaceError):
        cause = first_line(exc.orig if exc.orig is not None else exc)
        return f"数据库操作失败（{cause}）：请检查数据库是否可以访问，稍后重试"
    if isinstance(exc, InvalidToken):
        return "Telegram 拒绝了机器人令牌（HUIFANG_TELEGRAM_TOKEN），请检查"
    if isinstance(exc, NetworkError):  # our transport's messages name no token or URL path
        return f"无法连接 Telegram Bot API（{first_line(exc)}）：请检查网络，或设置代理 HUIFANG_TELEGRAM_PROXY"
    if isinstance(exc, httpx.HTTPError | aiohttp.ClientError):  # their text may hold the URL, token and all
        return f"无法连接 Telegram Bot API（{type(exc).__name__}）：请检查网络，或设置代理 HUIFANG_TELEGRAM_PROXY"
    return None


class _Commands(click.Group):
    """The command group, with a last-resort handler: an expected error is one line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            line = _expected_error(exc)
            if line is None:
                raise
            raise Fatal(line) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database-url", envvar=None, help="覆盖 HUIFANG_DATABASE_URL")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """huifang（回访）：汽车4S店客户回访机器人。"""
    ctx.ensure_object(dict)
    ctx.obj["overrides"] = {"database_url": database_url} if database_url else {}


@main.group()
def db() -> None:
    """数据库：迁移与状态。"""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """把数据库迁移到最新版本（新库会自动建表）。"""
    from storage.schema import current_revision, head_revision, upgrade

    with container(ctx, need_schema=False, create_database=True) as app:
        before = current_revision(app.engine)
        upgrade(app.engine)
        if before == head_revision():
            click.echo(f"数据库已是最新版本（{before}）。")
        else:
            click.echo(f"数据库已迁移：{before or '空库'} → {head_revision()}")


@db.command("status")
@click.pass_context
def db_status(ctx: click.Context) -> None:
    """显示数据库当前版本。"""
    from storage.schema import current_revision, head_revision

    with container(ctx, need_schema=False) as app:
        current = current_revision(app.engine)
        click.echo(f"当前版本：{current or '未初始化'}；程序需要：{head_revision()}")
        if current != head_revision():
            sys.exit(1)


@main.group("import")
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


def _register_subcommands() -> None:
    from bot.calls_cli import calls
    from bot.chat_cli import link, links, run, staff
    from bot.demo_cli import demo
    from bot.jobs_cli import jobs_group
    from bot.report_cli import report
    from bot.scripts_cli import scripts

    for command in (scripts, run, link, links, staff, report, jobs_group, demo, calls):
        main.add_command(command)


_register_subcommands()
