"""Shared fixtures: a real, migrated database per test (SQLite by default, PostgreSQL when asked).

Set ``HUIFANG_TEST_DATABASE_URL`` to a PostgreSQL URL to run the suite there: a scratch database is
created beside it for this run, migrated with Alembic, emptied after every test and dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.app import Container, build
from bot.domain.clock import FixedClock
from bot.settings import Settings
from storage.database import make_engine, normalise_url
from storage.models import Base
from storage.schema import upgrade

PG_URL = os.environ.get("HUIFANG_TEST_DATABASE_URL")


def pytest_report_header(config: pytest.Config) -> str:
    return f"huifang test database: {'PostgreSQL' if PG_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def _migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head once per run: a template SQLite file, or a scratch PostgreSQL db."""
    if not PG_URL:
        template = tmp_path_factory.mktemp("template") / "template.db"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        raw = engine.raw_connection()  # outside any transaction: a checkpoint cannot run inside one
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        raw.close()
        engine.dispose()
        yield str(template)
        return
    admin_url = make_url(normalise_url(PG_URL))
    name = f"huifang_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def database_url(_migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database for one test."""
    if not PG_URL:
        target = tmp_path / "huifang.db"
        shutil.copyfile(_migrated_database, target)
        yield f"sqlite:///{target}"
        return
    yield _migrated_database
    engine = make_engine(_migrated_database)
    tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    """Wednesday 2026-11-25 10:00 in Shanghai."""
    return FixedClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, store_name="惠州江铃4S店")


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> Iterator[Container]:
    """The product wired to the test database and the fixed clock."""
    container = build(settings, clock=clock)
    yield container
    container.close()


ONCE = pytest.mark.skipif(bool(PG_URL), reason="does not depend on the database under test: runs in the SQLite run")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, leave out what would only repeat the SQLite run: the domain's unit tests (no database) and
    the tests marked ``once`` (the demo has its own SQLite file; a real browser and the voice robot's spoken
    paths exercise the page and the speech reader, while the database side of both runs on PostgreSQL in
    test_web_survey.py and test_voice_calls.py's other tests)."""
    if not PG_URL:
        return
    for item in items:
        if "/tests/unit/" in str(item.path) or item.get_closest_marker("once"):
            item.add_marker(ONCE)
