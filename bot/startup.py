"""Why ``coach run`` (or ``coach db``) could not start, in one line that says what to do.

Each start-up step that talks to Telegram or to the database runs inside ``step(...)``,
which turns the failures foreseen there into a :class:`StartupError`: one line naming what
failed, Telegram's or the database driver's reason (neither holds a secret), and what to do.
The line never holds the token, the database password or the webhook secret: it is built
from the host and port, never from the whole URL, and redacted once more on the way out.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError

from bot.config import DEFAULT_API_URL, Settings

# Exit statuses: a setting to fix (a supervisor should not restart blindly), or a service
# not answering now (a restart later may well succeed).
EXIT_FIX_SETTINGS = 2
EXIT_UNAVAILABLE = 1


class Step(Enum):
    TELEGRAM = "telegram"
    DATABASE = "database"


class StartupError(Exception):
    """A start-up failure explained: ``str(error)`` is the line to show the operator."""

    def __init__(self, line: str, exit_status: int = EXIT_FIX_SETTINGS) -> None:
        super().__init__(line)
        self.exit_status = exit_status


@contextmanager
def step(kind: Step, settings: Settings, request: str = "a start-up request") -> Iterator[None]:
    """Run a start-up step (``request``: the Bot API method it calls, for the message); a
    failure foreseen for its kind becomes a StartupError. Anything else (a bug) goes on up
    unchanged, for the caller to log with its traceback."""
    try:
        yield
    except StartupError:
        raise
    except Exception as exc:
        explained = explain(exc, kind, settings, request)
        if explained is None:
            raise
        raise explained from None


def explain(
    exc: BaseException, kind: Step, settings: Settings, request: str = "a start-up request"
) -> StartupError | None:
    if isinstance(exc, TelegramError):
        return _telegram(exc, settings, request)
    if kind is Step.DATABASE and isinstance(exc, SQLAlchemyError | OSError | ValueError):
        return _database(exc, settings.database_url)
    return None


def _telegram(exc: TelegramError, settings: Settings, request: str) -> StartupError:
    custom_api = settings.telegram_api_url != DEFAULT_API_URL
    if isinstance(exc, InvalidToken):
        # Not exc.message: python-telegram-bot puts the token itself in it.
        line = (
            "Telegram rejected the bot token (401 Unauthorized): set TELEGRAM_BOT_TOKEN to the "
            "token @BotFather gave you (/mybots > API Token)"
        )
        if custom_api:
            line += f", and check that TELEGRAM_API_URL ({_where(settings.telegram_api_url)}) is a Bot API server"
        return StartupError(line)
    if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
        # TimedOut too. Already retried with backoff (bot.retrying_request).
        hint = (
            "check TELEGRAM_API_URL"
            if custom_api
            else "check the network (or a proxy) to api.telegram.org"
        )
        return StartupError(
            f"cannot reach the Telegram Bot API at {_where(settings.telegram_api_url)} "
            f"({exc.message}): {hint}, then start again",
            EXIT_UNAVAILABLE,
        )
    # Telegram's reason, as it gave it ("Bad webhook: https url must be provided").
    return StartupError(f"Telegram refused {request}: {exc.message}")


def _database(exc: BaseException, database_url: str) -> StartupError:
    try:
        url = make_url(database_url)
    except (ArgumentError, ValueError):
        return StartupError(
            "DATABASE_URL is not a valid database URL: see the README (Configuration)"
        )
    if url.get_backend_name() == "sqlite":
        return StartupError(
            f"cannot open the SQLite database {url.database!r} ({_reason(exc)}): check that its "
            "folder exists and is writable, or set DATABASE_URL"
        )
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    if isinstance(exc, OSError | TimeoutError):
        # Refused, unknown host, timed out: nothing answered there.
        return StartupError(
            f"cannot connect to the database at {where} ({_reason(exc)}): start PostgreSQL "
            "there, or set DATABASE_URL to where it runs",
            EXIT_UNAVAILABLE,
        )
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return StartupError(
            f"the database at {where} dropped the connection ({_reason(exc)}): try again",
            EXIT_UNAVAILABLE,
        )
    # It answered and refused: a login, a database name, or too many connections.
    return StartupError(
        f"the database at {where} refused the connection ({_reason(exc)}): check the user, "
        "password and database name in DATABASE_URL"
    )


def _reason(exc: BaseException) -> str:
    """The driver's own first line (it names the failure, never the password)."""
    original = getattr(exc, "orig", None) or exc
    if isinstance(original, socket.gaierror) and original.strerror:
        return original.strerror  # "Name or service not known"
    if isinstance(original, OSError) and isinstance(original.errno, int) and original.errno > 0:
        return os.strerror(original.errno)  # "Connection refused", not asyncpg's own wording
    if isinstance(original, TimeoutError):
        return "timed out"
    first = (str(original).strip().splitlines() or [""])[0][:200]
    return first or type(original).__name__


def _where(url: str) -> str:
    """scheme://host[:port] of a URL, nothing after it."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def listening_socket(settings: Settings) -> socket.socket:
    """The webhook server's socket, bound before the webhook is registered with Telegram."""
    host, port = settings.webhook_listen, settings.webhook_port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(
            f"cannot listen for webhooks on {host}:{port} ({_reason(exc)}): set WEBHOOK_PORT "
            "(or WEBHOOK_LISTEN) to a free address, or stop what uses it"
        ) from None
    return sock
