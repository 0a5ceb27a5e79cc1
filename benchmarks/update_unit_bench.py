"""An update's storage work alone, applied optimistically and the locking way, in turns in
one process (so the shared machine's drift falls on both alike), on PostgreSQL.

    .venv/bin/python benchmarks/update_unit_bench.py [--rounds 8] [--updates 500]
        [--admin-url postgresql://postgres@127.0.0.1:5432/test]

Each update is what a check-up answer does in ``Store.update_unit``: read the check-up in
progress and its answers, store one answer (every 19th also closes the check-up, and the
next starts one), and note the next question's message. Printed: CPU time per update of
this process, the lowest and the median over the rounds, for each way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from advice.questionnaire import Answer  # noqa: E402
from benchmarks.fresh_database import fresh_database  # noqa: E402
from bot.storage.database import create_engine, session_factory  # noqa: E402
from bot.storage.models import CheckupStatus  # noqa: E402
from bot.storage.repository import Store  # noqa: E402

SELLERS = 100
FIELDS = 19


async def main(args: argparse.Namespace) -> None:
    async with fresh_database(args.admin_url, "seller_coach_unit_bench") as database:
        engine = create_engine(database.url)
        store = Store(session_factory(engine))
        update_ids = iter(range(1, 10**9))

        async def answer(user_id: int, optimistic: bool) -> None:
            update_id = next(update_ids)
            async with store.update_unit(update_id, user_id, "en", optimistic=optimistic) as handled:
                assert handled is not None
                unit, user = handled
                checkup = await unit.active_checkup(user_id) or await unit.start_checkup(user)
                answers = await unit.answers(checkup.id)
                await unit.save_answer(checkup, f"field_{len(answers)}", Answer(1), replaces=False)
                if len(answers) + 1 >= FIELDS:
                    await unit.close_checkup(checkup, CheckupStatus.FINISHED)
                    return
            store.remember_question_message(user_id, checkup.id, update_id, "next")

        for user_id in range(1, SELLERS + 1):  # every seller seen before, as most are
            await answer(user_id, optimistic=False)
        per_update: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.rounds):
            for optimistic in (True, False):
                started = time.process_time()
                for n in range(args.updates):
                    await answer(1 + n % SELLERS, optimistic)
                per_update[optimistic].append((time.process_time() - started) / args.updates * 1e6)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, PostgreSQL {database.server_version};"
              f" {args.rounds} rounds of {args.updates} updates each way")
        for optimistic, figures in per_update.items():
            way = "optimistic" if optimistic else "locking   "
            print(f"{way}: CPU {min(figures):4.0f} µs an update at the lowest, {statistics.median(figures):4.0f} µs median")
        await engine.dispose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--admin-url", default=os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
