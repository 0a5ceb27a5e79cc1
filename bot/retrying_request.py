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
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from datetime import timedelta
from typing import Any

import httpx
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.request import BaseRequest, RequestData

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
    ) -> None:
        self.inner = inner
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
        attempt = 1
        while True:
            try:
                code, payload = await self.inner.do_request(
                    url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
                )
            except (TimedOut, NetworkError) as exc:
                if attempt >= self.attempts or not self._may_retry_error(api_method, exc):
                    raise
                delay = self._backoff(attempt)
                log.warning("%s failed (%s); retry %s in %.2f s", api_method, _describe(exc), attempt, delay)
            else:
                if attempt >= self.attempts or not self._may_retry_status(api_method, code):
                    return code, payload
                delay = self._retry_after(payload) if code == 429 else self._backoff(attempt)
                if delay is None:
                    return code, payload
                log.warning("%s answered %s; retry %s in %.2f s", api_method, code, attempt, delay)
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
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # jitter: processes do not retry in step

    def _retry_after(self, payload: bytes) -> float | None:
        """Telegram's own wait for a 429; None (give up) if it asks for longer than we wait."""
        try:
            seconds = float(json.loads(payload)["parameters"]["retry_after"])
        except (ValueError, KeyError, TypeError):
            return self._backoff(1)
        return seconds if seconds <= self.max_retry_after else None


def _describe(exc: Exception) -> str:
    cause = exc.__cause__
    return type(cause).__name__ if cause is not None else type(exc).__name__


def retry_after_seconds(exc: RetryAfter) -> float:
    """How long Telegram asked to wait (python-telegram-bot gives seconds or a timedelta)."""
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
