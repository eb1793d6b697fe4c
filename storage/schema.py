"""Migrations: upgrade to head, and refuse to work on a database that is behind.

Checking that the schema is current runs before every command; it reads the migration files' revision lines
and the ``alembic_version`` table itself, so a command that does not migrate never loads Alembic (and Mako and
Pygments with it: a third of a short command's start-up). Upgrading uses Alembic.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class SchemaNotReady(RuntimeError):
    """The database has not been migrated to the version this code needs."""


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs against ``engine`` (no alembic.ini needed at run time)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


_REVISION_LINE = re.compile(r'^(revision|down_revision)\s*(?::[^=]*)?=\s*["\']([^"\']+)["\']', re.MULTILINE)


def head_revision() -> str:
    """The newest migration shipped with this code: the one revision no other migration revises.

    Read from the files' ``revision = "…"`` / ``down_revision = "…"`` lines; anything else (a merge of two
    branches, several heads) is left to Alembic.
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            (revisions if name == "revision" else revised).add(value)
    heads = revisions - revised
    if len(heads) == 1:
        return heads.pop()
    return _alembic_head()


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None if it was never migrated."""
    from storage.database import READ_ONLY

    # Read-only: checking the schema must not wait for (or take) SQLite's write lock.
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) > 1:  # several heads: a state only Alembic can describe
        raise SchemaNotReady(f"数据库有多个版本（{', '.join(sorted(versions))}），请先运行：huifang db upgrade")
    return versions[0] if versions else None


def ensure_current(engine: Engine) -> None:
    """Raise SchemaNotReady with a message saying what to run, unless the schema is at head."""
    current = current_revision(engine)
    if current == head_revision():
        return
    if current is None:
        raise SchemaNotReady("数据库尚未初始化，请先运行：huifang db upgrade")
    raise SchemaNotReady(f"数据库版本 {current} 落后于程序需要的 {head_revision()}，请先运行：huifang db upgrade")
