"""The weekly reminder of due customers, in the chat: offered from /customers, set up with a
day, an hour and a time zone (the check-in settings' buttons and prompts, their own kinds),
and switched off. The reminder itself is :func:`bot.core.customers.reminder`, sent by the
dispatcher (:mod:`bot.checkins.dispatcher`) when it falls due.
"""

from __future__ import annotations

from advice.hours import parse_hour
from bot import callbacks as cb
from bot.core.checkin_settings import (
    day_rows,
    digest_rescheduled,
    hour_rows,
    pressed_zone,
    typed_zone_set,
    when_text,
    zone_name,
    zone_rows,
)
from bot.core.turn import Turn
from bot.replies import Button, Reply, text, unknown_button


def offer_button(turn: Turn) -> Button:
    """The button under /customers: set the reminder up, or what is set."""
    lang = turn.user.language
    if turn.settings().digest_on:
        return Button(text("button_digest_menu", lang), cb.Digest("menu").pack())
    return Button(text("button_digest_on", lang), cb.Digest("on").pack())


def menu(turn: Turn) -> Reply:
    """What is set, with the buttons to change or stop it (or to set it up)."""
    lang, settings = turn.user.language, turn.settings()
    if not settings.digest_on:
        on = Button(text("button_digest_on", lang), cb.Digest("on").pack())
        return Reply(text("digest_status_off", lang), [[on]])
    due = settings.digest_next_due_at
    status = text(
        "digest_status_on",
        lang,
        day=text(f"weekday_{settings.digest_weekday or 0}", lang),
        hour=f"{settings.digest_hour or 0:02d}:00",
        zone=zone_name(turn.user.time_zone, lang),
        next=when_text(due, turn.user) if due else "—",
    )
    change = Button(text("button_digest_change", lang), cb.Digest("on").pack())
    off = Button(text("button_digest_off", lang), cb.Digest("off").pack())
    return Reply(status, [[change, off]])


def digest_button(turn: Turn, button: cb.Digest, pressed: int | None) -> list[Reply]:
    lang = turn.user.language
    if button.choice == "menu":
        return [menu(turn)]
    if button.choice == "off":
        turn.change_settings(digest_on=False, digest_next_due_at=None, updated_at=turn.now)
        return [Reply(text("digest_turned_off", lang))]
    return [Reply(text("digest_choose_day", lang), day_rows(lang, cb.DigestDay))]


def choose_day(turn: Turn, button: cb.DigestDay, pressed: int | None) -> list[Reply]:
    turn.change_settings(digest_weekday=button.weekday)
    return [_hour_prompt(turn)]


def _hour_prompt(turn: Turn) -> Reply:
    """The hours as buttons; an hour typed next is read too (see :func:`typed_hour`)."""
    turn.change_settings(awaiting="digest_hour", updated_at=turn.now)
    return Reply(text("digest_choose_hour", turn.user.language), hour_rows(cb.DigestHour))


def choose_hour(turn: Turn, button: cb.DigestHour, pressed: int | None) -> list[Reply]:
    """An hour pressed, or typed: then the time zone."""
    turn.change_settings(digest_hour=button.hour, awaiting="digest_zone", updated_at=turn.now)
    lang = turn.user.language
    return [Reply(text("checkin_choose_zone", lang), zone_rows(turn, cb.DigestZone))]


def choose_zone(turn: Turn, button: cb.DigestZone, pressed: int | None) -> list[Reply]:
    if not pressed_zone(turn, button.zone):
        return [unknown_button(turn.user.language)]
    return _confirm(turn)


def typed_hour(turn: Turn, typed: str) -> list[Reply]:
    hour = parse_hour(typed)
    if hour is None:
        return [Reply(text("digest_hour_unknown", turn.user.language)), _hour_prompt(turn)]
    return choose_hour(turn, cb.DigestHour(hour), pressed=None)


def typed_zone(turn: Turn, typed: str) -> list[Reply]:
    if not typed_zone_set(turn, typed):
        return [Reply(text("checkin_zone_unknown", turn.user.language))]
    return _confirm(turn)


def _confirm(turn: Turn) -> list[Reply]:
    """The reminder on, due next at the day and hour chosen (a day is chosen first: a zone
    pressed without one asks for it)."""
    settings = turn.change_settings(awaiting=None)
    lang = turn.user.language
    if settings.digest_weekday is None or settings.digest_hour is None:
        return [Reply(text("digest_choose_day", lang), day_rows(lang, cb.DigestDay))]
    settings = turn.change_settings(digest_on=True)
    turn.change_settings(**digest_rescheduled(settings, turn.user, turn.now))
    return [Reply(text("digest_scheduled", lang)), menu(turn)]
