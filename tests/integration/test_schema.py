"""The schema: migrations are the only source, and the database enforces what it should."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.app import Container
from storage.models import Base, Customer, Store


def test_the_migrations_create_exactly_the_schema_the_models_describe(app: Container) -> None:
    with app.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)

    assert differences == [], "a model changed without a migration: run alembic revision --autogenerate"


def _store(app: Container) -> int:
    with app.uow() as uow:
        store_id = uow.stores.add("测试店", "Asia/Shanghai", app.clock.now())
        uow.commit()
        return store_id


def _customer(store_id: int, phone: str, now: datetime, **extra: object) -> Customer:
    values: dict[str, object] = {"name": "王", "status": "prospect", **extra}
    return Customer(store_id=store_id, phone=phone, created_at=now, updated_at=now, **values)


def test_foreign_keys_are_enforced_on_every_backend(app: Container) -> None:
    with app.uow() as uow:
        uow.session.add(_customer(store_id=999, phone="+8613800138000", now=app.clock.now()))
        with pytest.raises(IntegrityError):
            uow.session.flush()


def test_a_phone_number_is_unique_within_a_store(app: Container) -> None:
    store_id = _store(app)
    with app.uow() as uow:
        uow.session.add(_customer(store_id, "+8613800138000", app.clock.now()))
        uow.session.add(_customer(store_id, "+8613800138000", app.clock.now()))
        with pytest.raises(IntegrityError):
            uow.session.flush()


def test_a_status_outside_the_lifecycle_is_refused_by_the_database(app: Container) -> None:
    store_id = _store(app)
    with app.uow() as uow:
        uow.session.add(_customer(store_id, "+8613800138000", app.clock.now(), status="vip"))
        with pytest.raises(IntegrityError):
            uow.session.flush()


def test_timestamps_are_stored_in_utc_and_come_back_aware(app: Container) -> None:
    store_id = _store(app)
    shanghai_morning = datetime(2026, 11, 25, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    with app.uow() as uow:
        uow.session.add(_customer(store_id, "+8613800138000", shanghai_morning))
        uow.commit()
    with app.uow() as uow:
        created = uow.session.scalars(select(Customer.created_at)).one()
    assert created == datetime(2026, 11, 25, 1, 30, tzinfo=UTC)
    assert created.utcoffset() == timedelta(0)


def test_a_naive_timestamp_is_refused_rather_than_guessed(app: Container) -> None:
    with app.uow() as uow:
        uow.session.add(Store(name="店", timezone="Asia/Shanghai", created_at=datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive datetime"):
            uow.session.flush()


def test_sqlite_runs_in_wal_mode(app: Container) -> None:
    if app.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with app.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_unit_of_work_that_is_not_committed_leaves_nothing_behind(app: Container) -> None:
    with app.uow() as uow:
        uow.stores.add("临时店", "Asia/Shanghai", app.clock.now())
    with app.uow() as uow:
        assert uow.stores.id_by_name("临时店") is None


def test_the_schema_check_names_the_same_head_and_version_as_alembic(app: Container, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    from storage.database import make_engine
    from storage.schema import MIGRATIONS_DIR, current_revision, head_revision

    assert head_revision() == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    with app.engine.connect() as connection:
        assert current_revision(app.engine) == MigrationContext.configure(connection).get_current_revision()
    assert current_revision(app.engine) == head_revision()
    never_migrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert current_revision(never_migrated) is None
    never_migrated.dispose()


def test_a_migrated_database_has_planner_statistics_after_db_upgrade(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`huifang db upgrade` analyses, so a database upgraded over existing rows is planned on its real shape."""
    from click.testing import CliRunner

    from bot.cli import main
    from storage.database import make_engine
    from storage.schema import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0006_web_links")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO store (id, name, timezone, created_at) VALUES (1, 's', 'UTC', '2026-01-01 00:00:00')"
        )
    monkeypatch.setenv("HUIFANG_DATABASE_URL", url)
    monkeypatch.setenv("HUIFANG_CONFIG", str(tmp_path / "none.toml"))
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with engine.connect() as connection:
        analysed = connection.exec_driver_sql("SELECT tbl FROM sqlite_stat1").scalars().all()
    engine.dispose()
    assert "store" in analysed
