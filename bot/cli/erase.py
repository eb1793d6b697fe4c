"""`huifang erase CUSTOMER`: remove a customer's personal data everywhere (PIPL), keeping the anonymised tallies."""

from __future__ import annotations

import click

from bot.cli.support import Fatal, container


@click.command("erase")
@click.argument("customer")
@click.option("--yes", is_flag=True, help="不再确认（用于脚本）")
@click.pass_context
def erase(ctx: click.Context, customer: str, yes: bool) -> None:
    """永久删除某位客户的个人信息（CUSTOMER 为手机号或客户编号），匿名保留已编码的回答。"""
    from bot.domain.phone import mask
    from bot.rendering import render_string
    from bot.services.consent import labels
    from bot.services.erasure import CustomerNotFound, erase, find_customer

    text = labels()
    with container(ctx) as app:
        region = app.settings.default_region_code
        try:
            with app.read_uow() as uow:
                found = find_customer(uow, customer, region)
                who = {"id": found.id, "phone": mask(found.phone)}
        except CustomerNotFound:
            raise Fatal(render_string(text["not_found"], {"ref": customer})) from None
        if not yes and not click.confirm(render_string(text["confirm"], who), default=False):
            click.echo(text["cancelled"])
            return
        done = erase(app.uow, str(who["id"]), region, app.clock, text["placeholder_name"])
        when = f"{done.erased_at.astimezone(app.settings.tz):%Y-%m-%d %H:%M}"
        rows = text["separator"].join(f"{table} {n}" for table, n in sorted(done.rows.items()))
    click.echo(render_string(text["done"], {"id": done.customer_id, "rows": rows, "when": when}))
