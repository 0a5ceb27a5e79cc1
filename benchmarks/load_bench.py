"""Load: 1,000 sellers each completing a check-up at once, through the bot's real update path,
against PostgreSQL; compared with the floor, and memory with 100,000 stored users.

    .venv/bin/python benchmarks/load_bench.py [--users 1000] [--in-flight 32] [--turns 2]
        [--latency-in-flight 6] [--latency-users 1000] [--stored-users 100000]
        [--admin-url postgresql://postgres@127.0.0.1:5432/test] [--profile]

What runs:

* the bot: ``build_application`` (handlers, per-user ordering, each update applied whole,
  the production retry wrapper) fed with Telegram updates by ``bot.app.handle_update``, as
  the webhook and the poller do. Its Bot API requests are answered in-process by
  ``LoopbackTelegram``, which replies like Telegram (message ids, the message with its
  keyboard) without a network, so the figures are the bot's own cost. Each simulated seller
  sends /checkup and answers every question (buttons and typed numbers), one update at a time
  as Telegram delivers them; all sellers at once, with at most ``--in-flight`` updates in
  flight (Telegram's webhook ``max_connections``; the default there is 40).
* the floor, in the same run on the same database: a bare python-telegram-bot application
  whose one handler only answers, plus one raw asyncpg INSERT and COMMIT per update, fed the
  same number of updates the same way.
* the answer floor, in the same run: a bare application doing what every check-up answer
  must do (one transaction that records the update id, locks the user's row, reads the
  check-up with its answers and stores the answer; then the button answered, the question
  edited, the next one sent and its message id stored), on raw asyncpg with JSON Bot API
  calls: the same updates as the bot, without the questionnaire, the advice or SQLAlchemy.
  The bot against it is what the bot's own code costs on top of the work itself.
* turns: the floor, the answer floor and the bot run one after another, ``--turns`` times,
  each time with new sellers, and are compared by their sums over the turns: the machine
  drifts by a fifth between runs here, and taking turns spreads that over all three
  rather than on whichever ran at a slow moment.
* latency: ``--latency-users`` more sellers at ``--latency-in-flight`` updates in flight,
  about as many as keep the process busy here (the Telegram stand-in answers at once):
  the handling latency without the queueing that more updates in flight add, and the
  throughput with it. At 32 in flight an update waits behind 31 others on one event loop
  (Little's law: 32 / 1,200 a second is 27 ms on average), the floor's included; that p99
  is printed beside the floor's, not held to the 20 ms.
* memory: ``--stored-users`` users with a finished check-up and answers are inserted, then
  the sellers run again (as new users) while the resident size of this process (bot and
  benchmark together) is sampled every 50 ms.

Printed: updates/s, CPU time per update of this process without the stand-in's (what
Telegram's servers do in production), p50/p99 latency (service: from the start of
handling to the last reply sent; and end-to-end: including the wait for an in-flight
slot), errors (must be 0), the
exact row counts (checked), the cost of an update against the floor, the resident size. It creates a
database of its own on the server and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import itertools
import json
import os
import pstats
import resource
import statistics
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import (  # noqa: E402
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, RequestData  # noqa: E402

from benchmarks.fresh_database import fresh_database  # noqa: E402
from bot.app import build_application, handle_update  # noqa: E402
from bot.background import WRITE_NOTES_EVERY, write_noted_questions  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.main import settle_heap  # noqa: E402
from bot.retrying_request import RetryingRequest  # noqa: E402
from bot.sender import call as bot_api  # noqa: E402
from bot.storage.database import create_engine, session_factory  # noqa: E402
from bot.storage.repository import Store  # noqa: E402
from tests.test_bot_checkup import ENGLISH_ANSWERS  # noqa: E402

TOKEN = "123456:BENCH-token"
BOT_ID = 123456
SCRIPT = [("say", "/checkup"), *ENGLISH_ANSWERS]
FIELDS_PER_CHECKUP = 19
EDITS_PER_CHECKUP = 21  # 19 answers and two ticks of a multiple-choice question


# --- Telegram, answered in-process -----------------------------------------------------------
@dataclass
class Chat:
    next_message_id: int = 1
    keyboard: list[tuple[str, str]] = field(default_factory=list)  # (label, data) of the last one
    keyboard_message: int = 0
    received: int = 0
    edited: int = 0


class LoopbackTelegram(BaseRequest):
    """Answers the bot's Bot API requests the way Telegram does, with no network."""

    def __init__(self) -> None:
        self.chats: dict[int, Chat] = {}
        self.date = int(time.time())
        # CPU time spent here, doing Telegram's side of each call (in production it is
        # Telegram's servers' time, not the bot's): subtracted from the bot's and floors' CPU.
        self.cpu_seconds = 0.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        started = time.process_time()
        try:
            return self._answer(url, request_data)
        finally:
            self.cpu_seconds += time.process_time() - started

    def _answer(self, url: str, request_data: RequestData | None) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1].lower()  # Bot API method names are case-insensitive
        params = request_data.parameters if request_data else {}
        result: Any = True
        if name == "getme":
            result = {"id": BOT_ID, "is_bot": True, "first_name": "Bench", "username": "bench_bot",
                      "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
        elif name in ("sendmessage", "editmessagetext"):
            result = self._message(name, params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _message(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = self.chats.setdefault(chat_id, Chat())
        if name == "sendmessage":
            message_id = chat.next_message_id
            chat.next_message_id += 1
            chat.received += 1
        else:
            message_id = int(params["message_id"])
            chat.edited += 1
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if markup and markup.get("inline_keyboard"):
            chat.keyboard = [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]
            chat.keyboard_message = message_id
        message: dict[str, Any] = {"message_id": message_id, "date": self.date, "chat": {"id": chat_id, "type": "private"},
                                   "text": str(params.get("text", ""))}
        if markup:
            message["reply_markup"] = markup
        return message


class Seller:
    """One simulated seller: builds the updates Telegram would send for the script."""

    update_ids = itertools.count(1)

    def __init__(self, user_id: int, telegram: LoopbackTelegram) -> None:
        self.user = {"id": user_id, "is_bot": False, "first_name": "Seller", "language_code": "en"}
        self.telegram = telegram
        self.message_ids = itertools.count(1)

    def update(self, action: str, value: str) -> dict[str, Any]:
        chat = {"id": self.user["id"], "type": "private", "first_name": "Seller"}
        update_id = next(Seller.update_ids)
        if action == "say":
            message: dict[str, Any] = {"message_id": next(self.message_ids), "date": int(time.time()), "chat": chat,
                                       "from": self.user, "text": value}
            if value.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(value)}]
            return {"update_id": update_id, "message": message}
        state = self.telegram.chats[self.user["id"]]
        # "tap": a button press whose data is ``value`` itself (for the answer floor's replies)
        data = value if action == "tap" else next(d for label, d in state.keyboard if value in label)
        return {
            "update_id": update_id,
            "callback_query": {
                "id": str(update_id), "from": self.user, "chat_instance": str(self.user["id"]), "data": data,
                "message": {"message_id": state.keyboard_message, "date": int(time.time()), "chat": chat,
                            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bench"}, "text": "question"},
            },
        }


# --- running sellers through an application -------------------------------------------------
@dataclass
class Figures:
    name: str
    updates: int = 0
    errors: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's CPU time (bot and benchmark driver), Telegram's stand-in excluded
    stand_in_seconds: float = 0.0  # the stand-in's CPU time (Telegram's side of the Bot API calls)
    gc_seconds: float = 0.0  # of cpu_seconds: the garbage collector's rounds
    gc_longest: float = 0.0
    service: list[float] = field(default_factory=list)
    end_to_end: list[float] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.name:<6} {self.updates:>6} updates in {self.seconds:6.2f} s = {self.updates / self.seconds:7.0f} updates/s;"
            f" service p50 {pct(self.service, 50):6.2f} ms p99 {pct(self.service, 99):6.2f} ms;"
            f" end-to-end p50 {pct(self.end_to_end, 50):6.2f} ms p99 {pct(self.end_to_end, 99):6.2f} ms; errors {self.errors};"
            f" CPU {self.cpu_per_update * 1e6:5.0f} µs/update (+{self.stand_in_seconds / self.updates * 1e6:.0f} in Telegram's stand-in;"
            f" of it collecting garbage {self.gc_seconds / self.updates * 1e6:.0f}, longest round {self.gc_longest * 1000:.0f} ms)"
        )

    @property
    def cpu_per_update(self) -> float:
        return self.cpu_seconds / self.updates if self.updates else float("nan")


class GcClock:
    """The time the garbage collector's rounds take (they run inside whatever allocates)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.longest = 0.0
        self._started = 0.0
        gc.callbacks.append(self._tick)

    def _tick(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            took = time.perf_counter() - self._started
            self.seconds += took
            self.longest = max(self.longest, took)


GC_CLOCK = GcClock()


def combined(runs: list[Figures]) -> Figures:
    """The figures of several runs of one application as one."""
    total = Figures(runs[0].name)
    for run in runs:
        total.updates += run.updates
        total.errors += run.errors
        total.seconds += run.seconds
        total.cpu_seconds += run.cpu_seconds
        total.stand_in_seconds += run.stand_in_seconds
        total.gc_seconds += run.gc_seconds
        total.gc_longest = max(total.gc_longest, run.gc_longest)
        total.service += run.service
        total.end_to_end += run.end_to_end
    return total


def pct(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))] * 1000 if ordered else float("nan")


async def run_sellers(
    name: str, application: Application, telegram: LoopbackTelegram, user_ids: range, in_flight: int,
    steps: list[tuple[str, str]] = SCRIPT,
) -> Figures:
    """Every seller's script at once; the application's ``background`` tasks (each takes a
    stop event, as the bot's own do in ``bot.background``) run alongside and are counted."""
    figures = Figures(name)
    stop = asyncio.Event()
    background = [asyncio.create_task(task(stop)) for task in application.bot_data.get("background", [])]
    slots = asyncio.Semaphore(in_flight)
    errors: list[BaseException] = []

    async def on_error(update: object, context: Any) -> None:
        errors.append(context.error)

    application.add_error_handler(on_error)
    original = application.process_update

    async def timed_process_update(update: object) -> None:
        started = time.perf_counter()
        await original(update)
        figures.service.append(time.perf_counter() - started)

    application.process_update = timed_process_update  # type: ignore[method-assign]

    async def converse(user_id: int) -> None:
        seller = Seller(user_id, telegram)
        for action, value in steps:
            async with slots:
                started = time.perf_counter()
                update = Update.de_json(seller.update(action, value), application.bot)
                await handle_update(application, update)
                figures.end_to_end.append(time.perf_counter() - started)

    started, cpu_started, stand_in_started = time.perf_counter(), time.process_time(), telegram.cpu_seconds
    gc_started, GC_CLOCK.longest = GC_CLOCK.seconds, 0.0
    results = await asyncio.gather(*(converse(u) for u in user_ids), return_exceptions=True)
    stop.set()
    await asyncio.gather(*background)
    figures.seconds = time.perf_counter() - started
    figures.stand_in_seconds = telegram.cpu_seconds - stand_in_started
    figures.cpu_seconds = time.process_time() - cpu_started - figures.stand_in_seconds
    figures.gc_seconds, figures.gc_longest = GC_CLOCK.seconds - gc_started, GC_CLOCK.longest
    application.process_update = original  # type: ignore[method-assign]
    application.remove_error_handler(on_error)
    figures.errors = len(errors) + sum(isinstance(r, BaseException) for r in results)
    for problem in [*errors, *(r for r in results if isinstance(r, BaseException))][:3]:
        print("  error:", repr(problem))
    figures.updates = len(figures.end_to_end)
    return figures


def offline_bot(telegram: LoopbackTelegram) -> ExtBot:
    return ExtBot(TOKEN, request=RetryingRequest(telegram), get_updates_request=telegram)


async def the_bot(database_url: str, telegram: LoopbackTelegram) -> Application:
    engine = create_engine(database_url)
    settings = Settings(telegram_bot_token=TOKEN, database_url=database_url)
    application = build_application(settings, store=Store(session_factory(engine)))
    application.bot_data["engine"] = engine
    store = application.bot_data["store"]
    application.bot_data["background"] = [partial(write_noted_questions, store)]  # as bot.background runs it
    application.bot = offline_bot(telegram)  # the same application, Telegram in-process
    await application.initialize()
    return application


async def the_floor(pool: asyncpg.Pool, telegram: LoopbackTelegram) -> Application:
    """A bare application: answer every update, after one raw INSERT and COMMIT."""
    application = ApplicationBuilder().bot(offline_bot(telegram)).updater(None).concurrent_updates(256).build()

    async def answer(update: Update, context: Any) -> None:
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute("INSERT INTO floor_updates (update_id) VALUES ($1)", update.update_id)
        chat = update.effective_chat
        assert chat is not None
        await context.bot.send_message(chat.id, "ok")

    application.add_handler(MessageHandler(filters.ALL, answer))
    application.add_handler(CallbackQueryHandler(answer))
    await application.initialize()
    return application


ANSWER_FLOOR_TABLES = """
CREATE TABLE af_updates (update_id bigint PRIMARY KEY, handled_at timestamptz NOT NULL);
CREATE TABLE af_users (id bigint PRIMARY KEY, last_seen_at timestamptz NOT NULL);
CREATE TABLE af_checkups (id serial PRIMARY KEY, user_id bigint NOT NULL REFERENCES af_users,
                          question_message_id bigint);
CREATE INDEX ON af_checkups (user_id);
CREATE TABLE af_answers (id serial PRIMARY KEY, checkup_id int NOT NULL REFERENCES af_checkups,
                         field text NOT NULL, value jsonb);
CREATE INDEX ON af_answers (checkup_id);
"""


async def the_answer_floor(pool: asyncpg.Pool, telegram: LoopbackTelegram) -> Application:
    """A bare application doing the work every check-up answer must do, at the least cost
    this stack allows: raw asyncpg and JSON Bot API calls, no questionnaire, no advice.

    As the bot does it (see Store.read and Store.apply): one statement reads whether the update was
    handled, the user's row version and the check-up with its answers; one more writes, if
    the user's row is still that version, the user's row, the update id, the answer and the
    message id of the question sent last time (noted in memory as the bot notes it). Then
    it answers the button press, edits the question message, sends the next question and
    notes that message's id. A first contact (no check-up yet) takes the locking way: a
    transaction that records the update, upserts the user and starts the check-up. Notes
    not written by a next update are written every second, all in one statement, as the bot
    writes them. Every update is treated as an answer (the bot's two multiple-choice ticks
    only edit), so this floor does slightly more than the bot on those."""
    application = ApplicationBuilder().bot(offline_bot(telegram)).updater(None).concurrent_updates(256).build()
    noted: dict[int, tuple[int, int]] = {}  # user id -> (check-up id, message id)
    newer = "(question_message_id IS NULL OR question_message_id < {message})"
    read = (
        "SELECT EXISTS (SELECT 1 FROM af_updates WHERE update_id = $1) AS handled, u.xmin::text AS seen,"
        " c.id, c.question_message_id, a.field, a.value FROM af_users u"
        " LEFT JOIN af_checkups c ON c.user_id = u.id LEFT JOIN af_answers a ON a.checkup_id = c.id"
        " WHERE u.id = $2 ORDER BY a.id"
    )
    apply_unchanged = (
        "WITH locked AS (UPDATE af_users SET last_seen_at = now() WHERE id = $2 AND xmin = $3::text::xid RETURNING id),"
        " recorded AS (INSERT INTO af_updates SELECT $1, now() FROM locked ON CONFLICT DO NOTHING RETURNING 1),"
        " answered AS (INSERT INTO af_answers (checkup_id, field, value) SELECT $4, $5, $6 FROM recorded),"
        " noted AS (UPDATE af_checkups SET question_message_id = $8 FROM locked"
        f" WHERE af_checkups.id = $7 AND af_checkups.user_id = locked.id AND {newer.format(message='$8')})"
        " SELECT count(*) FROM recorded"
    )
    record_and_lock = (
        "WITH recorded AS (INSERT INTO af_updates VALUES ($1, now()) ON CONFLICT DO NOTHING RETURNING 1)"
        " INSERT INTO af_users SELECT $2, now() FROM recorded"
        " ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at RETURNING id"
    )

    async def answer(update: Update, context: Any) -> None:
        user, chat = update.effective_user, update.effective_chat
        assert user is not None and chat is not None
        note = noted.pop(user.id, None)
        async with pool.acquire() as connection:
            rows = await connection.fetch(read, update.update_id, user.id)
            if rows and rows[0]["handled"]:
                return
            if rows and rows[0]["id"] is not None:
                checkup, question_message = rows[0]["id"], rows[0]["question_message_id"]
                value = json.dumps(update.callback_query.data if update.callback_query else "typed")
                applied = await connection.fetchval(
                    apply_unchanged, update.update_id, user.id, rows[0]["seen"], checkup, f"q{len(rows)}", value, *(note or (None, None))
                )
                if not applied:
                    raise RuntimeError("the user's row changed: one update per seller at a time here, so never")
            else:
                async with connection.transaction():
                    if await connection.fetchval(record_and_lock, update.update_id, user.id) is None:
                        return
                    checkup = await connection.fetchval("INSERT INTO af_checkups (user_id) VALUES ($1) RETURNING id", user.id)
                    question_message = None
        if update.callback_query is not None:
            await bot_api(context.bot, "answercallbackquery", callback_query_id=update.callback_query.id)
        if question_message is not None:
            await bot_api(context.bot, "editmessagetext", chat_id=chat.id, message_id=question_message, text="✓ answered")
        keyboard = {"inline_keyboard": [[{"text": "Answer", "callback_data": "x"}, {"text": "Back", "callback_data": "b"}]]}
        sent = await bot_api(context.bot, "sendmessage", chat_id=chat.id, text="The next question", reply_markup=keyboard)
        noted[user.id] = (checkup, sent["message_id"])

    async def write_notes(stop: asyncio.Event) -> None:
        while True:
            stopping = stop.is_set()
            notes = dict(noted)  # kept until written: a next update meanwhile writes its own
            if notes:
                checkups, messages = zip(*notes.values(), strict=True)
                async with pool.acquire() as connection:
                    await connection.execute(
                        "UPDATE af_checkups SET question_message_id = n.message FROM unnest($1::int[], $2::bigint[]) n(checkup, message)"
                        f" WHERE af_checkups.id = n.checkup AND {newer.format(message='n.message')}", list(checkups), list(messages),
                    )
                for user_id, note in notes.items():
                    if noted.get(user_id) == note:
                        del noted[user_id]
            if stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), WRITE_NOTES_EVERY)

    application.bot_data["background"] = [write_notes]
    application.add_handler(MessageHandler(filters.ALL, answer))
    application.add_handler(CallbackQueryHandler(answer))
    await application.initialize()
    return application


async def row_counts(connection: asyncpg.Connection, user_ids: range) -> dict[str, int]:
    low, high = user_ids.start, user_ids.stop
    queries = {
        "users": "SELECT count(*) FROM users WHERE id >= $1 AND id < $2",
        "finished checkups": "SELECT count(*) FROM checkups WHERE user_id >= $1 AND user_id < $2 AND status = 'finished'",
        "current answers": "SELECT count(*) FROM answers WHERE user_id >= $1 AND user_id < $2 AND superseded_at IS NULL",
        "all answers": "SELECT count(*) FROM answers WHERE user_id >= $1 AND user_id < $2",
        "advice reports": "SELECT count(*) FROM advice_reports WHERE user_id >= $1 AND user_id < $2",
    }
    return {name: await connection.fetchval(sql, low, high) for name, sql in queries.items()}


def check_counts(counts: dict[str, int], users: int) -> list[str]:
    expected = {
        "users": users, "finished checkups": users, "current answers": users * FIELDS_PER_CHECKUP,
        "all answers": users * FIELDS_PER_CHECKUP, "advice reports": users,
    }
    return [f"{k}: {counts[k]} != {v}" for k, v in expected.items() if counts[k] != v]


async def store_many_users(connection: asyncpg.Connection, count: int, first_id: int, chunk: int = 10_000) -> None:
    """``count`` users, each with a finished check-up and three answers, copied in chunks
    (so the benchmark's own rows do not inflate the resident size measured afterwards)."""
    stamp = datetime.now(UTC)
    for start in range(first_id, first_id + count, chunk):
        ids = range(start, min(start + chunk, first_id + count))
        await connection.copy_records_to_table(
            "users", records=((i, "en", False, "UTC", stamp, stamp) for i in ids),
            columns=["id", "language", "language_chosen", "time_zone", "created_at", "last_seen_at"],
        )
        base = await connection.fetchval("SELECT coalesce(max(id), 0) FROM checkups") + 1
        await connection.copy_records_to_table(
            "checkups", records=((base + n, i, "finished", "en", stamp, stamp) for n, i in enumerate(ids)),
            columns=["id", "user_id", "status", "language", "started_at", "finished_at"],
        )
        await connection.execute("SELECT setval(pg_get_serial_sequence('checkups', 'id'), $1)", base + len(ids))
        await connection.copy_records_to_table(
            "answers",
            records=(
                (base + n, i, name, json.dumps(value), "answered", stamp)
                for n, i in enumerate(ids)
                for name, value in (("category", "menswear"), ("price_tier", "mid"), ("weekly_orders", 12))
            ),
            columns=["checkup_id", "user_id", "field", "value", "status", "created_at"],
        )


class RssSampler:
    """The highest resident size seen while a phase runs (sampled every 50 ms)."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RssSampler:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.peak = max(self.peak, current_rss_mb())

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, current_rss_mb())
            await asyncio.sleep(0.05)


def rss_mb() -> float:
    """Peak resident size of this process so far (benchmark and bot together)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


async def timed(label: str, coroutine: Awaitable[Figures], profile: bool) -> Figures:
    if not profile:
        return await coroutine
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        return await coroutine
    finally:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("PROFILE_SORT", "tottime")).print_stats(int(os.environ.get("PROFILE_LINES", "30")))
        print(f"--- profile of {label} (own time) ---\n{out.getvalue()}")


async def main(args: argparse.Namespace) -> int:
    problems: list[str] = []
    async with fresh_database(args.admin_url, "seller_coach_bench") as database:
        url, raw_url = database.url, database.raw_url
        pool = await asyncpg.create_pool(raw_url, min_size=10, max_size=20)
        async with pool.acquire() as connection:
            await connection.execute("CREATE TABLE floor_updates (update_id bigint PRIMARY KEY)")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, PostgreSQL {database.server_version};"
              f" {args.users} sellers x {len(SCRIPT)} updates, at most {args.in_flight} in flight")

        telegram = LoopbackTelegram()
        async with pool.acquire() as connection:
            await connection.execute(ANSWER_FLOOR_TABLES)
        floor_app = await the_floor(pool, telegram)
        answer_floor_app = await the_answer_floor(pool, telegram)
        bot_app = await the_bot(url, telegram)
        settle_heap()  # as bot.main.serve does before serving; the floors run with it too
        answer_steps = [("say", "/checkup"), *(("tap", "x") if a == "press" else (a, v) for a, v in ENGLISH_ANSWERS)]
        floors, answer_floors, bots = [], [], []
        # The floor, the answer floor and the bot take turns, --turns times, each turn with
        # new sellers: the machine's drift (a fifth between runs here) then falls on each
        # alike, and the figures compared are the sums over the turns.
        for turn in range(args.turns):
            first = turn * args.users
            floors.append(await run_sellers("floor", floor_app, telegram, range(10_000_000 + first, 10_000_000 + first + args.users),
                                            args.in_flight, steps=[("say", "/start")] * len(SCRIPT)))
            print(floors[-1].line())
            answer_floors.append(await run_sellers("answers", answer_floor_app, telegram, range(40_000_000 + first, 40_000_000 + first + args.users),
                                                   args.in_flight, steps=answer_steps))
            print(answer_floors[-1].line())
            users = range(1 + first, 1 + first + args.users)
            bots.append(await timed("the bot", run_sellers("bot", bot_app, telegram, users, args.in_flight), args.profile and turn == 0))
            print(bots[-1].line())
            print(f"resident now {current_rss_mb():.0f} MB")
        await floor_app.shutdown()
        await answer_floor_app.shutdown()
        floor, answer_floor, bot = combined(floors), combined(answer_floors), combined(bots)
        if args.turns > 1:
            print(f"over the {args.turns} turns:")
            for figures in (floor, answer_floor, bot):
                print(figures.line())
        async with pool.acquire() as connection:
            stored = await connection.fetchval("SELECT count(*) FROM af_answers")
        if stored != args.turns * args.users * len(ENGLISH_ANSWERS) or answer_floor.errors:
            problems.append(f"the answer floor stored {stored} answers, {answer_floor.errors} errors")

        users = range(1, 1 + args.turns * args.users)
        async with pool.acquire() as connection:
            counts = await row_counts(connection, users)
            processed = await connection.fetchval("SELECT count(*) FROM processed_updates")
        print(f"rows: {counts}, processed updates {processed}")
        problems += check_counts(counts, args.turns * args.users)
        if processed != bot.updates:
            problems.append(f"processed updates {processed} != {bot.updates}")
        unanswered = [c for c, chat in telegram.chats.items() if c < 10_000_000 and chat.received < len(SCRIPT) - 5]
        if unanswered:
            problems.append(f"{len(unanswered)} sellers got too few replies")
        # Every answered question is edited to show the answer: typed answers find the
        # question's message id written behind (in the seller's next update, or every second).
        edits = {chat.edited for c, chat in telegram.chats.items() if c < 10_000_000}
        if edits != {EDITS_PER_CHECKUP}:
            problems.append(f"questions edited per seller: {sorted(edits)}, not {EDITS_PER_CHECKUP}")

        ratio = (statistics.mean(bot.service) / statistics.mean(floor.service))
        throughput_ratio = (floor.updates / floor.seconds) / (bot.updates / bot.seconds)
        cpu_ratio = bot.cpu_per_update / floor.cpu_per_update
        print(f"cost of an update against the floor: {ratio:.2f}x (mean service time), {throughput_ratio:.2f}x (throughput),"
              f" {cpu_ratio:.2f}x (CPU per update)")
        print(f"cost of an update against the answer floor (the same database and Bot API work, raw):"
              f" {bot.cpu_per_update / answer_floor.cpu_per_update:.2f}x (CPU per update);"
              f" the answer floor against the floor: {answer_floor.cpu_per_update / floor.cpu_per_update:.2f}x")
        targets = {
            "answer costs <= 2x the floor (CPU per update)": cpu_ratio <= 2.0,
            ">= 1,000 answers/s": bot.updates / bot.seconds >= 1000,
            "errors 0": bot.errors == 0 and floor.errors == 0,
        }
        print(f"queueing at {args.in_flight} in flight: service p99 {pct(bot.service, 99):.1f} ms (the floor's {pct(floor.service, 99):.1f} ms)")

        if args.latency_in_flight:
            # Handling latency where the process is just kept busy: more updates in flight
            # than that only queue (Little's law), which the p99 above includes.
            third = range(50_000_000, 50_000_000 + args.latency_users)
            latency = await run_sellers("latency", bot_app, telegram, third, args.latency_in_flight)
            print(latency.line(), f"({args.latency_in_flight} in flight)")
            async with pool.acquire() as connection:
                problems += check_counts(await row_counts(connection, third), args.latency_users)
            rate = latency.updates / latency.seconds
            targets[f"service p99 < 20 ms at >= 1,000 answers/s, together ({args.latency_in_flight} in flight:"
                    f" {pct(latency.service, 99):.1f} ms at {rate:,.0f} updates/s)"] = (
                pct(latency.service, 99) < 20 and rate >= 1000 and latency.errors == 0
            )

        if args.stored_users:
            started = time.perf_counter()
            async with pool.acquire() as connection:
                await store_many_users(connection, args.stored_users, 20_000_000)
                total = await connection.fetchval("SELECT count(*) FROM users")
            print(f"stored {args.stored_users} more users in {time.perf_counter() - started:.1f} s; users now {total}")
            second = range(30_000_000, 30_000_000 + args.users)
            async with RssSampler() as sampler:
                again = await run_sellers("again", bot_app, telegram, second, args.in_flight)
            print(again.line())
            async with pool.acquire() as connection:
                problems += check_counts(await row_counts(connection, second), args.users)
            print(f"resident size while the bot ran with {total} stored users: peak {sampler.peak:.0f} MB"
                  f" (process peak so far, benchmark included: {rss_mb():.0f} MB)")
            targets[f"RSS < 200 MB with {total:,} users stored"] = sampler.peak < 200
        await bot_app.shutdown()
        await bot_app.bot_data["engine"].dispose()
        await pool.close()
        for target, met in targets.items():
            print(f"target {'met   ' if met else 'MISSED'}: {target}")
        for problem in problems:
            print("PROBLEM:", problem)
    return 1 if problems or bot.errors else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--turns", type=int, default=2, help="runs of the floor, the answer floor and the bot, in turn")
    parser.add_argument("--latency-in-flight", type=int, default=6, help="a second run's updates in flight (0: none)")
    parser.add_argument("--latency-users", type=int, default=1000)
    parser.add_argument("--stored-users", type=int, default=100_000)
    parser.add_argument("--admin-url", default=os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--profile", action="store_true", help="cProfile the bot's run")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    sys.exit(asyncio.run(main(arguments)))



