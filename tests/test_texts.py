"""The texts a seller reads, as data: counted texts take the form their number needs, in
English and Chinese, and every text is valid Telegram HTML."""

from __future__ import annotations

import re
import string

import pytest

from advice.data import DATA_DIR, LANGUAGES, LEVERS, load_strings, pick_text
from advice.engine import assess
from advice.formatting import Formatter
from advice.profile import Profile
from advice.questionnaire import Rejection
from advice.render import TOP_ACTIONS, render, to_json
from bot.replies import TEXTS_PATH, text
from tests.personas import seller

TEXT_FILES = {"bot": TEXTS_PATH, "advice": DATA_DIR / "strings.toml"}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def all_texts() -> list[tuple[str, str, str, object]]:
    """(file, key, language, text or forms) for every text of both files."""
    return [
        (where, key, lang, entry[lang])
        for where, path in TEXT_FILES.items()
        for key, entry in load_strings(path).items()
        for lang in LANGUAGES
    ]


COUNTED = sorted(
    {(where, key) for where, key, lang, value in all_texts() if isinstance(value, dict)}
)


def fill(where: str, key: str, lang: str, count: int) -> str:
    """A counted text with ``count`` and a stand-in for every other value."""
    template = pick_text(load_strings(TEXT_FILES[where]), key, lang, count)
    values = {name: "X" for name in placeholders(template) - {"count"}}
    if where == "bot":
        return text(key, lang, count, **values)
    return Formatter(lang, "CNY").t(key, count, **values)


# --- plurals -------------------------------------------------------------------------------------


def test_every_text_that_takes_a_count_has_its_english_forms() -> None:
    """A number of things is always ``{count}``; an English text with one form for it would
    say "1 more suggestions"."""
    single = [
        f"{where}:{key}"
        for where, key, lang, value in all_texts()
        if lang == "en" and isinstance(value, str) and "count" in placeholders(value)
    ]
    assert single == []
    assert len(COUNTED) >= 8  # welcome, resume, streaks, estimate, more, hidden rows, ...


@pytest.mark.parametrize(("where", "key"), COUNTED)
def test_a_counted_text_reads_right_for_zero_one_and_two(where: str, key: str) -> None:
    """English: 1 takes the singular form, 0 and 2 the plural ("0 suggestions"); Chinese has
    one form, in which only the number changes."""
    forms = load_strings(TEXT_FILES[where])[key]["en"]

    def form(name: str, n: int) -> str:
        return forms[name].format(
            count=n, **{k: "X" for k in placeholders(forms[name]) - {"count"}}
        )

    zero, one, two = (fill(where, key, "en", n) for n in (0, 1, 2))
    assert (zero, one, two) == (form("other", 0), form("one", 1), form("other", 2))
    assert one != form("other", 1), "the singular differs from the plural"
    zh = [fill(where, key, "zh", n) for n in (0, 1, 2)]
    assert zh[0] == zh[2].replace("2", "0") and zh[1] == zh[2].replace("2", "1")


def test_a_counted_text_without_its_count_is_a_mistake_caught_at_once() -> None:
    with pytest.raises(ValueError, match="needs a count"):
        Formatter("en", "CNY").t("more_actions")


PROFILES = [
    seller(),
    seller(weekly_reach=10, response_hours=6, repeat_rate=0.05, supply_tier="reseller"),
    seller(weekly_reach=10, social_proof=False, response_hours=6, repeat_rate=0.05, supply_tier="reseller"),
    seller(weekly_reach=10, copywriting="copied", social_proof=False, response_hours=6,
           repeat_rate=0.05, supply_tier="reseller", weekly_orders=1),
]  # fmt: skip


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_report_counts_the_suggestions_left_for_more(lang: str) -> None:
    seen = set()
    for profile in PROFILES:
        assessment = assess(Profile.from_dict(profile))
        left = len(to_json(assessment, lang)["actions"]) - TOP_ACTIONS
        report = render(assessment, lang, "text")
        if left <= 0:
            assert "更多" not in report.split("\n")[-1] and "more suggestion" not in report
            continue
        seen.add(min(left, 2))
        expected = {
            "en": "1 more suggestion: ask" if left == 1 else f"{left} more suggestions: ask",
            "zh": f"还有 {left} 条建议",
        }[lang]
        assert expected in report
    assert seen == {1, 2}, "the profiles cover one suggestion left and several"


@pytest.mark.parametrize(("orders", "said"), [(1, "about 1 order a week"), (2, "about 2 orders a week"),
                                              (0, "about 0 orders a week"), (1.5, "about 1.5 orders a week")])  # fmt: skip
def test_the_estimate_counts_orders_as_a_seller_would(orders: float, said: str) -> None:
    assert said in render(assess(Profile.from_dict(seller(weekly_orders=orders))), "en", "text")


# --- valid Telegram HTML -------------------------------------------------------------------------

TAG = re.compile(r"</?(b|i|u|s|code|pre|a|blockquote)( [^<>]*)?>")


@pytest.mark.parametrize(
    ("where", "key", "lang", "value"), [t for t in all_texts() if t[0] == "bot"]
)
def test_every_bot_text_is_telegram_html_with_no_raw_angle_bracket(
    where: str, key: str, lang: str, value: object
) -> None:
    """Bot texts are sent as HTML: a ``<`` or ``>`` outside a tag ("¥55,208 -> ¥17,225")
    must be written as an entity or avoided."""
    forms = value.values() if isinstance(value, dict) else [value]
    for form in forms:
        assert "<" not in TAG.sub("", form) and ">" not in TAG.sub("", form), form


# --- Chinese typography --------------------------------------------------------------------------

HAN = r"[\u4e00-\u9fff]"
CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”‘’]"
ASCII_PUNCTUATION_BY_HAN = re.compile(rf"{HAN}[:,?!;]|[:,?!;]{HAN}")
SPACE_BETWEEN_CJK = re.compile(rf"{CJK} +{CJK}")


def typography_faults(chinese: str) -> list[str]:
    """ASCII ``:,?!;`` touching a Chinese character ("原因:", "每周, 周五") and spaces
    between two CJK characters or marks."""
    return [
        chinese[max(0, m.start() - 6) : m.end() + 6]
        for pattern in (ASCII_PUNCTUATION_BY_HAN, SPACE_BETWEEN_CJK)
        for m in pattern.finditer(chinese)
    ]


def chinese_in(value: object) -> list[str]:
    """Every Chinese text in a loaded TOML file (``zh`` values, and text with Han characters)."""
    if isinstance(value, dict):
        return [t for key, v in value.items() if key != "en" for t in chinese_in(v)]
    if isinstance(value, list):
        return [t for v in value for t in chinese_in(v)]
    return [value] if isinstance(value, str) and re.search(HAN, value) else []


CHINESE_FILES = [
    path
    for path in [
        TEXTS_PATH,
        *sorted(DATA_DIR.glob("*.toml")),
        *sorted((DATA_DIR / "rules").glob("*.toml")),
    ]
    if "zh" in path.read_text(encoding="utf-8")
]


@pytest.mark.parametrize("path", CHINESE_FILES, ids=lambda p: p.name)
def test_every_chinese_text_uses_full_width_punctuation_and_no_stray_spaces(path) -> None:
    import tomllib

    with path.open("rb") as f:
        texts = chinese_in(tomllib.load(f))
    assert texts
    assert [fault for t in texts for fault in typography_faults(t)] == []


def chinese_messages() -> list[str]:
    """What the advice says in Chinese, rendered: every persona in every view and format,
    with the labels, lists and separators the templates add."""
    from advice.formatting import rejection_text
    from advice.questionnaire import load_questionnaire
    from tests.personas import PERSONAS

    rendered = [
        render(assess(Profile.from_dict(persona.profile)), "zh", fmt, view=view)  # type: ignore[arg-type]
        for persona in PERSONAS
        for fmt in ("text", "html")
        for view in ("report", "why", "more")
    ]
    unsure = assess(
        Profile.from_dict(
            seller(weekly_reach=120, repeat_rate=0.13, assumed=["weekly_reach", "repeat_rate"])
        )
    )
    rendered += [render(unsure, "zh", "text"), render(unsure, "zh", "text", view="why")]
    questionnaire = load_questionnaire()
    for question in questionnaire.questions:
        refused = questionnaire.parse(
            question, "x" * 300 if question.type == "text" else "???", "zh"
        )
        if isinstance(refused, Rejection):
            rendered.append(rejection_text(refused, "zh"))
    return rendered


def test_the_chinese_advice_as_rendered_has_no_ascii_punctuation_or_stray_spaces() -> None:
    faults = [fault for message in chinese_messages() for fault in typography_faults(message)]
    assert faults == []


def test_the_weekly_check_in_settings_read_with_a_chinese_comma() -> None:
    from bot.core.checkin_settings import cadence_and_day

    assert cadence_and_day("weekly", 4, "zh") == "每周，周五"
    assert cadence_and_day("weekly", 4, "en") == "Every week, Fri"
    assert cadence_and_day("daily", None, "zh") == "每天"


@pytest.mark.parametrize("fmt", ["text", "html"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_lever_table_lines_up_its_scores_whatever_the_length_of_the_names(
    lang: str, fmt: str
) -> None:
    """Two- and three-character Chinese names ("流量", "转化率"): a CJK character takes two
    columns in a monospaced font, so padding by characters puts the scores out of line."""
    import unicodedata

    def columns(s: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)

    report = render(assess(Profile.from_dict(seller(weekly_reach=10))), lang, fmt)  # type: ignore[arg-type]
    names = [Formatter(lang, "CNY").lever(lever) for lever in LEVERS]
    rows = [
        line
        for line in report.splitlines()
        for name in names
        if re.fullmatch(rf"\s*{name}\s+\d+.*", line)
    ]
    assert len(rows) == 4, report
    score_ends = {columns(re.match(r".*?\d+", row).group(0)) for row in rows}  # type: ignore[union-attr]
    assert len(score_ends) == 1, rows


COUNTED_NOUN = re.compile(
    r"f\.num\(\w+\) \}\} (?:new )?(?:people|persons?|hours?|times|weeks?|orders?|buyers?|days?)\b"
)


def test_rule_texts_count_with_the_counted_words_not_a_bare_number() -> None:
    """``{{ f.num(weekly_reach) }} new people`` says "1 new people"; the counted words
    (``{{ f.t('new_people', weekly_reach) }}``) take the form their number needs."""
    import tomllib

    bare = []
    for path in sorted((DATA_DIR / "rules").glob("*.toml")):
        with path.open("rb") as f:
            for rule in tomllib.load(f)["rule"]:
                for key in ("message", "action", "example"):
                    english = (rule.get(key) or {}).get("en", "")
                    bare += [
                        f"{rule['id']}.{key}: {m.group(0)}" for m in COUNTED_NOUN.finditer(english)
                    ]
    assert bare == []


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"weekly_reach": 1}, "You reach about 1 new person a week"),
        ({"weekly_reach": 2}, "You reach about 2 new people a week"),
        ({"posts_per_week": 1, "channels": ["moments_feed"]}, "You post about once a week"),
        ({"posts_per_week": 2, "channels": ["moments_feed"]}, "You post about 2 times a week"),
        ({"posts_per_week": 0, "channels": ["moments_feed"]}, "You post about 0 times a week"),
    ],
)
def test_rule_texts_read_right_for_one_and_for_more(changes: dict, said: str) -> None:
    why = render(assess(Profile.from_dict(seller(**changes))), "en", "text", view="why")
    assert said in why
