"""Start-up of ``coach run``: check the token and the schema, then serve until stopped.

Updates come in by long polling (bot.polling), or through the webhook server
(bot.webhook) when WEBHOOK_URL is set; the background loops (bot.background) run beside
them. Logging goes through the filter that redacts the secrets (bot.logs)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys

from bot.app import build_application, dispose, register_commands
from bot.background import background_loops
from bot.config import Settings
from bot.logs import configure_logging
from bot.polling import poll
from bot.startup import EXIT_UNAVAILABLE, StartupError, Step, step
from bot.storage.migrate import database_revision, head_revision, upgrade_database
from bot.webhook import serve_webhook

log = logging.getLogger(__name__)
# The collector's young round every 10,000 new container objects rather than 700: an update
# makes a few thousand, and reference counting frees most of them before a round would.
GC_THRESHOLDS = (10_000, 20, 20)


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
        print(
            "coach: stopped by an unexpected error (logged above); please report it",
            file=sys.stderr,
        )
        return EXIT_UNAVAILABLE
    return 0


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
        # Unwound in reverse: the loops stop, then the database engine is disposed.
        started.push_async_callback(dispose, application)
        await started.enter_async_context(background_loops(application, stop))
        if settings.webhook_url:
            await serve_webhook(application, settings, stop)
        else:
            log.info("polling for updates")
            await poll(application, stop, settings)


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
