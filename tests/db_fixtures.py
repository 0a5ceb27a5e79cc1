"""Database fixtures: storage and migration tests run on SQLite and on PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (override with TEST_POSTGRES_ADMIN_URL, a
libpq URL of a database to connect to). Each test session gets its own empty database,
``seller_coach_test_<random>``, dropped at the end; when the server cannot be reached the
PostgreSQL tests are skipped and the reason is printed at the end of the run.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy import make_url, pool, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.storage.database import create_engine, session_factory
from bot.storage.migrate import alembic_config as make_alembic_config
from bot.storage.migrate import upgrade_database
from bot.storage.models import Base
from bot.storage.repository import Store
from tests.support.stored import CheckedStore

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
_postgres_skipped: list[str] = []
T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from sync code, in a thread of its own: asyncio.run here
    would replace (and then clear) the main thread's event loop, which pytest-asyncio owns."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of a fresh database on the PostgreSQL server, for this test session."""
    name = f"seller_coach_test_{secrets.token_hex(4)}"
    admin = make_url(POSTGRES_ADMIN_URL)
    try:
        _run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL at {admin.host}:{admin.port or 5432} unreachable: {exc!r}"
        _postgres_skipped.append(reason)
        pytest.skip(reason)
    try:
        yield str(
            admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(
                hide_password=False
            )
        )
    finally:
        _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _postgres_skipped:
        terminalreporter.write_line(
            f"PostgreSQL tests skipped: {_postgres_skipped[0]}", yellow=True
        )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A database, as the bot's async URL. Its content is whatever earlier tests left on
    PostgreSQL: ask for ``empty_database_url`` or ``engine`` for a known state."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'coach.db'}"
    return request.getfixturevalue("postgres_database")


async def _drop_everything(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
            else:
                # (foreign keys are off: this engine does not set the bot's pragma)
                query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                names = (await connection.execute(text(query))).scalars()
                for name in list(names):
                    await connection.execute(text(f'DROP TABLE "{name}"'))
    finally:
        await engine.dispose()


@pytest.fixture
def empty_database_url(database_url: str) -> str:
    """A database with no tables at all (not even alembic_version). Sync: it runs its own loop."""
    _run(_drop_everything(database_url))
    return database_url


@pytest.fixture
def upgraded_postgres_url(postgres_database: str) -> str:
    """The PostgreSQL database emptied, then migrated by `coach db upgrade` in a process of
    its own, as an operator does before starting bot processes."""
    _run(_drop_everything(postgres_database))
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        env={**os.environ, "DATABASE_URL": postgres_database},
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
        capture_output=True,
    )
    return postgres_database


async def _delete_all_rows(engine: AsyncEngine) -> None:
    tables = [table.name for table in Base.metadata.sorted_tables]
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                await connection.execute(text(f"DELETE FROM {name}"))


async def migrated_engine(url: str) -> AsyncEngine:
    """The bot's engine on a database migrated to head by Alembic, with no rows."""
    # upgrade_database runs its own event loop, so not on this test's loop.
    await asyncio.to_thread(upgrade_database, url)
    engine = create_engine(url)
    await _delete_all_rows(engine)
    return engine


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await migrated_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def store(engine: AsyncEngine) -> Store:
    return CheckedStore(session_factory(engine))


@pytest.fixture
async def postgres_store(postgres_database: str) -> AsyncIterator[Store]:
    """A store on PostgreSQL only, for what SQLite cannot show (row locks, concurrency)."""
    engine = await migrated_engine(postgres_database)
    yield CheckedStore(session_factory(engine))
    await engine.dispose()


# --- pytest-alembic ----------------------------------------------------------------------
@pytest.fixture
def alembic_config():
    return make_alembic_config()


@pytest.fixture
def alembic_engine(empty_database_url: str) -> Iterator[AsyncEngine]:
    """pytest-alembic runs each command in its own event loop: no pooled connections."""
    engine = create_async_engine(empty_database_url, poolclass=pool.NullPool)
    yield engine
    _run(engine.dispose())
