"""The Alembic history builds exactly the schema the models describe, on SQLite and PostgreSQL.

pytest-alembic's built-in tests run against ``alembic_engine`` (tests/db_fixtures.py): an
empty database of each kind, handed to migrations/env.py as an async engine.
"""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from pytest_alembic.tests import (  # noqa: F401  (collected as tests of this module)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import inspect, pool, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.cli import main
from bot.storage.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    schema_is_current,
    upgrade_database,
)


def test_the_history_is_one_numbered_line_from_0001_to_the_head() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    line = [s.revision for s in reversed(list(scripts.walk_revisions()))]
    assert line == [f"{n:04d}" for n in range(1, len(line) + 1)]
    assert line[-1] == head_revision()


def test_coach_db_upgrade_creates_the_schema_and_current_prints_the_head(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)

    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out.strip() == "empty database (run: coach db upgrade)"

    assert main(["db", "upgrade"]) == 0
    head = head_revision()
    assert capsys.readouterr().out.strip() == f"created the database schema at revision {head}"
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out.strip() == head

    assert main(["db", "upgrade"]) == 0  # again: nothing to do, no error, and it says so
    assert (
        capsys.readouterr().out.strip()
        == f"the database schema is already up to date (revision {head})"
    )
    assert current_revision(empty_database_url) == head
    assert _run(_table_names(empty_database_url)) >= {"users", "answers", "alembic_version"}


def test_coach_db_upgrade_names_the_revisions_it_upgraded_between(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    upgrade_database(empty_database_url, "0002")

    assert main(["db", "upgrade"]) == 0
    assert (
        capsys.readouterr().out.strip()
        == f"upgraded the database schema from revision 0002 to {head_revision()}"
    )


def test_the_plain_url_spellings_work(empty_database_url: str) -> None:
    plain = empty_database_url.replace("+aiosqlite", "").replace("+asyncpg", "")
    upgrade_database(plain)
    assert current_revision(plain) == head_revision()


def test_schema_is_current_only_at_head(empty_database_url: str) -> None:
    async def check() -> bool:
        engine = create_async_engine(empty_database_url, poolclass=pool.NullPool)
        try:
            return await schema_is_current(engine)
        finally:
            await engine.dispose()

    assert _run(check()) is False
    upgrade_database(empty_database_url)
    assert _run(check()) is True
    command.downgrade(alembic_config(empty_database_url), "base")
    assert current_revision(empty_database_url) is None
    assert _run(check()) is False


def test_the_partial_unique_index_has_its_where_clause(empty_database_url: str) -> None:
    """Autogenerate does not compare an index's WHERE clause, so read the DDL itself."""
    upgrade_database(empty_database_url)
    if empty_database_url.startswith("sqlite"):
        query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'uq_answers_current'"
    else:
        query = "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_answers_current'"
    ddl = _run(_scalar(empty_database_url, query))
    assert "UNIQUE INDEX" in ddl
    assert "(checkup_id, field)" in ddl
    assert "WHERE" in ddl and "superseded_at IS NULL" in ddl


def test_current_revision_does_not_create_a_sqlite_file(tmp_path) -> None:
    path = tmp_path / "missing.db"
    assert current_revision(f"sqlite:///{path}") is None
    assert not path.exists()


# --- helpers -----------------------------------------------------------------------------
def _run(coroutine):
    """These tests are sync (Alembic runs its own event loop); this runs a small query."""
    return asyncio.run(coroutine)


async def _scalar(url: str, sql: str):
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql))).scalar_one()
    finally:
        await engine.dispose()


async def _table_names(url: str) -> set[str]:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
