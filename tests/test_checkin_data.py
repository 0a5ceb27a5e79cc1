"""The check-in as data: its questions, "same as last time", and the new profile."""

from __future__ import annotations

import pytest

from advice.checkin import FOLLOW_UP, last_time, load_checkin, to_profile
from advice.data import LANGUAGES
from advice.engine import assess
from advice.profile import Profile
from advice.questionnaire import Answer, Rejection
from bot.callbacks import parse_callback
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
    assert daily.average_order_value == 150 and daily.repeat_rate == 1.0  # half the orders repeat
    biweekly = to_profile(profile, answers(new_people=28, orders=4, revenue=400, repeat_orders=1), "biweekly")
    assert biweekly.weekly_reach == 14 and biweekly.weekly_orders == 2
    assert biweekly.repeat_rate == pytest.approx(1 / 3, abs=1e-3)  # a quarter repeat: r / (1 + r) = 1/4
    assert assess(biweekly).metrics.monthly_sales > 0


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
    assert parse_callback(data) is not None


@pytest.mark.parametrize("data", ["ci:send:1", "csh:24", "csd:7", "cif:5:maybe", "csc:hourly", "cia:5:x", "co:maybe"])
def test_forged_check_in_buttons_are_refused(data: str) -> None:
    assert parse_callback(data) is None
