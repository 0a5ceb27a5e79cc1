"""Reply latency: how long a seller waits from an answer arriving to the last reply sent,
when every Bot API call takes Telegram a while to answer.

    .venv/bin/python benchmarks/reply_latency_bench.py [--latency-ms 50] [--sellers 20]
        [--at-once 1] [--admin-url postgresql://postgres@127.0.0.1:5432/test]

What runs: the bot as ``benchmarks/load_bench.py`` builds it (``build_application`` with
the production retry wrapper, on PostgreSQL, fed by ``bot.main.handle_update`` as the
webhook and the poller do), its Bot API requests answered by load_bench's in-process
Telegram stand-in after ``--latency-ms`` each: a wait, as a network round trip is, not
work. Each seller sends /checkup and answers the 21 questions (buttons and typed numbers),
one update after the other as Telegram delivers them; ``--at-once`` sellers at a time (one
by default: the wait of a seller alone, not queued behind others' work on the event loop).

Measured for each answer: from handing the update to the bot to the bot's last reply
answered by the stand-in, and the round trips to the stand-in it waited for (calls in
flight together count once). A pressed answer makes three calls (answering the press,
editing the question to show the answer, sending the next question), a typed one two (the
edit, the next question); the last answer's reply is the advice. Printed: the median and
p95 of all answers and of each kind, and whether the p95 is under the target (one round
trip and a margin: 80 ms at 50 ms a call). ``--latency-ms 0`` shows the bot's own share;
on a busy machine that share grows, the round trips do not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update  # noqa: E402
from telegram.request import RequestData  # noqa: E402

import bot  # noqa: E402
from benchmarks.fresh_database import fresh_database  # noqa: E402
from benchmarks.load_bench import SCRIPT, LoopbackTelegram, Seller, the_bot  # noqa: E402
from bot.app import handle_update  # noqa: E402

TARGET_MS = 80.0


@dataclass
class RoundTrips:
    """The Bot API round trips one update waits for: calls that overlap count once."""

    count: int = 0
    in_flight: int = 0


HANDLING: contextvars.ContextVar[RoundTrips] = contextvars.ContextVar("handling")


class SlowTelegram(LoopbackTelegram):
    """The in-process stand-in, answering each call only after ``latency`` seconds."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency
        self.calls = 0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        self.calls += 1
        trips = HANDLING.get(RoundTrips())  # the update's, seen from its handler's tasks too
        trips.count += trips.in_flight == 0
        trips.in_flight += 1
        try:
            await asyncio.sleep(self.latency)
        finally:
            trips.in_flight -= 1
        return await super().do_request(url, method, request_data, *args, **kwargs)


def kind_of(index: int, action: str) -> str:
    if index == len(SCRIPT) - 1:
        return "last (advice)"
    return "pressed" if action == "press" else "typed"


def percentile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


async def main(args: argparse.Namespace) -> int:
    telegram = SlowTelegram(args.latency_ms / 1000)
    waits: dict[str, list[float]] = defaultdict(list)
    round_trips: dict[str, Counter[int]] = defaultdict(Counter)
    errors: list[BaseException] = []
    async with fresh_database(args.admin_url, "seller_coach_latency") as database:
        application = await the_bot(database.url, telegram)

        async def on_error(update: object, context: Any) -> None:
            errors.append(context.error)

        application.add_error_handler(on_error)
        stop = asyncio.Event()
        background = [
            asyncio.create_task(task(stop)) for task in application.bot_data["background"]
        ]
        turns = asyncio.Semaphore(args.at_once)

        async def converse(user_id: int) -> None:
            seller = Seller(user_id, telegram)
            async with turns:
                for index, (action, value) in enumerate(SCRIPT):
                    update = Update.de_json(seller.update(action, value), application.bot)
                    trips = RoundTrips()
                    HANDLING.set(trips)
                    started = time.perf_counter()
                    await handle_update(application, update)
                    if index:  # the answers, not /checkup
                        waits[kind_of(index, action)].append(time.perf_counter() - started)
                        round_trips[kind_of(index, action)][trips.count] += 1

        await asyncio.gather(*(converse(1 + n) for n in range(args.sellers)))
        stop.set()
        await asyncio.gather(*background)
        await application.shutdown()
        await application.bot_data["engine"].dispose()

    answers = [wait for kind in waits.values() for wait in kind]
    round_trips["all answers"] = sum(round_trips.values(), Counter())
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores; the bot from {Path(bot.__file__).parent};"
        f" {args.sellers} sellers x {len(SCRIPT) - 1} answers, {args.at_once} at once;"
        f" each Bot API call answered after {args.latency_ms:g} ms"
    )
    for kind, values in [("all answers", answers), *sorted(waits.items())]:
        trips = ", ".join(f"{n} x{times}" for n, times in sorted(round_trips[kind].items()))
        print(
            f"{kind:<14} {len(values):>5}: median {statistics.median(values) * 1000:6.1f} ms,"
            f" p95 {percentile(values, 95) * 1000:6.1f} ms, max {max(values) * 1000:6.1f} ms;"
            f" round trips waited for: {trips}"
        )
    print(f"Bot API calls {telegram.calls}; errors {len(errors)}")
    for problem in errors[:3]:
        print("  error:", repr(problem))
    target = TARGET_MS * args.latency_ms / 50
    met = percentile(answers, 95) * 1000 < target and not errors
    print(
        f"target {'met   ' if met else 'MISSED'}: an answer's replies sent within {target:g} ms (p95)"
    )
    return 0 if met else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--latency-ms", type=float, default=50.0, help="how long each Bot API call takes"
    )
    parser.add_argument("--sellers", type=int, default=20)
    parser.add_argument("--at-once", type=int, default=1, help="sellers chatting at the same time")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
