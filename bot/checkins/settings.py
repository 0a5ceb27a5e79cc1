"""The seller's check-in settings: /checkin, cadence, day, hour and time zone.

Each step takes the update's Unit and returns the replies, like the rest of the chat; the
prompt a typed hour or zone answers is kept in the seller's settings (``awaiting``), not in
memory. The offer, the rounds and the check-in itself are in :mod:`bot.checkins.chat`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from advice.checkin import load_checkin
from advice.data import load_strings
from advice.hours import parse_hour
from advice.schedule import Rule, next_due, parse_zone, resolve_zone
from bot import callbacks as cb
from bot.replies import TEXTS_PATH, Button, Reply, text, unknown_button
from bot.storage.models import User, UserSettings, utcnow
from bot.storage.repository import Unit, aware

CHECKIN = load_checkin()  # cached: the same object as bot.checkins.chat.CHECKIN
HOURS = (7, 8, 9, 10, 12, 14, 17, 18, 19, 20, 21, 22)
ZONE_PROMPT_VALID = timedelta(minutes=15)


async def settings_menu(uow: Unit, user: User) -> list[Reply]:
    """/checkin: what is set now, and the cadence to choose."""
    lang = user.language
    if await uow.latest_report(user.id) is None:  # a check-in compares with a check-up
        return [Reply(text("checkin_needs_checkup", lang))]
    settings = await uow.settings(user.id)
    rows = [
        [Button(text(f"cadence_{c}", lang), cb.Cadence(c).pack()) for c in ("daily", "weekly")],
        [Button(text(f"cadence_{c}", lang), cb.Cadence(c).pack()) for c in ("biweekly", "off")],
    ]
    if settings.checkin_paused and settings.checkin_cadence != "off":
        rows.insert(
            0, [Button(text("button_checkin_resume", lang), cb.CheckinSettings("resume").pack())]
        )
    return [Reply(f"{status_text(user, settings)}\n\n{text('checkin_choose_cadence', lang)}", rows)]


def status_text(user: User, settings: UserSettings) -> str:
    lang = user.language
    if settings.checkin_cadence == "off":
        return text("checkin_status_off", lang)
    if settings.checkin_paused:
        return text("checkin_status_paused", lang)
    when = cadence_and_day(settings.checkin_cadence, settings.checkin_weekday, lang)
    due = settings.checkin_next_due_at
    return text(
        "checkin_status_on",
        lang,
        when=when,
        hour=f"{settings.checkin_hour or 0:02d}:00",
        zone=zone_name(user.time_zone, lang),
        next=when_text(due, user) if due else "—",
        streak=text("checkins_in_a_row", lang, count=settings.checkin_streak),
    )


def cadence_and_day(cadence: str, weekday: int | None, lang: str) -> str:
    """ "Every week, Fri" / "每周，周五"; "Every day" alone."""
    if cadence == "daily":
        return text(f"cadence_{cadence}", lang)
    return text(
        "cadence_on_day",
        lang,
        cadence=text(f"cadence_{cadence}", lang),
        day=text(f"weekday_{weekday or 0}", lang),
    )


def zone_name(zone: str, lang: str) -> str:
    """A time zone as the seller calls it: "Kuala Lumpur", "吉隆坡"; other zones as set."""
    return text(f"zone:{zone}", lang) if f"zone:{zone}" in load_strings(TEXTS_PATH) else zone


def when_text(moment: datetime, user: User) -> str:
    """A due time in the seller's zone and language: ``Wed 2026-05-06 09:00``."""
    local = aware(moment).astimezone(resolve_zone(user.time_zone) or UTC)
    return f"{text(f'weekday_{local.weekday()}', user.language)} {local:%Y-%m-%d %H:%M}"


def reschedule(settings: UserSettings, user: User, now: datetime) -> None:
    """The next due time from the rule, counted from now; none while off or paused."""
    rule = Rule(
        settings.checkin_cadence,
        settings.checkin_weekday,
        settings.checkin_hour or 9,
        user.time_zone,
    )
    settings.checkin_next_due_at = None if settings.checkin_paused else next_due(rule, now)
    settings.checkin_ignored_in_row = 0
    settings.updated_at = now


async def settings_button(
    uow: Unit, user: User, button: cb.CheckinSettings, pressed: int | None
) -> list[Reply]:
    return await (settings_menu(uow, user) if button.choice == "menu" else resume(uow, user))


async def choose_cadence(
    uow: Unit, user: User, button: cb.Cadence, pressed: int | None
) -> list[Reply]:
    lang, cadence = user.language, button.cadence
    settings = await uow.settings(user.id)
    settings.checkin_cadence = cadence
    settings.checkin_paused = False
    if cadence == "off":
        reschedule(settings, user, utcnow())
        return [Reply(text("checkin_turned_off", lang))]
    if cadence == "daily":
        return [_hour_prompt(settings, lang)]
    days = [Button(text(f"weekday_{d}", lang), cb.Day(d).pack()) for d in range(7)]
    return [Reply(text("checkin_choose_day", lang), [days[:4], days[4:]])]


async def choose_day(uow: Unit, user: User, button: cb.Day, pressed: int | None) -> list[Reply]:
    settings = await uow.settings(user.id)
    settings.checkin_weekday = button.weekday
    return [_hour_prompt(settings, user.language)]


def _hour_prompt(settings: UserSettings, lang: str) -> Reply:
    """The hours as buttons; an hour typed next is read too (see :func:`typed_hour`)."""
    settings.awaiting = "hour"
    settings.updated_at = utcnow()
    hours = [Button(f"{h:02d}:00", cb.Hour(h).pack()) for h in HOURS]
    return Reply(
        text("checkin_choose_hour", lang), [hours[i : i + 4] for i in range(0, len(hours), 4)]
    )


async def choose_hour(uow: Unit, user: User, button: cb.Hour, pressed: int | None) -> list[Reply]:
    """An hour pressed, or typed (see :func:`typed_hour`)."""
    lang = user.language
    settings = await uow.settings(user.id)
    settings.checkin_hour = button.hour
    settings.awaiting = "time_zone"
    settings.updated_at = utcnow()
    zones = [
        Button(zone_name(z, lang), cb.Zone(i).pack()) for i, z in enumerate(CHECKIN.zone_buttons)
    ]
    rows = [zones[i : i + 4] for i in range(0, len(zones), 4)]
    rows.append(
        [
            Button(
                text("button_keep_zone", lang, zone=zone_name(user.time_zone, lang)),
                cb.Zone("keep").pack(),
            )
        ]
    )
    return [Reply(text("checkin_choose_zone", lang), rows)]


async def choose_zone(uow: Unit, user: User, button: cb.Zone, pressed: int | None) -> list[Reply]:
    if button.zone != "keep":
        if button.zone >= len(CHECKIN.zone_buttons):
            return [unknown_button(user.language)]
        await uow.set_time_zone(user, CHECKIN.zone_buttons[button.zone])
    return await _confirm(uow, user)


def awaiting(settings: UserSettings, now: datetime) -> str | None:
    """Which prompt a typed message answers ("hour" or "time_zone"): only shortly after it,
    so a prompt left unanswered does not swallow later messages."""
    if settings.awaiting and now - aware(settings.updated_at) < ZONE_PROMPT_VALID:
        return settings.awaiting
    return None


async def typed_hour(uow: Unit, user: User, typed: str) -> list[Reply]:
    """A typed hour after the hour prompt: ``9``, ``9am``, ``21:00``, ``晚上9点``."""
    hour = parse_hour(typed)
    if hour is None:
        settings = await uow.settings(user.id)
        return [
            Reply(text("checkin_hour_unknown", user.language)),
            _hour_prompt(settings, user.language),
        ]
    return await choose_hour(uow, user, cb.Hour(hour), pressed=None)


async def typed_zone(uow: Unit, user: User, typed: str) -> list[Reply]:
    """A typed city or UTC offset after the zone prompt."""
    zone = parse_zone(typed, CHECKIN.zone_aliases)
    if zone is None or resolve_zone(zone) is None:
        return [Reply(text("checkin_zone_unknown", user.language))]
    await uow.set_time_zone(user, zone)
    return await _confirm(uow, user)


async def _confirm(uow: Unit, user: User) -> list[Reply]:
    settings = await uow.settings(user.id)
    settings.awaiting = None
    if settings.checkin_cadence == "off":
        return [Reply(text("checkin_turned_off", user.language))]
    reschedule(settings, user, utcnow())
    return [
        Reply(text("checkin_scheduled", user.language)),
        Reply(status_text(user, settings)),
    ]


async def resume(uow: Unit, user: User) -> list[Reply]:
    settings = await uow.settings(user.id)
    settings.checkin_paused = False
    if settings.checkin_cadence == "off":
        return await settings_menu(uow, user)
    reschedule(settings, user, utcnow())
    return [Reply(text("checkin_resumed", user.language)), Reply(status_text(user, settings))]
