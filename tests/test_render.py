"""The advice as the seller reads it: Telegram HTML, plain text and JSON, in both languages.

Anything the seller typed appears literally (escaped in HTML, never evaluated as a template);
the report puts at most three actions up front and the rest in "more"; "why" explains every
finding with the seller's own answers in plain words; conversion actions come with a message
to adapt; the projected effect of fixing the bottleneck is shown; "don't know" answers are
stated as assumptions.
"""

from __future__ import annotations

import html as stdlib_html
import json
import re

import markupsafe
import pytest

from advice.data import LANGUAGES, load_strings, pick_text
from advice.engine import Assessment, assess, default_rulebook
from advice.formatting import Formatter, pad
from advice.profile import Profile
from advice.render import TOP_ACTIONS, environment, render, to_json
from advice.rule_text import _compiled, _rule_text, _rule_values
from tests.personas import HEALTHY, PERSONAS, Persona, seller

VIEWS = ("report", "why", "more")
TITLE = {"en": "Seller Coach check-up: ", "zh": "卖货诊断："}
TELEGRAM_LIMIT = 4096


def advice(**changes: object) -> Assessment:
    return assess(Profile.from_dict(seller(**changes)))


@pytest.fixture(scope="module")
def reseller() -> Assessment:
    """The WeChat menswear reseller: 10 people a week (benchmark 120), copied posts, 11 actions."""
    persona = next(p for p in PERSONAS if p.name.startswith("WeChat menswear reseller"))
    return assess(Profile.from_dict(persona.profile))


# --- what the seller typed stays literal ----------------------------------------------------------

SHOP_NAMES = ["<b>x</b>", "{{7*7}}", "</code>", "&amp;", "Tom & Jerry's <i>", "{% if 1 %}y{% endif %}"]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", SHOP_NAMES)
def test_a_shop_name_appears_escaped_in_telegram_html(name: str, lang: str) -> None:
    html = render(advice(shop_name=name), lang, "html")
    title = html.splitlines()[0]
    assert title == f"<b>{markupsafe.escape(TITLE[lang] + name)}</b>"
    # what Telegram shows once it has read the HTML is exactly the name typed
    assert stdlib_html.unescape(title.removeprefix("<b>").removesuffix("</b>")) == TITLE[lang] + name
    if set(name) & set("<>"):
        assert name not in html


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", SHOP_NAMES)
def test_a_shop_name_appears_as_typed_in_plain_text(name: str, lang: str) -> None:
    text = render(advice(shop_name=name), lang, "text")
    assert text.splitlines()[0] == TITLE[lang] + name
    assert "&lt;" not in text and "&amp;amp;" not in text


@pytest.mark.parametrize("fmt", ["text", "html"])
def test_template_syntax_in_a_shop_name_is_never_evaluated(fmt: str) -> None:
    title = render(advice(shop_name="{{7*7}}"), "en", fmt).splitlines()[0]  # type: ignore[arg-type]
    assert "{{7*7}}" in title
    assert "49" not in title


def test_json_is_not_html_escaped(reseller: Assessment) -> None:
    data = json.loads(render(reseller, "en", "json"))
    copied = next(f for f in data["findings"] if f["rule"] == "copied_copywriting")
    assert "supplier's" in copied["message"]
    assert "&#39;" not in json.dumps(data)


def test_json_is_indented_and_keeps_chinese_as_written(reseller: Assessment) -> None:
    out = render(reseller, "zh", "json")
    assert out.startswith('{\n  "') and "\\u" not in out
    assert re.search("[\u4e00-\u9fff]", out)  # Chinese, not escaped


# --- the report -----------------------------------------------------------------------------------


def test_the_report_shows_the_estimate_the_levers_and_marks_the_bottleneck(
    reseller: Assessment,
) -> None:
    lines = render(reseller, "en", "text").splitlines()
    assert "(about 2 orders a week x ¥180 x 4.33 weeks)" in lines
    levers = lines[lines.index("  traffic            8  <- bottleneck") :][:4]
    assert levers == [
        "  traffic            8  <- bottleneck",
        "  conversion       200",
        "  order value       90",
        "  repeat purchases  40",
    ]


@pytest.mark.parametrize("fmt", ["text", "html"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_red_flags_are_listed_under_their_own_heading(
    reseller: Assessment, lang: str, fmt: str
) -> None:
    out = render(reseller, lang, fmt)
    heading = {"en": "Red flags", "zh": "危险信号"}[lang]
    assert heading in out
    red_flags = [f for f in reseller.findings if f.rule.red_flag]
    assert len(red_flags) == 2
    listed = out.split(heading)[1]
    for finding in red_flags:
        assert finding.rule.message[lang].split("{")[0][:15] in stdlib_html.unescape(listed)
    assert heading not in render(advice(), lang, fmt)  # a healthy seller has none


# --- valid Telegram messages -------------------------------------------------------------------------


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.name)
def test_every_persona_renders_valid_telegram_html_under_the_length_limit(
    persona: Persona, lang: str, view: str
) -> None:
    telegram_html = pytest.importorskip("tests.support.telegram_html")
    html = render(assess(Profile.from_dict(persona.profile)), lang, "html", view)  # type: ignore[arg-type]
    text, _entities = telegram_html.parse_html(html)  # raises on markup Telegram refuses
    assert len(html) < TELEGRAM_LIMIT
    assert telegram_html.utf16_len(text) < TELEGRAM_LIMIT


# --- three actions up front, the rest under "more" ------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "html"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_at_most_three_actions_up_front_and_the_rest_in_more(
    reseller: Assessment, lang: str, fmt: str
) -> None:
    actions = [a["text"] for a in to_json(reseller, lang)["actions"]]
    assert len(actions) > TOP_ACTIONS  # the reseller has plenty to do
    report = stdlib_html.unescape(render(reseller, lang, fmt))  # type: ignore[arg-type]
    more = stdlib_html.unescape(render(reseller, lang, fmt, view="more"))  # type: ignore[arg-type]
    for action in actions[:TOP_ACTIONS]:
        assert action in report and action not in more
    for action in actions[TOP_ACTIONS:]:
        assert action in more and action not in report
    left = len(actions) - TOP_ACTIONS
    assert {"en": f"{left} more suggestions", "zh": f"还有 {left} 条建议"}[lang] in report
    assert re.search(rf"^{TOP_ACTIONS + 1}\. ", more, re.MULTILINE)  # numbering continues


def test_with_few_actions_more_has_nothing_to_add() -> None:
    assessment = advice(after_sales="none")
    assert len(assessment.actions) <= TOP_ACTIONS
    assert "That is all for now" in render(assessment, "en", "text", view="more")
    assert "more suggestions" not in render(assessment, "en", "text")


def test_the_healthy_seller_gets_no_actions() -> None:
    assessment = assess(Profile.from_dict(HEALTHY))
    assert to_json(assessment)["actions"] == []
    assert "What to do first" not in render(assessment, "en", "text")


# --- "why": every finding and the answers behind it -------------------------------------------------


def test_why_lists_every_finding_with_its_because(reseller: Assessment) -> None:
    why = render(reseller, "en", "text", view="why")
    for finding in to_json(reseller, "en")["findings"]:
        assert f"\n  {finding['message']}\n" in why
    assert why.count("\n  Because: ") == len(reseller.findings)


WEIGHTS = {
    "en": {"critical": "a red flag: deal with it first", "high": "a big problem", "medium": "worth fixing",
           "low": "a detail", "info": "good to know"},
    "zh": {"critical": "危险信号，先处理", "high": "大问题", "medium": "值得改进", "low": "小细节", "info": "供参考"},
}  # fmt: skip


@pytest.mark.parametrize("fmt", ["text", "html"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_why_gives_each_finding_its_weight_as_a_seller_says_it_not_rule_ids(
    reseller: Assessment, lang: str, fmt: str
) -> None:
    """The "Why?" view is read by sellers: no rule ids (``order_value_far_below``), no
    severity words ("high"); each finding says which lever and how much it weighs."""
    why = render(reseller, lang, fmt, view="why")  # type: ignore[arg-type]
    for finding in reseller.findings:
        assert finding.id not in why
    assert not re.search(r"\b(critical|high|medium|low|info)\b", why)
    assert "<code>" not in why
    bold = "<b>{}</b>" if fmt == "html" else "{}"
    for finding in reseller.findings:
        lever = Formatter(lang, "CNY").lever(finding.lever)
        heading = f"{bold.format(lever[0].upper() + lever[1:])} · {WEIGHTS[lang][finding.rule.severity]}"
        assert heading in why.splitlines()


@pytest.mark.parametrize(
    ("lang", "because"),
    [
        ("en", "Because: New people reached a week: 10; Typical new people a week: 120"),
        ("zh", "依据：每周新触达人数：10；常见每周新触达：120"),
    ],
)
def test_why_says_because_in_plain_words_with_the_sellers_numbers(
    reseller: Assessment, lang: str, because: str
) -> None:
    why = render(reseller, lang, "text", view="why")
    block = why.split({"en": "Traffic · ", "zh": "流量 · "}[lang])[1].split("\n\n")[0]
    assert because in block
    why_html = render(reseller, lang, "html", view="why")
    assert because.split(": " if lang == "en" else "：", 1)[1] in why_html


@pytest.mark.parametrize("lang", LANGUAGES)
def test_why_speaks_the_sellers_language_not_field_names(reseller: Assessment, lang: str) -> None:
    why = render(reseller, lang, "text", view="why")
    label = {"en": "  Because: ", "zh": "  依据："}[lang]
    because = [line for line in why.splitlines() if line.startswith(label)]
    assert len(because) == len(reseller.findings)
    for code in ("_", "True", "False", "None", "()", "0.1"):
        assert not any(code in line for line in because), code
    assert {"en": "Where your goods come from: Another reseller / upline",
            "zh": "货源：其他分销商/上家（三级）"}[lang] in why  # fmt: skip
    assert {"en": "Buyers who came back: 10%", "zh": "复购率：10%"}[lang] in why


def test_rule_texts_are_plain_text_so_the_html_renderer_need_not_escape_them() -> None:
    # Autoescaping covers the values put into a rule's template, not the template itself.
    for rule in default_rulebook().rules:
        for texts in (rule.message, rule.action, rule.example):
            for text in (texts or {}).values():
                outside_jinja = re.sub(r"\{([{%#]).*?[}%#]\}", "", text, flags=re.DOTALL)
                assert not set(outside_jinja) & set("<>&"), rule.id


# --- conversion actions come with a message to adapt ------------------------------------------------


def test_conversion_rules_with_an_action_carry_an_example_message_in_both_languages() -> None:
    # Notes about the figures themselves (severity "info") are not conversations with buyers.
    rules = [r for r in default_rulebook().rules if r.lever == "conversion" and r.action]
    advising = [r for r in rules if r.severity != "info"]
    assert len(advising) >= 5
    for rule in advising:
        assert rule.example is not None, rule.id
        assert all(rule.example[lang].strip() for lang in LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_conversion_actions_show_the_example_message(reseller: Assessment, lang: str) -> None:
    label = {"en": "Message you can adapt:", "zh": "可以改着用的话术："}[lang]
    shown = render(reseller, lang, "text") + render(reseller, lang, "text", view="more")
    conversion = [f for f in reseller.actions if f.lever == "conversion" and f.rule.example]
    assert conversion
    for action in to_json(reseller, lang)["actions"]:
        if action["lever"] == "conversion" and action["example"]:
            assert f"{label}\n      {action['example']}" in shown
    html = render(reseller, lang, "html")
    assert "<blockquote>" in html


# --- the projected effect of fixing the bottleneck --------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "line"),
    [
        ("en", "If traffic reached the benchmark: monthly sales ¥1,559 -> ¥18,706 (+1,100%)"),
        ("zh", "如果流量达到基准：月销售额 ¥1,559 -> ¥18,706（+1,100%）"),
    ],
)
def test_the_projected_effect_of_fixing_the_bottleneck_is_shown(
    reseller: Assessment, lang: str, line: str
) -> None:
    # 4.33 weeks x 2 orders x ¥180 = ¥1,559; at 120 people instead of 10: x12 = ¥18,706
    assert line in render(reseller, lang, "text").splitlines()
    assert markupsafe.escape(line) in render(reseller, lang, "html")


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.name)
def test_every_report_shows_the_bottleneck_projection(persona: Persona) -> None:
    assessment = assess(Profile.from_dict(persona.profile))
    f = Formatter("en", assessment.profile.currency)
    projection = assessment.metrics.projections[assessment.bottleneck]
    assert f.projection(projection) in render(assessment, "en", "text")
    assert re.search(r"monthly sales \S+ -> \S+ \((\+[\d,]+%|from zero today)\)", f.projection(projection))


def test_from_zero_sales_the_change_is_not_a_percentage() -> None:
    # 500 students a week, no orders: at 0.8% conversion 4 buyers x ¥5,000 x 1.3 x 4.33 weeks
    text = render(advice(category="jewellery", price_tier="luxury", audience="students",
                         weekly_reach=500, weekly_orders=0, average_order_value=5000), "en", "text")  # fmt: skip
    assert "If conversion reached the benchmark: monthly sales ¥0 -> ¥112,580 (from zero today)" in text


def test_a_usd_seller_sees_dollars() -> None:
    text = render(advice(currency="USD", average_order_value=30), "en", "text")
    assert "Monthly sales estimate: $1,299" in text  # 4.33 x 10 x $30


# --- "don't know" answers are stated --------------------------------------------------------------


@pytest.fixture(scope="module")
def unsure() -> Assessment:
    """A seller who did not know their reach nor their repeat rate."""
    return advice(weekly_reach=120, repeat_rate=0.13, assumed=["weekly_reach", "repeat_rate"])


@pytest.mark.parametrize(
    ("lang", "fmt", "lines"),
    [
        ("en", "text", ["You said you did not know these, so the advice assumes:",
                        "  - New people reached a week: 120", "  - Buyers who came back: 13%"]),
        ("zh", "text", ["以下几项你选了“不知道”，建议按这些估计值计算：",
                        "  - 每周新触达人数：120", "  - 复购率：13%"]),
        ("en", "html", ["<i>You said you did not know these, so the advice assumes:</i>",
                        "• New people reached a week: 120", "• Buyers who came back: 13%"]),
    ],
)  # fmt: skip
def test_assumptions_are_stated(unsure: Assessment, lang: str, fmt: str, lines: list[str]) -> None:
    shown = render(unsure, lang, fmt).splitlines()  # type: ignore[arg-type]
    for line in lines:
        assert line in shown


@pytest.mark.parametrize(
    ("lang", "because"),
    [
        ("en", "Because: Estimated answers: New people reached a week, Buyers who came back"),
        ("zh", "依据：估算的回答：每周新触达人数、复购率"),
    ],
)
def test_why_names_the_estimated_answers_in_words(unsure: Assessment, lang: str, because: str) -> None:
    why = render(unsure, lang, "text", view="why")
    assert "  " + because in why.splitlines()
    assert "('" not in why


def test_assumptions_are_in_the_json_and_absent_when_everything_was_known(unsure: Assessment) -> None:
    assert to_json(unsure)["assumptions"] == [
        {"field": "weekly_reach", "value": 120},
        {"field": "repeat_rate", "value": 0.13},
    ]
    assert "did not know" not in render(assess(Profile.from_dict(HEALTHY)), "en", "text")


# --- both languages ------------------------------------------------------------------------------------


def test_the_report_is_in_the_language_asked_for(reseller: Assessment) -> None:
    english, chinese = render(reseller, "en", "text"), render(reseller, "zh", "text")
    assert "Bottleneck: traffic." in english and "瓶颈：流量。" in chinese
    assert "What to do first" in english and "先做这几件事" in chinese
    assert "Bottleneck" not in chinese and "瓶颈" not in english
    assert json.loads(render(reseller, "zh", "json"))["language"] == "zh"


def test_unknown_languages_and_formats_are_refused(reseller: Assessment) -> None:
    with pytest.raises(ValueError, match="language"):
        render(reseller, "fr", "text")
    with pytest.raises(ValueError, match="format"):
        render(reseller, "en", "pdf")  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["text", "html"])
def test_a_rule_text_with_no_template_syntax_is_printed_as_jinja_would_print_it(fmt: str) -> None:
    """Such texts skip Jinja (most rule texts have no placeholder); the shortcut must give
    what rendering them would, in both formats."""
    skipped = 0
    for rule in default_rulebook().rules:
        for texts in (rule.message, rule.action, rule.example):
            for source in (texts or {}).values():
                if _compiled(fmt, source) is None:
                    skipped += 1
                    assert environment(fmt).from_string(source).render().strip() == source.strip()
    assert skipped > 0


@pytest.mark.parametrize("fmt", ["text", "html"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_rule_text_reads_as_jinja_renders_it_with_the_assessments_values(fmt: str, lang: str) -> None:
    """Rule texts share one dict of values per report (copying it for each cost more than
    rendering); what they print must be what a plain render prints."""
    compared = 0
    for persona in PERSONAS:
        assessment = assess(Profile.from_dict(persona.profile))
        f = Formatter(lang, assessment.profile.currency)
        values = _rule_values(fmt, assessment, f)
        for finding in assessment.findings:
            for key in ("message", "action", "example"):
                source = (getattr(finding.rule, key) or {}).get(lang)
                if source is None:
                    continue
                plain = environment(fmt).from_string(source).render(**assessment.context, f=f).strip()
                assert _rule_text(fmt, finding, key, values, lang) == plain
                compared += "{{" in source
    assert compared > 0


# --- figures and answers in the seller's language ------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_money_shows_the_currency_and_cents_only_below_a_hundred(lang: str) -> None:
    f = Formatter(lang, "CNY")
    assert f.money(99.5) == "¥99.5"
    assert f.money(100.4) == "¥100"
    assert f.money(1234.6) == "¥1,235"
    # A currency with no symbol of its own is named after the amount.
    assert Formatter(lang, "MYR").money(85) == "85 MYR"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_figure_not_known_is_a_question_mark(lang: str) -> None:
    f = Formatter(lang, "CNY")
    assert (f.num(None), f.money(None), f.pct(None)) == ("?", "?", "?")
    assert f.value("weekly_reach", None) == {"en": "not given", "zh": "未填写"}[lang]


def test_a_share_is_a_percentage_with_a_decimal_only_below_ten() -> None:
    f = Formatter("en", "CNY")
    assert f.pct(0.034) == "3.4%"
    assert f.pct(0.09) == "9%"
    assert f.pct(0.25) == "25%"


def test_a_change_shows_its_sign_and_no_change_counts_as_up() -> None:
    f = Formatter("en", "CNY")
    assert f.signed_pct(12.4) == "+12%"
    assert f.signed_pct(0) == "+0%"
    assert f.signed_pct(-5) == "-5%"


@pytest.mark.parametrize(
    ("name", "value", "en", "zh"),
    [
        ("traffic_ratio", 0.9, "90", "90"),  # a lever against its benchmark, in percent
        ("monthly_sales", 1234.6, "¥1,235", "¥1,235"),
        ("category", "menswear", "Menswear", "男装"),
        ("bottleneck", "traffic", "traffic", "流量"),
        ("assumed", (), "none", "无"),
        ("assumed", ("weekly_reach",), "New people reached a week", "每周新触达人数"),
        ("reach_raised", True, "yes", "是"),  # a yes or no the check-up does not ask
        ("reach_raised", False, "no", "否"),
        ("channels", ("moments_feed", "telegram"), "My feed / Moments posts, telegram", None),
        ("currency", "MYR", "MYR", "MYR"),  # a typed code, not one of the buttons
    ],
)
def test_a_value_behind_a_finding_reads_as_the_seller_would_say_it(
    name: str, value: object, en: str, zh: str | None
) -> None:
    assert Formatter("en", "CNY").value(name, value) == en
    if zh is not None:
        assert Formatter("zh", "CNY").value(name, value) == zh


def test_a_table_column_counts_a_chinese_character_as_two() -> None:
    assert pad("流量", 6) == "流量  "
    assert pad("ＡＢ", 6) == "ＡＢ  "  # full-width Latin letters
    assert pad("ab", 6) == "ab    "
    assert pad("3", 3, right=True) == "  3"


def test_a_counted_text_asked_for_without_its_count_says_so() -> None:
    with pytest.raises(ValueError, match="more_actions is a counted text: it needs a count"):
        pick_text(load_strings(), "more_actions", "en")
