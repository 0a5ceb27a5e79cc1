"""What a seller did, as the core sees it: the same events from Telegram, a terminal or a test."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Command:
    """A command (``/checkup``), its arguments as typed, and the seller's first name."""

    name: str
    args: str = ""
    first_name: str = ""


@dataclass(frozen=True, slots=True)
class Typed:
    """Text typed in the chat."""

    text: str


@dataclass(frozen=True, slots=True)
class Pressed:
    """A button pressed: its data (as sent back, perhaps forged) and the message it is on."""

    data: str | None
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class NotText:
    """A sticker, photo, voice message or anything else that is not text."""

    kind: str = "other"  # "sticker", "photo", "voice" or "other"


@dataclass(frozen=True, slots=True)
class Edited:
    """An earlier message edited."""


Event = Command | Typed | Pressed | NotText | Edited
