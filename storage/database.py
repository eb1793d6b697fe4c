"""Engine construction: one place that knows SQLite's pragmas and PostgreSQL's driver."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "huifang_read_only"
"""Execution option of a read-only unit of work: on SQLite its transactions begin deferred and may not write."""

DEFAULT_BUSY_TIMEOUT = 30.0


def normalise_url(url: str) -> str:
    """Let people write postgresql://… and still get psycopg 3 (the driver we ship)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT, **kwargs: Any) -> Engine:
    """Build an engine; on SQLite, enforce foreign keys and use WAL so readers never block the writer.

    SQLite has one writer. A write transaction begins with ``BEGIN IMMEDIATE``: it takes the write lock
    first, waiting up to ``busy_timeout`` seconds for another connection to release it. (A deferred
    ``BEGIN`` that reads and then writes fails at once, whatever the timeout, when another write lands in
    between.) A read-only one (the ``READ_ONLY`` execution option, see ``SqlUnitOfWork``) begins deferred,
    never waits for the writer, and is refused any write (``PRAGMA query_only``).
    """
    url = normalise_url(url)
    if url.startswith("sqlite"):
        # hide_parameters: a database error's message would otherwise print the values (answer texts,
        # names, phone numbers) into the log.
        engine = create_engine(url, connect_args={"timeout": busy_timeout}, hide_parameters=True, **kwargs)
        event.listen(engine, "connect", lambda dbapi, record: _sqlite_pragmas(dbapi, busy_timeout))
        # Let SQLAlchemy, not pysqlite, open transactions so BEGIN IMMEDIATE and savepoints work.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


ANALYSIS_LIMIT = 1000
"""Rows SQLite samples per index when it analyses (``PRAGMA analysis_limit``): a second, not minutes, at
millions of rows, and statistics good enough to tell a selective index from an unselective one."""


def analyse(connection: Connection) -> None:
    """Refresh the planner's statistics on every table (inside the caller's transaction; it commits).

    SQLite never gathers statistics by itself: without them its planner guesses from index shapes alone, and
    one bad guess cost the due selection minutes a pass. PostgreSQL's autovacuum analyses eventually, but
    not in time after a large import. Run after ``huifang db upgrade``, after a large import and
    periodically by ``huifang run`` (the ``refresh_statistics`` job).
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
    connection.exec_driver_sql("ANALYZE")


def _sqlite_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("PRAGMA query_only=1")
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("PRAGMA query_only=0")
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` says the SQLite database stayed locked by another connection for the busy timeout."""
    if isinstance(exc, OperationalError):
        exc = exc.orig  # type: ignore[assignment]
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _sqlite_pragmas(dbapi_connection: Any, busy_timeout: float) -> None:
    dbapi_connection.isolation_level = None  # autocommit at the driver; SQLAlchemy issues BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    if cursor.execute("PRAGMA database_list").fetchone()[2]:  # not for :memory:
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (services return them to handlers)."""
    return sessionmaker(engine, expire_on_commit=False)
