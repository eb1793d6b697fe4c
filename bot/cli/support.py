"""What every `huifang` subcommand shares: the exit-2 error, building the product from settings, the bot token.

Imports only click at the top (the composition root, settings and SQLAlchemy are imported when a command
runs), so that `huifang --help` stays quick.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from bot.app import Container
    from bot.settings import Settings


def cli_text(path: str, /, **context: Any) -> str:
    """A text of ``scripts_zh/cli/labels.yaml`` (``bot.texts.cli_text``), its reader imported on first use."""
    from bot.texts import cli_text as text

    return text(path, **context)


class Fatal(click.ClickException):
    """One clear line on stderr and exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"{cli_text('error_prefix')}{self.message}", err=True)


def first_line(error: BaseException) -> str:
    """The first line of an error's text (a driver's message can run to several lines)."""
    text = str(error).strip()
    return text.splitlines()[0].strip() if text else type(error).__name__


def load_settings(overrides: dict[str, Any]) -> Settings:
    """Settings from the environment and huifang.toml, or Fatal naming the setting that is wrong."""
    import tomllib

    from pydantic import ValidationError

    from bot.settings import Settings

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        name = f"HUIFANG_{field.upper()}" if field else cli_text("errors.settings_field")
        message = str(first["msg"]).removeprefix("Value error, ")
        raise Fatal(cli_text("errors.settings", name=name, message=message)) from None
    except tomllib.TOMLDecodeError as exc:
        example = 'timezone = "Asia/Shanghai"'
        raise Fatal(cli_text("errors.config_file", path=_config_path(), cause=exc, example=example)) from None


def _config_path() -> str:
    import os

    return os.environ.get("HUIFANG_CONFIG", "huifang.toml")


def _sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (None for other databases and in-memory SQLite)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or parsed.query.get("mode") == "memory":
        return None
    return Path(database)


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def open_database(settings: Settings, create: bool = False) -> Container:
    """Build the product and make sure its database can be reached, or Fatal with what to do.

    A SQLite file that does not exist is created only when ``create`` is true (``db upgrade``): any other
    command refuses, leaving nothing behind, instead of creating an empty database it would then refuse.
    """
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    from bot.app import build

    url = settings.database_url
    try:
        path = _sqlite_file(url)
    except ArgumentError:
        raise Fatal(cli_text("errors.database_url_format")) from None
    if path is not None and not path.parent.is_dir():
        raise Fatal(cli_text("errors.database_dir_missing", directory=path.parent))
    if path is not None and not create and not path.exists():
        raise Fatal(cli_text("errors.database_file_missing", path=path))
    try:
        built = build(settings)
    except (ArgumentError, NoSuchModuleError, ImportError):
        raise Fatal(cli_text("errors.database_url_unusable", url=_shown(url))) from None
    try:
        with built.engine.connect():
            pass
    except DBAPIError as exc:
        built.close()
        cause = first_line(exc.orig if exc.orig is not None else exc)
        raise Fatal(cli_text("errors.database_unreachable", url=_shown(url), cause=cause)) from None
    return built


@contextmanager
def container(ctx: click.Context, need_schema: bool = True, create_database: bool = False) -> Iterator[Container]:
    """Build the product from settings for one command; refuse an unmigrated or unreachable database."""
    from storage.database import is_busy
    from storage.schema import SchemaNotReady

    settings = load_settings(ctx.obj.get("overrides", {}))
    built = open_database(settings, create=create_database)
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
            raise Fatal(cli_text("errors.database_busy", seconds=seconds)) from None
        raise
    finally:
        built.close()


def telegram_token(app: Container) -> str:
    """The bot's token from settings, or Fatal naming the setting."""
    token = app.settings.telegram_token
    if token is None or not token.get_secret_value().strip():
        raise Fatal(cli_text("errors.token_missing"))
    return token.get_secret_value().strip()
