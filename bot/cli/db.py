"""`huifang db upgrade` / `huifang db status`: the database's schema version."""

from __future__ import annotations

import sys

import click

from bot.cli.support import cli_text, container


@click.group()
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
        with app.uow() as uow:  # a new index is only chosen well once the planner has statistics
            uow.refresh_statistics()
        if before == head_revision():
            click.echo(cli_text("db.current", revision=before))
        else:
            click.echo(cli_text("db.migrated", before=before or cli_text("db.empty"), after=head_revision()))


@db.command("status")
@click.pass_context
def db_status(ctx: click.Context) -> None:
    """显示数据库当前版本。"""
    from storage.schema import current_revision, head_revision

    with container(ctx, need_schema=False) as app:
        current = current_revision(app.engine)
        click.echo(cli_text("db.status", current=current or cli_text("db.not_initialised"), head=head_revision()))
        if current != head_revision():
            sys.exit(1)
