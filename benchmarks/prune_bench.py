"""How long does forgetting old update ids take when many are stored?

    .venv/bin/python benchmarks/prune_bench.py [--ids 2000000] [--batch 10000]

Runs against a fresh PostgreSQL database (created on the server of
``TEST_POSTGRES_ADMIN_URL``, default postgresql://postgres@127.0.0.1:5432/test, dropped at
the end), migrated by Alembic. ``--ids`` update ids handled over the last 72 hours are
stored (evenly spread, in time order, as the bot appends them), then the bot's own
``Store.forget_processed_updates`` removes those older than 48 hours, ``--batch`` per
transaction. Printed: the time per batch and in all, and what is left (must be exactly the
ids of the last 48 hours).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402

from benchmarks.fresh_database import fresh_database  # noqa: E402
from bot.background import KEEP_UPDATE_IDS  # noqa: E402
from bot.storage.database import create_engine, session_factory  # noqa: E402
from bot.storage.repository import Store  # noqa: E402


async def main(args: argparse.Namespace) -> int:
    async with fresh_database(args.admin_url, "seller_coach_prune") as database:
        connection = await asyncpg.connect(database.raw_url)
        step = 72 * 3600 / args.ids
        await connection.execute(
            "INSERT INTO processed_updates SELECT g, now() - interval '72 hours' + g * make_interval(secs => $2)"
            " FROM generate_series(1, $1) g",
            args.ids, step,
        )
        await connection.execute("ANALYZE processed_updates")
        engine = create_engine(database.url)
        store = Store(session_factory(engine))
        # What must be gone: ids older than 48 h when the run started (by the database's clock).
        first_cutoff = await connection.fetchval("SELECT now() - $1::interval", KEEP_UPDATE_IDS)
        started = time.perf_counter()
        removed = await store.forget_processed_updates(KEEP_UPDATE_IDS, batch=args.batch)
        seconds = time.perf_counter() - started
        left = await connection.fetchval("SELECT count(*) FROM processed_updates")
        too_old = await connection.fetchval("SELECT count(*) FROM processed_updates WHERE handled_at < $1", first_cutoff)
        batches = -(-removed // args.batch)
        print(f"{args.ids:,} ids stored over 72 h; forgot {removed:,} older than {KEEP_UPDATE_IDS / timedelta(hours=1):.0f} h"
              f" in {seconds:.2f} s ({batches} batches of {args.batch:,}, {seconds / max(batches, 1) * 1000:.1f} ms a batch);"
              f" {left:,} left, {too_old} of them older than 48 h (must be 0)")
        await engine.dispose()
        await connection.close()
        return 0 if too_old == 0 and removed + left == args.ids else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ids", type=int, default=2_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--admin-url", default=os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
