"""The loops that run beside the updates coming in, each until the stop event is set."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from telegram.ext import Application

from bot.checkins.dispatcher import Dispatcher, SendLimiter, telegram_sender
from bot.stopping import pause
from bot.storage.database import DATABASE_ERRORS
from bot.storage.repository import Store

log = logging.getLogger(__name__)
# Telegram redelivers an unconfirmed update for at most 24 hours; keep ids twice as long.
KEEP_UPDATE_IDS = timedelta(hours=48)
PRUNE_EVERY = 15 * 60.0
# A seller answering within this on another process finds no note of the question to edit.
WRITE_NOTES_EVERY = 1.0


@asynccontextmanager
async def background_loops(application: Application, stop: asyncio.Event) -> AsyncIterator[None]:
    """Start the loops; on the way out set ``stop`` and wait for each to finish.

    Due check-ins go out from the database; 429 holds met by the other processes are heard;
    handled update ids are forgotten; noted question messages are written."""
    store: Store = application.bot_data["store"]
    hold = application.bot_data["send_hold"]
    dispatcher = Dispatcher(
        store, telegram_sender(application.bot), limiter=SendLimiter(store), hold=hold
    )
    loops = [
        asyncio.create_task(dispatcher.run(stop)),
        asyncio.create_task(hold.listen(stop)),
        asyncio.create_task(prune_processed_updates(store, stop)),
        asyncio.create_task(write_noted_questions(store, stop)),
    ]
    try:
        yield
    finally:
        stop.set()
        for loop in loops:
            await loop


async def prune_processed_updates(
    store: Store, stop: asyncio.Event, every: float = PRUNE_EVERY
) -> None:
    """Forget handled update ids older than Telegram's redelivery window, on start and then
    every ``every`` seconds, in bounded batches (short transactions, whatever the backlog)."""
    while not stop.is_set():
        try:
            removed = await store.forget_processed_updates(KEEP_UPDATE_IDS)
            if removed:
                log.info("forgot %s processed update ids", removed)
        except DATABASE_ERRORS as exc:  # the database is down: try again next time
            log.warning("could not prune processed updates (%s)", type(exc).__name__)
        await pause(stop, every)


async def write_noted_questions(
    store: Store, stop: asyncio.Event, every: float = WRITE_NOTES_EVERY
) -> None:
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
        await pause(stop, every)
