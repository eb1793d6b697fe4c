"""Migrations: upgrade to head, and refuse to work on a database that is behind."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class SchemaNotReady(RuntimeError):
    """The database has not been migrated to the version this code needs."""


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs against ``engine`` (no alembic.ini needed at run time)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def head_revision() -> str:
    """The newest migration shipped with this code."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None if it was never migrated."""
    from storage.database import READ_ONLY

    # Read-only: checking the schema must not wait for (or take) SQLite's write lock.
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_current(engine: Engine) -> None:
    """Raise SchemaNotReady with a message saying what to run, unless the schema is at head."""
    current = current_revision(engine)
    if current == head_revision():
        return
    if current is None:
        raise SchemaNotReady("数据库尚未初始化，请先运行：huifang db upgrade")
    raise SchemaNotReady(f"数据库版本 {current} 落后于程序需要的 {head_revision()}，请先运行：huifang db upgrade")
