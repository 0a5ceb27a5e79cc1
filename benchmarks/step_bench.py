"""What each step of a check-up costs, one update at a time, through the bot's real update
path against PostgreSQL (Telegram answered in-process, its CPU time left out).

    .venv/bin/python benchmarks/step_bench.py [--sellers 300] [--profile-step 21]
        [--admin-url postgresql://postgres@127.0.0.1:5432/test]

Each seller sends /checkup and answers every question (load_bench's script), one update
after another; printed: the median CPU time of this process for each step, and the mean
over the steps. ``--profile-step N`` also prints where step N's time goes (cProfile over
every seller's step N, top functions by cumulative and by own time).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update  # noqa: E402

from benchmarks.fresh_database import fresh_database  # noqa: E402
from benchmarks.load_bench import SCRIPT, LoopbackTelegram, Seller, the_bot  # noqa: E402
from bot.app import handle_update  # noqa: E402


async def main(args: argparse.Namespace) -> None:
    async with fresh_database(args.admin_url, "seller_coach_step_bench") as database:
        telegram = LoopbackTelegram()
        application = await the_bot(database.url, telegram)
        per_step: list[list[float]] = [[] for _ in SCRIPT]
        profiler = cProfile.Profile()
        for user_id in range(1, args.sellers + 1):
            seller = Seller(user_id, telegram)
            for step, (action, value) in enumerate(SCRIPT):
                update = Update.de_json(seller.update(action, value), application.bot)
                profiled = step == args.profile_step
                started, stand_in = time.process_time(), telegram.cpu_seconds
                if profiled:
                    profiler.enable()
                await handle_update(application, update)
                if profiled:
                    profiler.disable()
                per_step[step].append(time.process_time() - started - (telegram.cpu_seconds - stand_in))
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, PostgreSQL {database.server_version};"
              f" {args.sellers} sellers, one update at a time")
        medians = [statistics.median(times) * 1e6 for times in per_step]
        for step, ((action, value), median) in enumerate(zip(SCRIPT, medians, strict=True)):
            print(f"{step:2d} {action:5} {value[:24]:24} {median:6.0f} µs")
        print(f"mean over the steps: {statistics.mean(medians):.0f} µs an update")
        if args.profile_step is not None:
            for order in ("cumulative", "tottime"):
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(35)
                print(f"--- step {args.profile_step}, by {order} ---")
                print(out.getvalue().split("\n", 7)[-1])
        await application.shutdown()
        await application.bot_data["engine"].dispose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sellers", type=int, default=300)
    parser.add_argument("--profile-step", type=int, help="cProfile this step (0 is /checkup)")
    parser.add_argument("--admin-url", default=os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
