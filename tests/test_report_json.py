"""The advice as JSON, as a program reading it relies on: every key, every figure and how it is
rounded (money to cents, shares to four places, purchases per customer to three, percentages
to one), for the advice, a check-in's result and the progress over time.

The figures are worked out by hand in the comments: monthly sales are 4.33 weeks x orders a
week x the order value (reach x conversion x purchases per customer is the orders again).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from advice.engine import assess
from advice.profile import Profile
from advice.progress import Point
from advice.report_json import checkin_result_json, progress_json, scored_points, to_json
from tests.personas import PERSONAS, seller

# The WeChat menswear reseller: 10 people a week, 2 orders at ¥180, 10% come back.
RESELLER = Profile.from_dict(
    next(p for p in PERSONAS if p.name.startswith("WeChat menswear reseller")).profile
)
# A seller whose figures do not come out round, so that each rounding shows: 70 people a
# week, 4 orders at $123.45, 12.34% come back.
ODD = Profile.from_dict(
    seller(weekly_reach=70, weekly_orders=4, average_order_value=123.45, repeat_rate=0.1234,
           currency="USD")
)  # fmt: skip
FINDING_KEYS = ["rule", "lever", "severity", "red_flag", "message", "because"]
ACTION_KEYS = ["rule", "lever", "text", "example", "impact", "up_front"]


def projection(lever: str, now: float, projected: float, change: float | None) -> dict:
    return {
        "lever": lever,
        "monthly_sales_now": now,
        "monthly_sales_projected": projected,
        "change_pct": change,
    }


# --- the advice ------------------------------------------------------------------------------


def test_the_resellers_advice_as_json() -> None:
    data = to_json(assess(RESELLER), "en")
    assert list(data) == [
        "language", "currency", "estimate", "levers", "bottleneck", "bottleneck_projection",
        "red_flags", "findings", "actions", "assumptions", "measured",
    ]  # fmt: skip
    assert (data["language"], data["currency"]) == ("en", "CNY")
    assert data["estimate"] == {
        "monthly_sales": 1558.8,  # 4.33 x 2 x ¥180
        "weekly_reach": 10.0,
        "weekly_new_buyers": 1.82,  # 2 orders / 1.1 purchases each
        "conversion": 0.1818,  # 1.82 of 10
        "average_order_value": 180.0,
        "purchases_per_customer": 1.1,  # 1 + 10% who come back
    }
    assert data["levers"] == {
        "traffic": {"score": 8, "value": 10.0, "benchmark": 120.0, "at_benchmark": False},
        "conversion": {"score": 200, "value": 0.1818, "benchmark": 0.04, "at_benchmark": True},
        "order_value": {"score": 90, "value": 180.0, "benchmark": 200.0, "at_benchmark": False},
        "repeat": {"score": 40, "value": 0.1, "benchmark": 0.25, "at_benchmark": False},
    }
    assert data["bottleneck"] == "traffic"
    # 120 people instead of 10: x12
    assert data["bottleneck_projection"] == projection("traffic", 1558.8, 18705.6, 1100.0)
    assert data["red_flags"] == ["no_source_no_value_add", "copied_copywriting"]
    assert data["assumptions"] == []
    assert data["measured"] == {"fields": [], "days": None}


def test_each_finding_carries_its_rule_lever_severity_message_and_because() -> None:
    findings = to_json(assess(RESELLER), "en")["findings"]
    assert all(list(f) == FINDING_KEYS for f in findings)
    assert [(f["rule"], f["lever"], f["severity"], f["red_flag"]) for f in findings] == [
        ("no_source_no_value_add", "order_value", "critical", True),
        ("copied_copywriting", "conversion", "critical", True),
        ("traffic_far_below", "traffic", "high", False),
        ("repeat_far_below", "repeat", "high", False),
        ("order_value_below", "order_value", "medium", False),
        ("reseller_thin_margin", "order_value", "medium", False),
        ("no_social_proof", "conversion", "medium", False),
        ("slow_replies", "conversion", "medium", False),
        ("no_discovery_channel", "traffic", "low", False),
        ("no_follow_up", "repeat", "low", False),
        ("clothes_without_styling", "order_value", "low", False),
    ]
    traffic = findings[2]
    assert traffic["message"] == (
        "You reach about 10 new people a week; menswear sellers at your price level need about 120."
    )
    assert traffic["because"] == {"weekly_reach": 10, "benchmark_reach": 120.0}
    # a list answer is a JSON list (the profile holds a tuple)
    assert findings[8]["because"] == {
        "channels": ["acquaintances", "moments_feed"],
        "weekly_reach": 10,
        "benchmark_reach": 120.0,
    }
    assert type(findings[8]["because"]["channels"]) is list
    assert type(findings[0]["because"]["value_add"]) is list


def test_each_action_carries_its_text_example_impact_and_whether_it_is_shown_up_front() -> None:
    actions = to_json(assess(RESELLER), "en")["actions"]
    assert all(list(a) == ACTION_KEYS for a in actions)
    order_value = projection("order_value", 1558.8, 1732.0, 11.1)  # ¥200 instead of ¥180
    traffic = projection("traffic", 1558.8, 18705.6, 1100.0)
    repeat = projection("repeat", 1558.8, 1771.36, 13.6)  # 1.25 purchases instead of 1.1
    assert [(a["rule"], a["lever"], a["impact"], a["up_front"]) for a in actions] == [
        ("no_source_no_value_add", "order_value", order_value, True),
        ("copied_copywriting", "conversion", None, True),  # conversion is above its benchmark
        ("traffic_far_below", "traffic", traffic, True),
        ("repeat_far_below", "repeat", repeat, False),
        ("order_value_below", "order_value", order_value, False),
        ("reseller_thin_margin", "order_value", order_value, False),
        ("no_social_proof", "conversion", None, False),
        ("slow_replies", "conversion", None, False),
        ("no_discovery_channel", "traffic", traffic, False),
        ("no_follow_up", "repeat", repeat, False),
        ("clothes_without_styling", "order_value", order_value, False),
    ]
    assert actions[2]["text"] == (
        "Set a weekly target of 120 new people and count them every Sunday. Put most of your "
        "time into your best channel until you get there."
    )
    assert actions[2]["example"] is None  # a rule with no example message: null, not ""
    assert actions[1]["example"].startswith("I tried this menswear myself before selling it.")


def test_the_advice_is_in_english_unless_asked_otherwise() -> None:
    data = to_json(assess(RESELLER))
    assert data["language"] == "en"
    assert data["findings"][2]["message"].startswith("You reach about 10 new people a week")
    chinese = to_json(assess(RESELLER), "zh")
    assert chinese["language"] == "zh"
    assert chinese["findings"][2]["message"] != data["findings"][2]["message"]


def test_figures_are_rounded_money_to_cents_shares_to_four_places() -> None:
    data = to_json(assess(ODD), "en")
    assert data["currency"] == "USD"
    assert data["estimate"] == {
        "monthly_sales": 2138.15,  # 4.33 x 4 x $123.45 = 2,138.154
        "weekly_reach": 70.0,
        "weekly_new_buyers": 3.56,  # 4 / 1.1234 = 3.5606
        "conversion": 0.0509,  # 3.5606 / 70 = 0.050866
        "average_order_value": 123.45,
        "purchases_per_customer": 1.123,  # 1.1234, to three places
    }
    assert data["levers"]["conversion"]["value"] == 0.0509
    # ¥200 for mid-priced menswear at ¥7.1 to the dollar: $28.169014
    assert data["levers"]["order_value"]["benchmark"] == 28.169
    # repeat is the bottleneck: 1.25 purchases each instead of 1.1234 is 2,379.1103 (+11.27%)
    assert data["bottleneck_projection"] == projection("repeat", 2138.15, 2379.11, 11.3)


def test_from_no_sales_the_projected_change_is_null() -> None:
    jeweller = next(p for p in PERSONAS if p.name.startswith("jeweller at luxury prices"))
    data = to_json(assess(Profile.from_dict(jeweller.profile)), "en")
    assert data["estimate"]["monthly_sales"] == 0
    # 500 students at 0.8%: 4 buyers x ¥5,000 x 1.3 x 4.33 weeks
    assert data["bottleneck_projection"] == projection("conversion", 0.0, 112580.0, None)


def test_measured_figures_and_their_days_are_in_the_json() -> None:
    measured = dataclasses.replace(
        RESELLER, measured=("weekly_orders", "average_order_value"), measured_days=28
    )
    assert to_json(assess(measured), "en")["measured"] == {
        "fields": ["weekly_orders", "average_order_value"],
        "days": 28,
    }


# --- a check-in's result ---------------------------------------------------------------------

# The odd seller's first check-up (4 orders), the previous check-in (77 people, 4.5 orders) and
# this one (91 people, 5.5 orders, 20% come back).
PREVIOUS = dataclasses.replace(ODD, weekly_reach=77, weekly_orders=4.5)
CURRENT = dataclasses.replace(ODD, weekly_reach=91, weekly_orders=5.5, repeat_rate=0.2)


def lever(before: float, after: float, change: float | None, scores: tuple[int, int]) -> dict:
    return {
        "before": before,
        "after": after,
        "change_pct": change,
        "score_before": scores[0],
        "score_after": scores[1],
    }


def test_a_checkin_result_as_json() -> None:
    data = checkin_result_json(PREVIOUS, CURRENT, ODD, "en")
    assert list(data) == [
        "language", "currency", "estimate", "since_previous", "since_first", "bottleneck",
        "bottleneck_before", "bottleneck_changed", "bottleneck_projection", "actions",
    ]  # fmt: skip
    assert (data["language"], data["currency"]) == ("en", "USD")
    assert data["estimate"] == {
        "monthly_sales": 2939.96,  # 4.33 x 5.5 x $123.45 = 2,939.9617
        "previous": 2405.42,  # 4.33 x 4.5 x $123.45 = 2,405.4233
        "first": 2138.15,  # 4.33 x 4 x $123.45 = 2,138.154
        "change_since_previous_pct": 22.2,  # 5.5 / 4.5: +22.22%
        "change_since_first_pct": 37.5,  # 5.5 / 4
    }
    assert data["since_previous"] == {
        "estimate_before": 2405.42,
        "estimate_after": 2939.96,
        "estimate_change_pct": 22.2,
        "levers": {
            "traffic": lever(77.0, 91.0, 18.2, (64, 76)),  # 91 / 77: +18.18%
            # (4.5 / 1.1234) / 77 = 0.052022 -> (5.5 / 1.2) / 91 = 0.050366: -3.18%
            "conversion": lever(0.052, 0.0504, -3.2, (130, 126)),
            "order_value": lever(123.45, 123.45, 0.0, (200, 200)),
            "repeat": lever(0.1234, 0.2, 62.1, (49, 80)),  # 0.2 / 0.1234: +62.07%
        },
        "moved": ["traffic", "conversion", "repeat"],
        "biggest_mover": "repeat",  # score 49 -> 80
        "bottleneck_before": "repeat",
        "bottleneck_after": "traffic",
    }
    assert data["since_first"]["estimate_before"] == 2138.15
    assert data["since_first"]["estimate_change_pct"] == 37.5
    assert data["since_first"]["levers"]["traffic"] == lever(70.0, 91.0, 30.0, (58, 76))
    assert data["since_first"]["levers"]["conversion"] == lever(0.0509, 0.0504, -1.0, (127, 126))
    assert (data["bottleneck"], data["bottleneck_before"], data["bottleneck_changed"]) == (
        "traffic",
        "repeat",
        True,
    )
    # 120 people instead of 91: 2,939.9617 x 120 / 91 = 3,876.87 (+31.87%)
    assert data["bottleneck_projection"] == projection("traffic", 2939.96, 3876.87, 31.9)


def test_a_checkin_that_moves_the_bottleneck_lists_its_top_actions_with_their_impact() -> None:
    actions = checkin_result_json(PREVIOUS, CURRENT, ODD, "en")["actions"]
    assert all(list(a) == ["rule", "lever", "text", "impact"] for a in actions)
    assert [(a["rule"], a["lever"], a["impact"]) for a in actions] == [
        ("traffic_below", "traffic", projection("traffic", 2939.96, 3876.87, 31.9)),
        # 1.25 purchases each instead of 1.2: +4.17%
        ("repeat_below", "repeat", projection("repeat", 2939.96, 3062.46, 4.2)),
        ("order_value_above_tier", "order_value", None),  # already far above its benchmark
    ]
    assert actions[0]["text"].startswith("Add one more source of new people:")


def test_the_new_actions_give_money_in_the_sellers_currency() -> None:
    # 150 people and 30% coming back, but $10 an order: order value is the new bottleneck,
    # and its action names the benchmark order of $28.17 (¥200 at ¥7.1 to the dollar).
    current = dataclasses.replace(
        CURRENT, weekly_reach=150, repeat_rate=0.3, average_order_value=10
    )
    data = checkin_result_json(PREVIOUS, current, ODD, "en")
    assert data["bottleneck"] == "order_value"
    assert data["actions"][0]["rule"] == "order_value_far_below"
    assert data["actions"][0]["text"].endswith("a small gift above an order amount near $28.17.")


def test_a_checkin_with_the_same_figures_moves_nothing() -> None:
    data = checkin_result_json(RESELLER, RESELLER, RESELLER)
    assert data["language"] == "en"
    assert data["estimate"]["change_since_previous_pct"] == 0.0
    assert data["since_previous"]["moved"] == []
    assert data["since_previous"]["biggest_mover"] is None
    assert data["bottleneck_changed"] is False
    assert data["actions"] == []


def test_growth_from_no_sales_has_no_percentage_in_the_checkin_json() -> None:
    none_sold = dataclasses.replace(RESELLER, weekly_orders=0)
    data = checkin_result_json(none_sold, RESELLER, none_sold, "en")
    assert data["estimate"]["previous"] == 0
    assert data["estimate"]["change_since_previous_pct"] is None
    assert data["estimate"]["change_since_first_pct"] is None
    assert data["since_previous"]["estimate_change_pct"] is None


def test_an_unknown_language_is_refused_with_the_languages_named() -> None:
    with pytest.raises(ValueError, match=r"language must be one of \('en', 'zh'\)"):
        checkin_result_json(RESELLER, RESELLER, RESELLER, "fr")
    with pytest.raises(ValueError, match=r"language must be one of \('en', 'zh'\)"):
        progress_json([Point(datetime(2026, 11, 2, tzinfo=UTC), RESELLER)], "fr")


# --- progress over time ----------------------------------------------------------------------


def test_progress_as_json() -> None:
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    points = [Point(start, ODD), Point(start + timedelta(weeks=1), CURRENT)]
    data = progress_json(points)
    assert data == {
        "language": "en",
        "currency": "USD",
        "points": [
            {
                "when": "2026-11-02T09:00:00+00:00",
                "currency": "USD",
                "monthly_sales": 2138.15,
                "scores": {"traffic": 58, "conversion": 127, "order_value": 200, "repeat": 49},
                "bottleneck": "repeat",
            },
            {
                "when": "2026-11-09T09:00:00+00:00",
                "currency": "USD",
                "monthly_sales": 2939.96,
                "scores": {"traffic": 76, "conversion": 126, "order_value": 200, "repeat": 80},
                "bottleneck": "traffic",
            },
        ],
        "first_estimate": 2138.15,
        "latest_estimate": 2939.96,
        "change_pct": 37.5,
    }


def test_progress_needs_a_data_point() -> None:
    with pytest.raises(ValueError, match="^progress needs at least one data point$"):
        scored_points([])
