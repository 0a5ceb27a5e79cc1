"""The webhook server: Telegram posts each update; it is answered 200 once handled."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Iterator
from json import JSONDecodeError
from typing import TYPE_CHECKING

from telegram import Update
from telegram.ext import Application

from bot.app import handle_update
from bot.config import Settings
from bot.startup import Step, listening_socket, step

if TYPE_CHECKING:
    from starlette.applications import Starlette

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are a few kilobytes (4,096 characters of text at most, plus entities).
MAX_UPDATE_BYTES = 1 << 20


def webhook_app(application: Application, secret: str) -> Starlette:
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
            log.warning(
                "malformed update refused: %s without an integer update_id", type(data).__name__
            )
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

    return Starlette(
        routes=[Route("/telegram", telegram, methods=["POST"]), Route("/healthz", health)]
    )


def _has_known_content(update: Update) -> bool:
    """Whether the update carries one of the kinds python-telegram-bot knows."""
    return any(getattr(update, kind, None) is not None for kind in Update.ALL_TYPES)


async def serve_webhook(application: Application, settings: Settings, stop: asyncio.Event) -> None:
    """Register the webhook with Telegram and serve it until ``stop`` is set."""
    import uvicorn

    class _Server(uvicorn.Server):
        """uvicorn's server leaving SIGINT and SIGTERM to main.py's handlers, which set
        ``stop``; the server is then told to exit below. (uvicorn 0.29 replaced the
        ``install_signal_handlers`` hook with this context manager: on the main thread it
        would take the signals over while serving, and raise them again once stopped.)"""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

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
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        log.info("webhook server on %s:%s", settings.webhook_listen, settings.webhook_port)
        await stop.wait()
        server.should_exit = True
        await task
    finally:
        sock.close()
