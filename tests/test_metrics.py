"""The funnel: sales = traffic x conversion x order value x purchases per customer.

Worked examples with the arithmetic done by hand, then properties that hold for every valid
profile (generated from the field definitions in advice/profile.py).

Benchmarks used below (advice/data/benchmarks.toml): menswear at a mid price needs 120 new
people a week, converts 4%, averages ¥200 an order and sees 25% of buyers come back;
a month is 4.33 weeks.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from advice.data import LANGUAGES, LEVERS, Benchmarks, load_benchmarks
from advice.engine import assess
from advice.metrics import LeverScore, Metrics, compute_metrics
from advice.profile import (
    BOOL_FIELDS,
    CHOICE_FIELDS,
    LIST_FIELDS,
    MEASURABLE,
    MEASURED_DAYS_MAX,
    NUMBER_FIELDS,
    REQUIRED,
    SHOP_NAME_MAX,
    NumberRange,
    Profile,
)
from advice.render import FORMATS, TOP_ACTIONS, render
from tests.personas import seller

try:  # a validator of Telegram's HTML subset, when another engineer's helper is present
    from tests.support.telegram_html import parse_html
except ImportError:  # pragma: no cover
    parse_html = None

WEEKS = 4.33


def metrics(**changes: Any) -> Metrics:
    return compute_metrics(Profile.from_dict(seller(**changes)))


# --- scores and the bands of the ratio ---------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "at_benchmark", "score"),
    [(0.004, False, 0), (0.5, False, 50), (0.999, False, 100), (1.0, True, 100),
     (1.5, True, 150), (2.0, True, 200), (2.5, True, 200), (40.0, True, 200)],
)  # fmt: skip
def test_a_lever_is_at_its_benchmark_from_a_ratio_of_one_and_scores_up_to_200(
    ratio: float, at_benchmark: bool, score: int
) -> None:
    lever = LeverScore("traffic", ratio * 120, 120, ratio)
    assert lever.at_benchmark is at_benchmark
    assert lever.score == score


def test_levers_at_benchmark_counts_the_levers_at_a_ratio_of_one_or_more() -> None:
    # menswear, mid price: 120 people, 4%, ¥200, 25%
    assert metrics(weekly_reach=120, average_order_value=199.99, repeat_rate=0.25,
                   weekly_orders=120 * 0.04 * 1.25).levers_at_benchmark == 3  # fmt: skip
    assert metrics(weekly_reach=119, average_order_value=199.99, repeat_rate=0.2499,
                   weekly_orders=119 * 0.0399 * 1.2499).levers_at_benchmark == 0  # fmt: skip


def test_each_lever_score_names_its_lever() -> None:
    assert {lever: score.lever for lever, score in metrics().levers.items()} == {
        lever: lever for lever in LEVERS
    }


def test_a_seller_reaching_less_than_one_person_converts_everyone_reached() -> None:
    m = metrics(weekly_reach=0, weekly_orders=0.5, repeat_rate=0.25)
    assert m.weekly_reach == pytest.approx(0.4) and m.reach_raised
    assert m.conversion == 1.0


def _with_menswear(**changes: Any) -> Benchmarks:
    bm = load_benchmarks()
    category = dict(bm.category, menswear=dataclasses.replace(bm.category["menswear"], **changes))
    return dataclasses.replace(bm, category=category)


def test_a_benchmark_conversion_above_everyone_is_capped_at_everyone() -> None:
    m = compute_metrics(Profile.from_dict(seller()), _with_menswear(conversion=1.5))
    assert m.levers["conversion"].benchmark == 1.0


def test_a_lever_without_a_benchmark_counts_as_at_its_benchmark() -> None:
    m = compute_metrics(Profile.from_dict(seller(repeat_rate=0.1)), _with_menswear(repeat_rate=0))
    assert m.levers["repeat"].ratio == 1.0 and m.levers["repeat"].at_benchmark


# --- any valid profile --------------------------------------------------------------------------


def _number(name: str, bounds: NumberRange) -> st.SearchStrategy[Any]:
    if bounds.integer:
        values: st.SearchStrategy[Any] = st.integers(int(bounds.low), int(bounds.high))
    else:
        values = st.floats(
            bounds.low, bounds.high, exclude_min=not bounds.low_inclusive, allow_nan=False
        )
    return values if name in REQUIRED else st.none() | values


def _field_strategies() -> dict[str, st.SearchStrategy[Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {
        name: _number(name, bounds) for name, bounds in NUMBER_FIELDS.items()
    }
    fields.update({name: st.sampled_from(allowed) for name, allowed in CHOICE_FIELDS.items()})
    fields.update(
        {
            name: st.lists(st.sampled_from(allowed), unique=True)
            for name, allowed in LIST_FIELDS.items()
        }
    )
    fields.update({name: st.booleans() for name in BOOL_FIELDS})
    fields["currency"] = st.sampled_from(sorted(load_benchmarks().cny_per_unit))
    fields["shop_name"] = st.none() | st.text(min_size=1, max_size=SHOP_NAME_MAX)
    fields["assumed"] = st.lists(st.sampled_from(sorted(NUMBER_FIELDS)), unique=True)
    fields["measured"] = st.lists(st.sampled_from(MEASURABLE), unique=True)
    fields["measured_days"] = st.none() | st.integers(1, MEASURED_DAYS_MAX)
    assert set(fields) == set(Profile.__dataclass_fields__), "a profile field has no strategy"
    return fields


FIELDS = _field_strategies()


@st.composite
def valid_profiles(draw: st.DrawFn) -> dict[str, Any]:
    """Any valid profile dict: every required field, and any subset of the optional ones."""
    data: dict[str, Any] = {}
    for name, values in FIELDS.items():
        if name in REQUIRED or draw(st.booleans()):
            data[name] = draw(values)
    return data


def estimate(data: dict[str, Any]) -> float:
    return compute_metrics(Profile.from_dict(data)).monthly_sales


def never_lower(after: float, before: float) -> bool:
    """after >= before, up to float rounding in the product of five factors."""
    return after >= before - 1e-9 * max(1.0, abs(before))


fractions = st.floats(0, 1)


# --- worked examples --------------------------------------------------------------------------


def test_the_formula_on_a_healthy_menswear_seller() -> None:
    m = metrics()  # 150 new people, 10 orders, ¥220 an order, 30% come back
    # purchases per customer = 1 + 0.30 = 1.3; new buyers = 10 / 1.3 = 7.6923
    assert m.purchases_per_customer == pytest.approx(1.3)
    assert m.new_buyers == pytest.approx(7.6923, abs=1e-4)
    # conversion = 7.6923 / 150 = 0.051282
    assert m.conversion == pytest.approx(0.051282, abs=1e-6)
    # monthly = 4.33 x 150 x 0.051282 x 220 x 1.3 = 4.33 x 10 orders x 220 = 9,526
    assert m.monthly_sales == pytest.approx(9526.0)
    # scores: traffic 150/120 = 125; conversion 0.051282/0.04 = 128;
    #         order value 220/200 = 110; repeat 0.30/0.25 = 120
    assert {lever: s.score for lever, s in m.levers.items()} == {
        "traffic": 125, "conversion": 128, "order_value": 110, "repeat": 120,
    }  # fmt: skip
    assert m.levers_at_benchmark == 4
    # lowest score: order value, although it is at the benchmark
    assert m.bottleneck == "order_value"
    # every lever at its benchmark already: no projection adds anything
    assert all(p.projected == m.monthly_sales for p in m.projections.values())


def test_the_formula_on_a_menswear_reseller_reaching_ten_people() -> None:
    m = metrics(weekly_reach=10, weekly_orders=2, average_order_value=180, repeat_rate=0.1)
    # purchases = 1.1; new buyers = 2 / 1.1 = 1.8182; conversion = 1.8182 / 10 = 0.18182
    assert m.conversion == pytest.approx(0.181818, abs=1e-6)
    # monthly = 4.33 x 2 orders x ¥180 = ¥1,558.80
    assert m.monthly_sales == pytest.approx(1558.8)
    # traffic 10/120 = 0.083 (8); conversion 0.18182/0.04 = 4.5 (shown capped at 200);
    # order value 180/200 = 0.9 (90); repeat 0.1/0.25 = 0.4 (40)
    assert m.levers["traffic"].ratio == pytest.approx(10 / 120)
    assert {lever: s.score for lever, s in m.levers.items()} == {
        "traffic": 8, "conversion": 200, "order_value": 90, "repeat": 40,
    }  # fmt: skip
    assert m.levers["conversion"].ratio == pytest.approx(4.5454, abs=1e-4)
    assert m.bottleneck == "traffic"
    assert m.levers_at_benchmark == 1


def test_projections_lift_one_lever_to_its_benchmark_and_hold_the_others() -> None:
    m = metrics(weekly_reach=10, weekly_orders=2, average_order_value=180, repeat_rate=0.1)
    p = m.projections
    # traffic: 4.33 x 120 people x 0.18182 x ¥180 x 1.1 = 4.33 x 24 orders x ¥180 = ¥18,705.60
    assert p["traffic"].projected == pytest.approx(18705.6)
    assert p["traffic"].change_pct == pytest.approx(1100.0)  # 18,705.6 / 1,558.8 = 12x
    # order value: 4.33 x 2 x ¥200 = ¥1,732 -> +11.1%
    assert p["order_value"].projected == pytest.approx(1732.0)
    assert p["order_value"].change_pct == pytest.approx(11.111, abs=1e-3)
    # repeat: purchases 1.1 -> 1.25: x 1.25/1.1 -> +13.6%
    assert p["repeat"].projected == pytest.approx(1558.8 * 1.25 / 1.1)
    assert p["repeat"].change_pct == pytest.approx(13.636, abs=1e-3)
    # conversion is above its benchmark already: no change
    assert p["conversion"].projected == m.monthly_sales
    assert p["conversion"].change_pct == pytest.approx(0.0)
    assert p["traffic"].gain == pytest.approx(18705.6 - 1558.8)
    assert all(proj.current == m.monthly_sales for proj in p.values())


def test_with_no_sales_today_the_change_is_not_a_percentage() -> None:
    # a luxury jeweller reaching 500 students a week who sells nothing
    m = metrics(category="jewellery", price_tier="luxury", audience="students",
                weekly_reach=500, weekly_orders=0, average_order_value=5000)  # fmt: skip
    assert m.monthly_sales == 0
    assert m.conversion == 0
    assert m.bottleneck == "conversion"
    assert all(p.change_pct is None for p in m.projections.values())
    # conversion lifted to 2% x 0.4 (luxury) = 0.8%: 4.33 x 500 x 0.008 x ¥5,000 x 1.3
    assert m.projections["conversion"].projected == pytest.approx(4.33 * 500 * 0.008 * 5000 * 1.3)


def test_reach_is_raised_when_buyers_exceed_the_people_reached() -> None:
    m = metrics(weekly_reach=5, weekly_orders=30)
    # new buyers = 30 / 1.3 = 23.08 > 5 people: reach counts as 23.08, conversion as 100%
    assert m.reach_raised
    assert m.weekly_reach == pytest.approx(30 / 1.3)
    assert m.conversion == pytest.approx(1.0)
    # the estimate is still the seller's own orders: 4.33 x 30 x ¥220 = ¥28,578
    assert m.monthly_sales == pytest.approx(28578.0)
    # the traffic score uses the reported 5 people: 5/120
    assert m.levers["traffic"].value == 5
    assert m.bottleneck == "traffic"
    assert not metrics().reach_raised


def test_no_reach_and_no_orders_is_a_tie_that_goes_to_traffic() -> None:
    m = metrics(channels=[], weekly_reach=0, weekly_orders=0)
    assert m.levers["traffic"].ratio == m.levers["conversion"].ratio == 0
    assert m.bottleneck == "traffic"  # ties go to the earliest lever in the funnel
    assert m.monthly_sales == 0


def test_a_usd_seller_is_compared_with_the_cny_benchmark_converted_to_dollars() -> None:
    # premium jewellery averages ¥1,200; at 7.1 CNY per USD that is $169.01
    m = metrics(category="jewellery", price_tier="premium", currency="USD",
                average_order_value=150)  # fmt: skip
    assert m.benchmark_aov == pytest.approx(1200 / 7.1)
    assert m.levers["order_value"].benchmark == pytest.approx(169.01, abs=0.01)
    assert m.levers["order_value"].ratio == pytest.approx(150 / (1200 / 7.1))
    # the same seller pricing in yuan ($150 = ¥1,065) gets the same score
    in_cny = metrics(category="jewellery", price_tier="premium", currency="CNY",
                     average_order_value=150 * 7.1)  # fmt: skip
    assert in_cny.levers["order_value"].ratio == pytest.approx(m.levers["order_value"].ratio)
    # the estimate stays in the seller's currency: 4.33 x 10 x $150
    assert m.monthly_sales == pytest.approx(4.33 * 10 * 150)


def test_the_price_tier_changes_what_enough_traffic_and_conversion_mean() -> None:
    budget = metrics(price_tier="budget", average_order_value=80)
    luxury = metrics(price_tier="luxury", average_order_value=1500)
    # menswear: 120 people x 1.5 (budget) = 180; x 0.3 (luxury) = 36
    assert budget.levers["traffic"].benchmark == pytest.approx(180)
    assert luxury.levers["traffic"].benchmark == pytest.approx(36)
    # 4% x 1.3 = 5.2%; 4% x 0.4 = 1.6%
    assert budget.levers["conversion"].benchmark == pytest.approx(0.052)
    assert luxury.levers["conversion"].benchmark == pytest.approx(0.016)


# --- properties of every valid profile -----------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_profiles())
def test_any_valid_profile_gets_advice_in_every_language_and_format(data: dict[str, Any]) -> None:
    assessment = assess(Profile.from_dict(data))
    for lang in LANGUAGES:
        for fmt in FORMATS:
            out = render(assessment, lang, fmt)  # type: ignore[arg-type]
            assert out.strip()
            if fmt == "json":
                json.loads(out, parse_constant=_refuse)
            if fmt == "html" and parse_html is not None:
                parse_html(out)  # valid Telegram HTML
        for view in ("why", "more"):
            assert render(assessment, lang, "text", view=view)
            html = render(assessment, lang, "html", view=view)
            if parse_html is not None:
                parse_html(html)


def _refuse(constant: str) -> None:
    raise AssertionError(f"not valid JSON: {constant}")


@given(valid_profiles())
def test_the_estimate_is_the_product_of_the_four_levers(data: dict[str, Any]) -> None:
    m = compute_metrics(Profile.from_dict(data))
    orders = data["weekly_orders"]
    assert m.monthly_sales == pytest.approx(WEEKS * orders * data["average_order_value"])
    assert m.monthly_sales == pytest.approx(
        WEEKS * m.weekly_reach * m.conversion * m.average_order_value * m.purchases_per_customer
    )
    assert 0 <= m.conversion <= 1
    assert m.weekly_reach >= data["weekly_reach"]


@given(valid_profiles(), st.floats(1, 100, exclude_min=True))
def test_more_traffic_never_lowers_the_estimate(data: dict[str, Any], factor: float) -> None:
    # reach and orders grow by the same factor: the same conversion, more people
    better = {**data, "weekly_reach": round(data["weekly_reach"] * factor),
              "weekly_orders": data["weekly_orders"] * factor}  # fmt: skip
    assume(better["weekly_reach"] <= 10_000_000 and better["weekly_orders"] <= 1_000_000)
    assert never_lower(estimate(better), estimate(data))
    assert _ratio(better, "traffic") >= _ratio(data, "traffic")


@given(valid_profiles(), fractions)
def test_better_conversion_never_lowers_the_estimate(data: dict[str, Any], t: float) -> None:
    # more orders from the same people, up to everyone buying
    orders, reach, purchases = data["weekly_orders"], data["weekly_reach"], 1 + data["repeat_rate"]
    cap = min(1_000_000.0, max(orders, reach * purchases))
    better = {**data, "weekly_orders": orders + t * (cap - orders)}
    assert never_lower(estimate(better), estimate(data))
    assert never_lower(_ratio(better, "conversion"), _ratio(data, "conversion"))


@given(valid_profiles(), fractions)
def test_a_higher_order_value_never_lowers_the_estimate(data: dict[str, Any], t: float) -> None:
    aov = data["average_order_value"]
    better = {**data, "average_order_value": aov + t * (10_000_000 - aov)}
    assert never_lower(estimate(better), estimate(data))
    assert _ratio(better, "order_value") >= _ratio(data, "order_value")


@given(valid_profiles(), fractions)
def test_more_repeat_buyers_never_lower_the_estimate(data: dict[str, Any], t: float) -> None:
    # the same new buyers, each buying more often: orders grow by (1 + r') / (1 + r)
    rate = data["repeat_rate"]
    new_rate = rate + t * (1 - rate)
    better = {**data, "repeat_rate": new_rate,
              "weekly_orders": data["weekly_orders"] * (1 + new_rate) / (1 + rate)}  # fmt: skip
    assume(better["weekly_orders"] <= 1_000_000)
    assert never_lower(estimate(better), estimate(data))
    assert _ratio(better, "repeat") >= _ratio(data, "repeat")


def _ratio(data: dict[str, Any], lever: str) -> float:
    return compute_metrics(Profile.from_dict(data)).levers[lever].ratio


@given(valid_profiles())
def test_the_bottleneck_is_the_lowest_scored_lever(data: dict[str, Any]) -> None:
    m = compute_metrics(Profile.from_dict(data))
    lowest = min(s.ratio for s in m.levers.values())
    assert m.levers[m.bottleneck].ratio == lowest
    assert m.levers[m.bottleneck].score == min(s.score for s in m.levers.values())
    # on a tie, the earliest lever in the funnel
    tied = [lever for lever in LEVERS if m.levers[lever].ratio == lowest]
    assert m.bottleneck == tied[0]
    assert set(m.levers) == set(LEVERS) == set(m.projections)


@given(valid_profiles())
def test_projections_are_never_below_the_current_estimate(data: dict[str, Any]) -> None:
    m = compute_metrics(Profile.from_dict(data))
    for lever, projection in m.projections.items():
        assert projection.lever == lever
        assert projection.current == m.monthly_sales
        assert projection.projected >= projection.current
        assert projection.gain >= 0
        if m.levers[lever].at_benchmark:  # nothing to gain from a lever already there
            assert projection.projected == projection.current
        if projection.change_pct is not None:
            assert projection.change_pct >= 0
            assert math.isfinite(projection.change_pct)


@settings(max_examples=60, deadline=None)
@given(valid_profiles(), st.sampled_from(LANGUAGES))
def test_the_json_advice_always_has_the_documented_shape(data: dict[str, Any], lang: str) -> None:
    advice = json.loads(render(assess(Profile.from_dict(data)), lang, "json"))
    assert {"estimate", "levers", "bottleneck", "red_flags", "findings", "actions"} <= set(advice)
    assert isinstance(advice["estimate"]["monthly_sales"], int | float)
    assert set(advice["levers"]) == set(LEVERS)
    for lever in advice["levers"].values():
        assert isinstance(lever["score"], int) and 0 <= lever["score"] <= 200
    assert advice["bottleneck"] in LEVERS
    assert isinstance(advice["red_flags"], list)
    for finding in advice["findings"]:
        assert {"rule", "lever", "severity", "message", "because"} <= set(finding)
        assert finding["message"] and finding["because"]
    for action in advice["actions"]:
        assert {"rule", "text", "impact"} <= set(action)
        assert action["text"]
    up_front = [a["up_front"] for a in advice["actions"]]
    assert sum(up_front) <= TOP_ACTIONS
    assert up_front == sorted(up_front, reverse=True)  # the first ones are up front
    assert set(advice["red_flags"]) <= {f["rule"] for f in advice["findings"]}
