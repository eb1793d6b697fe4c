"""`huifang link`, `huifang links export`, `huifang staff invite`: deep links that bind a Telegram account."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.support import Fatal, cli_text, container, telegram_token

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
        raise Fatal(cli_text("errors.bot_username_unknown")) from None
    if not reply.get("ok"):
        raise Fatal(cli_text("errors.token_rejected"))
    return str(reply["result"]["username"])


def _issuer(app: Container) -> LinkIssuer:
    from bot.app import MissingSetting

    try:
        return app.link_issuer(_bot_username(app))
    except MissingSetting as exc:
        raise Fatal(str(exc)) from None


@click.command("link")
@click.argument("customer")
@click.option("--web", is_flag=True, help="打印回访网页链接（用于短信），而不是 Telegram 绑定链接")
@click.option(
    "--qr",
    "qr_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="同时把网页链接写成二维码（.png 或 .svg，供服务台打印）",
)
@click.pass_context
def link(ctx: click.Context, customer: str, web: bool, qr_file: Path | None) -> None:
    """打印某位客户的绑定链接（CUSTOMER 为手机号或客户编号）。"""
    from bot.services.links import UnknownCustomer, link_for_customer

    if qr_file is not None and not web:
        raise Fatal("--qr 只用于网页链接，请同时加上 --web")
    with container(ctx) as app:
        if web:
            url = _web_link(app, customer, qr_file)
        else:
            issuer = _issuer(app)
            try:
                url = link_for_customer(app.uow, issuer, customer, app.settings.default_region_code, app.clock)
            except UnknownCustomer as exc:
                raise Fatal(str(exc)) from None
    click.echo(url)


def _public_url(app: Container) -> str:
    if not app.settings.public_url:
        raise Fatal("未设置 HUIFANG_PUBLIC_URL（回访网页的公网地址，例如 https://hf.example.com）")
    return app.settings.public_url


def _web_link(app: Container, customer: str, qr_file: Path | None) -> str:
    from bot.qr import QR_SUFFIXES, write_qr
    from bot.services.links import UnknownCustomer
    from bot.services.web_links import NoSurveyWaiting, web_link_for_customer

    if qr_file is not None and qr_file.suffix.lower() not in QR_SUFFIXES:
        raise Fatal(f"二维码文件须以 .png 或 .svg 结尾：{qr_file}")
    settings = app.settings
    try:
        url, _ = web_link_for_customer(
            app.uow, customer, settings.default_region_code, _public_url(app), settings.web_link_valid_days,
            app.clock.now(),
        )  # fmt: skip
    except (UnknownCustomer, NoSurveyWaiting) as exc:
        raise Fatal(str(exc)) from None
    if qr_file is not None:
        try:
            write_qr(url, qr_file)
        except OSError as exc:
            raise Fatal(f"无法写入二维码文件 {qr_file}（{exc.strerror or exc}）") from None
        click.echo(f"二维码已写入：{qr_file}", err=True)
    return url


@click.group("links")
def links() -> None:
    """批量导出绑定链接（用于短信）。"""


@links.command("export")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--web", "web_only", is_flag=True, help="只导出回访网页链接（不需要 Telegram 机器人）")
@click.option(
    "--qr-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="把每个网页链接写成二维码图片放到这个目录（文件名为客户编号）",
)
@click.pass_context
def links_export(ctx: click.Context, file: Path, web_only: bool, qr_dir: Path | None) -> None:
    """把待回访且尚未绑定聊天的客户及其链接写入 FILE（.csv 或 .xlsx）；设置了 HUIFANG_PUBLIC_URL 时含网页链接列。"""
    from bot.services.links import WebLinkOptions, export_links

    with container(ctx) as app:
        settings = app.settings
        if (web_only or qr_dir is not None) and not settings.public_url:
            _public_url(app)
        web = WebLinkOptions(settings.public_url, settings.web_link_valid_days) if settings.public_url else None
        issuer = None if web_only else _issuer(app)
        count = export_links(app.uow, issuer, file, app.clock, web=web, qr_dir=qr_dir)
    click.echo(cli_text("links.exported", count=count, file=file))


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
    from bot.services.importing import UnknownStore
    from bot.services.staff_desk import StoreChoice, invite_staff

    found_role = ROLE_BY_LABEL.get(role)
    if found_role is None:
        raise Fatal(cli_text("errors.unknown_role", role=role))
    with container(ctx) as app:
        settings = app.settings
        chosen = StoreChoice(store or settings.store_name, settings.timezone, create_store, settings.store_name)
        try:
            url, created = invite_staff(app.uow, _issuer(app), chosen, name, found_role, app.clock)
        except UnknownStore as exc:
            raise Fatal(str(exc)) from None
    if created:
        click.echo(cli_text("links.staff_created", name=name, role=found_role.label))
    click.echo(url)
