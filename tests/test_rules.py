"""Every rule, one by one: the answers that make it fire, and a healthy seller for whom it does not."""

from __future__ import annotations

from typing import Any

import pytest

from advice.engine import RuleBook, RuleError, assess, default_rulebook, parse_rules
from advice.profile import Profile
from advice.render import render
from tests.personas import HEALTHY, seller

# rule id -> (changes to the healthy seller that make the rule fire, history facts or None)
RULE_CASES: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    # traffic
    "acquaintance_only_traffic": ({"channels": ["acquaintances", "referrals"]}, None),
    "no_channels": ({"channels": []}, None),
    "traffic_far_below": ({"weekly_reach": 40, "weekly_orders": 3}, None),
    "traffic_below": ({"weekly_reach": 90, "weekly_orders": 6}, None),
    "single_channel": ({"channels": ["short_video"]}, None),
    "store_walk_ins_not_added": ({"channels": ["offline_store", "short_video"]}, None),
    "marketplace_only": ({"channels": ["marketplace"]}, None),
    "posting_too_rarely": ({"posts_per_week": 1}, None),
    "posting_too_often": ({"posts_per_week": 60}, None),
    "no_discovery_channel": ({"channels": ["moments_feed", "groups"], "weekly_reach": 60, "weekly_orders": 4}, None),
    "reach_unknown": ({"assumed": ["weekly_reach"]}, None),
    "great_repeat_ask_referrals": ({"repeat_rate": 0.5, "channels": ["offline_store", "moments_feed"]}, None),
    # conversion
    "copied_copywriting": ({"copywriting": "copied"}, None),
    "mixed_copywriting": ({"copywriting": "mixed"}, None),
    "conversion_far_below": ({"weekly_orders": 2}, None),
    "conversion_below": ({"weekly_orders": 6}, None),
    "no_orders": ({"weekly_orders": 0}, None),
    "no_social_proof": ({"social_proof": False}, None),
    "slow_replies": ({"response_hours": 12}, None),
    "reach_below_buyers": ({"weekly_reach": 5}, None),
    # order value
    "audience_price_mismatch": ({"audience": "students", "price_tier": "premium", "average_order_value": 600}, None),
    "underpriced_for_affluent": ({"audience": "affluent", "price_tier": "budget", "average_order_value": 90}, None),
    "order_value_far_below": ({"average_order_value": 60}, None),
    "order_value_below": ({"average_order_value": 150}, None),
    "no_source_no_value_add": ({"supply_tier": "wholesaler", "value_add": []}, None),
    "reseller_thin_margin": ({"supply_tier": "reseller"}, None),
    "clothes_without_styling": ({"supply_tier": "wholesaler", "value_add": ["fast_delivery"]}, None),
    "beauty_without_tutorials": ({"category": "beauty", "value_add": ["fast_delivery"]}, None),
    "handmade_without_customisation": ({"category": "jewellery", "average_order_value": 250, "value_add": ["warranty"]}, None),
    "order_value_above_tier": ({"average_order_value": 900}, None),
    # repeat
    "repeat_far_below": ({"repeat_rate": 0.05}, None),
    "repeat_below": ({"repeat_rate": 0.2}, None),
    "no_after_sales": ({"after_sales": "none"}, None),
    "no_follow_up": ({"after_sales": "returns", "repeat_rate": 0.2}, None),
    "unsold_stock": ({"unsold_stock_weeks": 12}, None),
    "repeat_unknown": ({"assumed": ["repeat_rate"]}, None),
    # overall
    "agent_pyramid": ({"recruits_agents": True}, None),
    "no_advantage": ({"weekly_reach": 50, "weekly_orders": 1, "average_order_value": 100, "repeat_rate": 0.05}, None),
    "action_not_tried": ({}, {"last_action_rule": "slow_replies", "last_action_outcome": "not_yet", "checkins_answered": 1}),
    "action_tried_no_move": ({}, {"last_action_rule": "slow_replies", "last_action_outcome": "tried", "checkins_answered": 2}),
}


def test_there_are_at_least_30_rules_and_each_has_a_case_here() -> None:
    ids = {r.id for r in default_rulebook().rules}
    assert len(ids) >= 30
    assert ids == set(RULE_CASES)


def test_rules_cover_all_four_levers() -> None:
    levers = {r.lever for r in default_rulebook().rules}
    assert {"traffic", "conversion", "order_value", "repeat"} <= levers


@pytest.mark.parametrize("rule_id", sorted(RULE_CASES))
def test_rule_fires_for_its_case_and_not_for_a_healthy_seller(rule_id: str) -> None:
    changes, history = RULE_CASES[rule_id]
    fired = assess(Profile.from_dict(seller(**changes)), history)
    finding = next((f for f in fired.findings if f.id == rule_id), None)
    assert finding is not None, f"{rule_id} did not fire; fired: {[f.id for f in fired.findings]}"
    assert finding.because, "every finding names the values that made it fire"
    healthy = assess(Profile.from_dict(HEALTHY))
    assert rule_id not in {f.id for f in healthy.findings}
    for lang in ("en", "zh"):
        assert render(fired, lang, "text", view="why")  # its texts render in both languages


def test_findings_are_ranked_by_severity_then_bottleneck_then_impact() -> None:
    assessment = assess(Profile.from_dict(seller(
        copywriting="copied", weekly_reach=30, weekly_orders=2, average_order_value=150,
        social_proof=False, after_sales="none")))
    order = ("critical", "high", "medium", "low", "info")
    ranks = [order.index(f.rule.severity) for f in assessment.findings]
    assert ranks == sorted(ranks)
    assert assessment.findings[0].id == "copied_copywriting"
    high = [f for f in assessment.findings if f.rule.severity == "high"]
    assert high[0].lever == assessment.bottleneck == "traffic"
    medium = [f for f in assessment.findings if f.rule.severity == "medium"]
    gains = [f.impact.gain for f in medium if f.lever != assessment.bottleneck and f.impact]
    assert gains == sorted(gains, reverse=True)


def test_because_carries_the_sellers_own_values() -> None:
    assessment = assess(Profile.from_dict(seller(weekly_reach=10, weekly_orders=1)))
    finding = next(f for f in assessment.findings if f.id == "traffic_far_below")
    assert finding.because == {"weekly_reach": 10, "benchmark_reach": 120.0}


def _rule(**overrides: Any) -> dict[str, Any]:
    rule = {"id": "r", "lever": "traffic", "severity": "low", "when": "weekly_reach < 10",
            "message": {"en": "m", "zh": "m"}}
    rule.update(overrides)
    return {"rule": [rule]}


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"when": "__import__('os').system('id')"}, "not allowed"),
        ({"when": "weekly_reach.__class__"}, "not allowed"),
        ({"when": "nonsense_name > 1"}, "unknown name"),
        ({"when": "weekly_reach <"}, "cannot parse"),
        ({"lever": "luck"}, "lever must be"),
        ({"severity": "urgent"}, "severity must be"),
        ({"message": {"en": "only english"}}, "languages"),
        ({"because": ["secret"]}, "unknown names in because"),
        ({"colour": "red"}, "unknown keys"),
    ],
)
def test_a_bad_rule_file_is_refused_with_a_reason(overrides: dict[str, Any], complaint: str) -> None:
    with pytest.raises(RuleError, match=complaint):
        parse_rules(_rule(**overrides), "test.toml")


def test_duplicate_rule_ids_are_refused() -> None:
    rules = parse_rules(_rule()) + parse_rules(_rule())
    with pytest.raises(RuleError, match="duplicate"):
        RuleBook(rules)
