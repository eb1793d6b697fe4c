"""What every `huifang` subcommand shares: the exit-2 error and building the product from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from bot.app import Container, build
from bot.settings import Settings


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
    finally:
        built.close()
