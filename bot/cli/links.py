"""`huifang link`, `huifang links export`, `huifang staff invite`: deep links that bind a Telegram account."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.support import Fatal, container, telegram_token

if TYPE_CHECKING:
    from bot.app import Container
    from bot.services.links import LinkIssuer


def _bot_username(app: Container) -> str:
    """The bot's @username for t.me links: from settings, or asked of the Bot API once."""
    if app.settings.telegram_bot_username:
        return app.settings.telegram_bot_username.lstrip("@")
    import httpx

    token = telegram_token(app)
    try:
        reply = httpx.get(f"{app.settings.telegram_api_url}{token}/getMe", timeout=10).json()
    except (httpx.HTTPError, ValueError):
        raise Fatal("无法连接 Telegram 获取机器人用户名；请设置 HUIFANG_TELEGRAM_BOT_USERNAME") from None
    if not reply.get("ok"):
        raise Fatal("Telegram 拒绝了机器人令牌（HUIFANG_TELEGRAM_TOKEN），请检查")
    return str(reply["result"]["username"])


def _issuer(app: Container) -> LinkIssuer:
    from bot.app import MissingSetting

    try:
        return app.link_issuer(_bot_username(app))
    except MissingSetting as exc:
        raise Fatal(str(exc)) from None


@click.command("link")
@click.argument("customer")
@click.pass_context
def link(ctx: click.Context, customer: str) -> None:
    """打印某位客户的绑定链接（CUSTOMER 为手机号或客户编号）。"""
    from bot.domain.links import LinkSubject
    from bot.domain.phone import InvalidPhone, normalise
    from bot.services.links import issue_link

    with container(ctx) as app:
        issuer = _issuer(app)
        with app.uow() as uow:
            found = uow.people.get(int(customer)) if customer.isdigit() and len(customer) < 9 else None
            if found is None:
                try:
                    matches = uow.people.by_phone(normalise(customer, app.settings.default_region_code))
                except InvalidPhone:
                    matches = []
                found = matches[0] if len(matches) == 1 else None
            if found is None:
                raise Fatal(f"找不到客户：{customer}（请输入手机号或客户编号）")
            url = issue_link(uow, issuer, LinkSubject.CUSTOMER, found.id, app.clock)
            uow.commit()
    click.echo(url)


@click.group("links")
def links() -> None:
    """批量导出绑定链接（用于短信）。"""


@links.command("export")
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_context
def links_export(ctx: click.Context, file: Path) -> None:
    """把待回访且尚未绑定聊天的客户及其链接写入 FILE（.csv 或 .xlsx）。"""
    from bot.services.links import export_links

    with container(ctx) as app:
        issuer = _issuer(app)
        with app.uow() as uow:
            count = export_links(uow, issuer, file, app.clock)
            uow.commit()
    click.echo(f"已导出 {count} 位客户的链接：{file}")


@click.group("staff")
def staff() -> None:
    """员工：邀请绑定 Telegram。"""


@staff.command("invite")
@click.option("--name", required=True, help="员工姓名")
@click.option("--role", required=True, help="销售顾问 / 服务顾问 / 客服专员 / 经理")
@click.option("--store", help="门店名称（默认取 HUIFANG_STORE_NAME）")
@click.option("--create-store", is_flag=True, help="门店不存在时新建（否则拒绝，以免打错店名建出第二家店）")
@click.pass_context
def staff_invite(ctx: click.Context, name: str, role: str, store: str | None, create_store: bool) -> None:
    """打印一次性链接，员工用它把自己的 Telegram 账号绑定到系统。"""
    from bot.domain.people import ROLE_BY_LABEL
    from bot.services.importing import UnknownStore, resolve_store
    from bot.services.staff_desk import invite_staff

    found_role = ROLE_BY_LABEL.get(role)
    if found_role is None:
        raise Fatal(f"未知岗位“{role}”：应为 销售顾问/服务顾问/客服专员/经理")
    with container(ctx) as app:
        issuer = _issuer(app)
        with app.uow() as uow:
            settings = app.settings
            try:
                store_id = resolve_store(
                    uow, store or settings.store_name, settings.timezone, create_store, app.clock, settings.store_name
                )
            except UnknownStore as exc:
                raise Fatal(str(exc)) from None
            url, created = invite_staff(uow, issuer, store_id, name, found_role, app.clock)
            uow.commit()
    if created:
        click.echo(f"已新建员工：{name}（{found_role.label}）")
    click.echo(url)
