"""What every `huifang` subcommand shares: the exit-2 error and building the product from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from bot.app import Container, build
from bot.settings import Settings
from storage.database import is_busy


class Fatal(click.ClickException):
    """One clear line on stderr and exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"错误：{self.message}", err=True)


@contextmanager
def container(ctx: click.Context, need_schema: bool = True) -> Iterator[Container]:
    """Build the product from settings for one command; refuse an unmigrated database."""
    from pydantic import ValidationError

    from storage.schema import SchemaNotReady

    try:
        settings = Settings(**ctx.obj.get("overrides", {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Fatal(f"配置有误：{'.'.join(str(p) for p in first['loc'])}：{first['msg']}") from None
    built = build(settings)
    try:
        if need_schema:
            try:
                built.require_schema()
            except SchemaNotReady as exc:
                raise Fatal(str(exc)) from None
        yield built
    except Exception as exc:
        if is_busy(exc):  # another process kept SQLite's write lock for longer than the busy timeout
            seconds = f"{settings.sqlite_busy_timeout:g}"
            raise Fatal(
                f"数据库正忙（另一个进程占用写入锁超过 {seconds} 秒），请稍后重试"
                "（等待秒数可用 HUIFANG_SQLITE_BUSY_TIMEOUT 调整）"
            ) from None
        raise
    finally:
        built.close()
