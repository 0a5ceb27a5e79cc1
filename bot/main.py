"""Running the bot: long polling, or a webhook server when WEBHOOK_URL is set."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import json
import logging
import signal
import sys
from collections.abc import Awaitable
from datetime import timedelta
from json import JSONDecodeError
from typing import TypeVar

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application

from bot.app import build_application, dispose, register_commands
from bot.checkins.dispatcher import Dispatcher, SendLimiter, telegram_sender
from bot.config import Settings
from bot.handlers import DATABASE_ERRORS, describe_error
from bot.retrying_request import retry_after_seconds
from bot.startup import EXIT_UNAVAILABLE, StartupError, Step, explain, listening_socket, step
from bot.storage.migrate import database_revision, head_revision, upgrade_database
from bot.storage.repository import Store

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
POLL_TIMEOUT = 25
# Telegram redelivers an unconfirmed update for at most 24 hours; keep ids twice as long.
KEEP_UPDATE_IDS = timedelta(hours=48)
PRUNE_EVERY = 15 * 60.0
# A seller answering within this on another process finds no note of the question to edit.
WRITE_NOTES_EVERY = 1.0
T = TypeVar("T")
# Telegram's updates are a few kilobytes (4,096 characters of text at most, plus entities).
MAX_UPDATE_BYTES = 1 << 20
# The collector's young round every 10,000 new container objects rather than 700: an update
# makes a few thousand, and reference counting frees most of them before a round would.
GC_THRESHOLDS = (10_000, 20, 20)
# httpx logs every request URL, and Bot API URLs carry the token; the others log SQL
# parameters and message texts at DEBUG, which a root level of DEBUG would let through.
LIBRARY_LOG_LEVELS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiosqlite": logging.INFO,
    "telegram": logging.INFO,
    "sqlalchemy": logging.WARNING,
}


class RedactSecrets(logging.Filter):
    """Removes the bot token and database password from every log line, tracebacks included."""

    def __init__(self, *secrets: str | None) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]
        self._formatter = logging.Formatter()

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            record.msg, record.args = self.redact(message), None
        # Formatters print exc_text when it is set: the traceback is redacted once, here.
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(settings: Settings) -> RedactSecrets:
    """Logging for `coach run`; returns the filter that redacts its secrets."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    for name, level in LIBRARY_LOG_LEVELS.items():
        logging.getLogger(name).setLevel(level)
    redact = RedactSecrets(settings.telegram_bot_token, _password(settings.database_url), settings.webhook_secret)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    return redact


def _password(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    return make_url(url).password


async def handle_update(application: Application, update: Update) -> None:
    """Process one update through the per-user ordering; returns once it is handled."""
    await application.update_processor.process_update(update, application.process_update(update))


async def poll(application: Application, stop: asyncio.Event, settings: Settings) -> None:
    """Long polling that confirms updates to Telegram only after they are handled.

    The next getUpdates offset is what tells Telegram an update may be forgotten, so it
    only moves past a batch once every update of it has been committed: a crash before
    that means Telegram delivers the batch again, and the processed-updates table makes the
    repeat harmless.
    """
    bot = application.bot
    offset: int | None = None
    with step(Step.TELEGRAM, settings, "deleteWebhook"):
        await bot.delete_webhook(drop_pending_updates=False)
    while not stop.is_set():
        try:
            updates = await _unless_stopped(
                stop, bot.get_updates(offset=offset, timeout=POLL_TIMEOUT, allowed_updates=Update.ALL_TYPES)
            )
        except _Stopped:
            break
        except RetryAfter as exc:
            await _sleep(stop, retry_after_seconds(exc))
            continue
        except (TimedOut, NetworkError) as exc:
            log.warning("getUpdates failed (%s); retrying", describe_error(exc))
            await _sleep(stop, 2.0)
            continue
        except TelegramError as exc:
            # Refused for good: another process polls with this token (409 Conflict), or
            # the token was revoked. Telegram's reason says which; polling on cannot help.
            raise explain(exc, Step.TELEGRAM, settings, "getUpdates") or exc from None
        if not updates:
            continue
        await asyncio.gather(*(handle_update(application, u) for u in updates))
        offset = updates[-1].update_id + 1


class _Stopped(Exception):
    """The stop event was set while waiting."""


async def _unless_stopped(stop: asyncio.Event, awaitable: Awaitable[T]) -> T:
    """Await ``awaitable`` unless ``stop`` is set first (then cancel it and raise _Stopped).

    A long poll can wait 25 s for updates; a SIGTERM must not wait for it. Cancelling it is
    harmless: nothing fetched by it has been handled, so Telegram simply delivers it again."""
    task = asyncio.ensure_future(awaitable)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise _Stopped
    return task.result()


async def prune_processed_updates(store: Store, stop: asyncio.Event, every: float = PRUNE_EVERY) -> None:
    """Forget handled update ids older than Telegram's redelivery window, on start and then
    every ``every`` seconds, in bounded batches (short transactions, whatever the backlog)."""
    while not stop.is_set():
        try:
            removed = await store.forget_processed_updates(KEEP_UPDATE_IDS)
            if removed:
                log.info("forgot %s processed update ids", removed)
        except DATABASE_ERRORS as exc:  # the database is down: try again next time
            log.warning("could not prune processed updates (%s)", type(exc).__name__)
        await _sleep(stop, every)



async def write_noted_questions(store: Store, stop: asyncio.Event, every: float = WRITE_NOTES_EVERY) -> None:
    """Write the question messages noted since the last time, every ``every`` seconds and
    once more on the way out (see Store.remember_question_message)."""
    while True:
        stopping = stop.is_set()
        try:
            await store.write_noted_questions()
        except DATABASE_ERRORS as exc:  # kept for the next time
            log.warning("could not write question messages (%s)", type(exc).__name__)
        if stopping:
            return
        await _sleep(stop, every)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


def _has_known_content(update: Update) -> bool:
    """Whether the update carries one of the kinds python-telegram-bot knows."""
    return any(getattr(update, kind, None) is not None for kind in Update.ALL_TYPES)


def webhook_app(application: Application, secret: str):  # -> starlette.applications.Starlette
    """A small ASGI app: checks the secret, handles the update, then answers 200."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    expected = secret.encode()

    async def telegram(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not given:
            return PlainTextResponse("missing secret token", status_code=401)
        if not hmac.compare_digest(given, expected):
            return PlainTextResponse("wrong secret token", status_code=403)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_UPDATE_BYTES:
                log.warning("oversized update refused (over %s bytes)", MAX_UPDATE_BYTES)
                return PlainTextResponse("update too large", status_code=400)
        try:
            data = json.loads(body)
        except (JSONDecodeError, UnicodeDecodeError) as exc:
            log.warning("malformed update refused: %s", type(exc).__name__)
            return PlainTextResponse("malformed update", status_code=400)
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            log.warning("malformed update refused: %s without an integer update_id", type(data).__name__)
            return PlainTextResponse("malformed update", status_code=400)
        try:
            update = Update.de_json(data, application.bot)
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            # Logged by type only: the payload holds user text.
            log.warning("malformed update %s refused: %s", data["update_id"], type(exc).__name__)
            return PlainTextResponse("malformed update", status_code=400)
        if not _has_known_content(update):
            # A type added to the Bot API after this bot was written: accepted so Telegram
            # does not retry it forever, and deliberately not handled.
            log.info("update %s of an unknown type ignored", update.update_id)
            return PlainTextResponse("ok")
        # 200 only once handled: Telegram redelivers anything that did not get it.
        await handle_update(application, update)
        return PlainTextResponse("ok")

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/telegram", telegram, methods=["POST"]), Route("/healthz", health)])


def settle_heap() -> None:
    """Once the bot has loaded, before it serves: what is alive now (modules, data files,
    compiled statements and templates) lives as long as the process, so the garbage
    collector leaves it out of its rounds (gc.freeze), and its young rounds come less
    often (GC_THRESHOLDS). Without this, a full round walked every object of the process
    and held the event loop for 150 ms, and collecting took 5% of the CPU under load
    (benchmarks/load_bench.py prints the time spent collecting)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM: polling, or the webhook server when WEBHOOK_URL is set."""
    application = build_application(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as started:
        with step(Step.TELEGRAM, settings, "getMe"):  # the token and the Bot API's address
            await started.enter_async_context(application)
        store = application.bot_data["store"]
        with step(Step.DATABASE, settings):
            revision = await database_revision(store.engine)
        if revision != head_revision():
            raise StartupError(
                f"the database {f'schema is at revision {revision}' if revision else 'has no schema yet'}"
                f" and this version needs revision {head_revision()}: run `coach db upgrade` "
                "(with the same DATABASE_URL) first"
            )
        with step(Step.TELEGRAM, settings, "setMyCommands"):
            await register_commands(application)
        settle_heap()
        # Due check-ins go out from the database, beside the updates coming in.
        hold = application.bot_data["send_hold"]
        dispatcher = Dispatcher(store, telegram_sender(application.bot), limiter=SendLimiter(store), hold=hold)
        checkins = asyncio.create_task(dispatcher.run(stop))
        holds = asyncio.create_task(hold.listen(stop))  # 429s met by the other processes
        pruning = asyncio.create_task(prune_processed_updates(store, stop))
        notes = asyncio.create_task(write_noted_questions(store, stop))
        try:
            if settings.webhook_url:
                await _serve_webhook(application, settings, stop)
            else:
                log.info("polling for updates")
                await poll(application, stop, settings)
        finally:
            stop.set()
            await checkins
            await holds
            await pruning
            await notes
            await dispose(application)


async def _serve_webhook(application: Application, settings: Settings, stop: asyncio.Event) -> None:
    import uvicorn

    assert settings.webhook_url and settings.webhook_secret
    sock = listening_socket(settings)  # before Telegram is told to send updates here
    try:
        with step(Step.TELEGRAM, settings, "setWebhook"):
            await application.bot.set_webhook(
                settings.webhook_url.rstrip("/") + "/telegram",
                secret_token=settings.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
        config = uvicorn.Config(
            webhook_app(application, settings.webhook_secret),
            host=settings.webhook_listen,
            port=settings.webhook_port,
            log_level="warning",
        )
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        task = asyncio.create_task(server.serve(sockets=[sock]))
        log.info("webhook server on %s:%s", settings.webhook_listen, settings.webhook_port)
        await stop.wait()
        server.should_exit = True
        await task
    finally:
        sock.close()


def run_bot(settings: Settings) -> int:
    """``coach run`` with a token. SQLite (embedded) is migrated on start; other databases
    must be upgraded with ``coach db upgrade`` first, so several processes never race.

    Whatever stops it ends with one line on stderr and a non-zero status, never a traceback
    there: a foreseen start-up failure says what to do (bot.startup); anything else is logged
    with its traceback, through the filter that redacts the secrets."""
    redact = configure_logging(settings)
    try:
        if settings.database_url.startswith("sqlite"):
            with step(Step.DATABASE, settings):
                log.info("%s", upgrade_database(settings.database_url))
        asyncio.run(serve(settings))
    except StartupError as exc:
        print(f"coach: {redact.redact(str(exc))}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were installed
        return 130
    except Exception:
        log.critical("coach run stopped by an unexpected error", exc_info=True)
        print("coach: stopped by an unexpected error (logged above); please report it", file=sys.stderr)
        return EXIT_UNAVAILABLE
    return 0
