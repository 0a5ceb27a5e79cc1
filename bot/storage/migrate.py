"""The schema's migrations (Alembic), driven from code: ``coach db upgrade|current`` and the
check ``coach run`` makes before it starts."""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import make_url, pool
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.config import normalise_database_url

# The scripts are part of the package (bot/migrations, shipped in the wheel as package
# data), so an installed `coach` finds them wherever it runs; alembic.ini at the
# repository root points at the same folder for the plain `alembic` command.
MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic config for ``database_url``, built in code (alembic.ini is not read)."""
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise RuntimeError(
            f"the database migrations are not at {MIGRATIONS_DIR}: "
            "reinstall Seller Coach (pip install seller-coach, or pip install . from its source)"
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if database_url is not None:
        # An attribute, not sqlalchemy.url: the ini parser would choke on a '%' in a password.
        config.attributes["database_url"] = normalise_database_url(database_url)
    return config


def upgrade_database(database_url: str, revision: str = "head") -> str:
    """Migrate the database to ``revision`` and say what was done (see describe_upgrade).
    Synchronous: it runs its own event loop, so call it from sync code (the CLI), or through
    ``asyncio.to_thread`` from async code."""
    _check_sqlite_folder(database_url)
    before = current_revision(database_url)
    command.upgrade(alembic_config(database_url), revision)
    return describe_upgrade(before, current_revision(database_url))


def _check_sqlite_folder(database_url: str) -> None:
    """A SQLite file whose folder does not exist cannot be made: say so before opening it.

    Opening it would fail too, but aiosqlite then leaves its worker thread to close the
    connection after the event loop has gone, and that thread prints a traceback."""
    url = make_url(normalise_database_url(database_url))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    folder = Path(url.database).parent
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {str(folder)!r}")


def describe_upgrade(before: str | None, after: str | None) -> str:
    """What an upgrade did, from the revisions before and after it."""
    if before == after:
        return f"the database schema is already up to date (revision {after})"
    if before is None:
        return f"created the database schema at revision {after}"
    return f"upgraded the database schema from revision {before} to {after}"


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS_DIR}")
    return head


async def database_revision(engine: AsyncEngine) -> str | None:
    """The revision recorded in the database (None for a database never migrated)."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


def current_revision(database_url: str) -> str | None:
    url = normalise_database_url(database_url)
    database = make_url(url).database
    if (
        url.startswith("sqlite")
        and database
        and database != ":memory:"
        and not Path(database).exists()
    ):
        return None  # do not create an empty file just by looking

    async def read() -> str | None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        try:
            return await database_revision(engine)
        finally:
            await engine.dispose()

    return asyncio.run(read())


async def schema_is_current(engine: AsyncEngine) -> bool:
    """Whether the database is at the newest migration (``coach run`` refuses to start if not)."""
    return await database_revision(engine) == head_revision()
