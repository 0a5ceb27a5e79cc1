"""The seller's check-in settings: /checkin, cadence, day, hour and time zone.

The prompt a typed hour or zone answers is kept in the seller's settings (``awaiting``),
not in memory. The offer, the rounds and the check-in itself are in :mod:`bot.core.checkins`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from advice.checkin import load_checkin
from advice.data import load_strings
from advice.hours import parse_hour
from advice.schedule import Rule, hour_or_default, next_due, parse_zone, resolve_zone
from bot import callbacks as cb
from bot.core.turn import Turn
from bot.core.values import SettingsView, UserView, aware
from bot.replies import TEXTS_PATH, Button, Reply, text, unknown_button

CHECKIN = load_checkin()  # cached: the same object as bot.core.checkins.CHECKIN
HOURS = (7, 8, 9, 10, 12, 14, 17, 18, 19, 20, 21, 22)
ZONE_PROMPT_VALID = timedelta(minutes=15)


def settings_menu(turn: Turn) -> list[Reply]:
    """/checkin: what is set now, and the cadence to choose."""
    lang = turn.user.language
    if turn.latest_report() is None:  # a check-in compares with a check-up
        return [Reply(text("checkin_needs_checkup", lang))]
    settings = turn.settings()
    rows = [
        [Button(text(f"cadence_{c}", lang), cb.Cadence(c).pack()) for c in ("daily", "weekly")],
        [Button(text(f"cadence_{c}", lang), cb.Cadence(c).pack()) for c in ("biweekly", "off")],
    ]
    if settings.checkin_paused and settings.checkin_cadence != "off":
        resume_button = Button(
            text("button_checkin_resume", lang), cb.CheckinSettings("resume").pack()
        )
        rows.insert(0, [resume_button])
    body = f"{status_text(turn.user, settings)}\n\n{text('checkin_choose_cadence', lang)}"
    return [Reply(body, rows)]


def status_text(user: UserView, settings: SettingsView) -> str:
    lang = user.language
    if settings.checkin_cadence == "off":
        return text("checkin_status_off", lang)
    if settings.checkin_paused:
        return text("checkin_status_paused", lang)
    due = settings.checkin_next_due_at
    return text(
        "checkin_status_on",
        lang,
        when=cadence_and_day(settings.checkin_cadence, settings.checkin_weekday, lang),
        hour=f"{hour_or_default(settings.checkin_hour):02d}:00",
        zone=zone_name(user.time_zone, lang),
        next=when_text(due, user) if due else "—",
        streak=text("checkins_in_a_row", lang, count=settings.checkin_streak),
    )


def cadence_and_day(cadence: str, weekday: int | None, lang: str) -> str:
    """ "Every week, Fri" / "每周，周五"; "Every day" alone."""
    if cadence == "daily":
        return text(f"cadence_{cadence}", lang)
    day = text(f"weekday_{weekday or 0}", lang)
    return text("cadence_on_day", lang, cadence=text(f"cadence_{cadence}", lang), day=day)


def zone_name(zone: str, lang: str) -> str:
    """A time zone as the seller calls it: "Kuala Lumpur", "吉隆坡"; other zones as set."""
    return text(f"zone:{zone}", lang) if f"zone:{zone}" in load_strings(TEXTS_PATH) else zone


def when_text(moment: datetime, user: UserView) -> str:
    """A due time in the seller's zone and language: ``Wed 2026-05-06 09:00``."""
    local = aware(moment).astimezone(resolve_zone(user.time_zone) or UTC)
    return f"{text(f'weekday_{local.weekday()}', user.language)} {local:%Y-%m-%d %H:%M}"


def rescheduled(settings: SettingsView, user: UserView, now: datetime) -> dict[str, Any]:
    """The settings that change when the schedule does: the next due time from the rule,
    counted from now (none while off or paused)."""
    rule = Rule(
        settings.checkin_cadence,
        settings.checkin_weekday,
        hour_or_default(settings.checkin_hour),
        user.time_zone,
    )
    return {
        "checkin_next_due_at": None if settings.checkin_paused else next_due(rule, now),
        "checkin_ignored_in_row": 0,
        "updated_at": now,
    }


def digest_rescheduled(settings: SettingsView, user: UserView, now: datetime) -> dict[str, Any]:
    """The next due time of the weekly reminder of due customers, counted from now (none
    while it is off)."""
    hour = 9 if settings.digest_hour is None else settings.digest_hour  # 0 is midnight
    rule = Rule("weekly", settings.digest_weekday, hour, user.time_zone)
    on = settings.digest_on and settings.digest_weekday is not None
    return {"digest_next_due_at": next_due(rule, now) if on else None, "updated_at": now}


def set_zone(turn: Turn, zone: str) -> None:
    """A new time zone: every schedule that is on follows it (the hours stay local)."""
    turn.set_time_zone(zone)
    settings, changes = turn.settings(), dict[str, Any]()
    if settings.checkin_cadence != "off":
        changes |= rescheduled(settings, turn.user, turn.now)
    if settings.digest_on:
        changes |= digest_rescheduled(settings, turn.user, turn.now)
    if changes:
        turn.change_settings(**changes)


# --- the buttons of a day, an hour and a zone (check-ins and the reminder of customers) ---
def day_rows(lang: str, make: Callable[[int], cb.CallbackData]) -> list[list[Button]]:
    days = [Button(text(f"weekday_{d}", lang), make(d).pack()) for d in range(7)]
    return [days[:4], days[4:]]


def hour_rows(make: Callable[[int], cb.CallbackData]) -> list[list[Button]]:
    hours = [Button(f"{h:02d}:00", make(h).pack()) for h in HOURS]
    return [hours[i : i + 4] for i in range(0, len(hours), 4)]


def zone_rows(turn: Turn, make: Callable[[Any], cb.CallbackData]) -> list[list[Button]]:
    """The zones of the list, then one to keep the zone set."""
    lang = turn.user.language
    zones = [Button(zone_name(z, lang), make(i).pack()) for i, z in enumerate(CHECKIN.zone_buttons)]
    rows = [zones[i : i + 4] for i in range(0, len(zones), 4)]
    keep = text("button_keep_zone", lang, zone=zone_name(turn.user.time_zone, lang))
    rows.append([Button(keep, make("keep").pack())])
    return rows


def pressed_zone(turn: Turn, zone: int | str) -> bool:
    """The zone of a zone button set (``keep``: as it is); False for an index past the list."""
    if zone == "keep":
        return True
    if not isinstance(zone, int) or zone >= len(CHECKIN.zone_buttons):
        return False
    set_zone(turn, CHECKIN.zone_buttons[zone])
    return True


def typed_zone_set(turn: Turn, typed: str) -> bool:
    """A typed city or UTC offset set as the zone; False if it is not one."""
    zone = parse_zone(typed, CHECKIN.zone_aliases)
    if zone is None or resolve_zone(zone) is None:
        return False
    set_zone(turn, zone)
    return True


def settings_button(turn: Turn, button: cb.CheckinSettings, pressed: int | None) -> list[Reply]:
    return settings_menu(turn) if button.choice == "menu" else resume(turn)


def choose_cadence(turn: Turn, button: cb.Cadence, pressed: int | None) -> list[Reply]:
    lang, cadence = turn.user.language, button.cadence
    settings = turn.change_settings(checkin_cadence=cadence, checkin_paused=False)
    if cadence == "off":
        turn.change_settings(**rescheduled(settings, turn.user, turn.now))
        return [Reply(text("checkin_turned_off", lang))]
    if cadence == "daily":
        return [_hour_prompt(turn)]
    return [Reply(text("checkin_choose_day", lang), day_rows(lang, cb.Day))]


def choose_day(turn: Turn, button: cb.Day, pressed: int | None) -> list[Reply]:
    turn.change_settings(checkin_weekday=button.weekday)
    return [_hour_prompt(turn)]


def _hour_prompt(turn: Turn) -> Reply:
    """The hours as buttons; an hour typed next is read too (see :func:`typed_hour`)."""
    turn.change_settings(awaiting="hour", updated_at=turn.now)
    return Reply(text("checkin_choose_hour", turn.user.language), hour_rows(cb.Hour))


def choose_hour(turn: Turn, button: cb.Hour, pressed: int | None) -> list[Reply]:
    """An hour pressed, or typed (see :func:`typed_hour`)."""
    lang = turn.user.language
    turn.change_settings(checkin_hour=button.hour, awaiting="time_zone", updated_at=turn.now)
    return [Reply(text("checkin_choose_zone", lang), zone_rows(turn, cb.Zone))]


def choose_zone(turn: Turn, button: cb.Zone, pressed: int | None) -> list[Reply]:
    if not pressed_zone(turn, button.zone):
        return [unknown_button(turn.user.language)]
    return _confirm(turn)


def awaiting(settings: SettingsView, now: datetime) -> str | None:
    """Which prompt a typed message answers ("hour", "time_zone", "digest_hour" or
    "digest_zone"): only shortly after it, so a prompt left unanswered does not swallow
    later messages."""
    if (
        settings.awaiting
        and settings.updated_at is not None
        and now - aware(settings.updated_at) < ZONE_PROMPT_VALID
    ):
        return settings.awaiting
    return None


def typed_hour(turn: Turn, typed: str) -> list[Reply]:
    """A typed hour after the hour prompt: ``9``, ``9am``, ``21:00``, ``晚上9点``."""
    hour = parse_hour(typed)
    if hour is None:
        return [Reply(text("checkin_hour_unknown", turn.user.language)), _hour_prompt(turn)]
    return choose_hour(turn, cb.Hour(hour), pressed=None)


def typed_zone(turn: Turn, typed: str) -> list[Reply]:
    """A typed city or UTC offset after the zone prompt."""
    if not typed_zone_set(turn, typed):
        return [Reply(text("checkin_zone_unknown", turn.user.language))]
    return _confirm(turn)


def _confirm(turn: Turn) -> list[Reply]:
    lang = turn.user.language
    settings = turn.change_settings(awaiting=None)
    if settings.checkin_cadence == "off":
        return [Reply(text("checkin_turned_off", lang))]
    settings = turn.change_settings(**rescheduled(settings, turn.user, turn.now))
    return [Reply(text("checkin_scheduled", lang)), Reply(status_text(turn.user, settings))]


def resume(turn: Turn) -> list[Reply]:
    settings = turn.change_settings(checkin_paused=False)
    if settings.checkin_cadence == "off":
        return settings_menu(turn)
    settings = turn.change_settings(**rescheduled(settings, turn.user, turn.now))
    lang = turn.user.language
    return [Reply(text("checkin_resumed", lang)), Reply(status_text(turn.user, settings))]
