"""Long polling: getUpdates, confirming updates to Telegram only once they are handled."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application

from bot.app import handle_update
from bot.config import Settings
from bot.handlers import describe_error
from bot.retrying_request import retry_after_seconds
from bot.startup import Step, explain, step
from bot.stopping import Stopped, pause, unless_stopped

log = logging.getLogger(__name__)
POLL_TIMEOUT = 25


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
            # A long poll can wait POLL_TIMEOUT seconds; a SIGTERM does not wait for it.
            # Cancelling it is harmless: nothing it fetched has been handled, so Telegram
            # simply delivers it again.
            updates = await unless_stopped(
                stop,
                bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT, allowed_updates=Update.ALL_TYPES
                ),
            )
        except Stopped:
            break
        except RetryAfter as exc:
            await pause(stop, retry_after_seconds(exc))
            continue
        except (TimedOut, NetworkError) as exc:
            log.warning("getUpdates failed (%s); retrying", describe_error(exc))
            await pause(stop, 2.0)
            continue
        except TelegramError as exc:
            # Refused for good: another process polls with this token (409 Conflict), or
            # the token was revoked. Telegram's reason says which; polling on cannot help.
            raise explain(exc, Step.TELEGRAM, settings, "getUpdates") or exc from None
        if not updates:
            continue
        await asyncio.gather(*(handle_update(application, u) for u in updates))
        offset = updates[-1].update_id + 1
