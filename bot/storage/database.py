"""The async engine and sessions: one session (one transaction) per update."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(database_url: str, **options: object) -> AsyncEngine:
    """An engine for ``database_url`` with the settings each database needs.

    SQL parameters are kept out of error messages: they hold what sellers typed, and
    database errors are logged.
    """
    options.setdefault("hide_parameters", True)
    if database_url.startswith("sqlite"):
        # SQLite has one writer at a time: one pooled connection serialises this process's
        # transactions instead of failing them with "database is locked".
        engine = create_async_engine(
            database_url, pool_size=1, max_overflow=0, pool_timeout=60, **options
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 10)
    return create_async_engine(database_url, pool_pre_ping=True, **options)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
