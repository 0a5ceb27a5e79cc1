"""The check-in as data: its questions, "same as last time", and the new profile."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advice.checkin import CADENCE, FOLLOW_UP, last_time, load_checkin, to_profile
from advice.data import LANGUAGES
from advice.engine import assess
from advice.formatting import rejection_text
from advice.profile import Profile
from advice.questionnaire import Answer, Rejection
from bot.callbacks import parse
from tests.personas import HEALTHY

CHECKIN = load_checkin()


def a_profile() -> Profile:
    return Profile.from_dict(HEALTHY)


def answers(**values: float) -> dict[str, Answer]:
    return {name: Answer(value) for name, value in values.items()}


def test_every_question_is_in_every_language_and_names_its_period() -> None:
    assert [q.field for q in CHECKIN.questions] == ["new_people", "orders", "revenue", "repeat_orders"]
    for question in CHECKIN.questions:
        for lang in LANGUAGES:
            assert question.ask[lang].strip() and question.hint[lang].strip()
    assert "{period}" in CHECKIN.questions[0].ask["en"] and "{period}" in CHECKIN.questions[0].ask["zh"]
    assert set(CHECKIN.period) == {"daily", "weekly", "biweekly"}


def test_without_orders_revenue_and_repeat_orders_are_not_asked() -> None:
    assert CHECKIN.next_question(answers(new_people=10, orders=0)) is None
    assert CHECKIN.next_question(answers(new_people=10, orders=3)).field == "revenue"


@pytest.mark.parametrize(("typed", "value"), [("40", 40), ("1.2k", 1200), ("1.2万", 12000), ("about 30", 30)])
def test_figures_are_read_with_the_check_up_parser(typed: str, value: float) -> None:
    assert CHECKIN.questions[0].parse(typed, "en").value == value


@pytest.mark.parametrize("typed", ["lots", "", "-3", "30%"])
def test_what_is_not_a_count_is_refused(typed: str) -> None:
    assert isinstance(CHECKIN.questions[0].parse(typed, "en"), Rejection)


def test_more_repeat_orders_than_orders_is_refused() -> None:
    repeat = CHECKIN.by_field["repeat_orders"]
    assert CHECKIN.check(repeat, Answer(5), answers(orders=3), "en") is not None
    assert CHECKIN.check(repeat, Answer(3), answers(orders=3), "en") is None


def test_same_as_last_time_gives_back_the_same_profile() -> None:
    profile = a_profile()
    for cadence in ("daily", "weekly", "biweekly"):
        same = {q.field: Answer(last_time(q.field, profile, cadence)) for q in CHECKIN.questions}
        again = to_profile(profile, same, cadence)
        assert again.weekly_reach == pytest.approx(profile.weekly_reach, abs=1)
        assert again.weekly_orders == pytest.approx(profile.weekly_orders, rel=0.05)
        if profile.weekly_orders:
            assert again.average_order_value == pytest.approx(profile.average_order_value, rel=0.05)
            assert again.repeat_rate == pytest.approx(profile.repeat_rate, abs=0.05)


def test_period_figures_become_weekly_figures() -> None:
    profile = a_profile()
    daily = to_profile(profile, answers(new_people=5, orders=2, revenue=300, repeat_orders=1), "daily")
    assert daily.weekly_reach == 35 and daily.weekly_orders == 14
    assert daily.average_order_value == 150
    biweekly = to_profile(profile, answers(new_people=28, orders=4, revenue=400, repeat_orders=1), "biweekly")
    assert biweekly.weekly_reach == 14 and biweekly.weekly_orders == 2
    assert assess(biweekly).metrics.monthly_sales > 0
    # repeat purchases are a 90-day share: one day or two weeks cannot measure them
    assert daily.repeat_rate == biweekly.repeat_rate == profile.repeat_rate


def test_a_check_in_is_scaled_by_the_period_it_started_with() -> None:
    """A cadence changed half-way through a check-in does not rescale its figures."""
    profile = a_profile()
    started_weekly = {**answers(new_people=70, orders=14, revenue=1400, repeat_orders=0), CADENCE: Answer("weekly")}
    assert to_profile(profile, started_weekly, "daily").weekly_orders == 14
    assert to_profile(profile, answers(new_people=70, orders=14), "daily").weekly_orders == 98


def test_a_daily_check_in_with_no_repeat_order_keeps_the_repeat_rate_and_the_bottleneck() -> None:
    """The issue: "0 repeat orders out of 1" in a day became "about 0% of your buyers bought
    again within 90 days" and moved the bottleneck to repeat purchases."""
    profile = a_profile()
    day = answers(new_people=last_time("new_people", profile, "daily"), orders=1, revenue=profile.average_order_value, repeat_orders=0)
    current = to_profile(profile, day, "daily")
    assert current.repeat_rate == profile.repeat_rate
    assert assess(current).bottleneck != "repeat"
    assert assess(replace(current, repeat_rate=0.0)).bottleneck == "repeat"  # what it was
    window = CHECKIN.window(day, "daily")
    assert (window.days, window.covered, window.complete) == (90, 1, False)
    assert CHECKIN.window_note(window, "en") == (
        "Repeat purchases: kept from your check-up until 90 days of check-ins exist (1 so far)."
    )
    assert "沿用诊断时的数字" in CHECKIN.window_note(window, "zh")


def day_of(orders: float, repeat: float, cadence: str | None = None) -> dict[str, Answer]:
    figures = answers(new_people=10, orders=orders, revenue=orders * 100, repeat_orders=repeat)
    return {**figures, CADENCE: Answer(cadence)} if cadence else figures


def test_repeat_purchases_are_measured_once_check_ins_span_the_window() -> None:
    profile = a_profile()
    # 89 earlier days of 4 orders, one from a returning buyer, and today's
    earlier = [day_of(4, 1, "daily") for _ in range(89)]
    today = day_of(4, 1)
    current = to_profile(profile, today, "daily", earlier)
    assert current.repeat_rate == pytest.approx(1 / 3, abs=1e-3)  # a quarter repeat: r / (1 + r)
    window = CHECKIN.window(today, "daily", earlier)
    assert (window.covered, window.orders, window.repeat_orders) == (90, 360, 90)
    assert CHECKIN.window_note(window, "en") == (
        "Repeat purchases: measured over your check-ins of the last 90 days"
        " (90 of 360 orders from returning buyers)."
    )
    # one day short of the window: kept
    short = to_profile(profile, today, "daily", earlier[:-1])
    assert short.repeat_rate == profile.repeat_rate


def test_the_window_adds_up_each_check_ins_own_period_and_stops_when_full() -> None:
    weekly = [day_of(10, 2, "weekly") for _ in range(12)]  # 84 days
    assert not CHECKIN.window(day_of(10, 2), "daily", weekly).complete  # 85 days
    assert CHECKIN.window(day_of(10, 2), "weekly", weekly).covered == 91
    older = [*weekly, day_of(1000, 1000, "weekly")]  # beyond the window: not counted
    window = CHECKIN.window(day_of(10, 2), "weekly", older)
    assert (window.covered, window.orders, window.repeat_orders) == (91, 130, 26)
    mixed = [day_of(2, 0, "daily")] * 6 + [day_of(28, 7, "biweekly")] * 6  # 6 + 84 days
    assert CHECKIN.window(day_of(2, 0), "daily", mixed).covered == 91


def test_without_orders_in_the_window_the_repeat_rate_is_kept_and_the_reply_says_why() -> None:
    profile = a_profile()
    empty = [day_of(0, 0, "weekly") for _ in range(13)]
    current = to_profile(profile, answers(new_people=3, orders=0), "weekly", empty)
    assert current.repeat_rate == profile.repeat_rate
    note = CHECKIN.window_note(CHECKIN.window(answers(new_people=3, orders=0), "weekly", empty), "en")
    assert note.startswith("Repeat purchases: kept from your check-up (no orders")


@pytest.mark.parametrize(
    ("weekly_orders", "cadence", "lang", "shown"),
    [
        (7, "daily", "en", "1"),
        (5, "daily", "en", "5 a week"),  # not 0.7 orders a day
        (5, "daily", "zh", "每周 5"),
        (0.5, "daily", "en", "0.5 a week"),
        (0.5, "weekly", "en", "0.5 a week"),
        (5, "weekly", "en", "5"),
        (5, "biweekly", "en", "10"),
        (0, "daily", "en", "0"),
    ],
)
def test_same_as_last_time_shows_whole_orders_or_the_weekly_figure_given(
    weekly_orders: float, cadence: str, lang: str, shown: str
) -> None:
    profile = replace(a_profile(), weekly_orders=weekly_orders)
    assert CHECKIN.same_label("orders", profile, cadence, lang) == shown


def test_same_as_last_time_rounds_people_to_whole_people() -> None:
    assert CHECKIN.same_label("new_people", replace(a_profile(), weekly_reach=50), "daily", "en") == "7"


@pytest.mark.parametrize(
    ("typed", "cadence", "value"),
    [("3 a day", "weekly", 21), ("3 a day", "daily", 3), ("每周7单", "daily", 1), ("每天2单", "biweekly", 28), ("5", "daily", 5)],
)
def test_a_rate_is_converted_to_the_check_ins_period(typed: str, cadence: str, value: float) -> None:
    answer = CHECKIN.by_field["orders"].parse(typed, "en", cadence)
    assert isinstance(answer, Answer) and answer.value == pytest.approx(value)


@pytest.mark.parametrize(("typed", "cadence"), [("2天", "daily"), ("3 hours", "weekly"), ("3 a day", None)])
def test_a_length_of_time_is_not_a_count(typed: str, cadence: str | None) -> None:
    rejection = CHECKIN.by_field["orders"].parse(typed, "en", cadence)
    assert isinstance(rejection, Rejection) and rejection.reason == "wrong_unit"
    assert "number of orders" in rejection_text(rejection, "en")


def test_without_orders_order_value_and_repeat_rate_are_kept() -> None:
    profile = a_profile()
    quiet = to_profile(profile, {**answers(new_people=3, orders=0), FOLLOW_UP: Answer("tried")}, "weekly")
    assert quiet.weekly_orders == 0
    assert quiet.average_order_value == profile.average_order_value
    assert quiet.repeat_rate == profile.repeat_rate


@pytest.mark.parametrize(
    "data",
    ["ci:go:12", "ci:snooze:1", "cia:5:0", "cif:5:not_yet", "cs:menu", "csc:biweekly", "csd:6", "csh:23", "csz:keep", "co:yes"],
)
def test_check_in_buttons_parse(data: str) -> None:
    assert parse(data) is not None


@pytest.mark.parametrize("data", ["ci:send:1", "csh:24", "csd:7", "cif:5:maybe", "csc:hourly", "cia:5:x", "co:maybe"])
def test_forged_check_in_buttons_are_refused(data: str) -> None:
    assert parse(data) is None
