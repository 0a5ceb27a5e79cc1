"""The async engine and sessions: one session (one transaction) per update."""

from __future__ import annotations

from functools import partial

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# What a database that is down or unreachable raises (the bot carries on and retries).
DATABASE_ERRORS = (OperationalError, DBAPIError, PoolTimeout, OSError)


def create_engine(
    database_url: str, *, sqlite_busy_ms: int = 30_000, **options: object
) -> AsyncEngine:
    """An engine for ``database_url`` with the settings each database needs.

    ``sqlite_busy_ms``: how long a SQLite statement waits for another process's write lock
    before it fails (the seller is then told the bot is briefly unavailable).

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
        event.listen(
            engine.sync_engine, "connect", partial(_sqlite_pragmas, busy_ms=sqlite_busy_ms)
        )
        return engine
    # A fixed set of connections, kept open: the pool closes an overflow connection as soon as
    # it is returned to a full pool, and under load that meant a new connection every few
    # dozen updates (PostgreSQL forks a process for each, and each prepares every statement
    # again): 149 connections opened for 6,600 updates in benchmarks/load_bench.py. Updates
    # beyond 20 at once wait for a connection (and are told the bot is busy after 30 s).
    options.setdefault("pool_size", 20)
    options.setdefault("max_overflow", 0)
    # No JIT compilation: it pays off on long analytic queries, not on a bot's, and the
    # customer book of a seller with 100,000 sales spent 50 ms of 400 compiling its plan.
    options.setdefault("connect_args", {"server_settings": {"jit": "off"}})
    engine = create_async_engine(database_url, **options)
    event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(dbapi_connection: object, _record: object, _proxy: object) -> None:
    """Hand out no pooled connection the server has closed (it restarted, or the network
    dropped): the pool then opens a fresh one, so the bot recovers with no restart.

    This replaces ``pool_pre_ping``, which costs three round trips per checkout with asyncpg
    (BEGIN, a query, ROLLBACK): asyncpg already knows, with no round trip, that the server
    closed the socket. A connection that died silently (no FIN, e.g. a half-open link) fails
    its first statement instead; that error invalidates the whole pool, so only one update
    is told to try again."""
    connection = getattr(dbapi_connection, "_connection", None)
    if connection is not None and connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def _sqlite_pragmas(dbapi_connection: object, _record: object, *, busy_ms: int) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
