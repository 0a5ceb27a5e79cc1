"""The check-up as data: the questions, where a conversation stands, and reading typed answers.

The questionnaire file is valid (both languages everywhere, every required profile field
asked, options equal to the profile's allowed values). Given the answers so far, the
questionnaire says what to ask next, what "Back" returns to and how far along the seller is.
Typed answers are read leniently (numbers, labels, units, ranges, "don't know") and anything
unusable is a Rejection carrying the hint, never an exception.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advice import questionnaire as questionnaire_module
from advice.data import DATA_DIR, LANGUAGES, load_benchmarks
from advice.formatting import format_answer, progress_line, rejection_text
from advice.profile import (
    BOOL_FIELDS,
    CHOICE_FIELDS,
    LIST_FIELDS,
    NUMBER_FIELDS,
    REQUIRED,
    Profile,
)
from advice.questionnaire import (
    ESTIMATE_NAMES,
    Answer,
    AnswerStatus,
    Progress,
    Question,
    Questionnaire,
    Rejection,
    benchmark_context,
    load_questionnaire,
)
from tests.personas import HEALTHY, seller

Q = load_questionnaire()
QUESTIONS = Q.questions


@pytest.fixture
def questionnaire() -> Questionnaire:
    return load_questionnaire()


def answers_from(profile: dict[str, Any], **status: AnswerStatus) -> dict[str, Answer]:
    """Answer every question that applies with the profile's value (or the given status)."""
    answers: dict[str, Answer] = {}
    while (question := Q.next_question(answers)) is not None:
        if question.field in status:
            answers[question.field] = Answer(None, status[question.field])
        elif question.field in profile:
            value = profile[question.field]
            answers[question.field] = Answer(tuple(value) if isinstance(value, list) else value)
        else:
            answers[question.field] = Answer(None, AnswerStatus.SKIPPED)
    return answers


def asked(profile: dict[str, Any]) -> list[str]:
    return list(answers_from(profile))


def parse(field: str, text: str, lang: str = "en") -> Answer | Rejection:
    return Q.parse(Q.by_field[field], text, lang)


# --- the data file ----------------------------------------------------------------------------


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.field)
def test_every_text_of_every_question_is_in_both_languages(question: Question) -> None:
    for texts in (question.label, question.ask, question.hint):
        assert set(texts) == set(LANGUAGES)
        assert all(text.strip() for text in texts.values())
    for option in question.options:
        assert set(option.label) == set(LANGUAGES)
        assert all(label.strip() for label in option.label.values())
    assert set(Q.sections[question.section]) == set(LANGUAGES)


def test_every_required_profile_field_is_always_asked_and_no_field_twice() -> None:
    fields = [q.field for q in QUESTIONS]
    assert len(fields) == len(set(fields))
    always = {q.field for q in QUESTIONS if q.ask_if is None and not q.optional}
    assert REQUIRED <= always
    not_asked = {"assumed", "measured", "measured_days"}  # said by the bot, not the seller
    assert set(fields) == set(Profile.__dataclass_fields__) - not_asked


def test_a_seller_may_skip_only_the_questions_the_advice_can_do_without() -> None:
    skippable = {q.field for q in QUESTIONS if q.optional}
    assert skippable == {"posts_per_week", "response_hours", "unsold_stock_weeks", "shop_name"}
    assert not skippable & REQUIRED


@pytest.mark.parametrize("question", [q for q in QUESTIONS if q.options], ids=lambda q: q.field)
def test_options_are_exactly_the_values_the_profile_allows(question: Question) -> None:
    values = [o.value for o in question.options]
    assert len(values) == len(set(values))
    if question.field in CHOICE_FIELDS:
        assert question.type == "choice"
        assert values == list(CHOICE_FIELDS[question.field])
    elif question.field in LIST_FIELDS:
        assert question.type == "multi"
        assert values == list(LIST_FIELDS[question.field])
    elif question.field in BOOL_FIELDS:
        assert question.type == "choice"
        assert set(values) == {True, False}
    else:
        assert question.field == "currency" and question.typed  # a few buttons, any code typed
        assert set(values) <= set(load_benchmarks().cny_per_unit)


def test_number_questions_fill_number_fields_and_percent_is_only_for_shares() -> None:
    for question in QUESTIONS:
        if question.type == "number":
            assert question.field in NUMBER_FIELDS
            if question.unit == "percent":
                assert NUMBER_FIELDS[question.field].high == 1


@pytest.mark.parametrize("category", CHOICE_FIELDS["category"])
@pytest.mark.parametrize("price_tier", CHOICE_FIELDS["price_tier"])
def test_every_dont_know_estimate_is_a_valid_answer(category: str, price_tier: str) -> None:
    profile = seller(category=category, price_tier=price_tier)
    unknown = {q.field: AnswerStatus.DONT_KNOW for q in QUESTIONS if q.accepts_dont_know}
    made = Q.to_profile(answers_from(profile, **unknown))  # raises if an estimate is invalid
    assert set(made.assumed) == {"weekly_reach", "repeat_rate"}


# --- what to ask next, Back, and progress -------------------------------------------------------


def test_the_questions_come_in_the_files_order() -> None:
    everything = seller(supply_tier="wholesaler", shop_name="Lao Wang")
    assert asked(everything) == [q.field for q in QUESTIONS]


def test_questions_whose_condition_does_not_hold_are_skipped() -> None:
    # posts a week: only for sellers who post (feed, groups, short videos);
    # unsold stock: only for sellers without a first-hand source or who recruit agents
    store_only = asked(seller(channels=["offline_store"], supply_tier="first_hand"))
    assert "posts_per_week" not in store_only
    assert "unsold_stock_weeks" not in store_only
    posting = asked(seller(channels=["groups"], supply_tier="reseller"))
    assert "posts_per_week" in posting
    assert "unsold_stock_weeks" in posting
    assert "unsold_stock_weeks" in asked(seller(supply_tier="first_hand", recruits_agents=True))


@settings(max_examples=200, deadline=None)
@given(
    channels=st.none() | st.lists(st.sampled_from(LIST_FIELDS["channels"]), unique=True).map(tuple),
    supply_tier=st.none() | st.sampled_from(CHOICE_FIELDS["supply_tier"]),
    recruits_agents=st.none() | st.booleans(),
    answered=st.lists(st.sampled_from([q.field for q in QUESTIONS if q.type == "number"]), unique=True),
)
def test_which_questions_apply_is_the_same_remembered_or_worked_out_afresh(
    channels: tuple[str, ...] | None, supply_tier: str | None, recruits_agents: bool | None, answered: list[str]
) -> None:
    # Q remembers the answer sets it saw before (every earlier example); a new questionnaire
    # works each one out for the first time.
    answers = {field: Answer(1) for field in answered}
    given_ = {"channels": channels, "supply_tier": supply_tier, "recruits_agents": recruits_agents}
    answers.update({field: Answer(value) for field, value in given_.items() if value is not None})
    afresh = Questionnaire(list(QUESTIONS), Q.sections, Q.expects)
    assert [q.field for q in Q.applicable(answers)] == [q.field for q in afresh.applicable(answers)]
    assert Q.next_question(answers) is afresh.next_question(answers)


def test_which_questions_apply_is_remembered_by_the_answers_conditions_read() -> None:
    questionnaire = Questionnaire(list(QUESTIONS), Q.sections, Q.expects)
    answers = {"channels": Answer(("groups",))}
    first = questionnaire.applicable(answers)
    # weekly_orders is read by no condition: the same questions apply, not worked out again
    assert questionnaire.applicable({**answers, "weekly_orders": Answer(3)}) is first


def test_the_remembered_sets_are_forgotten_once_there_are_too_many(monkeypatch) -> None:
    monkeypatch.setattr(questionnaire_module, "APPLICABLE_CACHE_SIZE", 2)
    questionnaire = Questionnaire(list(QUESTIONS), Q.sections, Q.expects)
    for tier in CHOICE_FIELDS["supply_tier"][:3]:
        questionnaire.applicable({"supply_tier": Answer(tier)})
        assert len(questionnaire._applicable) <= 2


def test_an_answer_that_cannot_be_remembered_still_gives_the_questions_that_apply() -> None:
    as_list = {"channels": Answer(["offline_store"])}  # a list: it cannot be a key
    as_stored = {"channels": Answer(("offline_store",))}
    assert [q.field for q in Q.applicable(as_list)] == [q.field for q in Q.applicable(as_stored)]
    assert "posts_per_week" not in [q.field for q in Q.applicable(as_list)]


def test_next_question_is_the_first_unanswered_one_and_none_when_done(
    questionnaire: Questionnaire,
) -> None:
    assert questionnaire.next_question({}) is QUESTIONS[0]
    answers = answers_from(HEALTHY)
    assert questionnaire.next_question(answers) is None
    del answers["weekly_orders"]
    assert questionnaire.next_question(answers).field == "weekly_orders"  # type: ignore[union-attr]


def test_back_returns_to_the_previous_question_that_applies(questionnaire: Questionnaire) -> None:
    answers = answers_from(seller(channels=["offline_store"]))
    assert questionnaire.previous(answers, "weekly_orders").field == "weekly_reach"  # type: ignore[union-attr]
    assert questionnaire.previous(answers, "price_tier").field == "category"  # type: ignore[union-attr]
    assert questionnaire.previous(answers, "category") is None  # the first question
    assert questionnaire.previous(answers, None).field == QUESTIONS[-1].field  # type: ignore[union-attr]
    # Back from a question that no longer applies: the last question asked
    assert questionnaire.previous(answers, "posts_per_week").field == QUESTIONS[-1].field  # type: ignore[union-attr]
    # an answer to a question that no longer applies is skipped over
    answers["posts_per_week"] = Answer(10)
    assert questionnaire.previous(answers, "weekly_orders").field == "weekly_reach"  # type: ignore[union-attr]


def test_an_answer_that_no_longer_applies_is_kept_but_not_used(questionnaire: Questionnaire) -> None:
    answers = answers_from(seller(channels=["groups"], posts_per_week=7))
    answers["channels"] = Answer(("offline_store",))
    assert "posts_per_week" in answers
    assert "posts_per_week" not in questionnaire.relevant_answers(answers)
    assert questionnaire.to_profile(answers).posts_per_week is None


def test_progress_gives_the_section_the_position_and_the_total(questionnaire: Questionnaire) -> None:
    # Every question counts until an answer rules it out: 19 at most.
    assert questionnaire.progress(QUESTIONS[0], {}) == Progress("shop", 1, 19)
    assert progress_line(QUESTIONS[0], {}, "en") == "Your shop - 1/19"
    answers = {
        "category": Answer("menswear"),
        "price_tier": Answer("mid"),
        "currency": Answer("CNY"),
        "channels": Answer(("moments_feed",)),  # a poster: the question on posts applies
    }
    question = questionnaire.next_question(answers)
    assert question is not None and question.field == "weekly_reach"
    assert questionnaire.progress(question, answers) == Progress("traffic", 5, 19)
    assert progress_line(question, answers, "en") == "Traffic - 5/19"
    assert progress_line(question, answers, "zh") == "流量 - 5/19"
    # Only through the shop: no question on posts, one fewer to go.
    answers["channels"] = Answer(("offline_store",))
    assert questionnaire.progress(question, answers) == Progress("traffic", 5, 18)


def test_a_question_stops_counting_once_the_answer_its_condition_reads_rules_it_out() -> None:
    store_only = {"channels": Answer(("offline_store",))}  # exactly what posts_per_week reads
    assert "posts_per_week" not in [q.field for q in Q.may_apply(store_only)]
    assert "posts_per_week" in [q.field for q in Q.may_apply({"channels": Answer(("groups",))})]


@pytest.mark.parametrize("channels", [("moments_feed",), ("offline_store",)])
@pytest.mark.parametrize("supply_tier", ["first_hand", "another_reseller"])
@pytest.mark.parametrize("recruits_agents", [True, False])
def test_the_count_of_questions_never_grows_during_a_check_up(
    questionnaire: Questionnaire, channels: tuple[str, ...], supply_tier: str, recruits_agents: bool
) -> None:
    """The welcome promises at most the first total; later totals never exceed the one
    before, and the last question's position is the total."""
    choices = {"channels": Answer(channels), "supply_tier": Answer(supply_tier), "recruits_agents": Answer(recruits_agents)}
    answers: dict[str, Answer] = {}
    totals = []
    while (question := questionnaire.next_question(answers)) is not None:
        progress = questionnaire.progress(question, answers)
        totals.append(progress.total)
        answers[question.field] = choices.get(question.field, Answer(None, AnswerStatus.SKIPPED))
    assert totals[0] == len(questionnaire.may_apply({}))
    assert totals == sorted(totals, reverse=True)
    assert progress.index == progress.total == len(totals)


# --- reading typed answers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "text", "lang", "value"),
    [
        # a choice by its number or its label, in either language
        ("category", "1", "en", "menswear"),
        ("category", " 7 ", "en", "other"),
        ("category", "Menswear", "en", "menswear"),
        ("category", "MENSWEAR", "en", "menswear"),
        ("category", "男装", "zh", "menswear"),
        ("category", "男装", "en", "menswear"),
        ("category", "Home goods", "en", "home"),
        ("category", "Beauty & skincare", "en", "beauty"),
        ("category", "１", "zh", "menswear"),  # a full-width digit
        ("copywriting", "I write them myself", "en", "original"),
        ("copywriting", "Partly mine, partly copied", "en", "mixed"),
        ("audience", "Young professionals", "en", "young_professionals"),
        ("audience", "年轻上班族", "zh", "young_professionals"),
        ("social_proof", "yes", "en", True),
        ("social_proof", "No", "en", False),
        ("social_proof", "有", "zh", True),
        ("recruits_agents", "否", "zh", False),
        ("currency", "2", "en", "USD"),
        ("currency", "myr", "en", "MYR"),  # a code that has no button
        # several choices by numbers or labels, or none
        ("channels", "1,3", "en", ("offline_store", "groups")),
        ("channels", "3, 1", "en", ("offline_store", "groups")),
        ("channels", "1 3", "en", ("offline_store", "groups")),
        ("channels", "1，3", "zh", ("offline_store", "groups")),
        ("channels", "Group chats, Paid ads", "en", ("groups", "paid_ads")),
        ("channels", "短视频、付费推广", "zh", ("short_video", "paid_ads")),
        ("channels", "Short videos", "en", ("short_video",)),
        ("value_add", "none", "en", ()),
        ("value_add", "None", "en", ()),
        ("value_add", "无", "zh", ()),
        ("value_add", "没有", "zh", ()),
        # numbers with units, multipliers, percent
        ("weekly_reach", "150", "en", 150),
        ("weekly_reach", "1.2k", "en", 1200),
        ("weekly_reach", "约300人", "zh", 300),
        ("weekly_reach", "三百", "zh", 300),
        ("weekly_orders", "0", "en", 0),
        ("weekly_orders", "12 orders", "en", 12),
        ("average_order_value", "¥85", "en", 85),
        ("average_order_value", "85元", "zh", 85),
        ("repeat_rate", "30%", "en", 0.3),
        ("repeat_rate", "30", "en", 0.3),  # the question asks for a percentage
        ("repeat_rate", "百分之三十", "zh", 0.3),
        ("response_hours", "0.5", "en", 0.5),
        ("shop_name", "  Lao Wang's  ", "en", "Lao Wang's"),
        # units of time, converted to the question's own
        ("response_hours", "2天", "zh", 48),
        ("response_hours", "两天", "zh", 48),
        ("response_hours", "一天", "zh", 24),
        ("response_hours", "半小时", "zh", 0.5),
        ("response_hours", "一个半小时", "zh", 1.5),
        ("response_hours", "half an hour", "en", 0.5),
        ("response_hours", "1.5 hours", "en", 1.5),
        ("response_hours", "48h", "en", 48),
        ("response_hours", "30 min", "en", 0.5),
        ("response_hours", "2 days", "en", 48),
        ("response_hours", "a day", "en", 24),
        ("unsold_stock_weeks", "一年", "zh", 365 / 7),
        ("unsold_stock_weeks", "3个月", "zh", 90 / 7),
        ("unsold_stock_weeks", "两周", "zh", 2),
        ("unsold_stock_weeks", "14 days", "en", 2),
        ("unsold_stock_weeks", "6", "en", 6),
        ("weekly_reach", "3 per day", "en", 21),
        ("weekly_reach", "每天10人", "zh", 70),
        ("weekly_reach", "300 a month", "en", 70),
        ("weekly_reach", "300 a week", "en", 300),
        ("weekly_orders", "每天2单", "zh", 14),
        ("weekly_orders", "6 or 7", "en", 6.5),
        ("weekly_orders", "两三个", "zh", 2.5),
        ("posts_per_week", "2 a day", "en", 14),
        ("posts_per_week", "6~7", "en", 6.5),
        ("average_order_value", "¥85/件", "zh", 85),
        ("average_order_value", "一点二五", "zh", 1.25),
    ],
)
def test_typed_answers_are_read(field: str, text: str, lang: str, value: Any) -> None:
    answer = parse(field, text, lang)
    assert isinstance(answer, Answer), answer
    assert answer.status is AnswerStatus.GIVEN
    assert answer.value == pytest.approx(value) if isinstance(value, float) else answer.value == value


@pytest.mark.parametrize(
    ("field", "text", "value"),
    [
        ("weekly_reach", "10000000", 10_000_000),  # the highest figure allowed
        ("repeat_rate", "100%", 1.0),
        ("shop_name", "x" * 64, "x" * 64),  # the longest name allowed
    ],
)
def test_an_answer_at_the_limit_is_accepted(field: str, text: str, value: Any) -> None:
    assert parse(field, text) == Answer(value)


@pytest.mark.parametrize("text", ["none", "no", "No", "0", "无", "没有", "都没有"])
def test_none_of_the_options_is_an_answer_to_a_multi_choice(text: str) -> None:
    assert parse("value_add", text) == Answer(())


@pytest.mark.parametrize("text", ["2,", "2，", "，2", "2、"])
def test_a_choice_typed_with_a_stray_comma_is_still_that_option(text: str) -> None:
    assert parse("category", text, "zh") == Answer(Q.by_field["category"].options[1].value)


def test_a_currency_code_is_taken_for_the_currency_only(tmp_path) -> None:
    assert parse("currency", "myr") == Answer("MYR")
    source = (DATA_DIR / "questionnaire.toml").read_text(encoding="utf-8")
    path = tmp_path / "questionnaire.toml"
    path.write_text(source.replace('field = "category"\n', 'field = "category"\ntyped = true\n', 1))
    typed_category = load_questionnaire(path)
    rejection = typed_category.parse(typed_category.by_field["category"], "USD", "en")
    assert isinstance(rejection, Rejection) and rejection.reason == "not_an_option"


def test_a_whole_number_field_gets_a_whole_number() -> None:
    answer = parse("weekly_reach", "1.2k")
    assert isinstance(answer, Answer) and type(answer.value) is int
    assert parse("weekly_reach", "每天3人") == Answer(21)


def test_every_number_question_names_its_unit_and_a_figure_per_week_says_so() -> None:
    for question in QUESTIONS:
        if question.type == "number":
            assert question.unit is not None, question.field
            assert set(Q.expects[question.measure]) == set(LANGUAGES), question.field
    weekly = {q.field for q in QUESTIONS if q.per == "week"}
    assert weekly == {"weekly_reach", "weekly_orders", "posts_per_week"}
    assert Q.by_field["response_hours"].unit == "hours"
    assert Q.by_field["unsold_stock_weeks"].unit == "weeks"


def test_a_number_question_without_its_unit_named_is_refused(tmp_path) -> None:
    source = (DATA_DIR / "questionnaire.toml").read_text(encoding="utf-8")
    for old, new, error in [
        ('unit = "hours"\n', "", "needs a unit"),
        ('unit = "hours"\n', 'unit = "fortnights"\n', "needs a unit"),
        ('unit = "weeks"\n', 'unit = "weeks"\nper = "week"\n', "per is one of"),
        ('per = "week"\n', 'per = "fortnight"\n', "per is one of"),
        ("hours = { en =", "hourz = { en =", "lacks"),
    ]:
        assert old in source
        path = tmp_path / "questionnaire.toml"
        path.write_text(source.replace(old, new, 1), encoding="utf-8")
        with pytest.raises(ValueError, match=error):
            load_questionnaire(path)


NUMBER_QUESTIONS = [q for q in QUESTIONS if q.type == "number"]
WRITTEN_TIMES = {
    "minute": ["{x} min", "{x}分钟"],
    "hour": ["{x}h", "{x} hours", "{x}小时"],
    "day": ["{x} days", "{x}天"],
    "week": ["{x} weeks", "{x}周"],
    "month": ["{x} months", "{x}个月"],
    "year": ["{x} years", "{x}年"],
}
WRITTEN_RATES = {
    "day": ["{x} per day", "每天{x}"],
    "week": ["{x} a week", "每周{x}"],
    "month": ["{x} a month", "每月{x}"],
    "year": ["{x} a year", "每年{x}"],
}
# A question's own unit of time: (a length of time, the period of a rate).
OWN_TIME = {"hours": ("hour", None), "weeks": ("week", None)}


@settings(max_examples=300, deadline=None)
@given(
    question=st.sampled_from(NUMBER_QUESTIONS),
    x=st.integers(min_value=1, max_value=500),
    written=st.sampled_from(
        [(WRITTEN_TIMES, u) for u in WRITTEN_TIMES] + [(WRITTEN_RATES, u) for u in WRITTEN_RATES]
    ),
    data=st.data(),
)
def test_a_number_with_a_unit_is_never_silently_the_same_number_in_another_unit(
    question: Question, x: int, written: tuple[dict[str, list[str]], str], data: st.DataObject
) -> None:
    """Typed with a unit of time, a figure is converted (never kept as is in another unit)
    or refused with the unit the question needs."""
    forms, unit = written
    text = data.draw(st.sampled_from(forms[unit])).format(x=x)
    result = Q.parse(question, text, data.draw(st.sampled_from(LANGUAGES)))
    own = OWN_TIME.get(question.unit or "", (None, question.per))
    same_unit = (forms is WRITTEN_TIMES and own[0] == unit) or (
        forms is WRITTEN_RATES and own[1] == unit
    )
    if isinstance(result, Rejection):
        assert result.reason in ("wrong_unit", "out_of_range"), (text, result)
        assert not same_unit or result.reason == "out_of_range"
        return
    assert result.status is AnswerStatus.GIVEN
    scale = 100 if question.unit == "percent" else 1
    if not same_unit:
        assert result.value * scale != pytest.approx(x), (question.field, text, result)


@pytest.mark.parametrize(
    ("field", "text", "value", "low", "high"),
    [
        ("weekly_reach", "100-200", 150, 100, 200),
        ("weekly_orders", "10 to 15", 12.5, 10, 15),
        ("repeat_rate", "10-20%", 0.15, 0.1, 0.2),
        ("average_order_value", "80-100元", 90, 80, 100),
        ("weekly_orders", "6 or 7", 6.5, 6, 7),
        ("weekly_orders", "6 to 7", 6.5, 6, 7),
        ("weekly_orders", "6~7", 6.5, 6, 7),
        ("weekly_orders", "两三个", 2.5, 2, 3),
        ("weekly_orders", "每天2到3单", 17.5, 14, 21),
        ("response_hours", "2-3天", 60, 48, 72),
        ("response_hours", "两三个小时", 2.5, 2, 3),
        ("unsold_stock_weeks", "1-2个月", 45 / 7, 30 / 7, 60 / 7),
    ],
)
def test_a_range_is_read_as_its_midpoint_and_keeps_its_ends(
    field: str, text: str, value: float, low: float, high: float
) -> None:
    answer = parse(field, text)
    assert isinstance(answer, Answer)
    assert answer.value == pytest.approx(value)
    assert (answer.low, answer.high) == (pytest.approx(low), pytest.approx(high))
    assert Answer.stored(answer.value, answer.status.value, answer.low, answer.high) == answer


@pytest.mark.parametrize(
    ("field", "text", "lang", "reason", "says"),
    [
        ("weekly_reach", "lots", "en", "not_a_number", "I couldn't read a number in that."),
        ("weekly_reach", "很多", "zh", "not_a_number", "我没看出这是一个数字。"),
        ("weekly_reach", "-5", "en", "out_of_range", "outside what I can use (0 to 10,000,000)"),
        ("weekly_reach", "20 million", "en", "out_of_range", "(0 to 10,000,000)"),
        ("repeat_rate", "150%", "en", "out_of_range", "(0 to 100)"),
        ("repeat_rate", "150%", "zh", "out_of_range", "超出了可用范围（0 到 100）"),
        ("average_order_value", "0", "en", "out_of_range", "outside what I can use"),
        ("category", "9", "en", "not_an_option", "That isn't one of the options."),
        ("category", "banana", "zh", "not_an_option", "这不是可选的选项。"),
        ("category", "1,2", "en", "not_an_option", "That isn't one of the options."),
        ("channels", "1,9", "en", "not_an_option", "That isn't one of the options."),
        ("currency", "XYZ", "en", "not_an_option", "That isn't one of the options."),
        ("shop_name", "x" * 65, "en", "too_long", "(at most 64 characters)"),
        ("weekly_orders", "   ", "en", "empty", "I didn't get an answer there."),
        ("weekly_orders", "don't know", "en", "dont_know_not_allowed", "even a rough one"),
        ("category", "不知道", "zh", "dont_know_not_allowed", "这一题需要回答"),
        # a unit of time that does not fit the question is refused, naming the unit it needs
        ("average_order_value", "两天", "zh", "wrong_unit", "这一题需要金额"),
        ("average_order_value", "2 days", "en", "wrong_unit", "it needs an amount of money"),
        ("average_order_value", "300 a week", "en", "wrong_unit", "an amount of money"),
        ("response_hours", "3 per day", "en", "wrong_unit", "it needs a number of hours"),
        ("unsold_stock_weeks", "每天5件", "zh", "wrong_unit", "这一题需要周数"),
        ("weekly_orders", "2天", "zh", "wrong_unit", "这一题需要每周的数量"),
        ("weekly_reach", "3 months", "en", "wrong_unit", "it needs a number a week"),
        ("repeat_rate", "20% a month", "en", "wrong_unit", "a percentage"),
        ("response_hours", "2 hours a day", "en", "not_a_number", "I couldn't read a number"),
        ("response_hours", "两个月", "zh", "out_of_range", "（0 到 720）"),
    ],
)
def test_an_unusable_answer_is_rejected_with_the_problem_and_the_hint(
    field: str, text: str, lang: str, reason: str, says: str
) -> None:
    rejection = parse(field, text, lang)
    assert isinstance(rejection, Rejection)
    assert rejection.reason == reason
    hint = Q.by_field[field].hint[lang]
    assert rejection.hint == hint
    shown = rejection_text(rejection, lang)
    assert says in shown
    assert shown.endswith(hint)


# --- buttons -------------------------------------------------------------------------------------


def test_a_button_picks_its_option() -> None:
    category, channels = Q.by_field["category"], Q.by_field["channels"]
    assert Q.choose(category, 0, "en") == Answer(category.options[0].value)
    assert Q.choose(category, 1, "en") == Answer(category.options[1].value)
    values = [option.value for option in channels.options]
    # options chosen in any order, one twice: each once, in the options' order
    assert Q.multi(channels, [2, 0, 2], "en") == Answer((values[0], values[2]))
    assert Q.multi(channels, [], "en") == Answer(())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_button_that_is_not_an_option_of_the_question_is_refused(lang: str) -> None:
    category, channels = Q.by_field["category"], Q.by_field["channels"]
    for question, answer in [
        (category, Q.choose(category, len(category.options), lang)),
        (category, Q.choose(category, -1, lang)),
        (channels, Q.choose(channels, 0, lang)),  # a multi-choice is not answered by one press
        (channels, Q.multi(channels, [0, len(channels.options)], lang)),
        (channels, Q.multi(channels, [-1], lang)),
        (category, Q.multi(category, [0], lang)),  # nor a choice by several
    ]:
        assert answer == Rejection("not_an_option", question.hint[lang])


# --- "don't know" ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "text", "lang"),
    [
        ("weekly_reach", "don't know", "en"),
        ("weekly_reach", "Don’t know", "en"),
        ("weekly_reach", "IDK", "en"),
        ("weekly_reach", "不知道", "zh"),
        ("repeat_rate", "not sure", "en"),
        ("repeat_rate", "不清楚", "zh"),
        ("response_hours", "?", "en"),
        ("unsold_stock_weeks", "没算过", "zh"),
    ],
)
def test_dont_know_is_accepted_where_a_rough_figure_will_do(field: str, text: str, lang: str) -> None:
    assert Q.by_field[field].accepts_dont_know
    assert parse(field, text, lang) == Answer(None, AnswerStatus.DONT_KNOW)


def test_dont_know_is_refused_where_an_answer_is_needed() -> None:
    refusing = [q for q in QUESTIONS if not q.accepts_dont_know]
    assert {"weekly_orders", "average_order_value", "category", "channels"} <= {q.field for q in refusing}
    for question in refusing:
        for text, lang in (("don't know", "en"), ("不知道", "zh")):
            rejection = Q.parse(question, text, lang)
            assert isinstance(rejection, Rejection)
            assert rejection.reason == "dont_know_not_allowed"


def test_to_profile_fills_dont_know_with_the_estimate_and_says_so() -> None:
    answers = answers_from(
        seller(category="jewellery", price_tier="luxury"),
        weekly_reach=AnswerStatus.DONT_KNOW,
        repeat_rate=AnswerStatus.DONT_KNOW,
        response_hours=AnswerStatus.DONT_KNOW,
    )
    profile = Q.to_profile(answers)
    # jewellery needs 80 people a week, x 0.3 at luxury prices = 24
    assert profile.weekly_reach == 24
    # half the typical repeat rate for jewellery (15%): 7.5%
    assert profile.repeat_rate == pytest.approx(0.075)
    # no estimate for reply time: left unknown rather than assumed
    assert profile.response_hours is None
    assert profile.assumed == ("weekly_reach", "repeat_rate")


def test_estimates_read_the_benchmarks_once_category_and_price_tier_are_known() -> None:
    unknown = dict.fromkeys(ESTIMATE_NAMES)
    assert benchmark_context({}) == unknown
    assert benchmark_context({"category": "jewellery"}) == unknown
    assert benchmark_context({"price_tier": "luxury"}) == unknown
    # jewellery: 80 people a week, 2% of them buy, 15% come back; luxury: x 0.3 and x 0.4
    assert benchmark_context({"category": "jewellery", "price_tier": "luxury"}) == {
        "benchmark_reach": pytest.approx(24),
        "benchmark_conversion": pytest.approx(0.008),
        "benchmark_repeat_rate": pytest.approx(0.15),
    }


def test_to_profile_of_given_answers_is_the_profile_and_skips_become_defaults() -> None:
    profile = Q.to_profile(answers_from(seller(response_hours=None, shop_name=None)))
    # unsold stock is not asked of a first-hand seller who recruits nobody
    expected = Profile.from_dict({**seller(), "response_hours": None, "unsold_stock_weeks": None})
    assert profile == expected
    assert profile.shop_name is None and profile.assumed == ()


def test_to_profile_of_an_unfinished_check_up_is_an_error() -> None:
    answers = answers_from(HEALTHY)
    del answers["repeat_rate"]
    with pytest.raises(ValueError, match="not finished"):
        Q.to_profile(answers)


@pytest.mark.parametrize(
    ("field", "text", "lang", "shown"),
    [
        ("repeat_rate", "30%", "en", "30%"),
        ("average_order_value", "85", "en", "¥85"),
        ("weekly_reach", "100-200", "en", "100-200"),
        ("category", "2", "zh", "女装"),
        ("value_add", "none", "en", "none"),
        ("weekly_reach", "don't know", "en", "don't know"),
    ],
)
def test_an_answer_is_read_back_as_the_seller_would_say_it(
    field: str, text: str, lang: str, shown: str
) -> None:
    answer = parse(field, text, lang)
    assert isinstance(answer, Answer)
    assert format_answer(Q.by_field[field], answer, lang) == shown


def test_a_skipped_question_and_a_name_are_read_back_as_such() -> None:
    reach, shop_name = Q.by_field["weekly_reach"], Q.by_field["shop_name"]
    skipped = Answer(None, AnswerStatus.SKIPPED)
    assert format_answer(reach, skipped, "en") == "skipped"
    assert format_answer(reach, skipped, "zh") == "已跳过"
    name = parse("shop_name", "Lily Closet")
    assert isinstance(name, Answer)
    assert format_answer(shop_name, name, "en") == "Lily Closet"


@pytest.mark.parametrize(
    ("text", "lang", "shown"),
    [
        (
            "lots",
            "en",
            "I couldn't read a number in that. A rough whole number is fine, e.g. 50, 1.2k or "
            "100-200.",
        ),
        # Chinese runs on after the full stop: no space before the hint.
        ("很多", "zh", "我没看出这是一个数字。大概的整数就行，例如 50、1.2k、100-200。"),
    ],
)
def test_a_rejection_is_the_problem_then_the_hint_spaced_as_the_language_writes(
    text: str, lang: str, shown: str
) -> None:
    rejection = parse("weekly_reach", text, lang)
    assert isinstance(rejection, Rejection)
    assert rejection_text(rejection, lang) == shown


# --- untrusted text never raises -------------------------------------------------------------------

AWKWARD = [
    "😀",
    "👍🏻 3",
    "3 🛍️",
    "x" * 4096,
    "3" * 4096,
    "男" * 4096,
    "\u200b",
    "\u200b3\u200b",
    "1\u200d2",
    "\u202e5\u202c",  # right-to-left override around a digit
    "\u200f٣\u200f",  # an Arabic-Indic digit between right-to-left marks
    "مرحبا",
    "\ufeff1,3",
    "\x00",
    "\ufdfa" * 200,  # one character that normalises into eighteen
    "1e400",
    "NaN",
    "-0",
]


@pytest.mark.parametrize("lang", LANGUAGES)
# Ids without backslashes or non-ASCII, so that a node id given back to pytest (as mutmut
# does) names the same test: "\u200b3" is shown as "/u200b3".
@pytest.mark.parametrize(
    "text", AWKWARD, ids=lambda t: t[:12].encode("unicode_escape").decode().replace("\\", "/")
)
def test_awkward_text_never_raises_for_any_question(text: str, lang: str) -> None:
    for question in QUESTIONS:
        result = Q.parse(question, text, lang)
        assert isinstance(result, Answer | Rejection)
        if isinstance(result, Rejection):
            assert rejection_text(result, lang).endswith(question.hint[lang])
        else:
            format_answer(question, result, lang)


def test_invisible_marks_are_ignored() -> None:
    assert parse("category", "\u200b3\u200b") == Answer("jewellery")
    assert parse("weekly_reach", "\u202e150\u202c") == Answer(150)
    assert parse("channels", "\ufeff1,3") == Answer(("offline_store", "groups"))


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=80), question=st.sampled_from(QUESTIONS), lang=st.sampled_from(LANGUAGES))
def test_any_text_gives_an_answer_or_a_rejection(text: str, question: Question, lang: str) -> None:
    result = Q.parse(question, text, lang)
    if isinstance(result, Rejection):
        assert rejection_text(result, lang).endswith(question.hint[lang])
        return
    assert isinstance(result, Answer)
    if result.status is AnswerStatus.GIVEN:
        # whatever was accepted is a valid value for the profile field
        everything_asked = seller(supply_tier="wholesaler", shop_name="Lao Wang")
        answers = {**answers_from(everything_asked), question.field: result}
        while (more := Q.next_question(answers)) is not None:  # a question the answer opened
            answers[more.field] = Answer(None, AnswerStatus.SKIPPED)
        assert getattr(Q.to_profile(answers), question.field) == result.value


def test_a_text_question_without_a_length_limit_is_refused(tmp_path) -> None:
    source = (DATA_DIR / "questionnaire.toml").read_text(encoding="utf-8")
    assert "max_length = 64\n" in source
    for replacement in ("", "max_length = 100000\n", "max_length = 0\n", 'max_length = "64"\n'):
        path = tmp_path / "questionnaire.toml"
        path.write_text(source.replace("max_length = 64\n", replacement), encoding="utf-8")
        with pytest.raises(ValueError, match="max_length"):
            load_questionnaire(path)
    for limit in (1, 256):  # the limits allowed
        path = tmp_path / f"questionnaire_{limit}.toml"
        path.write_text(source.replace("max_length = 64\n", f"max_length = {limit}\n"))
        assert load_questionnaire(path).by_field["shop_name"].max_length == limit


SHOP_NAME_TYPE = 'field = "shop_name"\nsection = "shop"\ntype = "text"\n'


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ('field = "category"\n', 'field = "categories"\n', "categories: not a profile field"),
        ('type = "choice"\n', 'type = "slider"\n', "category: type must be one of"),
        (SHOP_NAME_TYPE, SHOP_NAME_TYPE.replace("text", "choice"), "a choice question needs options"),
        (SHOP_NAME_TYPE, SHOP_NAME_TYPE.replace("text", "multi"), "a multi question needs options"),
        (SHOP_NAME_TYPE, SHOP_NAME_TYPE.replace("text", "number"), "must fill a number field"),
        ('zh = "币种" }', 'fr = "Devise" }', "currency: label needs exactly the languages"),
        ('ask = { en = "Which currency', 'ask = { fr = "", en = "Which currency', "currency: ask"),
        ('hint = { en = "Choose a button or', 'hint = { fr = "", en = "Choose a button or', "currency: hint"),
    ],
)
def test_a_broken_question_is_refused_at_load_naming_it(
    tmp_path, old: str, new: str, error: str
) -> None:
    source = (DATA_DIR / "questionnaire.toml").read_text(encoding="utf-8")
    assert old in source
    path = tmp_path / "questionnaire.toml"
    path.write_text(source.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ValueError, match=f"^questionnaire: .*{error}"):
        load_questionnaire(path)


@pytest.mark.parametrize(
    "values",
    [
        [1.0, 1, True],  # equal values of three types
        [0.0, -0.0],  # equal, but -0.0 reads differently
        [float("nan"), float("nan")],
        [["Friends", "My feed"], ["Friends", "My feed"]],
    ],
)
def test_an_answer_read_back_is_the_value_stored_whatever_was_read_before(values: list[Any]) -> None:
    for value in values:
        read = Answer.stored(value, "given", None, None)
        expected = tuple(value) if isinstance(value, list) else value
        assert type(read.value) is type(expected)
        assert repr(read.value) == repr(expected)
        assert read.status is AnswerStatus.GIVEN


@pytest.mark.parametrize("value", ["menswear", 3, True, None, 12.5])
def test_a_plain_answer_read_back_again_is_the_same_object(value: Any) -> None:
    assert Answer.stored(value, "given", None, None) is Answer.stored(value, "given", None, None)


def test_a_stored_range_and_status_come_back_with_the_value() -> None:
    assert Answer.stored(12.0, "given", 10.0, 15.0) == Answer(12.0, AnswerStatus.GIVEN, 10.0, 15.0)
    assert Answer.stored(None, "dont_know", None, None) == Answer(None, AnswerStatus.DONT_KNOW)
    assert Answer.stored(None, "skipped", None, None).status is AnswerStatus.SKIPPED
