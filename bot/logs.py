"""Logging for ``coach run``, through a filter that keeps every secret out of every line."""

from __future__ import annotations

import logging

from sqlalchemy.engine import make_url

from bot.config import Settings

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
    """Logging for `coach run`; returns the filter that redacts its secrets (for the one
    line a start-up failure prints on stderr, which goes around logging)."""
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO
    )
    for name, level in LIBRARY_LOG_LEVELS.items():
        logging.getLogger(name).setLevel(level)
    password = make_url(settings.database_url).password
    redact = RedactSecrets(settings.telegram_bot_token, password, settings.webhook_secret)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    return redact
