"""Progress over time: what moved between two data points, and how a seller reads it.

A data point is a profile at a moment. compare() says which lever moved, how the estimate
and the bottleneck changed; the renderers turn that into the check-in result and the
/progress table, in both languages, escaping whatever the seller typed.

Figures below: the WeChat menswear reseller sells at ¥180 an order; a month is 4.33 weeks,
so 2 orders a week = ¥1,558.8, 3 = ¥2,338.2, 6 = ¥4,676.4 a month. Menswear at a mid price
needs 120 new people a week (benchmark).
"""

from __future__ import annotations

import dataclasses
import html as stdlib_html
import json
import re
from datetime import UTC, datetime, timedelta

import markupsafe
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advice.data import LANGUAGES, LEVERS, load_benchmarks
from advice.engine import assess
from advice.metrics import compute_metrics
from advice.profile import NUMBER_FIELDS, Profile
from advice.progress import Point, compare, convert, percent_change, series
from advice.render import PROGRESS_ROWS, progress_json, render_checkin_result, render_progress
from advice.whatif import to_benchmark, with_lever
from tests.personas import PERSONAS, seller
from tests.support.telegram_html import parse_html
from tests.test_metrics import never_lower, valid_profiles

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def persona(prefix: str) -> Profile:
    return Profile.from_dict(next(p for p in PERSONAS if p.name.startswith(prefix)).profile)


@pytest.fixture
def reseller() -> Profile:
    """10 new people a week, 2 orders at ¥180, 10% come back: traffic is the bottleneck."""
    return persona("WeChat menswear reseller")


def period(profile: Profile, **numbers: float) -> Profile:
    """A check-in: the previous profile with the period's numbers replaced."""
    return dataclasses.replace(profile, **numbers)


# --- compare() ---------------------------------------------------------------------------------


def test_more_traffic_raises_the_estimate_and_traffic_is_the_biggest_mover(
    reseller: Profile,
) -> None:
    later = period(reseller, weekly_reach=60, weekly_orders=6)
    movement = compare(reseller, later)
    assert movement.estimate_before == pytest.approx(1558.8)
    assert movement.estimate_after == pytest.approx(4676.4)
    assert movement.estimate_change_pct == pytest.approx(200)
    traffic = movement.levers["traffic"]
    assert (traffic.before, traffic.after) == (10, 60)
    assert traffic.change_pct == pytest.approx(500)
    assert (traffic.score_before, traffic.score_after) == (8, 50)  # 10/120, 60/120
    assert movement.biggest_mover is traffic
    assert not movement.levers["order_value"].moved and not movement.levers["repeat"].moved


def test_lifting_the_bottleneck_to_its_benchmark_moves_the_bottleneck(reseller: Profile) -> None:
    movement = compare(reseller, to_benchmark(reseller, "traffic"))
    assert movement.bottleneck_before == "traffic"
    assert movement.bottleneck_changed
    assert movement.bottleneck_after != "traffic"
    assert (
        movement.bottleneck_after == compute_metrics(to_benchmark(reseller, "traffic")).bottleneck
    )


def test_the_same_numbers_again_mean_nothing_moved(reseller: Profile) -> None:
    movement = compare(reseller, period(reseller))
    assert movement.biggest_mover is None
    assert movement.moved == ()
    assert movement.estimate_change_pct == 0
    assert not movement.bottleneck_changed
    assert all(c.change_pct == 0 and c.score_change == 0 for c in movement.levers.values())


def test_a_lower_order_value_is_reported_as_a_fall() -> None:
    baker = persona("home baker")  # 8 cakes a week at ¥30
    movement = compare(baker, period(baker, average_order_value=20))
    assert movement.estimate_change_pct == pytest.approx(-100 / 3)
    assert movement.biggest_mover is not None and movement.biggest_mover.lever == "order_value"
    assert movement.levers["order_value"].change_pct == pytest.approx(-100 / 3)
    assert movement.levers["order_value"].score_change < 0


def test_the_lever_whose_score_moved_most_wins_even_when_it_fell(reseller: Profile) -> None:
    # 30 more people but no more orders: traffic 8 -> 33, conversion 18% -> 4.5% (200 -> 114)
    movement = compare(reseller, period(reseller, weekly_reach=40))
    assert movement.levers["traffic"].score_change == 25
    assert movement.levers["conversion"].score_change == -86
    assert movement.biggest_mover is movement.levers["conversion"]


def test_a_lever_far_above_its_benchmark_still_counts_as_moving(reseller: Profile) -> None:
    # conversion 18% -> 23%: both far above 4%, so the score stays at its cap of 200
    movement = compare(reseller, period(reseller, weekly_orders=2.5))
    assert movement.levers["conversion"].score_change == 0
    assert movement.moved == (movement.levers["conversion"],)
    assert movement.biggest_mover is movement.levers["conversion"]


def test_growing_from_zero_has_no_percentage() -> None:
    beginner = persona("seller with no channel")  # nobody reached, nothing sold
    movement = compare(beginner, period(beginner, weekly_reach=20, weekly_orders=1))
    assert movement.estimate_before == 0
    assert movement.estimate_change_pct is None
    assert movement.levers["traffic"].change_pct is None
    assert movement.biggest_mover is not None


def test_money_is_compared_in_the_later_currency() -> None:
    jeweller = persona("Instagram jewellery maker")  # $150 an order
    in_yuan = period(jeweller, currency="CNY", average_order_value=150 * 7.1)
    movement = compare(jeweller, in_yuan)
    assert movement.estimate_change_pct == pytest.approx(0, abs=1e-6)
    assert not movement.levers["order_value"].moved
    assert movement.biggest_mover is None


def test_series_puts_points_in_time_order_with_their_metrics(reseller: Profile) -> None:
    points = [
        Point(START + timedelta(days=14), period(reseller, weekly_orders=4)),
        Point(START, reseller),
        Point(START + timedelta(days=7), period(reseller, weekly_orders=3)),
    ]
    scored = series(points)
    assert [p.when for p, _ in scored] == [
        START,
        START + timedelta(days=7),
        START + timedelta(days=14),
    ]
    assert [round(m.monthly_sales, 1) for _, m in scored] == [1558.8, 2338.2, 3117.6]


@settings(max_examples=60, deadline=None)
@given(valid_profiles(), st.sampled_from(LEVERS), st.floats(0, 1))
def test_improving_one_lever_never_lowers_the_estimate(data: dict, lever: str, t: float) -> None:
    before = Profile.from_dict(data)
    m = compute_metrics(before)
    # a higher figure for the lever, the others held (what a check-in that improved it says)
    if lever == "traffic":
        low = max(before.weekly_reach, -(-m.weekly_reach // 1))  # never below the effective reach
        value = low + t * (NUMBER_FIELDS["weekly_reach"].high - low)
    else:
        high = {"conversion": 1.0, "order_value": 10_000_000, "repeat": 1.0}[lever]
        current = m.levers[lever].value
        value = current + t * (high - current)
    after = with_lever(before, lever, value)
    movement = compare(before, after)
    assert never_lower(movement.estimate_after, movement.estimate_before)
    assert never_lower(movement.levers[lever].after, movement.levers[lever].before)


# --- the check-in result -------------------------------------------------------------------------


@pytest.fixture
def three_points(reseller: Profile) -> tuple[Profile, Profile, Profile]:
    """First check-up (10 people, 2 orders), the previous check-in (20, 3), this one (40, 5)."""
    return (
        reseller,
        period(reseller, weekly_reach=20, weekly_orders=3),
        period(reseller, weekly_reach=40, weekly_orders=5),
    )


EXPECTED_CHECKIN = {
    "en": [
        "Monthly sales estimate: ¥3,897",
        "Since last time: ¥2,338 -> ¥3,897 (+67%)",
        "Since your first check-up: ¥1,559 -> ¥3,897 (+150%)",
        "Orders a week: 3 -> 5 (+67%)",
        "Orders a week: 2 -> 5 (+150%)",  # since the first check-up
        "traffic: 20 -> 40 (+100%), score 17 -> 33",
        "traffic: 10 -> 40 (+300%), score 8 -> 33",
        "Bottleneck: traffic.",
    ],
    "zh": [
        "月销售额估算：¥3,897",
        "与上次相比：¥2,338 -> ¥3,897（+67%）",
        "与首次诊断相比：¥1,559 -> ¥3,897（+150%）",
        "每周订单：3 -> 5（+67%）",
        "每周订单：2 -> 5（+150%）",
        "流量：20 -> 40（+100%），得分 17 -> 33",
        "流量：10 -> 40（+300%），得分 8 -> 33",
        "瓶颈：流量。",
    ],
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("fmt", ["html", "text"])
def test_the_checkin_result_shows_the_numbers_and_the_bottleneck(
    three_points, lang: str, fmt: str
) -> None:
    first, previous, current = three_points
    out = render_checkin_result(previous, current, first, lang, fmt)
    shown = parse_html(out)[0] if fmt == "html" else out  # what the seller reads
    for line in EXPECTED_CHECKIN[lang]:
        assert line in shown
    assert "->" in out if fmt == "text" else "-&gt;" in out


def test_the_checkin_result_names_the_new_bottleneck_and_its_top_actions(reseller: Profile) -> None:
    current = to_benchmark(reseller, "traffic")
    new_bottleneck = compute_metrics(current).bottleneck
    data = json.loads(render_checkin_result(reseller, current, reseller, "en", "json"))
    assert data["bottleneck_changed"] and data["bottleneck"] == new_bottleneck
    expected = [f.id for f in assess(current).actions][:3]
    assert [a["rule"] for a in data["actions"]] == expected and expected
    html = render_checkin_result(reseller, current, reseller, "en")
    text, _ = parse_html(html)
    assert "The bottleneck has moved: traffic -> " in text
    assert "What to do now" in text
    first_action = assess(current).actions[0].rule.action["en"]
    assert first_action.split("{")[0][:30] in text
    assert len(re.findall(r"^\d\. ", text, re.MULTILINE)) == len(expected)


def test_no_new_actions_while_the_bottleneck_stays(three_points) -> None:
    first, previous, current = three_points
    data = json.loads(render_checkin_result(previous, current, first, "en", "json"))
    assert not data["bottleneck_changed"] and data["actions"] == []
    assert "What to do now" not in render_checkin_result(previous, current, first, "en", "text")


@pytest.mark.parametrize(("lang", "expected"), [("en", "went down"), ("zh", "估算下降了")])
def test_a_worse_period_is_said_plainly(reseller: Profile, lang: str, expected: str) -> None:
    worse = period(reseller, weekly_orders=1)
    text = render_checkin_result(reseller, worse, reseller, lang, "text")
    assert expected in text
    assert "-50%" in text  # 2 -> 1 orders a week
    assert "went up" not in text and "上升" not in text


@pytest.mark.parametrize(
    ("lang", "expected"), [("en", "Nothing moved since last time"), ("zh", "没有任何变化")]
)
def test_the_same_numbers_are_said_to_be_the_same(
    reseller: Profile, lang: str, expected: str
) -> None:
    text = render_checkin_result(reseller, period(reseller), reseller, lang, "text")
    assert expected in text
    assert (
        "What moved" not in text and "Biggest move" not in text and "与上次相比的变化" not in text
    )


def test_each_lever_that_moved_is_shown_in_its_own_terms(reseller: Profile) -> None:
    later = period(reseller, weekly_reach=30, average_order_value=200)
    lines = render_checkin_result(reseller, later, reseller, "en", "text").splitlines()
    for line in [
        "Orders a week: 2 -> 2 (+0%)",
        "  + traffic: 10 -> 30 (+200%), score 8 -> 25",
        "  - conversion: 18% -> 6.1% (-67%), score 200 -> 152",
        "  + order value: ¥180 -> ¥200 (+11%), score 90 -> 100",
        "Biggest move: conversion (score 200 -> 152).",
    ]:
        assert line in lines
    # the first check-up is the previous one: nothing to say "since your first check-up"
    assert not any("first check-up" in line for line in lines)


def test_growing_from_no_orders_is_said_in_words_not_as_a_percentage(reseller: Profile) -> None:
    none_yet = period(reseller, weekly_orders=0)
    checkin = render_checkin_result(none_yet, reseller, none_yet, "en", "text").splitlines()
    assert "Since last time: ¥0 -> ¥1,559 (from zero)" in checkin
    assert "Orders a week: 0 -> 2 (from zero)" in checkin
    progress = render_progress([Point(START, none_yet), Point(START + timedelta(weeks=1), reseller)], "en", "text")
    assert progress.endswith("-> ¥1,559 now (from zero), 2 data points.")


@pytest.mark.parametrize(
    ("average_order_value", "weekly_reach", "verdict"),
    [
        (1010, 10, "Your estimate went up."),  # +1%
        (990, 10, "Your estimate went down."),  # -1%
        (1004, 10, "Your estimate is about where it was."),  # +0.4%
        (996, 10, "Your estimate is about where it was."),  # -0.4%
        (1000, 30, "Your estimate is about where it was."),  # more people, the same orders
    ],
)
def test_the_verdict_is_up_or_down_from_half_a_percent(
    reseller: Profile, average_order_value: float, weekly_reach: int, verdict: str
) -> None:
    before = period(reseller, average_order_value=1000)
    after = period(before, average_order_value=average_order_value, weekly_reach=weekly_reach)
    assert verdict in render_checkin_result(before, after, before, "en", "text")


def test_the_checkin_result_in_html_is_the_html_message(three_points) -> None:
    first, previous, current = three_points
    assert "<b>Bottleneck: traffic.</b>" in render_checkin_result(previous, current, first, "en")


def test_json_is_indented_and_keeps_chinese_as_written(reseller: Profile) -> None:
    current = to_benchmark(reseller, "traffic")  # a new bottleneck: its actions, in Chinese
    out = render_checkin_result(reseller, current, reseller, "zh", "json")
    assert out.startswith('{\n  "') and "\\u" not in out
    assert re.search("[\u4e00-\u9fff]", out)  # Chinese, not escaped
    # the progress holds figures, dates and names of levers only: no text to escape
    assert render_progress(weekly_points(reseller, 2), "zh", "json").startswith('{\n  "')


SHOP_NAMES = ["<b>x</b>", "Tom & Jerry's <i>", "{{7*7}}"]


@pytest.mark.parametrize("name", SHOP_NAMES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_shop_name_is_escaped_in_html(reseller: Profile, name: str, lang: str) -> None:
    named = period(reseller, shop_name=name)
    later = period(named, weekly_reach=30)
    for out in (
        render_checkin_result(named, later, named, lang),
        render_progress([Point(START, named), Point(START + timedelta(days=7), later)], lang),
    ):
        title = out.splitlines()[0]
        assert str(markupsafe.escape(name)) in title
        assert stdlib_html.unescape(parse_html(title)[0]).endswith(name)
        assert "49" not in title
        if set(name) & set("<>&"):
            assert name not in out


# --- the progress table ---------------------------------------------------------------------------


def weekly_points(reseller: Profile, count: int) -> list[Point]:
    """A seller who adds 10 people and one order a week."""
    return [
        Point(
            START + timedelta(weeks=i),
            period(reseller, weekly_reach=10 + 10 * i, weekly_orders=2 + i),
        )
        for i in range(count)
    ]


def table_rows(html: str) -> list[str]:
    table = re.search(r"<pre>\n(.*?)</pre>", html, re.DOTALL)
    assert table is not None
    return table.group(1).strip("\n").splitlines()[1:]  # below the header


@pytest.mark.parametrize("count", [1, 3, PROGRESS_ROWS, 10])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_progress_table_has_one_row_per_point(reseller: Profile, count: int, lang: str) -> None:
    points = weekly_points(reseller, count)
    html = render_progress(list(reversed(points)), lang)  # any order in, time order out
    parse_html(html)
    rows = table_rows(html)
    shown = points[-PROGRESS_ROWS:]
    assert len(rows) == len(shown)
    for row, point in zip(rows, shown, strict=True):
        m = compute_metrics(point.profile)
        # only the 10 weekly points from November reach into the next year: then the year shows
        assert row.startswith(
            point.when.strftime("%m-%d" if count <= PROGRESS_ROWS else "%y-%m-%d")
        )
        cells = row.split()
        assert [int(c) for c in cells[2:6]] == [m.levers[lever].score for lever in LEVERS]
        assert cells[1] == "¥" + f"{round(m.monthly_sales):,}"
    if count > PROGRESS_ROWS:
        assert str(count - PROGRESS_ROWS) in html.split("</pre>")[1]


def test_the_progress_table_puts_figures_on_the_right_and_names_on_the_left(
    reseller: Profile,
) -> None:
    points = [
        Point(START, period(reseller, weekly_orders=1)),
        Point(
            START + timedelta(weeks=1),
            period(reseller, weekly_reach=200, weekly_orders=20, average_order_value=1000),
        ),
    ]
    assert render_progress(points, "en", "text").splitlines()[2:5] == [
        "Date    Month Traf Conv Value Rep Bottleneck",
        "11-02    ¥779    8  200    90  40 Traf",
        "11-09 ¥86,600  167  200   200  40 Rep",
    ]


@pytest.mark.parametrize(
    ("more", "said"),
    [
        (1, "Showing the latest rows; 1 earlier one is in /export."),
        (2, "Showing the latest rows; 2 earlier ones are in /export."),
    ],
)
def test_the_rows_left_out_of_the_table_are_counted(reseller: Profile, more: int, said: str) -> None:
    assert said in render_progress(weekly_points(reseller, PROGRESS_ROWS + more), "en", "text")
    assert "earlier" not in render_progress(weekly_points(reseller, PROGRESS_ROWS), "en", "text")


def test_the_progress_summary_goes_from_the_first_to_the_latest_estimate(reseller: Profile) -> None:
    text = render_progress(weekly_points(reseller, 5), "en", "text")
    # 2 orders a week (¥1,558.8) -> 6 orders (¥4,676.4): +200%
    assert (
        "¥1,559 at your first check-up (2026-11-02) -> ¥4,676 now (+200%), 5 data points." in text
    )
    single = render_progress(weekly_points(reseller, 1), "zh", "text")
    assert "目前只有一个数据点（2026-11-02）：每月 ¥1,559" in single


def test_progress_as_json_keeps_every_point(reseller: Profile) -> None:
    data = progress_json(weekly_points(reseller, 10), "en")
    assert len(data["points"]) == 10
    assert data["points"][0]["scores"] == {
        "traffic": 8,
        "conversion": 200,
        "order_value": 90,
        "repeat": 40,
    }
    assert (data["first_estimate"], data["latest_estimate"]) == (1558.8, 8573.4)
    assert json.loads(render_progress(weekly_points(reseller, 2), "zh", "json"))["language"] == "zh"


def test_no_points_and_unknown_formats_are_refused(reseller: Profile) -> None:
    with pytest.raises(ValueError):
        render_progress([], "en")
    with pytest.raises(ValueError):
        render_progress(weekly_points(reseller, 1), "fr")
    with pytest.raises(ValueError):
        render_checkin_result(reseller, reseller, reseller, "en", "pdf")


@settings(max_examples=40, deadline=None)
@given(valid_profiles(), valid_profiles(), valid_profiles())
def test_any_three_profiles_render_valid_telegram_messages(
    first: dict, previous: dict, current: dict
) -> None:
    profiles = [Profile.from_dict(d) for d in (first, previous, current)]
    points = [Point(START + timedelta(days=7 * i), p) for i, p in enumerate(profiles)]
    for lang in LANGUAGES:
        html = render_checkin_result(profiles[1], profiles[2], profiles[0], lang)
        text, _ = parse_html(html)  # raises on markup Telegram refuses
        assert len(html) < 4096
        table = render_progress(points, lang)
        parse_html(table)
        assert len(table_rows(table)) == 3
        json.loads(render_checkin_result(profiles[1], profiles[2], profiles[0], lang, "json"))
        assert render_checkin_result(profiles[1], profiles[2], profiles[0], lang, "text").strip()


# --- percentages, currencies and the biggest mover -------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (0.5, 1.0, 100.0),
        (0.2, 0.3, 50.0),
        (4, 3, -25.0),
        (0, 0, 0.0),
        (0, 1e-13, 0.0),  # float noise around nothing is no change
        (0, 1, None),  # growth from nothing has no percentage
        (-1, 1, None),
        (1e-300, 1e300, None),  # too large to say
    ],
)
def test_percent_change(before: float, after: float, expected: float | None) -> None:
    got = percent_change(before, after)
    assert got == (None if expected is None else pytest.approx(expected))


def test_converting_money_uses_the_rate_of_each_currency() -> None:
    rates = load_benchmarks().cny_per_unit
    assert convert(rates["USD"], "CNY", "USD") == pytest.approx(1.0)
    assert convert(1, "USD", "CNY") == pytest.approx(rates["USD"])
    assert convert(100, "EUR", "USD") == pytest.approx(100 * rates["EUR"] / rates["USD"])
    assert convert(100, "EUR", "EUR") == 100


def test_among_equal_score_moves_the_larger_relative_change_is_the_biggest_mover() -> None:
    # Traffic and order value are both capped at a score of 200 before and after: their
    # scores do not move, so the relative change of their figures decides.
    before = Profile.from_dict(seller(weekly_reach=300, weekly_orders=20, average_order_value=500))
    after = Profile.from_dict(seller(weekly_reach=360, weekly_orders=24, average_order_value=1000))
    movement = compare(before, after)
    assert {c.lever: c.score_change for c in movement.moved} == {"traffic": 0, "order_value": 0}
    assert movement.biggest_mover.lever == "order_value"


# --- what if one lever moved: the lever set, the others held, every value kept in bounds ----

# The healthy menswear seller: 150 new people a week, 10 orders, 30% come back.
BASE = Profile.from_dict(seller())
PURCHASES = 1.3
NEW_BUYERS = 10 / PURCHASES


@pytest.mark.parametrize(
    ("value", "conversion"), [(0.02, 0.02), (1.5, 1.0), (-0.1, 0.0), (1.0, 1.0)]
)
def test_conversion_is_a_share_between_nothing_and_everyone(
    value: float, conversion: float
) -> None:
    changed = with_lever(BASE, "conversion", value)
    assert changed.weekly_orders == pytest.approx(150 * conversion * PURCHASES)
    assert compute_metrics(changed).conversion == pytest.approx(conversion)
    assert (changed.weekly_reach, changed.repeat_rate) == (150, 0.3)


def test_repeat_keeps_the_new_buyers_and_adds_their_returns() -> None:
    changed = with_lever(BASE, "repeat", 0.5)
    assert changed.repeat_rate == 0.5
    assert changed.weekly_orders == pytest.approx(NEW_BUYERS * 1.5)
    assert compute_metrics(changed).new_buyers == pytest.approx(NEW_BUYERS)


def test_order_value_changes_only_the_order_value() -> None:
    changed = with_lever(BASE, "order_value", 300)
    assert changed.average_order_value == 300.0
    assert changed.weekly_orders == BASE.weekly_orders


def test_order_value_stays_above_zero_and_reach_stays_whole() -> None:
    assert with_lever(BASE, "order_value", 0).average_order_value == 0.01
    assert with_lever(BASE, "order_value", -5).average_order_value == 0.01
    reach = with_lever(BASE, "traffic", 12.7).weekly_reach
    assert reach == 13 and isinstance(reach, int)
    assert with_lever(BASE, "traffic", 99_999_999_999).weekly_reach == 10_000_000


def test_orders_stay_within_their_bounds() -> None:
    big = Profile.from_dict(seller(weekly_reach=10_000_000, weekly_orders=100_000))
    changed = with_lever(big, "conversion", 1.0)
    assert changed.weekly_orders == 1_000_000.0  # everyone of 10,000,000 buying would be more


def test_an_unknown_lever_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="lever must be one of"):
        with_lever(BASE, "luck", 2)
