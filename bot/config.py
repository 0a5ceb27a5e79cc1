"""The one configuration loader: environment variables, optionally from a ``.env`` file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///seller_coach.db"


DATABASE_URL_FORMS = (
    "sqlite:///path/to/file.db or postgresql://user:password@host:port/database "
    "(special characters of the password %-encoded)"
)


class ConfigError(ValueError):
    """A setting with a value the bot cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment. The token never appears in repr."""

    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8080
    admin_ids: frozenset[int] = frozenset()
    # Flood control per user: this many updates at once, then this many a second (0: off).
    flood_burst: int = 40
    flood_rate: float = 4.0

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
    ) -> Settings:
        """Read settings from ``environ`` (default: the process environment) over ``.env``."""
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)

        def get(name: str) -> str | None:
            value = values.get(name, "").strip()
            return value or None

        port = get("WEBHOOK_PORT") or "8080"
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"WEBHOOK_PORT must be a port number, got {port!r}")
        webhook_url = get("WEBHOOK_URL")
        secret = get("WEBHOOK_SECRET")
        if webhook_url and not secret:
            raise ConfigError(
                "WEBHOOK_SECRET must be set when WEBHOOK_URL is set: choose 1-256 characters of "
                "A-Z, a-z, 0-9, _ and - (or unset WEBHOOK_URL to use long polling)"
            )
        if (
            secret
            and not all(c.isalnum() or c in "_-" for c in secret)
            or (secret and len(secret) > 256)
        ):
            raise ConfigError(
                "WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and - (1-256 characters)"
            )
        burst, rate = get("FLOOD_BURST") or "40", get("FLOOD_RATE") or "4"
        if not burst.isdigit():
            raise ConfigError(
                f"FLOOD_BURST must be a whole number (0 turns flood control off), got {burst!r}"
            )
        try:
            flood_rate = float(rate)
        except ValueError:
            flood_rate = -1.0
        if not 0 < flood_rate < 1e6:
            raise ConfigError(
                f"FLOOD_RATE must be a positive number of updates a second, got {rate!r}"
            )
        return cls(
            telegram_bot_token=get("TELEGRAM_BOT_TOKEN"),
            telegram_api_url=get("TELEGRAM_API_URL") or DEFAULT_API_URL,
            database_url=check_database_url(
                normalise_database_url(get("DATABASE_URL") or DEFAULT_DATABASE_URL)
            ),
            webhook_url=webhook_url,
            webhook_secret=secret,
            webhook_listen=get("WEBHOOK_LISTEN") or "127.0.0.1",
            webhook_port=int(port),
            admin_ids=parse_admin_ids(get("ADMIN_IDS") or ""),
            flood_burst=int(burst),
            flood_rate=flood_rate,
        )


def parse_admin_ids(text: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.lstrip("-").isdigit():
            raise ConfigError(
                f"ADMIN_IDS must be Telegram user ids separated by commas, got {part!r}"
            )
        ids.add(int(part))
    return frozenset(ids)


def normalise_database_url(url: str) -> str:
    """Accept the usual URL spellings and pick the async driver for each database."""
    for prefix, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(prefix):
            return driver + url[len(prefix) :]
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        return url
    raise ConfigError(f"DATABASE_URL must be {DATABASE_URL_FORMS}")


def check_database_url(url: str) -> str:
    """``url`` if SQLAlchemy can read it. The error never quotes it: it may hold a password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"DATABASE_URL is not a valid URL: it must be {DATABASE_URL_FORMS}"
        ) from None
    return url
