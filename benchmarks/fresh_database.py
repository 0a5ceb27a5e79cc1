"""A PostgreSQL database of a benchmark's own, made by the project's migrations."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from sqlalchemy import make_url

from bot.storage.migrate import upgrade_database


@dataclass(frozen=True)
class FreshDatabase:
    url: str  # for the bot (SQLAlchemy, asyncpg driver)
    raw_url: str  # for asyncpg itself
    server_version: int


@asynccontextmanager
async def fresh_database(admin_url: str, prefix: str) -> AsyncIterator[FreshDatabase]:
    """A new database on the server of ``admin_url``, upgraded to the head revision by
    Alembic, dropped when the block ends (however it ends)."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(upgrade_database, url)
        raw_url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        yield FreshDatabase(url, raw_url, admin.get_server_version().major)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
