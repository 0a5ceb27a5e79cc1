"""An update's storage work alone (Store.read, then Store.apply), through the one-statement
path and through the transaction path, in turns in one process (so the shared machine's
drift falls on both alike), on PostgreSQL.

    .venv/bin/python benchmarks/apply_bench.py [--rounds 8] [--updates 500]
        [--admin-url postgresql://postgres@127.0.0.1:5432/test]

Each update is what a check-up answer does: read the snapshot (the check-up in progress
and its answers), store one new answer (every 19th also closes the check-up, and the next
starts one: those take the transaction path either way), and note the next question's
message. Printed: CPU time per update of this process, the lowest and the median over the
rounds, for each way.
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
from bot.core.snapshot import NewId  # noqa: E402
from bot.core.writes import CloseCheckup, SaveAnswer, StartCheckup, Write  # noqa: E402
from bot.storage import updates  # noqa: E402
from bot.storage.database import create_engine, session_factory  # noqa: E402
from bot.storage.models import utcnow  # noqa: E402
from bot.storage.repository import Applied, Store  # noqa: E402

SELLERS = 100
FIELDS = 19
ONE_STATEMENT = updates.one_statement


async def main(args: argparse.Namespace) -> None:
    async with fresh_database(args.admin_url, "seller_coach_apply_bench") as database:
        engine = create_engine(database.url)
        store = Store(session_factory(engine))
        update_ids = iter(range(1, 10**9))

        async def answer(user_id: int) -> None:
            update_id = next(update_ids)
            snapshot = await store.read(update_id=update_id, user_id=user_id, language="en", now=utcnow())
            assert snapshot is not None
            writes: list[Write] = []
            if snapshot.in_progress:
                checkup = max(snapshot.in_progress, key=lambda c: c.id)
                checkup_id, answered = checkup.id, len(checkup.answers)
            else:
                snapshot = await store.load(snapshot, NewId("checkups"))
                checkup_id, answered = snapshot.get(NewId("checkups")), 0
                writes.append(StartCheckup(checkup_id, user_id, "checkup", "en", snapshot.now))
            writes.append(SaveAnswer(checkup_id, user_id, f"field_{answered}", Answer(1), False, snapshot.now))
            if answered + 1 >= FIELDS:
                writes.append(CloseCheckup(checkup_id, "finished", snapshot.now))
            assert await store.apply(snapshot, update_id=update_id, writes=writes) is Applied.APPLIED
            if answered + 1 < FIELDS:
                store.remember_question_message(user_id, checkup_id, update_id, "next")

        for user_id in range(1, SELLERS + 1):  # every seller seen before, as most are
            await answer(user_id)
        per_update: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.rounds):
            for one in (True, False):
                updates.one_statement = ONE_STATEMENT if one else (lambda writes: None)
                started = time.process_time()
                for n in range(args.updates):
                    await answer(1 + n % SELLERS)
                per_update[one].append((time.process_time() - started) / args.updates * 1e6)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, PostgreSQL {database.server_version};"
              f" {args.rounds} rounds of {args.updates} updates each way")
        for one, figures in per_update.items():
            way = "one statement" if one else "transaction  "
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
