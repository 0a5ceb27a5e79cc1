"""Rule texts as a report shows them: rendered in the seller's language, escaped for HTML and
left as they are for plain text and JSON, each finding's texts and figures; the formats and
languages accepted.

The rules here are made up for the test, so each shows one thing; the rules shipped are
checked against a plain Jinja render in tests/test_render.py.
"""

from __future__ import annotations

import dataclasses

import jinja2
import markupsafe
import pytest

from advice.engine import CONTEXT_NAMES, Assessment, Finding, Rule, assess
from advice.expr import compile_expression
from advice.formatting import Formatter
from advice.metrics import Projection
from advice.profile import Profile
from advice.progress import compare
from advice.rule_text import (
    check_format,
    check_language,
    new_actions,
    render_findings,
    suffix,
)
from tests.personas import HEALTHY, PERSONAS

SHOP = "Tom & Jerry's <i>"
RESELLER = Profile.from_dict(
    next(p for p in PERSONAS if p.name.startswith("WeChat menswear reseller")).profile
)


def rule(message: str, action: str | None = None, example: str | None = None, **kw) -> Rule:
    return Rule(
        id=kw.pop("id", "made_up"),
        lever=kw.pop("lever", "traffic"),
        severity=kw.pop("severity", "medium"),
        when=compile_expression("weekly_reach < 1", CONTEXT_NAMES),
        message={"en": message, "zh": "中文：" + message},
        action=None if action is None else {"en": action, "zh": "中文：" + action},
        example=None if example is None else {"en": example, "zh": "中文：" + example},
        **kw,
    )


def with_findings(*findings: Finding) -> Assessment:
    """The healthy seller (no rule fires) with these findings, and shop name SHOP."""
    assessment = assess(Profile.from_dict(HEALTHY))
    return dataclasses.replace(
        assessment, findings=findings, context={**assessment.context, "shop_name": SHOP}
    )


def rendered(r: Rule, fmt: str, lang: str = "en", impact: Projection | None = None):
    assessment = with_findings(Finding(r, {"weekly_reach": 150}, impact))
    return render_findings(assessment, fmt, Formatter(lang, "CNY"))[0]


# --- escaping per format -----------------------------------------------------------------------


def test_in_html_what_a_rule_text_prints_is_escaped_and_marked_as_escaped() -> None:
    shown = rendered(rule("Shop {{ shop_name }} & co"), "html")
    # the value printed is escaped; the rule's own text is ours and left as written
    assert shown.message == "Shop Tom &amp; Jerry&#39;s &lt;i&gt; & co"
    assert isinstance(shown.message, markupsafe.Markup)  # the report does not escape it again


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_in_plain_text_and_json_a_rule_text_prints_values_as_they_are(fmt: str) -> None:
    shown = rendered(rule("Shop {{ shop_name }} & co"), fmt)
    assert shown.message == f"Shop {SHOP} & co"
    assert type(shown.message) is str


@pytest.mark.parametrize("fmt", ["text", "html"])
def test_a_text_with_no_template_syntax_is_left_as_written_in_every_format(fmt: str) -> None:
    shown = rendered(rule("  Tom & Jerry's <i>\n", action="\n  Do it.  "), fmt)
    assert (shown.message, shown.action) == ("Tom & Jerry's <i>", "Do it.")
    assert isinstance(shown.message, markupsafe.Markup) == (fmt == "html")


def test_a_rendered_rule_text_is_stripped_of_surrounding_blank_space() -> None:
    shown = rendered(rule("\n  {{ 2 + 3 }} people  \n"), "text")
    assert shown.message == "5 people"


def test_rule_texts_may_use_jinja_globals_the_sellers_answers_and_the_formatter() -> None:
    text = "{% for i in range(3) %}{{ i }}{% endfor %} {{ weekly_reach }} {{ f.money(1234.6) }}"
    assert rendered(rule(text), "text").message == "012 150 ¥1,235"


def test_rule_texts_are_in_the_language_asked_for() -> None:
    r = rule("Reach {{ weekly_reach }}", action="Act", example="Say")
    zh = rendered(r, "text", "zh")
    assert (zh.message, zh.action, zh.example) == ("中文：Reach 150", "中文：Act", "中文：Say")


def test_a_rule_with_no_action_nor_example_has_empty_texts_for_them() -> None:
    shown = rendered(rule("Only a message"), "html")
    assert (shown.action, shown.example) == ("", "")
    assert shown.has_action is False
    assert rendered(rule("m", action="Act"), "html").has_action is True


def test_a_rule_text_naming_something_unknown_is_an_error_not_a_blank() -> None:
    with pytest.raises(jinja2.UndefinedError, match="'no_such_answer' is undefined"):
        rendered(rule("You said {{ no_such_answer }}"), "text").message  # noqa: B018


# --- a finding's fields ------------------------------------------------------------------------


def test_a_rendered_finding_carries_the_rules_id_lever_severity_flag_and_because() -> None:
    r = rule("m", id="made_up_flag", lever="repeat", severity="critical", red_flag=True)
    shown = rendered(r, "text")
    assert (shown.rule, shown.lever, shown.severity, shown.red_flag) == (
        "made_up_flag",
        "repeat",
        "critical",
        True,
    )
    assert shown.because == {"weekly_reach": 150}
    assert shown.because_text == [("New people reached a week", "150")]


def test_an_impact_is_kept_only_when_it_would_raise_sales() -> None:
    gain = Projection("traffic", 100.0, 150.0)
    assert rendered(rule("m"), "text", impact=gain).impact == gain
    assert rendered(rule("m"), "text", impact=Projection("traffic", 100.0, 100.0)).impact is None
    assert rendered(rule("m"), "text", impact=Projection("traffic", 100.0, 100.5)).impact == (
        Projection("traffic", 100.0, 100.5)  # half a yuan is still a gain
    )
    assert rendered(rule("m"), "text").impact is None


def test_the_findings_keep_their_order() -> None:
    findings = [Finding(rule(f"text {i}", id=f"rule_{i}"), {}, None) for i in range(4)]
    shown = render_findings(with_findings(*findings), "text", Formatter("en", "CNY"))
    assert [(r.rule, r.message) for r in shown] == [(f"rule_{i}", f"text {i}") for i in range(4)]


# --- new actions after a check-in --------------------------------------------------------------


def test_a_moved_bottleneck_brings_the_top_three_actions_and_no_finding_without_one() -> None:
    findings = [Finding(rule("no action", id="first"), {}, None)] + [
        Finding(rule(f"m{i}", action=f"Act {i}", id=f"rule_{i}"), {}, None) for i in range(5)
    ]
    moved = compare(RESELLER, dataclasses.replace(RESELLER, weekly_reach=500))
    assert moved.bottleneck_changed
    actions = new_actions(moved, with_findings(*findings), "html", Formatter("en", "CNY"))
    assert [(r.rule, r.action) for r in actions] == [(f"rule_{i}", f"Act {i}") for i in range(3)]
    assert all(isinstance(r.action, markupsafe.Markup) for r in actions)
    stayed = compare(RESELLER, RESELLER)
    assert new_actions(stayed, with_findings(*findings), "html", Formatter("en", "CNY")) == []


# --- formats and languages ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "fmt"), [("text", "text"), ("txt", "text"), ("html", "html"), ("json", "json")]
)
def test_the_formats_accepted_and_txt_for_text(asked: str, fmt: str) -> None:
    assert check_format(asked) == fmt


@pytest.mark.parametrize("asked", ["pdf", "TXT", "Text", ""])
def test_other_formats_are_refused_with_the_formats_named(asked: str) -> None:
    with pytest.raises(ValueError, match=r"^format must be one of \('text', 'html', 'json'\)$"):
        check_format(asked)


@pytest.mark.parametrize(("fmt", "ending"), [("html", "html"), ("text", "txt"), ("json", "txt")])
def test_the_template_file_suffix_of_each_format(fmt: str, ending: str) -> None:
    assert suffix(fmt) == ending


def test_languages_are_checked() -> None:
    check_language("en")
    check_language("zh")
    with pytest.raises(ValueError, match=r"^language must be one of \('en', 'zh'\)$"):
        check_language("fr")
