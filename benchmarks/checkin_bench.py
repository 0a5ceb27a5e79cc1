"""How fast does the check-in dispatcher go, and does it hold Telegram's rate?

    .venv/bin/python benchmarks/checkin_bench.py [--count 20000] [--dispatchers 3]
                                                 [--seconds 60] [--rate 30] [--skip-rate]

Runs against a fresh PostgreSQL database (created on the server of
``TEST_POSTGRES_ADMIN_URL``, default postgresql://postgres@127.0.0.1:5432/test, dropped at
the end), migrated by Alembic.

1. Throughput, no rate limit: ``--count`` due check-ins, ``--dispatchers`` dispatchers (each
   with its own engine, as separate processes would have) claim them in batches
   (``FOR UPDATE SKIP LOCKED``), render each message and hand it to a sender that only
   counts, then record them as sent. Target: at least 2,000 check-ins a second.
2. Rate, limit on: the dispatchers send over HTTP to the local fake Bot API for
   ``--seconds`` with the shared send slot at ``--rate`` messages a second. Reported: the
   achieved rate (target: within 5% of the limit), the peak in any one-second window, and
   how many 429 answers came back (target: none).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402
from telegram import Bot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from benchmarks.fresh_database import fresh_database  # noqa: E402
from bot.checkins.dispatcher import Dispatcher, SendLimiter, telegram_sender  # noqa: E402
from bot.replies import Reply  # noqa: E402
from bot.storage.database import create_engine, session_factory  # noqa: E402
from bot.storage.models import User, UserSettings  # noqa: E402
from bot.storage.repository import Store  # noqa: E402
from tests.support.fake_bot_api import FakeBotApi  # noqa: E402

ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
TOKEN = "123456:BENCH-token"
DUE = datetime(2026, 5, 4, 9, tzinfo=UTC)


async def seed(store: Store, first_id: int, count: int) -> None:
    async with store.sessions() as session, session.begin():
        ids = range(first_id, first_id + count)
        await session.execute(insert(User), [{"id": u, "language": "en" if u % 2 else "zh"} for u in ids])
        await session.execute(
            insert(UserSettings),
            [{"user_id": u, "checkin_cadence": "weekly", "checkin_weekday": 0, "checkin_hour": 9, "checkin_next_due_at": DUE} for u in ids],
        )


async def drain(dispatcher: Dispatcher) -> int:
    handled = 0
    while claimed := await dispatcher.pass_once():
        handled += claimed
    return handled


async def throughput(url: str, count: int, dispatchers: int) -> None:
    engines = [create_engine(url) for _ in range(dispatchers)]
    stores = [Store(session_factory(engine)) for engine in engines]
    await seed(stores[0], 1, count)
    counted = Counter[int]()
    message_ids = iter(range(1, 10**9))

    async def send(chat_id: int, reply: Reply, pace: object = None) -> int:
        counted[chat_id] += 1
        return next(message_ids)

    runners = [Dispatcher(store, send, now=lambda: DUE, batch=500) for store in stores]
    started = time.perf_counter()
    handled = await asyncio.gather(*(drain(d) for d in runners))
    elapsed = time.perf_counter() - started
    for engine in engines:
        await engine.dispose()
    once = set(counted.values()) == {1} and len(counted) == count
    print(f"throughput, no rate limit: {count} due check-ins, {dispatchers} dispatchers (batches of 500)")
    print(f"  claimed + rendered + handed to the sender + recorded: {elapsed:.2f} s = {count / elapsed:,.0f} check-ins/s")
    print(f"  per dispatcher: {handled}; each chat exactly once: {once}")


async def rate(url: str, seconds: float, limit: float, dispatchers: int) -> None:
    count = int(seconds * limit * 1.5) + 100  # more than can be sent: the limit decides
    engines = [create_engine(url) for _ in range(dispatchers)]
    stores = [Store(session_factory(engine)) for engine in engines]
    first_id = 1_000_000
    await seed(stores[0], first_id, count)
    with FakeBotApi(token=TOKEN) as api:
        for user_id in range(first_id, first_id + count):
            api.send_text(api.user(user_id), "/start")
        bots = [Bot(TOKEN, base_url=api.base_url, request=HTTPXRequest(connection_pool_size=64)) for _ in range(dispatchers)]
        for bot in bots:
            await bot.initialize()
        runners = [
            Dispatcher(store, telegram_sender(bot), limiter=SendLimiter(store, limit), now=lambda: DUE, batch=50)
            for store, bot in zip(stores, bots, strict=True)
        ]
        stop = asyncio.Event()
        tasks = [asyncio.create_task(d.run(stop)) for d in runners]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)
        for bot in bots:
            await bot.shutdown()
        calls = api.calls("sendMessage")
        ok = [c for c in calls if c.status == 200]
        too_many = sum(1 for c in calls if c.status == 429)
        span = ok[-1].timestamp - ok[0].timestamp if len(ok) > 1 else float("nan")
        achieved = (len(ok) - 1) / span
        peak = api.peak_rate()
        per_chat = max(Counter(c.chat_id for c in ok).values())
    for engine in engines:
        await engine.dispose()
    deviation = (achieved / limit - 1) * 100
    print(f"rate, limit {limit:g}/s shared by {dispatchers} dispatchers, over HTTP to the fake Bot API, {seconds:g} s:")
    print(f"  sent {len(ok)} in {span:.1f} s = {achieved:.2f} messages/s ({deviation:+.1f}% of the limit; target within 5%)")
    print(f"  peak in any 1 s window: {peak}; 429 answers: {too_many}; most messages to one chat: {per_chat}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--dispatchers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--skip-rate", action="store_true", help="only the throughput part")
    args = parser.parse_args()

    async with fresh_database(ADMIN_URL, "seller_coach_bench") as database:
        await throughput(database.url, args.count, args.dispatchers)
        if not args.skip_rate:
            await rate(database.url, args.seconds, args.rate, args.dispatchers)


if __name__ == "__main__":
    asyncio.run(main())
