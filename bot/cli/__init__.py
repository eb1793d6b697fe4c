"""The `huifang` command line: parses arguments, builds settings, calls one service, prints.

One module per command group, registered at the bottom of this file: `db`, `import_` (import customers /
staff), `run` (`huifang run`: the bot, polling or webhook, start-up and crash recovery), `links` (link,
links export, staff invite), `calls`, `jobs`, `report`, `scripts`, `demo`; what they share is in `support`.
Command modules import only click, the standard library and `support` at the top, so `huifang --help` loads
no database, Telegram or settings code; each command imports what it needs when it runs. Commands never
commit: the service they call runs its own unit of work.

Messages for staff are Chinese. Exit codes: 0 done, 1 done with problems to look at, 2 could not run
(bad file, unmigrated database, bad settings).
"""

from __future__ import annotations

from typing import Any

import click

from bot.cli.support import Fatal


def _expected_error(exc: BaseException) -> str | None:
    """The line to show for an error a command may meet through no bug of ours (a database or the Bot API that
    cannot be reached, a missing setting, Ctrl-C), or None for a real bug, which must surface as a traceback."""
    import aiohttp
    import httpx
    from sqlalchemy.exc import InterfaceError, OperationalError
    from telegram.error import InvalidToken, NetworkError

    from bot.app import MissingSetting
    from bot.cli.support import first_line
    from bot.domain.contact_plan import PlanError
    from bot.domain.questionnaire import QuestionnaireError

    if isinstance(exc, KeyboardInterrupt):
        return "已中断（Ctrl-C），命令没有完成"
    if isinstance(exc, MissingSetting):
        return str(exc)
    if isinstance(exc, PlanError):  # scripts_zh/contact_plans.yaml, read when surveys are first needed
        return f"联系计划有误：{exc}（请修改后运行 huifang scripts check 检查）"
    if isinstance(exc, QuestionnaireError):
        first = exc.issues[0] if exc.issues else exc
        return f"问卷文件有误（{len(exc.issues)} 处，第一处：{first}）：请运行 huifang scripts check 查看并修改"
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


def _register_subcommands() -> None:
    from bot.cli.calls import calls
    from bot.cli.db import db
    from bot.cli.demo import demo
    from bot.cli.erase import erase
    from bot.cli.import_ import import_group
    from bot.cli.jobs import jobs_group
    from bot.cli.links import link, links, staff
    from bot.cli.report import report
    from bot.cli.run import run
    from bot.cli.scripts import scripts

    for command in (db, import_group, scripts, run, link, links, staff, report, jobs_group, demo, calls, erase):
        main.add_command(command)


_register_subcommands()
