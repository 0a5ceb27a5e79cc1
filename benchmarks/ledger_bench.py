"""What the sales ledger costs: /sales and /customers for one seller with a large ledger,
through the bot's real step path, and /sold against a check-up answer, one update at a time,
on PostgreSQL and on SQLite (the embedded default).

    .venv/bin/python benchmarks/ledger_bench.py [--customers 10000] [--sales 100000]
        [--repeat 20] [--sellers 30] [--database both|postgresql|sqlite] [--explain]
        [--profile sales|customers]
        [--admin-url postgresql://postgres@127.0.0.1:5432/test]

One seller's ledger is filled in bulk (SQLAlchemy Core, batches of 5,000): sales over the
last two years, most to named customers (a few regulars buy often, most customers once or
twice), some without a customer, and about one in fifty refunded a few days later (a
negative sale). Then ``/sales`` and ``/customers`` are timed through
``bot.updates.run_update`` (read the snapshot, run the step, load what it asks for, apply),
each ``--repeat`` times: wall time (the database server's work included) and this process's
CPU time, median and max.

Then ``--sellers`` new sellers each answer the whole check-up and log three sales
(``/sold 180 2 cakes @Lena``), one update at a time through python-telegram-bot's dispatch
with Telegram answered in-process (as ``step_bench.py`` does): the median CPU time of a
check-up answer (the answers before the last, which also assesses) and of a /sold. The big
seller logs as many /sold too. First, the /sales chart's PNG is timed (the shell draws it in a
worker thread, after the step). ``--explain`` prints EXPLAIN ANALYZE of the ledger's queries
on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import itertools
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, timedelta
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import Application  # noqa: E402

from advice.ledger import week_starts  # noqa: E402
from benchmarks.fresh_database import fresh_database  # noqa: E402
from benchmarks.load_bench import SCRIPT, TOKEN, LoopbackTelegram, Seller, offline_bot  # noqa: E402
from bot.app import build_application, handle_update  # noqa: E402
from bot.charts import chart_language, weeks_chart  # noqa: E402
from bot.background import write_noted_questions  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core.events import Command  # noqa: E402
from bot.storage.database import create_engine, session_factory  # noqa: E402
from bot.storage.migrate import upgrade_database  # noqa: E402
from bot.storage.models import utcnow  # noqa: E402
from bot.storage.repository import Store  # noqa: E402
from bot.storage.statements import CUSTOMERS, SALES, USERS  # noqa: E402
from bot.updates import run_update  # noqa: E402

BIG_SELLER = 10**9  # apart from the check-up sellers' ids
ITEMS = ["cakes", "cupcakes", "bread", "cookies", "tart", None]
CHANNELS = ["groups", "moments_feed", "referrals", "acquaintances", "marketplace", None]
SOLD = "/sold 180 2 cakes @Lena"


# --- the ledger -------------------------------------------------------------------------------
async def fill_ledger(engine: AsyncEngine, user_id: int, customers: int, sales: int, seed: int = 15) -> None:
    """One seller with ``customers`` customers and ``sales`` sales (refunds among them)."""
    rng = random.Random(seed)
    now = utcnow()
    start = now - timedelta(days=730)
    await _insert(engine, USERS, [{"id": user_id, "language": "en", "created_at": start, "last_seen_at": now}])
    await _insert(engine, CUSTOMERS, [
        {"id": n, "user_id": user_id, "nickname": f"Buyer{n:05d}", "nickname_key": f"buyer{n:05d}", "created_at": start}
        for n in range(1, customers + 1)
    ])
    # A customer's share of the orders falls with their rank (a few regulars, a long tail);
    # 15% of the sales name nobody.
    weights = list(itertools.accumulate(1 / rank**0.9 for rank in range(1, customers + 1)))
    buyers = rng.choices(range(1, customers + 1), cum_weights=weights, k=sales)
    refunds = sales // 50
    rows: list[dict[str, Any]] = []
    for n in range(sales - refunds):
        at = start + timedelta(seconds=rng.uniform(0, 730 * 86400))
        customer = buyers[n] if rng.random() < 0.85 else None
        rows.append({
            "id": n + 1, "user_id": user_id, "at": at, "amount_minor": int(rng.lognormvariate(5, 0.6) * 100) + 100,
            "currency": "CNY", "quantity": rng.choice([None, 1, 1, 2, 3]), "items": rng.choice(ITEMS),
            "customer_id": customer, "channel": rng.choice(CHANNELS),
        })  # fmt: skip
    named = [row for row in rows if row["customer_id"] is not None]
    for n, sold in enumerate(rng.sample(named, refunds)):
        at = min(sold["at"] + timedelta(days=rng.uniform(1, 14)), now - timedelta(minutes=1))
        rows.append({**sold, "id": len(rows) + 1, "at": at, "amount_minor": -sold["amount_minor"], "quantity": None})
    for first in range(0, len(rows), 5000):
        await _insert(engine, SALES, rows[first : first + 5000])
    if engine.dialect.name == "postgresql":  # the ids were given: move the sequences past them
        async with engine.begin() as connection:
            for table in ("customers", "sales"):
                await connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
            await connection.execute(text("ANALYZE"))
    else:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))


async def _insert(engine: AsyncEngine, table: Any, rows: list[dict[str, Any]]) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(table), rows)


# --- timing -------------------------------------------------------------------------------------
def summary(name: str, wall: list[float], cpu: list[float]) -> str:
    return (f"{name:11} wall median {statistics.median(wall) * 1e3:7.1f} ms, max {max(wall) * 1e3:7.1f} ms;"
            f"  CPU median {statistics.median(cpu) * 1e3:7.1f} ms, max {max(cpu) * 1e3:7.1f} ms")


async def time_commands(application: Application, repeat: int, profiled: list[str]) -> None:
    store = application.bot_data["store"]
    update_ids = iter(range(10**12, 10**13))
    for name in ("sales", "customers"):
        wall: list[float] = []
        cpu: list[float] = []
        for n in range(repeat + 1):
            started, started_cpu = time.perf_counter(), time.process_time()
            decision = await run_update(store, update_id=next(update_ids), user_id=BIG_SELLER, language="en", event=Command(name))
            if n == 0:  # the first prepares the statements: left out
                assert decision is not None and decision.replies, name
                continue
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        print(summary(f"/{name}", wall, cpu))
    for name in profiled:
        profiler = cProfile.Profile()
        profiler.enable()
        await run_update(store, update_id=next(update_ids), user_id=BIG_SELLER, language="en", event=Command(name))
        profiler.disable()
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(30)
            print(f"--- /{name}, by {order} ---")
            print(out.getvalue().split("\n", 7)[-1])


async def time_one_at_a_time(application: Application, telegram: LoopbackTelegram, sellers: int) -> None:
    """CPU of a check-up answer and of /sold, each update through the whole bot."""

    async def step(seller: Seller, action: str, value: str) -> float:
        sent = seller.update(action, value)
        for entity in sent.get("message", {}).get("entities", []):  # the command word only
            entity["length"] = len(value.split()[0])
        update = Update.de_json(sent, application.bot)
        started, stand_in = time.process_time(), telegram.cpu_seconds
        await handle_update(application, update)
        return time.process_time() - started - (telegram.cpu_seconds - stand_in)

    answers: list[float] = []
    sold: list[float] = []
    big_sold: list[float] = []
    big = Seller(BIG_SELLER, telegram)
    await step(big, "say", "/start")
    for user_id in range(1, sellers + 1):
        seller = Seller(user_id, telegram)
        for n, (action, value) in enumerate(SCRIPT):
            spent = await step(seller, action, value)
            if 0 < n < len(SCRIPT) - 1:
                answers.append(spent)
        for _ in range(3):
            sold.append(await step(seller, "say", SOLD))
            big_sold.append(await step(big, "say", SOLD))
    median = statistics.median(answers)
    print(f"a check-up answer: CPU median {median * 1e6:5.0f} µs ({len(answers)} answers)")
    for name, figures in (("/sold, new seller", sold), ("/sold, big ledger", big_sold)):
        print(f"{name}: CPU median {statistics.median(figures) * 1e6:5.0f} µs, max {max(figures) * 1e6:6.0f} µs"
              f" ({len(figures)} sales): {statistics.median(figures) / median:.2f}x a check-up answer")


async def explain(engine: AsyncEngine) -> None:
    from bot.storage import sales as ledger

    now = utcnow()
    begins = {f"begin{n}": begin.astimezone(UTC) for n, (_, begin) in enumerate(week_starts(now, 5, "UTC"))}
    queries = {
        "sales_weeks": (ledger._weeks_query(5), {**begins, "user": BIG_SELLER, "until": now}),
        "sales_repeat": (ledger._repeat_query, {"user": BIG_SELLER, "since": now - timedelta(days=90), "until": now}),
        "sales_since (the CSV file)": (ledger._sales_query, {"user": BIG_SELLER, "since": now - timedelta(days=90)}),
        "customers": (ledger._customers_query(False), {"user": BIG_SELLER}),
        "customer_named": (ledger._customers_query(True), {"user": BIG_SELLER, "key": "buyer00001"}),
    }
    from sqlalchemy.dialects import postgresql

    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        for name, (build, values) in queries.items():
            compiled = build(postgresql.insert).compile(dialect=engine.dialect)
            bound = {**compiled.params, **values}
            parameters = [bound[key] for key in compiled.positiontup or ()]
            rows = await raw.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {compiled.string}", *parameters)
            print(f"--- {name} ---")
            print("\n".join(row[0] for row in rows))


# --- the databases --------------------------------------------------------------------------
@asynccontextmanager
async def sqlite_database() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory(prefix="ledger_bench") as folder:
        url = f"sqlite+aiosqlite:///{folder}/ledger.db"
        await asyncio.to_thread(upgrade_database, url)
        yield url


async def ledger_bot(database_url: str, telegram: LoopbackTelegram) -> Application:
    """The bot as load_bench.py builds it, without flood control: the big seller's /sold
    come back to back, and the excess would be turned away unread."""
    engine = create_engine(database_url)
    settings = Settings(telegram_bot_token=TOKEN, database_url=database_url, flood_burst=0)
    application = build_application(settings, store=Store(session_factory(engine)))
    application.bot_data["engine"] = engine
    store = application.bot_data["store"]
    application.bot_data["background"] = [partial(write_noted_questions, store)]
    application.bot = offline_bot(telegram)
    await application.initialize()
    return application


async def run(url: str, label: str, args: argparse.Namespace) -> None:
    telegram = LoopbackTelegram()
    application = await ledger_bot(url, telegram)
    engine: AsyncEngine = application.bot_data["engine"]
    started = time.perf_counter()
    await fill_ledger(engine, BIG_SELLER, args.customers, args.sales)
    print(f"{label}: one seller, {args.customers:,} customers, {args.sales:,} sales over two years"
          f" (filled in {time.perf_counter() - started:.1f} s); {args.repeat} runs each")
    if args.explain and engine.dialect.name == "postgresql":
        await explain(engine)
    await time_commands(application, args.repeat, args.profile)
    await time_one_at_a_time(application, telegram, args.sellers)
    async with engine.connect() as connection:
        logged = (await connection.execute(text("SELECT count(*) FROM sales"))).scalar_one()
    print(f"sales stored: {logged:,} ({logged - args.sales:,} logged by /sold, {6 * args.sellers:,} sent)")
    assert logged - args.sales == 6 * args.sellers, "a /sold was not recorded"
    await application.shutdown()
    await engine.dispose()


def time_chart(repeat: int) -> None:
    """The /sales chart, as the shell draws it in a worker thread (not in the times above)."""
    weeks = [("02.11", 5210.0), ("09.11", 6480.5), ("16.11", 4975.0), ("23.11", 7120.0), ("30.11", 1830.0)]
    for lang in ("en", "zh"):
        weeks_chart(weeks, "CNY", lang)  # fonts looked up once
        times = []
        for _ in range(repeat):
            started = time.process_time()
            weeks_chart(weeks, "CNY", lang)
            times.append(time.process_time() - started)
        print(f"the /sales chart PNG ({lang}, labels in {chart_language(lang)}): CPU median {statistics.median(times) * 1e3:.0f} ms,"
              f" max {max(times) * 1e3:.0f} ms")


async def main(args: argparse.Namespace) -> None:
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    time_chart(args.repeat)
    if args.database in ("both", "postgresql"):
        async with fresh_database(args.admin_url, "seller_coach_ledger_bench") as database:
            await run(database.url, f"PostgreSQL {database.server_version}", args)
    if args.database in ("both", "sqlite"):
        async with sqlite_database() as url:
            await run(url, "SQLite", args)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--sales", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--sellers", type=int, default=30, help="check-ups, each followed by three /sold")
    parser.add_argument("--database", choices=("both", "postgresql", "sqlite"), default="both")
    parser.add_argument("--profile", action="append", default=[], choices=("sales", "customers"), help="cProfile one run of the command")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the ledger's queries (PostgreSQL)")
    parser.add_argument("--admin-url", default=os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
