"""Retries with backoff for Bot API calls, only where a retry cannot show a user anything twice.

Every request the bot makes goes through :class:`RetryingRequest`, so this is the one place
that decides. The decision is per method and per failure:

* A failure that proves Telegram did not act on the request is retried for every method:
  429 Too Many Requests (it refused, and says when to come back), 502 Bad Gateway and
  503 Service Unavailable (the front end answered because the Bot API server was not reached
  or would not take the request), and a connection that could not be opened (refused, connect
  timeout, no pooled connection free: nothing was sent).
* A failure after which Telegram may have acted (a read timeout, a connection dropped while
  waiting for the answer, 500, 504) is retried only for methods that are idempotent:
  editing a message to the same content, answering a callback query, chat actions, menu and
  webhook setup. It is *not* retried for sending a message or a file: the first attempt may
  have been delivered, and a blind retry would show the seller the same message twice. Such a
  send raises, the handler logs it, and the seller's next message carries on (the answer was
  committed before anything was sent).
* getUpdates is never retried here: the poller has its own loop, and a retried long poll
  would only hold a stale offset.

A 429 is not one request's business: Telegram asks the bot to wait. With a
:class:`bot.send_hold.SendHold`, every 429 met here (whatever the method, and even when the
wait asked is too long to retry) is reported to it, which holds this process at once and
every other process through the database; and every request but getUpdates waits while a
hold is on, whoever met the 429. Checking costs one comparison.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.request import BaseRequest, RequestData

if TYPE_CHECKING:
    from bot.send_hold import SendHold

log = logging.getLogger(__name__)

NOT_RECEIVED_STATUSES = frozenset({429, 502, 503})
MAYBE_RECEIVED_STATUSES = frozenset({500, 504})
# Methods whose repetition changes nothing the user sees (a second edit is "not modified",
# a second callback answer is refused as too old, setup calls overwrite the same state).
IDEMPOTENT_METHODS = frozenset(
    {
        "editmessagetext", "editmessagereplymarkup", "answercallbackquery", "sendchataction",
        "setmycommands", "deletemycommands", "setchatmenubutton", "setwebhook",
        "deletewebhook", "getwebhookinfo", "getme", "getfile",
    }
)  # fmt: skip
NEVER_RETRIED = frozenset({"getupdates"})
# Transport errors after which nothing reached Telegram.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RetryingRequest(BaseRequest):
    """Wraps another request class (HTTPXRequest in production) with the retry policy above."""

    def __init__(
        self,
        inner: BaseRequest,
        *,
        attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 30.0,
        hold: SendHold | None = None,
    ) -> None:
        self.inner = inner
        self.hold = hold
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1].lower()
        hold = self.hold if api_method not in NEVER_RETRIED else None
        attempt = 1
        delay: float | None
        while True:
            if hold is not None and hold.until > hold.clock():
                await hold.wait()
            try:
                code, payload = await self.inner.do_request(
                    url,
                    method,
                    request_data,
                    read_timeout,
                    write_timeout,
                    connect_timeout,
                    pool_timeout,
                )
            except (TimedOut, NetworkError) as exc:
                if attempt >= self.attempts or not self._may_retry_error(api_method, exc):
                    raise
                delay = self._backoff(attempt)
                log.warning(
                    "%s failed (%s); retry %s in %.2f s", api_method, _describe(exc), attempt, delay
                )
            else:
                asked = self._asked_wait(payload) if code == 429 else None
                if asked is not None and hold is not None:
                    hold.report(asked)
                if attempt >= self.attempts or not self._may_retry_status(api_method, code):
                    return code, payload
                delay = self._backoff(attempt) if code != 429 else self._retry_after(asked)
                if delay is None:
                    return code, payload
                log.warning("%s answered %s; retry %s in %.2f s", api_method, code, attempt, delay)
                if asked is not None and hold is not None:
                    delay = 0.0  # the hold is waited out above, however long others make it
            await asyncio.sleep(delay)
            attempt += 1

    def _may_retry_status(self, api_method: str, code: int) -> bool:
        if api_method in NEVER_RETRIED:
            return False
        if code in NOT_RECEIVED_STATUSES:
            return True
        return code in MAYBE_RECEIVED_STATUSES and api_method in IDEMPOTENT_METHODS

    def _may_retry_error(self, api_method: str, exc: Exception) -> bool:
        if api_method in NEVER_RETRIED:
            return False
        if isinstance(exc.__cause__, NOT_SENT_ERRORS):
            return True
        return api_method in IDEMPOTENT_METHODS

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(
            0, ceiling / 2
        )  # jitter: processes do not retry in step

    def _retry_after(self, asked: float | None) -> float | None:
        """Telegram's own wait for a 429; None (give up) if it asks for longer than we wait."""
        if asked is None:
            return self._backoff(1)
        return asked if asked <= self.max_retry_after else None

    @staticmethod
    def _asked_wait(payload: bytes) -> float | None:
        """The retry_after of a 429's answer, if it says one."""
        try:
            return float(json.loads(payload)["parameters"]["retry_after"])
        except (ValueError, KeyError, TypeError):
            return None


def _describe(exc: Exception) -> str:
    cause = exc.__cause__
    return type(cause).__name__ if cause is not None else type(exc).__name__


def retry_after_seconds(exc: RetryAfter) -> float:
    """How long Telegram asked to wait (python-telegram-bot gives seconds or a timedelta)."""
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
