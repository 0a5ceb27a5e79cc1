"""What one statement and one transaction cost in CPU, through SQLAlchemy and on asyncpg.

    .venv/bin/python benchmarks/statement_bench.py [--count 3000]

Runs against a fresh PostgreSQL database (created on the server of
``TEST_POSTGRES_ADMIN_URL``, default postgresql://postgres@127.0.0.1:5432/test, dropped at
the end), migrated by Alembic. One at a time, so the figures are this process's CPU time
per call (its share of each round trip included), not a throughput:

* one SELECT of the answers table by an indexed column, through an ``AsyncSession``,
  through the session's ``AsyncConnection``, and through asyncpg on the same connection;
* one transaction holding that SELECT: a session with ``begin()`` (BEGIN, the statement,
  COMMIT), against an asyncpg pool's connection with ``transaction()``.

This is why the bot's per-update statements on PostgreSQL go to asyncpg
(``Store.read`` and ``Store.apply``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
from sqlalchemy import bindparam, select  # noqa: E402

from benchmarks.fresh_database import fresh_database  # noqa: E402
from bot.storage.database import create_engine, session_factory  # noqa: E402
from bot.storage.models import AnswerRow  # noqa: E402

SQL = "SELECT field, value FROM answers WHERE checkup_id = $1 LIMIT 1"


async def cpu_per_call(count: int, call: Callable[[], Awaitable[object]]) -> float:
    """Microseconds of this process's CPU time per awaited call (after a warm-up)."""
    for _ in range(min(200, count)):
        await call()
    started = time.process_time()
    for _ in range(count):
        await call()
    return (time.process_time() - started) / count * 1e6


async def main(args: argparse.Namespace) -> int:
    async with fresh_database(args.admin_url, "seller_coach_statements") as database:
        engine = create_engine(database.url)
        sessions = session_factory(engine)
        answers = AnswerRow.__table__
        statement = select(answers.c.field, answers.c.value).where(answers.c.checkup_id == bindparam("c")).limit(1)
        figures: dict[str, float] = {}
        async with sessions() as session, session.begin():
            figures["statement, AsyncSession.execute"] = await cpu_per_call(
                args.count, lambda: session.execute(statement, {"c": 1})
            )
            connection = await session.connection()
            figures["statement, AsyncConnection.execute"] = await cpu_per_call(
                args.count, lambda: connection.execute(statement, {"c": 1})
            )
            driver = (await connection.get_raw_connection()).driver_connection
            figures["statement, asyncpg on the same connection"] = await cpu_per_call(
                args.count, lambda: driver.fetch(SQL, 1)
            )

        async def in_session() -> None:
            async with sessions() as session, session.begin():
                await session.execute(statement, {"c": 1})

        pool = await asyncpg.create_pool(database.raw_url, min_size=1, max_size=2)

        async def in_asyncpg() -> None:
            async with pool.acquire() as connection, connection.transaction():
                await connection.fetch(SQL, 1)

        figures["transaction with it, AsyncSession begin/commit"] = await cpu_per_call(args.count // 3, in_session)
        figures["transaction with it, asyncpg pool + transaction()"] = await cpu_per_call(args.count // 3, in_asyncpg)
        for what, micros in figures.items():
            print(f"{what:<52} {micros:6.0f} µs CPU")
        await pool.close()
        await engine.dispose()
        return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--admin-url", default=os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
