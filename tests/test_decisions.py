"""Every decision the advice makes, pinned: each threshold of each rule from both sides, each
rule's lever and severity, the order that picks the three actions shown, and the projection
each action carries.

The thresholds below are written by hand, not read from the rule files: nudge a number in
``advice/data/rules/*.toml`` and a case here fails. Ratios are stated as ratios (the seller's
figure over the benchmark) so the benchmark figures can change without touching this file.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from advice.data import LEVERS
from advice.engine import (
    HISTORY_NAMES,
    METRIC_NAMES,
    Assessment,
    assess,
    build_context,
    default_rulebook,
)
from advice.formatting import Formatter
from advice.metrics import compute_metrics
from advice.profile import Profile
from advice.render import render, to_json
from tests.personas import seller

# How far either side of a ratio threshold the cases below go (0.2% of the threshold).
STEP = 0.002


def fired(data: dict[str, Any], history: dict[str, Any] | None = None) -> set[str]:
    return {f.id for f in assess(Profile.from_dict(data), history).findings}


def with_ratio(lever: str, ratio: float, side: str, **changes: Any) -> dict[str, Any]:
    """The healthy seller (with ``changes``) whose ``lever`` is just ``side`` of ``ratio``
    times its benchmark, the other levers' figures held."""
    data = seller(**changes)
    profile = Profile.from_dict(data)
    benchmark = compute_metrics(profile).levers[lever].benchmark
    target = ratio * (1 - STEP if side == "below" else 1 + STEP)
    if lever == "traffic":  # whole people: the nearest whole number on the right side
        exact = ratio * benchmark
        data["weekly_reach"] = math.ceil(exact) - 1 if side == "below" else math.floor(exact) + 1
    elif lever == "conversion":
        purchases = 1 + profile.repeat_rate
        data["weekly_orders"] = target * benchmark * profile.weekly_reach * purchases
    elif lever == "order_value":
        data["average_order_value"] = target * benchmark
    else:
        data["repeat_rate"] = target * benchmark
    got = compute_metrics(Profile.from_dict(data)).levers[lever].ratio
    assert (got < ratio) if side == "below" else (got > ratio), (lever, ratio, side, got)
    return data


# (rule, lever, threshold ratio, fires just below, fires just above, other answers)
RATIO_THRESHOLDS: list[tuple[str, str, float, bool, bool, dict[str, Any]]] = [
    ("traffic_far_below", "traffic", 0.5, True, False, {}),
    ("traffic_below", "traffic", 0.5, False, True, {}),
    ("traffic_below", "traffic", 1.0, True, False, {}),
    ("no_discovery_channel", "traffic", 1.0, True, False, {"channels": ["moments_feed", "groups"]}),
    ("conversion_far_below", "conversion", 0.5, True, False, {}),
    ("conversion_below", "conversion", 0.5, False, True, {}),
    ("conversion_below", "conversion", 1.0, True, False, {}),
    ("order_value_far_below", "order_value", 0.5, True, False, {}),
    ("order_value_below", "order_value", 0.5, False, True, {}),
    ("order_value_below", "order_value", 1.0, True, False, {}),
    ("order_value_above_tier", "order_value", 3.0, False, True, {}),
    (
        "handmade_without_customisation",
        "order_value",
        1.0,
        True,
        False,
        {"category": "jewellery", "value_add": ["warranty"]},
    ),
    ("repeat_far_below", "repeat", 0.5, True, False, {}),
    ("repeat_below", "repeat", 0.5, False, True, {}),
    ("repeat_below", "repeat", 1.0, True, False, {}),
    ("no_follow_up", "repeat", 1.0, True, False, {"after_sales": "returns"}),
    (
        "great_repeat_ask_referrals",
        "repeat",
        1.2,
        False,
        True,
        {"channels": ["offline_store", "moments_feed"]},
    ),
]


@pytest.mark.parametrize(
    ("rule", "lever", "ratio", "below", "above", "changes"),
    RATIO_THRESHOLDS,
    ids=[f"{r}@{lever}_ratio={t:g}" for r, lever, t, *_ in RATIO_THRESHOLDS],
)
def test_each_ratio_threshold_from_both_sides(
    rule: str, lever: str, ratio: float, below: bool, above: bool, changes: dict[str, Any]
) -> None:
    assert (rule in fired(with_ratio(lever, ratio, "below", **changes))) is below
    assert (rule in fired(with_ratio(lever, ratio, "above", **changes))) is above


# (rule, answer, value on one side, value on the other, fires on the first, fires on the
# second, other answers): the value at the threshold itself is on the side it belongs to.
ANSWER_THRESHOLDS: list[tuple[str, str, Any, Any, bool, bool, dict[str, Any]]] = [
    ("posting_too_rarely", "posts_per_week", 2.9, 3, True, False, {}),
    ("posting_too_often", "posts_per_week", 35, 35.1, False, True, {}),
    ("slow_replies", "response_hours", 4, 4.1, False, True, {}),
    ("unsold_stock", "unsold_stock_weeks", 8, 8.1, False, True, {}),
    ("no_orders", "weekly_orders", 0, 0.5, True, False, {}),
    ("no_orders", "weekly_reach", 0, 1, False, True, {"weekly_orders": 0}),
    ("conversion_far_below", "weekly_orders", 0, 0.5, False, True, {}),
    ("conversion_far_below", "weekly_reach", 0, 1, False, True, {"weekly_orders": 0.01}),
    ("conversion_below", "weekly_orders", 0, 0.39, False, True, {"weekly_reach": 10}),
    ("no_channels", "channels", [], ["short_video"], True, False, {}),
    ("single_channel", "channels", [], ["short_video"], False, True, {}),
    ("single_channel", "channels", ["short_video"], ["short_video", "groups"], True, False, {}),
    (
        "no_source_no_value_add",
        "value_add",
        [],
        ["warranty"],
        True,
        False,
        {"supply_tier": "wholesaler"},
    ),
    (  # no lever at its benchmark, then one (order value)
        "no_advantage",
        "average_order_value",
        100,
        250,
        True,
        False,
        {"weekly_reach": 50, "weekly_orders": 1, "repeat_rate": 0.05},
    ),
]


@pytest.mark.parametrize(
    ("rule", "answer", "first", "second", "fires_first", "fires_second", "changes"),
    ANSWER_THRESHOLDS,
    ids=[f"{r}@{a}={v1}|{v2}" for r, a, v1, v2, *_ in ANSWER_THRESHOLDS],
)
def test_each_answer_threshold_from_both_sides(
    rule: str,
    answer: str,
    first: Any,
    second: Any,
    fires_first: bool,
    fires_second: bool,
    changes: dict[str, Any],
) -> None:
    assert (rule in fired(seller(**changes, **{answer: first}))) is fires_first
    assert (rule in fired(seller(**changes, **{answer: second}))) is fires_second


@pytest.mark.parametrize(("answered", "fires"), [(0, False), (1, True), (2, True)])
def test_a_tried_action_is_judged_after_one_check_in(answered: int, fires: bool) -> None:
    history = {"last_action_rule": "slow_replies", "last_action_outcome": "tried"}
    found = fired(seller(), {**history, "checkins_answered": answered})
    assert ("action_tried_no_move" in found) is fires


# Each rule's lever and weight: what it is about, and how far up the advice it goes.
RULES: dict[str, tuple[str, str]] = {
    "acquaintance_only_traffic": ("traffic", "critical"),
    "no_channels": ("traffic", "high"),
    "traffic_far_below": ("traffic", "high"),
    "traffic_below": ("traffic", "medium"),
    "single_channel": ("traffic", "medium"),
    "store_walk_ins_not_added": ("traffic", "medium"),
    "posting_too_rarely": ("traffic", "medium"),
    "marketplace_only": ("traffic", "low"),
    "posting_too_often": ("traffic", "low"),
    "no_discovery_channel": ("traffic", "low"),
    "great_repeat_ask_referrals": ("traffic", "low"),
    "reach_unknown": ("traffic", "info"),
    "copied_copywriting": ("conversion", "critical"),
    "conversion_far_below": ("conversion", "high"),
    "no_orders": ("conversion", "high"),
    "mixed_copywriting": ("conversion", "medium"),
    "conversion_below": ("conversion", "medium"),
    "no_social_proof": ("conversion", "medium"),
    "slow_replies": ("conversion", "medium"),
    "reach_below_buyers": ("conversion", "info"),
    "audience_price_mismatch": ("order_value", "critical"),
    "no_source_no_value_add": ("order_value", "critical"),
    "order_value_far_below": ("order_value", "high"),
    "underpriced_for_affluent": ("order_value", "medium"),
    "order_value_below": ("order_value", "medium"),
    "reseller_thin_margin": ("order_value", "medium"),
    "clothes_without_styling": ("order_value", "low"),
    "beauty_without_tutorials": ("order_value", "low"),
    "handmade_without_customisation": ("order_value", "low"),
    "order_value_above_tier": ("order_value", "info"),
    "repeat_far_below": ("repeat", "high"),
    "unsold_stock": ("repeat", "high"),
    "repeat_below": ("repeat", "medium"),
    "no_after_sales": ("repeat", "medium"),
    "no_follow_up": ("repeat", "low"),
    "repeat_unknown": ("repeat", "info"),
    "agent_pyramid": ("overall", "critical"),
    "no_advantage": ("overall", "critical"),
    "action_not_tried": ("overall", "low"),
    "action_tried_no_move": ("overall", "low"),
}
RED_FLAGS = {
    "acquaintance_only_traffic",
    "copied_copywriting",
    "audience_price_mismatch",
    "no_source_no_value_add",
    "agent_pyramid",
    "no_advantage",
}


def test_each_rule_has_its_lever_and_severity() -> None:
    book = {r.id: (r.lever, r.severity) for r in default_rulebook().rules}
    assert book == RULES


def test_the_red_flags_are_the_articles_warnings() -> None:
    assert {r.id for r in default_rulebook().rules if r.red_flag} == RED_FLAGS


def test_every_rule_tells_the_seller_what_to_do() -> None:
    without = {r.id for r in default_rulebook().rules if not r.action}
    assert without == set()  # every finding tells the seller what to do


# --- ranking: which three actions the seller sees first --------------------------------------


def _order(data: dict[str, Any]) -> list[str]:
    return [f.id for f in assess(Profile.from_dict(data)).findings]


def test_within_a_severity_the_bottleneck_comes_first_even_with_a_smaller_gain() -> None:
    assessment = assess(Profile.from_dict(seller(repeat_rate=0.02, average_order_value=90)))
    assert assessment.bottleneck == "repeat"
    repeat, order_value = assessment.findings
    assert (repeat.id, order_value.id) == ("repeat_far_below", "order_value_far_below")
    assert repeat.impact.gain < order_value.impact.gain  # the bottleneck wins all the same


def test_after_the_bottleneck_the_larger_projected_gain_comes_first() -> None:
    # Bottleneck traffic; among the high findings off the bottleneck, order value gains more.
    order = _order(
        seller(weekly_reach=40, weekly_orders=3, average_order_value=90, repeat_rate=0.1)
    )
    assert order == ["traffic_far_below", "order_value_far_below", "repeat_far_below"]


def test_findings_of_one_lever_and_severity_are_in_rule_id_order() -> None:
    order = _order(seller(repeat_rate=0.2, after_sales="none", average_order_value=150))
    assert order == ["order_value_below", "no_after_sales", "repeat_below"]


def test_severity_outranks_the_bottleneck_and_the_gain() -> None:
    order = _order(seller(weekly_reach=40, weekly_orders=3, copywriting="copied"))
    assert order[:2] == ["copied_copywriting", "traffic_far_below"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_three_actions_shown_are_the_first_three_in_rank(lang: str) -> None:
    data = seller(
        weekly_reach=40,
        weekly_orders=3,
        average_order_value=90,
        repeat_rate=0.1,
        copywriting="copied",
        after_sales="none",
    )
    assessment = assess(Profile.from_dict(data))
    shown = [a["rule"] for a in to_json(assessment, lang)["actions"] if a["up_front"]]
    assert shown == ["copied_copywriting", "traffic_far_below", "order_value_far_below"]


# --- the projection each action carries -------------------------------------------------------


@pytest.fixture(scope="module")
def struggling() -> Assessment:
    data = seller(
        weekly_reach=40,
        weekly_orders=1,
        average_order_value=90,
        repeat_rate=0.1,
        copywriting="copied",
        recruits_agents=True,
        after_sales="none",
        response_hours=12,
    )
    return assess(Profile.from_dict(data))


def test_each_finding_carries_the_projection_of_its_lever(struggling: Assessment) -> None:
    projections = struggling.metrics.projections
    levers = {f.lever for f in struggling.findings}
    assert set(LEVERS) < levers | {"overall"} and "overall" in levers
    for finding in struggling.findings:
        expected = projections.get(finding.lever)  # none for the business as a whole
        assert finding.impact == expected, finding.id
        if finding.lever != "overall":
            assert finding.impact is not None and finding.impact.lever == finding.lever


def test_each_action_shows_its_projected_gain(struggling: Assessment) -> None:
    projections = struggling.metrics.projections
    actions = to_json(struggling, "en")["actions"]
    assert len(actions) > 3  # some up front, some on request
    for action in actions:
        projection = projections.get(action["lever"])
        if projection is None or projection.gain <= 0:
            assert action["impact"] is None, action["rule"]
            continue
        assert action["impact"]["lever"] == action["lever"]
        assert action["impact"]["monthly_sales_now"] == round(projection.current, 2)
        assert action["impact"]["monthly_sales_projected"] == round(projection.projected, 2)
        assert action["impact"]["monthly_sales_projected"] > action["impact"]["monthly_sales_now"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_report_prints_the_projection_under_each_action_shown(
    struggling: Assessment, lang: str
) -> None:
    text = render(struggling, lang, "text")
    f = Formatter(lang, struggling.profile.currency)
    shown = struggling.actions[:3]
    with_gain = [a for a in shown if a.impact is not None and a.impact.gain > 0]
    assert with_gain, "the case needs actions whose lever can grow"
    for finding in with_gain:
        assert f.projection(finding.impact) in text, finding.id


def test_an_action_that_lifts_sales_even_a_little_ranks_before_a_warning_without_one() -> None:
    # Both critical, neither the bottleneck: copied posts (a conversion gain of under ¥1 a
    # month) and no advantage (the business as a whole, no projection).
    data = seller(weekly_reach=50, weekly_orders=2, average_order_value=1, repeat_rate=0.02,
                  copywriting="copied")  # fmt: skip
    first, second = assess(Profile.from_dict(data)).findings[:2]
    assert (first.id, second.id) == ("copied_copywriting", "no_advantage")
    assert 0 < first.impact.gain < 1 and second.impact is None


# --- what a rule may read -------------------------------------------------------------------


def test_the_context_carries_the_metrics_the_rules_read() -> None:
    profile = Profile.from_dict(seller(weekly_reach=40, weekly_orders=3, repeat_rate=0.1))
    m = compute_metrics(profile)
    context = build_context(profile, m)
    assert {name: context[name] for name in METRIC_NAMES} == {
        "conversion": m.conversion,
        "new_buyers": m.new_buyers,
        "monthly_sales": m.monthly_sales,
        "bottleneck": "traffic",
        "levers_at_benchmark": m.levers_at_benchmark,
        "reach_raised": False,
        "benchmark_reach": m.levers["traffic"].benchmark,
        "benchmark_conversion": m.levers["conversion"].benchmark,
        "benchmark_aov": m.levers["order_value"].benchmark,
        "benchmark_repeat_rate": m.levers["repeat"].benchmark,
        **{f"{lever}_ratio": m.levers[lever].ratio for lever in LEVERS},
    }
    assert {name: context[name] for name in HISTORY_NAMES} == dict.fromkeys(HISTORY_NAMES)
    assert context["weekly_reach"] == 40 and context["channels"] == profile.channels


def test_history_facts_are_known_by_name() -> None:
    profile = Profile.from_dict(seller())
    m = compute_metrics(profile)
    context = build_context(profile, m, {"checkins_answered": 2})
    assert context["checkins_answered"] == 2 and context["last_action_rule"] is None
    with pytest.raises(KeyError, match=r"unknown history facts: \['mood'\]"):
        build_context(profile, m, {"mood": "good", "checkins_answered": 1})
