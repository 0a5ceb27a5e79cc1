"""Every rule, one by one: the answers that make it fire, and a healthy seller for whom it does not."""

from __future__ import annotations

from pathlib import Path
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
    "no_discovery_channel": (
        {"channels": ["moments_feed", "groups"], "weekly_reach": 60, "weekly_orders": 4},
        None,
    ),
    "reach_unknown": ({"assumed": ["weekly_reach"]}, None),
    "great_repeat_ask_referrals": (
        {"repeat_rate": 0.5, "channels": ["offline_store", "moments_feed"]},
        None,
    ),
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
    "audience_price_mismatch": (
        {"audience": "students", "price_tier": "premium", "average_order_value": 600},
        None,
    ),
    "underpriced_for_affluent": (
        {"audience": "affluent", "price_tier": "budget", "average_order_value": 90},
        None,
    ),
    "order_value_far_below": ({"average_order_value": 60}, None),
    "order_value_below": ({"average_order_value": 150}, None),
    "no_source_no_value_add": ({"supply_tier": "wholesaler", "value_add": []}, None),
    "reseller_thin_margin": ({"supply_tier": "reseller"}, None),
    "clothes_without_styling": (
        {"supply_tier": "wholesaler", "value_add": ["fast_delivery"]},
        None,
    ),
    "beauty_without_tutorials": ({"category": "beauty", "value_add": ["fast_delivery"]}, None),
    "handmade_without_customisation": (
        {"category": "jewellery", "average_order_value": 250, "value_add": ["warranty"]},
        None,
    ),
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
    "no_advantage": (
        {"weekly_reach": 50, "weekly_orders": 1, "average_order_value": 100, "repeat_rate": 0.05},
        None,
    ),
    "action_not_tried": (
        {},
        {
            "last_action_rule": "slow_replies",
            "last_action_outcome": "not_yet",
            "checkins_answered": 1,
        },
    ),
    "action_tried_no_move": (
        {},
        {
            "last_action_rule": "slow_replies",
            "last_action_outcome": "tried",
            "checkins_answered": 2,
        },
    ),
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
    assessment = assess(
        Profile.from_dict(
            seller(
                copywriting="copied",
                weekly_reach=30,
                weekly_orders=2,
                average_order_value=150,
                social_proof=False,
                after_sales="none",
            )
        )
    )
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
    rule = {
        "id": "r",
        "lever": "traffic",
        "severity": "low",
        "when": "weekly_reach < 10",
        "message": {"en": "m", "zh": "m"},
    }
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
        ({"colour": "red"}, r"rule r: unknown keys \['colour'\]"),
        ({"messages": {"en": "m", "zh": "m"}}, r"rule r: unknown keys \['messages'\]"),
        ({"message": {"en": "", "zh": "m"}}, "rule r: message.en is blank"),
        ({"message": {"en": "m", "zh": "  \n "}}, "rule r: message.zh is blank"),
        ({"action": {"en": "do it", "zh": ""}}, "rule r: action.zh is blank"),
        ({"example": {"en": " ", "zh": "例"}}, "rule r: example.en is blank"),
        ({"message": {"en": "m", "zh": 3}}, "rule r: message.zh is blank"),
        (
            {"message": {"en": "m", "zh": "m", "fr": "m"}},
            "rule r: message needs exactly the languages",
        ),
        ({"message": "one text for all"}, "rule r: message needs exactly the languages"),
        (
            {"message": {"en": "{{ weekly_reech }}", "zh": "m"}},
            r"message.en: unknown names in the text: \['weekly_reech'\]",
        ),
        (
            {"action": {"en": "ok", "zh": "{{ f.num(weekly_reach) "}},
            "action.zh: template does not parse",
        ),
        ({"id": ""}, "rule #1: id must be"),
        ({"id": "Has Spaces"}, "rule Has Spaces: id must be"),
        ({"id": 7}, "rule #1: id must be"),
        ({"red_flag": "no"}, "rule r: red_flag must be true or false"),
        ({"because": "weekly_reach"}, "rule r: because must be a non-empty list"),
        ({"because": []}, "rule r: because must be a non-empty list"),
        ({"when": ""}, "rule r: an expression must be a non-empty string"),
    ],
)
def test_a_bad_rule_file_is_refused_with_a_reason(
    overrides: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(RuleError, match=complaint) as refused:
        parse_rules(_rule(**overrides), "test.toml")
    assert str(refused.value).startswith("test.toml: rule ")  # the file and the rule named


def test_a_parsed_rule_keeps_everything_its_file_says() -> None:
    texts = {
        "message": {"en": "Slow: {{ f.num(response_hours) }} h", "zh": "慢"},
        "action": {"en": "Answer within the hour", "zh": "一小时内回复"},
        "example": {"en": "Thanks for asking!", "zh": "谢谢咨询！"},
    }
    [rule] = parse_rules(
        _rule(id="slow", lever="conversion", severity="medium", when="response_hours > 4",
              red_flag=True, because=["response_hours", "weekly_reach"], **texts),
        "conversion.toml",
    )  # fmt: skip
    assert (rule.id, rule.lever, rule.severity, rule.source) == (
        "slow",
        "conversion",
        "medium",
        "conversion.toml",
    )
    assert rule.when.source == "response_hours > 4"
    assert (rule.message, rule.action, rule.example) == tuple(texts.values())
    assert rule.red_flag is True
    assert rule.because == ("response_hours", "weekly_reach")


def test_a_rule_says_only_what_it_is_given() -> None:
    [rule] = parse_rules(_rule(when="weekly_reach < 10 and posts_per_week > 3"), "t.toml")
    assert rule.red_flag is False
    assert rule.action is None and rule.example is None
    assert rule.because == ("weekly_reach", "posts_per_week")  # the names its condition reads


@pytest.mark.parametrize("missing", ["id", "lever", "severity", "when", "message"])
def test_a_rule_without_a_required_key_is_refused(missing: str) -> None:
    rule = _rule()["rule"][0]
    del rule[missing]
    with pytest.raises(RuleError, match=f"missing '{missing}'"):
        parse_rules({"rule": [rule]}, "test.toml")


@pytest.mark.parametrize(
    "raw", [{"rule": [], "colour": "red"}, {"rules": []}, {"rule": {"id": "r"}}, {}]
)
def test_a_rule_file_holds_only_rule_tables(raw: dict[str, Any]) -> None:
    with pytest.raises(RuleError, match="test.toml: a rule file holds only"):
        parse_rules(raw, "test.toml")


def test_a_rule_entry_that_is_not_a_table_is_refused_with_its_position() -> None:
    with pytest.raises(RuleError, match="test.toml: rule #2 is not a"):
        parse_rules({"rule": [_rule()["rule"][0], "r2"]}, "test.toml")


def test_a_rule_file_is_checked_when_the_rule_book_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text(RULE_FILE, encoding="utf-8")
    assert [r.id for r in RuleBook.from_directory(tmp_path).rules] == ["slow"]
    (tmp_path / "stray.toml").write_text(
        RULE_FILE.replace("[[rule]]", "[[rule]]\nnote = 'x'"), encoding="utf-8"
    )
    with pytest.raises(RuleError, match=r"stray.toml: rule slow: unknown keys \['note'\]"):
        RuleBook.from_directory(tmp_path)
    (tmp_path / "stray.toml").write_text(
        RULE_FILE.replace('message.zh = "慢"', 'message.zh = " "'), encoding="utf-8"
    )
    with pytest.raises(RuleError, match="stray.toml: rule slow: message.zh is blank"):
        RuleBook.from_directory(tmp_path)
    (tmp_path / "stray.toml").write_text("[[rule]\n", encoding="utf-8")
    with pytest.raises(RuleError, match="stray.toml: not valid TOML"):
        RuleBook.from_directory(tmp_path)


RULE_FILE = """
[[rule]]
id = "slow"
lever = "conversion"
severity = "medium"
when = "response_hours > 4"
message.en = "Slow"
message.zh = "慢"
"""


# --- unknown answers ------------------------------------------------------------------------


def _book(when: str) -> RuleBook:
    return RuleBook(parse_rules(_rule(id="probe", when=when), "test.toml"))


@pytest.mark.parametrize(
    ("when", "hours", "fires"),
    [
        ("response_hours > 4", 6, True),
        ("response_hours > 4", 2, False),
        ("response_hours > 4", None, False),
        ("not (response_hours > 4)", 2, True),
        ("not (response_hours > 4)", 6, False),
        ("not (response_hours > 4)", None, False),  # unknown, not "fast": does not fire
        ("response_hours <= 4 or weekly_reach > 100", None, True),  # true or unknown
        ("response_hours <= 4 and weekly_reach > 100", None, False),  # true and unknown
        ("response_hours <= 4 or weekly_reach > 1000", None, False),  # false or unknown
    ],
)
def test_a_rule_over_an_unknown_answer_does_not_fire(
    when: str, hours: float | None, fires: bool
) -> None:
    profile = Profile.from_dict(seller(response_hours=hours))
    assert ("probe" in {f.id for f in _book(when).assess(profile).findings}) is fires


def test_no_shipped_rule_fires_on_answers_the_seller_did_not_give() -> None:
    silent = seller(response_hours=None, unsold_stock_weeks=None, posts_per_week=None)
    fired = {f.id for f in assess(Profile.from_dict(silent)).findings}
    assert fired == set(), fired  # the healthy seller, with the optional answers left out


def test_duplicate_rule_ids_are_refused() -> None:
    rules = parse_rules(_rule(), "a.toml") + parse_rules(_rule(), "b.toml")
    with pytest.raises(RuleError, match="duplicate"):
        RuleBook(rules)
