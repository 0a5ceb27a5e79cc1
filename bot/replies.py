"""What the bot sends, as plain data: handlers decide, one sender talks to Telegram."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advice.data import load_strings, pick_text

TEXTS_PATH = Path(__file__).resolve().parent / "texts.toml"


def text(key: str, lang: str, count: float | None = None, **values: Any) -> str:
    """A bot text in ``lang``; values are HTML-escaped before they are filled in.

    ``count`` picks the form of a counted text ("1 question" / "2 questions") and fills
    its ``{count}``."""
    template = pick_text(load_strings(TEXTS_PATH), key, lang, count)
    if count is not None:
        values["count"] = count
    if not values:
        return template
    return template.format(**{k: html.escape(str(v), quote=False) for k, v in values.items()})


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Chart:
    """The /progress chart, drawn by the shell (into a PNG) when it is sent."""

    points: tuple[Any, ...]  # advice.progress.Point, oldest first
    lang: str


@dataclass(frozen=True, slots=True)
class WeeksChart:
    """The /sales chart: each week's revenue as a bar, drawn by the shell like :class:`Chart`."""

    weeks: tuple[tuple[str, float], ...]  # (the week's label, its revenue), oldest first
    currency: str
    lang: str


@dataclass(slots=True)
class Reply:
    """One message to send, or an edit of an earlier one.

    ``question_of`` marks the message that shows a check-up's current question, as
    (check-up id, question field): its id is stored on the check-up so the answer can edit it.
    A ``photo`` (PNG bytes) is sent as a photo with ``html`` as its caption (none if empty);
    a ``chart`` is drawn into the photo first.
    """

    html: str
    buttons: list[list[Button]] = field(default_factory=list)
    edit_message_id: int | None = None
    document: tuple[str, bytes] | None = None
    photo: bytes | None = None
    question_of: tuple[int, str] | None = None
    toast: str | None = None  # the answer to a button press (a small pop-up)
    chart: Chart | WeeksChart | None = None


def stale_button(lang: str) -> Reply:
    """The answer to a button of an earlier question or round: the chat goes on after it."""
    return Reply(text("stale_button", lang), toast=text("stale_button_toast", lang))


def unknown_button(lang: str) -> Reply:
    """The answer to button data the bot would not send (forged, or no longer meaningful)."""
    return Reply(text("unknown_button", lang), toast=text("stale_button_toast", lang))


def language_for(code: str | None) -> str:
    """Chinese for any zh* Telegram language code, English otherwise."""
    return "zh" if code and code.lower().startswith("zh") else "en"
