"""The check-in as data: its questions, "same as last time", and the new profile."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from advice.checkin import CADENCE, FOLLOW_UP, history, last_time, load_checkin, to_profile
from advice.data import DATA_DIR, LANGUAGES
from advice.engine import HISTORY_NAMES, assess
from advice.formatting import rejection_text
from advice.profile import Profile
from advice.questionnaire import Answer, AnswerStatus, Rejection
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


# -- reading a figure --------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["lots", "", "   ", "30%", "about half"])
def test_what_is_not_a_figure_is_refused_with_the_questions_hint(typed: str) -> None:
    people = CHECKIN.by_field["new_people"]
    assert people.parse(typed, "en") == Rejection("not_a_number", people.hint["en"])
    assert people.parse(typed, "zh") == Rejection("not_a_number", people.hint["zh"])


def test_a_length_of_time_is_refused_with_what_the_figure_is() -> None:
    orders = CHECKIN.by_field["orders"]
    assert orders.parse("2 days", "zh", "weekly") == Rejection(
        "wrong_unit", orders.hint["zh"], {"expected": orders.expects["zh"]}
    )


@pytest.mark.parametrize(
    ("field", "typed", "value"),
    [
        ("new_people", "2.6", 3),  # whole people
        ("new_people", "0", 0),
        ("new_people", "10000000", 10_000_000),
        ("orders", "2.6", 2.6),  # half an order a day is a figure
        ("orders", "0.5", 0.5),
        ("orders", "0", 0),
        ("orders", "1000000", 1_000_000),
        ("revenue", "1000000000", 1_000_000_000),
    ],
)
def test_a_figure_from_zero_to_the_questions_maximum_is_taken(field: str, typed: str, value: float) -> None:
    assert CHECKIN.by_field[field].parse(typed, "en", "weekly") == Answer(value, AnswerStatus.GIVEN)


@pytest.mark.parametrize(
    ("field", "typed", "high"),
    [("new_people", "10000001", "10,000,000"), ("orders", "1000001", "1,000,000"), ("orders", "-1", "1,000,000")],
)
def test_a_figure_beyond_the_questions_range_is_refused_with_the_range(field: str, typed: str, high: str) -> None:
    question = CHECKIN.by_field[field]
    assert question.parse(typed, "zh", "weekly") == Rejection(
        "out_of_range", question.hint["zh"], {"low": 0, "high": high}
    )


def test_a_rate_beyond_the_maximum_once_converted_is_refused() -> None:
    rejection = CHECKIN.by_field["orders"].parse("200k a day", "en", "weekly")
    assert isinstance(rejection, Rejection) and rejection.reason == "out_of_range"


def test_a_range_is_kept_and_converted_with_its_figure() -> None:
    orders = CHECKIN.by_field["orders"]
    assert orders.parse("30-40", "en", "weekly") == Answer(35, AnswerStatus.GIVEN, 30, 40)
    assert orders.parse("30-40 a day", "en", "weekly") == Answer(245, AnswerStatus.GIVEN, 210, 280)
    assert orders.parse("每周7到14单", "en", "daily") == Answer(1.5, AnswerStatus.GIVEN, 1, 2)


def test_more_repeat_orders_than_orders_is_refused_with_the_orders_as_the_limit() -> None:
    repeat = CHECKIN.by_field["repeat_orders"]
    assert CHECKIN.check(repeat, Answer(5), answers(orders=3.5), "zh") == Rejection(
        "out_of_range", repeat.hint["zh"], {"low": 0, "high": "3.5"}
    )
    # only repeat orders are held against the orders
    assert CHECKIN.check(CHECKIN.by_field["revenue"], Answer(500), answers(orders=3), "en") is None


# -- the new profile ---------------------------------------------------------------------


def test_same_as_last_time_gives_back_the_repeat_rate_once_the_window_is_spanned() -> None:
    profile = a_profile()  # repeat rate 0.3: 10 orders a week, 3 of 13 from returning buyers
    assert last_time("repeat_orders", profile, "weekly") == pytest.approx(10 * 0.3 / 1.3)
    same = {q.field: Answer(last_time(q.field, profile, "daily")) for q in CHECKIN.questions}
    earlier = [{**same, CADENCE: Answer("daily")}] * 89
    assert to_profile(profile, same, "daily", earlier).repeat_rate == pytest.approx(0.3, abs=1e-3)


def test_last_time_knows_only_the_check_in_figures() -> None:
    with pytest.raises(KeyError, match="last_action_outcome"):
        last_time(FOLLOW_UP, a_profile(), "weekly")


def test_a_window_spanned_exactly_takes_no_older_check_in() -> None:
    earlier = [day_of(4, 1, "daily") for _ in range(89)] + [day_of(1000, 1000, "daily")]
    window = CHECKIN.window(day_of(4, 1), "daily", earlier)
    assert (window.covered, window.orders, window.repeat_orders) == (90, 360, 90)


def test_a_check_in_without_orders_adds_no_orders_to_the_window() -> None:
    window = CHECKIN.window(answers(new_people=3, orders=0), "weekly")
    assert (window.covered, window.orders, window.repeat_orders) == (7, 0, 0)
    unknown = CHECKIN.window({"new_people": Answer(3), "orders": Answer(None)}, "weekly")
    assert (unknown.orders, unknown.repeat_orders) == (0, 0)


def test_weekly_figures_are_capped_at_the_profiles_limits() -> None:
    huge = to_profile(a_profile(), answers(new_people=10_000_000, orders=1_000_000), "daily")
    assert (huge.weekly_reach, huge.weekly_orders) == (10_000_000, 1_000_000)


def test_weekly_orders_keep_two_decimals_and_order_value_cents() -> None:
    # "5 a month" in a weekly check-in is 1.1666... orders
    orders = CHECKIN.by_field["orders"].parse("5 a month", "en", "weekly")
    assert isinstance(orders, Answer)
    current = to_profile(a_profile(), {**answers(new_people=40, revenue=100), "orders": orders}, "weekly")
    assert current.weekly_orders == 1.17
    assert current.average_order_value == 85.71  # 100 / 1.1666...
    assert to_profile(a_profile(), answers(new_people=40, orders=3, revenue=100), "weekly").average_order_value == 33.33


@pytest.mark.parametrize(("orders", "revenue", "value"), [(1, 80, 80), (2, 1, 0.5), (1, 1, 1)])
def test_any_order_with_revenue_sets_the_order_value(orders: float, revenue: float, value: float) -> None:
    current = to_profile(a_profile(), answers(new_people=40, orders=orders, revenue=revenue), "weekly")
    assert current.average_order_value == value


def test_revenue_without_orders_keeps_the_order_value() -> None:
    current = to_profile(a_profile(), answers(new_people=40, orders=0, revenue=500), "weekly")
    assert current.average_order_value == a_profile().average_order_value


def test_a_figure_measured_is_no_longer_assumed() -> None:
    profile = replace(a_profile(), assumed=("weekly_reach", "average_order_value", "repeat_rate", "response_hours"))
    current = to_profile(profile, answers(new_people=40, orders=3, revenue=300), "weekly")
    assert current.assumed == ("repeat_rate", "response_hours")
    quiet = to_profile(profile, answers(new_people=40, orders=0), "weekly")
    assert quiet.assumed == ("average_order_value", "repeat_rate", "response_hours")


def test_the_history_rules_may_read() -> None:
    assert history("slow_replies", "tried", 2) == {
        "last_action_rule": "slow_replies",
        "last_action_outcome": "tried",
        "checkins_answered": 2,
    }
    assert tuple(history(None, None, 0)) == HISTORY_NAMES


# -- "same as last time" -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "weekly_orders", "cadence", "shown"),
    [
        ("revenue", 5, "daily", "157.1"),  # money to a tenth: 5 orders of 220 a week, a day
        ("revenue", 10, "weekly", "2,200"),
        ("orders", 1.33, "daily", "1.3 a week"),
        ("orders", 0.05, "weekly", "0.1 a week"),  # 0.05 is not a whole number of orders
        ("orders", 7.03, "daily", "1"),
    ],
)
def test_same_as_last_time_shows_money_to_a_tenth_and_orders_whole_or_weekly(
    field: str, weekly_orders: float, cadence: str, shown: str
) -> None:
    profile = replace(a_profile(), weekly_orders=weekly_orders)
    assert CHECKIN.same_label(field, profile, cadence, "en") == shown


# -- the check-in file -------------------------------------------------------------------

CHECKIN_TOML = (DATA_DIR / "checkin.toml").read_text(encoding="utf-8")


def checkin_file(tmp_path: Path, old: str, new: str) -> Path:
    assert old in CHECKIN_TOML
    path = tmp_path / "checkin.toml"
    path.write_text(CHECKIN_TOML.replace(old, new, 1), encoding="utf-8")
    return path


PEOPLE_HINT = 'hint = { en = "A whole number, e.g. 40 or 1.2k. A rough figure is fine.", zh = "填一个整数，如 40 或 1.2千，大概的数就行。" }'


@pytest.mark.parametrize(
    "hint",
    ['hint = { en = "A whole number." }', 'hint = "A whole number."', 'hint = { en = "1", zh = "1", fr = "1" }', ""],
)
def test_a_text_not_in_exactly_every_language_is_refused(tmp_path: Path, hint: str) -> None:
    path = checkin_file(tmp_path, PEOPLE_HINT, hint)
    with pytest.raises(ValueError, match="checkin: new_people: hint needs exactly the languages"):
        load_checkin(path)


@pytest.mark.parametrize("days", ["0", "-90", "true", "1.5", '"90"', None])
def test_the_window_is_a_whole_number_of_days(tmp_path: Path, days: str | None) -> None:
    path = checkin_file(tmp_path, "days = 90\n", "" if days is None else f"days = {days}\n")
    with pytest.raises(ValueError, match="^checkin: window days must be a whole number of days$"):
        load_checkin(path)


def test_a_window_of_one_day_is_taken(tmp_path: Path) -> None:
    assert load_checkin(checkin_file(tmp_path, "days = 90\n", "days = 1\n")).window_days == 1
