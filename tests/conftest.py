"""Shared fixtures. Test modules read like specifications; the wiring lives here."""

from __future__ import annotations

import sys
from pathlib import Path

# Lets test modules import the shared personas and support helpers as `tests.…`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Database fixtures (SQLite and PostgreSQL, migrated by Alembic) for storage and migration tests.
pytest_plugins = ["tests.db_fixtures"]

import asyncio  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

from bot.storage.database import create_engine, session_factory  # noqa: E402
from bot.storage.migrate import upgrade_database  # noqa: E402
from tests.support.fake_bot_api import FakeBotApi  # noqa: E402
from tests.support.stored import CheckedStore  # noqa: E402


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    """The local server that speaks the Bot API over HTTP, fresh for each test."""
    # Imported here, not at the top: the storage tests run without the bot's modules.
    from tests.support.harness import TOKEN
    with FakeBotApi(token=TOKEN) as running:
        yield running


@pytest.fixture
async def chat_store(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    await asyncio.to_thread(upgrade_database, url)
    engine = create_engine(url)
    yield CheckedStore(session_factory(engine))
    await engine.dispose()


@pytest.fixture
async def harness(api, chat_store):
    from tests.support.harness import ChatHarness

    async with ChatHarness(api, chat_store) as running:
        yield running
