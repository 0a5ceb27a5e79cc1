"""When check-ins fall due, with a controlled clock: cadences, time zones, daylight saving,
snooze, catch-up after downtime."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from advice.schedule import (
    Rule,
    after_claim,
    describe_local,
    following_due,
    next_due,
    parse_zone,
    resolve_zone,
    snoozed_until,
)

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(*args: int) -> datetime:
    """Midnight (or a given time) in Berlin."""
    return datetime(*args, tzinfo=BERLIN)


def run_for(rule: Rule, start: datetime, end: datetime) -> list[datetime]:
    """Every due time from ``start`` to ``end``, as a dispatcher that is always up sees them."""
    dues: list[datetime] = []
    due = next_due(rule, start)
    while due is not None and due < end:
        dues.append(due)
        due = following_due(rule, due, due)
    return dues


def test_daily_is_every_day_at_the_local_hour() -> None:
    rule = Rule("daily", None, 9, "Asia/Shanghai")
    dues = run_for(rule, utc(2026, 5, 1), utc(2026, 5, 8))
    assert len(dues) == 7
    assert {d.astimezone(ZoneInfo("Asia/Shanghai")).hour for d in dues} == {9}
    assert dues[0] == utc(2026, 5, 1, 1)  # 09:00 in Shanghai is 01:00 UTC


def test_weekly_is_on_the_weekday_and_biweekly_every_other_week() -> None:
    weekly = run_for(Rule("weekly", 0, 18, "UTC"), utc(2026, 5, 1), utc(2026, 6, 1))
    assert [d.day for d in weekly] == [4, 11, 18, 25]
    assert {d.weekday() for d in weekly} == {0}
    biweekly = run_for(Rule("biweekly", 0, 18, "UTC"), utc(2026, 5, 1), utc(2026, 7, 1))
    assert [(d.month, d.day) for d in biweekly] == [(5, 4), (5, 18), (6, 1), (6, 15), (6, 29)]


def test_off_has_no_due_time() -> None:
    assert next_due(Rule("off", None, 9), utc(2026, 5, 1)) is None
    assert following_due(Rule("off", None, 9), utc(2026, 5, 1), utc(2026, 5, 1)) is None


def test_the_same_rule_in_two_zones_falls_due_at_different_instants() -> None:
    after = utc(2026, 5, 1)
    assert next_due(Rule("daily", None, 9, "America/New_York"), after) == utc(2026, 5, 1, 13)
    assert next_due(Rule("daily", None, 9, "UTC+08:00"), after) == utc(2026, 5, 1, 1)
    assert next_due(Rule("daily", None, 9, "UTC-05:30"), after) == utc(2026, 5, 1, 14, 30)


@pytest.mark.parametrize("hour", [1, 2, 3])
def test_spring_forward_neither_skips_nor_doubles(hour: int) -> None:
    # Berlin, Sunday 29 March 2026: 02:00 jumps to 03:00, so 02:xx does not exist that day.
    dues = run_for(
        Rule("daily", None, hour, "Europe/Berlin"), local(2026, 3, 26), local(2026, 4, 2)
    )
    local_days = Counter(d.astimezone(BERLIN).date() for d in dues)
    assert len(local_days) == 7 and set(local_days.values()) == {1}
    assert dues == sorted(set(dues))
    on_the_day = next(d for d in dues if d.astimezone(BERLIN).day == 29)
    # A missing hour is sent at the first moment after the gap.
    assert on_the_day.astimezone(BERLIN).hour == (3 if hour == 2 else hour)


@pytest.mark.parametrize("hour", [1, 2, 3])
def test_fall_back_neither_skips_nor_doubles(hour: int) -> None:
    # Berlin, Sunday 25 October 2026: 03:00 goes back to 02:00, so 02:xx exists twice.
    dues = run_for(
        Rule("daily", None, hour, "Europe/Berlin"), local(2026, 10, 22), local(2026, 10, 29)
    )
    local_days = Counter(d.astimezone(BERLIN).date() for d in dues)
    assert len(local_days) == 7 and set(local_days.values()) == {1}
    on_the_day = next(d for d in dues if d.astimezone(BERLIN).day == 25)
    assert on_the_day.astimezone(BERLIN).hour == hour
    if hour == 2:  # the first of the two 02:00s (still summer time, UTC+2)
        assert on_the_day == utc(2026, 10, 25, 0)


def test_weekly_across_a_dst_change_keeps_the_local_hour() -> None:
    dues = run_for(Rule("weekly", 6, 2, "Europe/Berlin"), utc(2026, 3, 1), utc(2026, 4, 30))
    assert len(dues) == 9  # every Sunday of March and April
    assert all(d.astimezone(BERLIN).weekday() == 6 for d in dues)


def test_biweekly_keeps_its_rhythm_across_a_dst_change() -> None:
    dues = run_for(Rule("biweekly", 6, 9, "Europe/Berlin"), utc(2026, 3, 20), utc(2026, 5, 1))
    gaps = {
        (b.astimezone(BERLIN).date() - a.astimezone(BERLIN).date()).days
        for a, b in zip(dues, dues[1:], strict=False)
    }
    assert gaps == {14}


def test_after_downtime_the_missed_check_in_is_followed_by_the_next_future_one() -> None:
    rule = Rule("daily", None, 9, "UTC")
    missed = utc(2026, 5, 1, 9)
    back_up = utc(2026, 5, 20, 12)  # down for almost three weeks
    # The dispatcher sends the one missed check-in now, then moves on to tomorrow 09:00,
    # not to the 18 days it slept through.
    assert following_due(rule, missed, back_up) == utc(2026, 5, 21, 9)


def test_quieter_leaves_one_due_time_out() -> None:
    rule = Rule("weekly", 2, 10, "UTC")
    last = utc(2026, 5, 6, 10)
    assert following_due(rule, last, last) == utc(2026, 5, 13, 10)
    assert following_due(rule, last, last, quieter=True) == utc(2026, 5, 20, 10)


WEEKLY = Rule("weekly", 2, 10, "UTC")  # Wednesdays 10:00
DUE = utc(2026, 5, 6, 10)


def test_a_claimed_check_in_after_an_answered_one_keeps_the_streak_and_the_rhythm() -> None:
    after = after_claim(
        WEEKLY, DUE, DUE, ignored_in_row=0, streak=3, cadence_asked=False, last_ignored=False
    )
    assert after.next_due == utc(2026, 5, 13, 10)
    assert (after.ignored_in_row, after.streak, after.cadence_asked, after.ask_cadence) == (
        0,
        3,
        False,
        False,
    )


def test_an_ignored_check_in_ends_the_streak_and_counts_towards_going_quieter() -> None:
    after = after_claim(
        WEEKLY, DUE, DUE, ignored_in_row=0, streak=3, cadence_asked=False, last_ignored=True
    )
    assert after.next_due == utc(2026, 5, 13, 10)  # one ignored: not quieter yet
    assert (after.ignored_in_row, after.streak, after.ask_cadence) == (1, 0, False)


def test_two_ignored_in_a_row_leave_a_due_time_out_and_ask_about_the_cadence_once() -> None:
    second = after_claim(
        WEEKLY, DUE, DUE, ignored_in_row=1, streak=0, cadence_asked=False, last_ignored=True
    )
    assert second.next_due == utc(2026, 5, 20, 10)  # the 13th left out
    assert (second.ignored_in_row, second.cadence_asked, second.ask_cadence) == (2, True, True)
    third = after_claim(
        WEEKLY,
        DUE,
        DUE,
        ignored_in_row=2,
        streak=0,
        cadence_asked=second.cadence_asked,
        last_ignored=True,
    )
    assert third.next_due == utc(2026, 5, 20, 10)
    assert (third.ignored_in_row, third.ask_cadence) == (3, False)  # asked once only


def test_a_claimed_check_in_after_downtime_is_followed_by_the_next_future_one() -> None:
    back_up = utc(2026, 6, 1, 12)
    after = after_claim(
        WEEKLY, DUE, back_up, ignored_in_row=0, streak=1, cadence_asked=False, last_ignored=False
    )
    assert after.next_due == utc(2026, 6, 3, 10)


def test_snooze_is_later_the_same_day() -> None:
    now = utc(2026, 5, 6, 10)
    assert snoozed_until(now) - now == timedelta(hours=3)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("UTC+8", "UTC+08:00"),
        ("gmt-5", "UTC-05:00"),
        ("UTC+5:30", "UTC+05:30"),
        ("+0545", "UTC+05:45"),
        ("utc", "UTC"),
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("Asia/Kuala_Lumpur", "Asia/Kuala_Lumpur"),
        ("北京", "Asia/Shanghai"),
        ("UTC+5:15", "UTC+05:15"),
        ("UTC-3:45", "UTC-03:45"),
        ("UTC", "UTC"),
        ("gmt", "UTC"),
        ("UTC0", "UTC"),
        ("GMT0", "UTC"),
        ("UTC+0", "UTC"),
        ("gmt-0", "UTC"),
        ("UTC+00:00", "UTC"),
        ("kuala_lumpur", "Asia/Kuala_Lumpur"),
        ("asia/kuala lumpur", None),  # a full name is typed as it is written
        ("  Asia/Kuala_Lumpur  ", "Asia/Kuala_Lumpur"),
    ],
)
def test_typed_zones(typed: str, stored: str | None) -> None:
    assert parse_zone(typed, {"北京": "Asia/Shanghai"}) == stored
    assert stored is None or resolve_zone(stored) is not None


def test_a_typed_zone_may_be_64_characters_long_and_no_longer() -> None:
    aliases = {"x" * 64: "Asia/Shanghai", "x" * 65: "Asia/Shanghai"}
    assert parse_zone("x" * 64, aliases) == "Asia/Shanghai"
    assert parse_zone("x" * 65, aliases) is None


@pytest.mark.parametrize("zone", ["UTC", "UTC+14:00", "America/New_York"])
def test_due_times_are_utc_instants(zone: str) -> None:
    due = next_due(Rule("daily", None, 9, zone), utc(2026, 5, 1))
    assert due.tzinfo is UTC


@pytest.mark.parametrize(
    "typed", ["UTC+15", "UTC+5:17", "UTC+5:16", "Atlantis", "", "   ", "x" * 100, "Etc"]
)
def test_nonsense_zones_are_refused(typed: str) -> None:
    assert parse_zone(typed) is None


def test_describe_local() -> None:
    assert describe_local(utc(2026, 3, 29, 1), "Europe/Berlin") == "Sun 2026-03-29 03:00"


# --- the extremes of the world's clocks: UTC-12 (Baker Island) and UTC+14 (Kiritimati) ---------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("UTC-12", "UTC-12:00"),
        ("gmt-12:00", "UTC-12:00"),
        ("-1200", "UTC-12:00"),
        ("UTC-11:45", "UTC-11:45"),
        ("UTC+14", "UTC+14:00"),
        ("GMT+14:00", "UTC+14:00"),
        ("+1400", "UTC+14:00"),
        ("UTC+13:45", "UTC+13:45"),
        ("Kiritimati", "Pacific/Kiritimati"),
    ],
)
def test_the_extreme_offsets_are_accepted(typed: str, stored: str) -> None:
    assert parse_zone(typed) == stored
    assert resolve_zone(stored) is not None


@pytest.mark.parametrize(
    "typed", ["UTC-12:15", "UTC-12:45", "UTC-13", "UTC+14:15", "UTC+14:45", "UTC+15", "UTC-99"]
)
def test_offsets_beyond_the_extremes_are_refused(typed: str) -> None:
    assert parse_zone(typed) is None
    assert resolve_zone(typed) is None


def test_the_extreme_stored_offsets_are_the_real_offsets() -> None:
    instant = utc(2026, 5, 1, 12)
    assert resolve_zone("UTC-12:00").utcoffset(instant) == timedelta(hours=-12)
    assert resolve_zone("UTC+14:00").utcoffset(instant) == timedelta(hours=14)
    assert resolve_zone("Pacific/Kiritimati").utcoffset(instant) == timedelta(hours=14)


def test_at_one_instant_the_two_extremes_are_on_different_dates_and_each_gets_its_own_nine() -> (
    None
):
    after = utc(2026, 5, 1, 10, 30)  # 00:30 on 2 May at UTC+14, 22:30 on 30 April at UTC-12
    east = next_due(Rule("daily", None, 9, "UTC+14:00"), after)
    west = next_due(Rule("daily", None, 9, "UTC-12:00"), after)
    assert east == utc(2026, 5, 1, 19)  # 09:00 on 2 May at UTC+14
    assert west == utc(2026, 5, 1, 21)  # 09:00 on 1 May at UTC-12
    assert describe_local(east, "UTC+14:00") == "Sat 2026-05-02 09:00"
    assert describe_local(west, "UTC-12:00") == "Fri 2026-05-01 09:00"
    assert next_due(Rule("daily", None, 9, "Pacific/Kiritimati"), after) == east


def test_weekly_at_the_extremes_keeps_the_local_weekday() -> None:
    after = utc(2026, 5, 3, 20)  # Monday 10:00 at UTC+14 (past 09:00), Sunday 08:00 at UTC-12
    east = next_due(Rule("weekly", 0, 9, "UTC+14:00"), after)
    west = next_due(Rule("weekly", 0, 9, "UTC-12:00"), after)
    assert east == utc(2026, 5, 10, 19)  # next Monday 09:00 at UTC+14 is Sunday 19:00 UTC
    assert west == utc(2026, 5, 4, 21)  # this Monday 09:00 at UTC-12 is Monday 21:00 UTC
    assert describe_local(east, "UTC+14:00") == "Mon 2026-05-11 09:00"
    assert describe_local(west, "UTC-12:00") == "Mon 2026-05-04 09:00"


@pytest.mark.parametrize("zone", ["UTC-12:00", "UTC+14:00"])
@pytest.mark.parametrize("hour", [0, 23])
def test_a_week_of_daily_check_ins_at_the_extremes_is_one_a_local_day(zone: str, hour: int) -> None:
    dues = run_for(Rule("daily", None, hour, zone), utc(2026, 5, 1), utc(2026, 5, 8))
    tz = resolve_zone(zone)
    assert len(dues) == 7
    assert {d.astimezone(tz).hour for d in dues} == {hour}
    days = [d.astimezone(tz).date() for d in dues]
    assert all(b - a == timedelta(days=1) for a, b in zip(days, days[1:], strict=False))
