"""When check-ins fall due: pure functions of a rule and a clock, no framework.

A rule is a cadence (daily, weekly, every two weeks), a weekday, an hour and a time zone.
Due times are computed per *local date*, so a daylight-saving change neither skips nor
doubles a check-in:

- an hour that does not exist that day (clocks jump forward over it) is read with the
  offset in force before the jump, which lands on the first moment after the gap
  (02:30 in Berlin on the last Sunday of March is sent at 03:30 summer time);
- an hour that exists twice (clocks go back) is taken at its first occurrence.

After downtime the next due time is the first one after *now*: a check-in that fell due
while the bot was down is sent once, not once per missed period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

CADENCES = ("daily", "weekly", "biweekly", "off")
PERIOD_DAYS = {"daily": 1, "weekly": 7, "biweekly": 14}
SNOOZE = timedelta(hours=3)
_OFFSET = re.compile(r"(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)


DEFAULT_HOUR = 9  # local time, while the seller has not chosen an hour


def hour_or_default(hour: int | None) -> int:
    """The seller's hour, or the default while none is chosen (0 is midnight, not unset)."""
    return DEFAULT_HOUR if hour is None else hour


@dataclass(frozen=True, slots=True)
class Rule:
    """A seller's check-in schedule. ``weekday`` 0 is Monday; daily ignores it."""

    cadence: str
    weekday: int | None
    hour: int
    zone: str = "UTC"

    @property
    def active(self) -> bool:
        return self.cadence in PERIOD_DAYS

    @property
    def period_days(self) -> int:
        return PERIOD_DAYS[self.cadence]


# --- time zones ------------------------------------------------------------------------------
@cache
def resolve_zone(name: str) -> tzinfo | None:
    """The tzinfo of a stored zone name (an IANA name or ``UTC+08:00``), None if unknown."""
    if name == "UTC":
        return UTC
    offset = _parse_offset(name)
    if offset is not None:
        return timezone(offset)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _parse_offset(text: str) -> timedelta | None:
    match = _OFFSET.fullmatch(text.strip())
    if match is None:
        return None
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if minutes not in (0, 15, 30, 45):
        return None
    offset = timedelta(hours=hours, minutes=minutes)
    if sign == "-":
        offset = -offset
    if not timedelta(hours=-12) <= offset <= timedelta(hours=14):
        return None
    return offset


@cache
def _zones_by_city() -> dict[str, str]:
    cities: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/")):
            cities.setdefault(name.rsplit("/", 1)[1].replace("_", " ").casefold(), name)
        cities.setdefault(name.casefold(), name)
    return cities


def parse_zone(typed: str, aliases: dict[str, str] | None = None) -> str | None:
    """A stored zone name for what a seller typed: an IANA name, a city, or an offset
    like ``UTC+8`` / ``GMT-5:30``. None when it is none of these."""
    cleaned = " ".join(typed.strip().split())
    if len(cleaned) > 64:
        return None
    if cleaned.casefold() in ("gmt", "utc0", "gmt0"):  # "UTC" itself is a zone's name
        return "UTC"
    offset = _parse_offset(cleaned)
    if offset == timedelta(0):
        return "UTC"
    if offset is not None:
        total = int(offset.total_seconds()) // 60
        sign = "-" if total < 0 else "+"  # pragma: no mutate (a zero offset is "UTC" above)
        return f"UTC{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"
    if aliases and cleaned.casefold() in aliases:
        return aliases[cleaned.casefold()]
    key = cleaned.casefold().replace("_", " ")
    found = _zones_by_city().get(key) or _zones_by_city().get(cleaned.casefold())
    # Every listed zone loads here, so this check cannot fail in a test: not mutated.
    loads = found is not None and resolve_zone(found) is not None  # pragma: no mutate
    return found if loads else None  # pragma: no mutate


# --- due times -------------------------------------------------------------------------------
def local_slot(day: date, hour: int, zone: tzinfo) -> datetime:
    """``hour`` o'clock on the local date ``day``, as a UTC instant (see the module notes
    for hours that do not exist or exist twice)."""
    wall = datetime.combine(day, time(hour), tzinfo=zone).replace(fold=0)
    return wall.astimezone(UTC)


def next_due(rule: Rule, after: datetime) -> datetime | None:
    """The first due time of ``rule`` strictly after ``after``; None when it is off."""
    if not rule.active:
        return None
    zone = resolve_zone(rule.zone) or UTC
    # A window with slack, not mutated: a wider one, or one from the day before the UTC date,
    # finds the same first slot.
    start = after.astimezone(zone).date() - timedelta(days=1)  # pragma: no mutate
    for offset in range(16):  # pragma: no mutate
        day = start + timedelta(days=offset)
        if rule.cadence != "daily" and day.weekday() != (rule.weekday or 0):
            continue
        slot = local_slot(day, rule.hour, zone)
        if slot > after:
            return slot
    raise AssertionError("a due time always exists within 16 days")  # pragma: no cover, no mutate


def following_due(
    rule: Rule, last_due: datetime, now: datetime, *, quieter: bool = False
) -> datetime | None:
    """The due time after the one at ``last_due`` was handled at ``now``.

    Every two weeks keeps its rhythm by looking past the week after ``last_due``.
    ``quieter`` (the last two were ignored) leaves out one more due time.
    """
    if not rule.active:
        return None
    after = last_due
    if rule.cadence == "biweekly":
        # Past next week's slot even when a DST change moves it by an hour.
        # Any of 8 to 13 days lands between next week's slot and the one after.
        after = last_due + timedelta(days=10)  # pragma: no mutate
    due = next_due(rule, max(after, now))
    if quieter and due is not None:
        due = following_due(rule, due, due)
    return due


@dataclass(frozen=True, slots=True)
class AfterClaim:
    """A seller's check-in schedule once a due check-in is claimed for sending."""

    next_due: datetime | None
    ignored_in_row: int
    streak: int
    cadence_asked: bool
    ask_cadence: bool  # ignored twice in a row: ask, once, whether to change the cadence


def after_claim(
    rule: Rule,
    due_at: datetime,
    now: datetime,
    *,
    ignored_in_row: int,
    streak: int,
    cadence_asked: bool,
    last_ignored: bool,
) -> AfterClaim:
    """The schedule after the check-in due at ``due_at`` is claimed at ``now``.

    ``last_ignored``: the check-in before it was never answered; it adds to the ignored in a
    row and ends the streak. From two ignored in a row the schedule is quieter (one due
    time left out), and the seller is asked whether to change the cadence, once.
    """
    if last_ignored:
        ignored_in_row, streak = ignored_in_row + 1, 0
    quieter = ignored_in_row >= 2
    ask_cadence = quieter and not cadence_asked
    return AfterClaim(
        next_due=following_due(rule, due_at, now, quieter=quieter),
        ignored_in_row=ignored_in_row,
        streak=streak,
        cadence_asked=cadence_asked or ask_cadence,
        ask_cadence=ask_cadence,
    )


def snoozed_until(now: datetime) -> datetime:
    """Snooze: the same check-in again later today."""
    return now + SNOOZE


def describe_local(when: datetime, zone_name: str) -> str:
    """A due time as the seller reads it: ``Mon 2026-03-30 09:00``."""
    zone = resolve_zone(zone_name) or UTC
    return when.astimezone(zone).strftime("%a %Y-%m-%d %H:%M")
