"""Alembic environment for Seller Coach: the async template, for SQLite and PostgreSQL.

The database URL comes from ``config.attributes["database_url"]`` (set by
``bot.storage.migrate``) or else from the bot's settings (DATABASE_URL or .env); there is
none in alembic.ini. pytest-alembic hands its engine in as ``config.attributes["connection"]``.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.config import Settings, normalise_database_url
from bot.storage.models import Base

config = context.config

# Logging from alembic.ini only when run as `alembic ...`: code calling the commands
# (coach db upgrade, the tests) builds its Config without a file and keeps its own logging.
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    url = config.attributes.get("database_url") or Settings.from_env().database_url
    return normalise_database_url(url)


def configure_options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        "compare_type": True,
        # SQLite can barely ALTER a table: batch mode copies it instead ("move and copy").
        "render_as_batch": dialect_name == "sqlite",
    }


def run_migrations_offline() -> None:
    """Write the SQL to stdout (alembic upgrade --sql) instead of running it."""
    url = database_url()
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **configure_options("sqlite" if url.startswith("sqlite") else "postgresql"),
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, **configure_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations(engine: AsyncEngine) -> None:
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        # Each migration command runs in its own event loop: drop connections tied to it.
        await engine.dispose()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        # A plain engine, not bot.storage.database.create_engine: no SQLite
        # foreign_keys pragma here, or batch mode's DROP TABLE would cascade.
        connectable = create_async_engine(database_url(), poolclass=pool.NullPool)
    if isinstance(connectable, AsyncEngine):
        asyncio.run(run_async_migrations(connectable))
    elif isinstance(connectable, Engine):
        with connectable.connect() as connection:
            do_run_migrations(connection)
    else:  # a sync Connection, e.g. from AsyncConnection.run_sync inside a running loop
        do_run_migrations(connectable)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
