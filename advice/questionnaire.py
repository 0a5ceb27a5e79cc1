"""The check-up as data: questions, answer parsing, and where a conversation stands.

The conversation has no hidden state: given the answers stored so far, :meth:`next_question`
says what to ask, :meth:`progress` where the seller is, and :meth:`previous` what "Back"
returns to. The terminal chat and the Telegram bot both drive the check-up with it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from advice.data import DATA_DIR, LANGUAGES, load_benchmarks, read_toml
from advice.expr import Expression, compile_expression
from advice.numbers import format_number, parse_number
from advice.profile import NUMBER_FIELDS, Profile
from advice.units import convert

QUESTION_TYPES = ("choice", "multi", "number", "text")
# A number question's unit: a count, money, a percentage, or a length of time (converted).
TIME_UNITS = {
    "minutes": "minute", "hours": "hour", "days": "day", "weeks": "week", "months": "month",
    "years": "year",
}  # fmt: skip
UNITS = ("people", "posts", "orders", "money", "percent", *TIME_UNITS)
PERIODS = ("day", "week", "month", "year")  # what ``per`` may name
MAX_TEXT_LENGTH = 256  # no typed answer is stored longer than this (characters)
APPLICABLE_CACHE_SIZE = 4096  # sets of condition answers whose applicable questions are kept
_ABSENT = object()  # a question not answered, told apart from an answer of None
# Names a ``dont_know`` estimate may use, on top of the answers given so far.
ESTIMATE_NAMES = ("benchmark_reach", "benchmark_conversion", "benchmark_repeat_rate")

_DONT_KNOW = {
    "don't know", "dont know", "do not know", "don’t know", "idk", "not sure", "no idea",
    "unknown", "?", "？", "不知道", "不清楚", "不确定", "没算过", "不晓得", "不知",
}  # fmt: skip
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


class AnswerStatus(StrEnum):
    GIVEN = "given"
    DONT_KNOW = "dont_know"
    SKIPPED = "skipped"


# By value, without the Enum call's lookup: answers are read on every update.
_STATUSES = {status.value: status for status in AnswerStatus}


@dataclass(frozen=True, slots=True)
class Answer:
    """One stored answer. ``low``/``high`` keep a range the seller typed."""

    value: Any = None
    status: AnswerStatus = AnswerStatus.GIVEN
    low: float | None = None
    high: float | None = None

    @classmethod
    def stored(cls, value: Any, status: str, low: float | None, high: float | None) -> Answer:
        """An answer from its stored columns (a list value was a tuple)."""
        kind: type = type(value)
        if (
            low is None
            and high is None
            and (kind in _SHARED_KINDS or (kind is float and value == value and value != 0))
        ):
            return _shared_answer(kind, value, status)
        return cls(tuple(value) if isinstance(value, list) else value, _STATUSES[status], low, high)


# Stored answers are read back on every update of a check-up; an Answer is immutable, so one
# object serves every read of the same plain value. The value's type is part of the key (1,
# 1.0 and True are equal keys otherwise). A float is shared unless it is NaN (never equal to
# itself) or zero (-0.0 equals 0.0 but reads differently).
_SHARED_KINDS = frozenset({str, int, bool, type(None)})


@lru_cache(maxsize=4096)
def _shared_answer(kind: type, value: Any, status: str) -> Answer:
    return Answer(value, _STATUSES[status])


@dataclass(frozen=True, slots=True)
class Option:
    value: Any
    label: dict[str, str]


@dataclass(frozen=True, slots=True)
class Question:
    field: str
    section: str
    type: str
    label: dict[str, str]
    ask: dict[str, str]
    hint: dict[str, str]
    options: tuple[Option, ...] = ()
    optional: bool = False
    typed: bool = False  # a choice that also accepts a typed value
    unit: str | None = None
    per: str | None = None  # a figure per week: "3 a day" is converted to 21
    max_length: int | None = None
    ask_if: Expression | None = None
    dont_know: Expression | None = None

    @property
    def accepts_dont_know(self) -> bool:
        return self.dont_know is not None

    @property
    def measure(self) -> str | None:
        """What the figure is counted in, as the [expects] table names it."""
        if self.type != "number":
            return None
        return f"per_{self.per}" if self.per else self.unit


@dataclass(frozen=True, slots=True)
class Rejection:
    """An answer we cannot use, with the hint to show the seller."""

    reason: str  # a key into strings.toml: not_a_number, out_of_range, ...
    hint: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Progress:
    section: str
    index: int  # 1-based position among the questions that apply
    total: int


class Questionnaire:
    """The ordered questions and what they imply for a given set of answers."""

    def __init__(
        self,
        questions: list[Question],
        sections: dict[str, dict[str, str]],
        expects: Mapping[str, dict[str, str]],
    ) -> None:
        self.questions = tuple(questions)
        self.sections = sections
        self.expects = dict(expects)
        self.by_field = {q.field: q for q in self.questions}
        # The answers any question's condition reads: which questions apply depends on
        # these alone, so the result is kept by their values (asking one question works it
        # out several times: next question, progress, Back).
        self._conditions = tuple(
            sorted({n for q in self.questions if q.ask_if for n in q.ask_if.names})
        )
        self._applicable: dict[tuple[Any, ...], tuple[Question, ...]] = {}

    def applicable(self, answers: Mapping[str, Answer]) -> tuple[Question, ...]:
        """The questions that apply, given the answers so far (in order)."""
        key = tuple([answers[n].value if n in answers else _ABSENT for n in self._conditions])
        try:
            found = self._applicable.get(key)
        except TypeError:  # a value that cannot be a key (none of the loaded answers)
            return self._work_out_applicable(answers)
        if found is None:
            if len(self._applicable) >= APPLICABLE_CACHE_SIZE:
                self._applicable.clear()
            found = self._applicable[key] = self._work_out_applicable(answers)
        return found

    def _work_out_applicable(self, answers: Mapping[str, Answer]) -> tuple[Question, ...]:
        known = {name: a.value for name, a in answers.items()}
        return tuple(q for q in self.questions if q.ask_if is None or q.ask_if.holds(known))

    def next_question(self, answers: Mapping[str, Answer]) -> Question | None:
        """The first applicable question not yet answered; None when the check-up is done."""
        for question in self.applicable(answers):
            if question.field not in answers:
                return question
        return None

    def previous(self, answers: Mapping[str, Answer], current: str | None) -> Question | None:
        """The applicable question asked before ``current`` (or the last one when done)."""
        applicable = self.applicable(answers)
        asked = [q for q in applicable if q.field in answers]
        fields = [q.field for q in applicable]
        if current is not None and current in fields:
            position = fields.index(current)
            asked = [q for q in asked if fields.index(q.field) < position]
        return asked[-1] if asked else None

    def may_apply(self, answers: Mapping[str, Answer]) -> tuple[Question, ...]:
        """The questions that apply, or may still apply: a question whose condition reads
        an answer not given yet counts until that answer rules it out. So the count of a
        check-up never grows as it goes; it only shrinks when a question drops out."""
        known = {name: a.value for name, a in answers.items()}
        return tuple(
            q
            for q in self.questions
            if q.ask_if is None or not set(q.ask_if.names) <= known.keys() or q.ask_if(known)
        )

    def progress(self, question: Question, answers: Mapping[str, Answer]) -> Progress:
        counted = [q.field for q in self.may_apply(answers)]
        return Progress(question.section, counted.index(question.field) + 1, len(counted))

    def relevant_answers(self, answers: Mapping[str, Answer]) -> dict[str, Answer]:
        """The stored answers to questions that still apply (a changed answer can
        make a later question irrelevant; its old answer is kept but not used)."""
        fields = {q.field for q in self.applicable(answers)}
        return {k: v for k, v in answers.items() if k in fields}

    def to_profile(self, answers: Mapping[str, Answer]) -> Profile:
        """The profile from a complete set of answers, filling 'don't know' estimates."""
        relevant = self.relevant_answers(answers)
        data: dict[str, Any] = {}
        assumed: list[str] = []
        for name, answer in relevant.items():
            if answer.status is AnswerStatus.GIVEN:
                data[name] = answer.value  # a list field's tuple is taken as it is
        for name, answer in relevant.items():
            if answer.status is AnswerStatus.DONT_KNOW:
                estimate = self._estimate(self.by_field[name], data)
                data[name] = estimate
                if estimate is not None:
                    assumed.append(name)
        if assumed:
            data["assumed"] = assumed
        missing = [q.field for q in self.applicable(answers) if q.field not in answers]
        if missing:
            raise ValueError(f"the check-up is not finished: {missing} unanswered")
        return Profile.from_dict(data)

    def _estimate(self, question: Question, data: Mapping[str, Any]) -> Any:
        assert question.dont_know is not None
        context = dict(data)
        context.update(benchmark_context(data))
        value = question.dont_know(context)
        if value is None:
            return None
        bounds = NUMBER_FIELDS[question.field]
        value = min(max(value, bounds.low), bounds.high)
        return int(round(value)) if bounds.integer else round(float(value), 4)

    def parse(self, question: Question, text: str, lang: str) -> Answer | Rejection:
        """Read a typed answer; a Rejection carries the hint to show."""
        cleaned = clean_text(text)
        hint = question.hint[lang]
        if not cleaned:
            return Rejection("empty", hint)
        if cleaned.casefold() in _DONT_KNOW:
            if question.accepts_dont_know:
                return Answer(None, AnswerStatus.DONT_KNOW)
            return Rejection("dont_know_not_allowed", hint)
        if question.type == "number":
            return self._parse_number(question, cleaned, lang, hint)
        if question.type == "text":
            limit = question.max_length or MAX_TEXT_LENGTH
            if len(cleaned) > limit:
                return Rejection("too_long", hint, {"limit": limit})
            return Answer(cleaned)
        return self._parse_choice_text(question, cleaned, lang, hint)

    def choose(self, question: Question, index: int, lang: str) -> Answer | Rejection:
        """A choice question answered by the option's position (a button press)."""
        if question.type != "choice" or not 0 <= index < len(question.options):
            return Rejection("not_an_option", question.hint[lang])
        return Answer(question.options[index].value)

    def multi(self, question: Question, indexes: list[int], lang: str) -> Answer | Rejection:
        """A multi-choice question answered by the positions of the chosen options."""
        if question.type != "multi" or any(not 0 <= i < len(question.options) for i in indexes):
            return Rejection("not_an_option", question.hint[lang])
        chosen = sorted(set(indexes))
        return Answer(tuple(question.options[i].value for i in chosen))

    def _parse_number(
        self, question: Question, text: str, lang: str, hint: str
    ) -> Answer | Rejection:
        typed = parse_number(text)
        if typed is None:
            return Rejection("not_a_number", hint)
        # "2 days" is 48 for a question in hours, "3 a day" 21 for a figure per week; a unit
        # of time that does not fit ("two days" as money) is refused, never dropped.
        parsed = convert(typed, unit=TIME_UNITS.get(question.unit or ""), per=question.per)
        if parsed is None:
            # Every measure is named in every language: load_questionnaire checks it.
            expected = self.expects[question.measure or ""][lang]
            return Rejection("wrong_unit", hint, {"expected": expected})
        bounds = NUMBER_FIELDS[question.field]
        scale = 100.0 if question.unit == "percent" else 1.0
        value, low, high = (_scaled(v, scale) for v in (parsed.value, parsed.low, parsed.high))
        assert value is not None
        if bounds.integer:
            value = round(value)
        low_ok = value >= bounds.low if bounds.low_inclusive else value > bounds.low
        if not low_ok or value > bounds.high:
            return Rejection(
                "out_of_range",
                hint,
                {
                    "low": format_number(bounds.low * scale),
                    "high": format_number(bounds.high * scale),
                },
            )
        return Answer(value, AnswerStatus.GIVEN, low, high)

    def _parse_choice_text(
        self, question: Question, text: str, lang: str, hint: str
    ) -> Answer | Rejection:
        """Typed choices: option numbers ('2', '1,3'), labels, or codes for typed choices."""
        folded = text.casefold()
        if question.typed and question.field == "currency":
            code = text.upper()
            if re.fullmatch(r"[A-Z]{3}", code) and code in load_benchmarks().cny_per_unit:
                return Answer(code)
        # A whole label first: many have several words ("Home goods", "Group chats").
        whole = _match_option(question, " ".join(folded.split()))
        if whole is not None:
            value = question.options[whole].value
            return Answer(value if question.type == "choice" else (value,))
        if question.type == "multi" and folded in {"none", "no", "无", "没有", "都没有", "0"}:
            return Answer(())
        indexes: list[int] = []
        for part in (p.strip() for p in re.split(r"[,，、]+", folded)):
            index = _match_option(question, " ".join(part.split()))  # None for an empty part
            words = (
                [index] if index is not None else [_match_option(question, w) for w in part.split()]
            )
            if None in words:
                return Rejection("not_an_option", hint)
            indexes.extend(i for i in words if i is not None)
        if question.type == "choice":
            if len(indexes) != 1:
                return Rejection("not_an_option", hint)
            return Answer(question.options[indexes[0]].value)
        return self.multi(question, indexes, lang)


def _match_option(question: Question, token: str) -> int | None:
    if token.isdigit() and 1 <= int(token) <= len(question.options):
        return int(token) - 1
    for i, option in enumerate(question.options):
        names = {
            str(option.value).casefold(),
            *(label.casefold() for label in option.label.values()),
        }
        if token in names:
            return i
    return None


def _scaled(value: float | None, scale: float) -> float | None:
    return None if value is None else value / scale


def clean_text(text: str) -> str:
    """Normalise what a seller typed: full-width forms, invisible marks, outer spaces."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).strip()


def benchmark_context(data: Mapping[str, Any]) -> dict[str, float | None]:
    """Category benchmarks for estimates, once category and price tier are known."""
    bm = load_benchmarks()
    try:
        category, tier = bm.category[data["category"]], bm.price_tier[data["price_tier"]]
    except KeyError:
        return dict.fromkeys(ESTIMATE_NAMES)
    return {
        "benchmark_reach": category.weekly_reach * tier.reach_factor,
        "benchmark_conversion": category.conversion * tier.conversion_factor,
        "benchmark_repeat_rate": category.repeat_rate,
    }


def _texts(raw: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    texts = raw.get(key)
    if not isinstance(texts, Mapping) or set(texts) != set(LANGUAGES):
        raise ValueError(f"{where}: {key} needs exactly the languages {LANGUAGES}")
    return dict(texts)


def _parse_question(raw: Mapping[str, Any], answer_names: list[str]) -> Question:
    name = raw["field"]
    where = f"questionnaire: {name}"
    if name not in Profile.__dataclass_fields__:
        raise ValueError(f"{where}: not a profile field")
    if raw["type"] not in QUESTION_TYPES:
        raise ValueError(f"{where}: type must be one of {QUESTION_TYPES}")
    options = tuple(
        Option(o["value"], {lang: o[lang] for lang in LANGUAGES}) for o in raw.get("options", ())
    )
    if raw["type"] in ("choice", "multi") and not options:
        raise ValueError(f"{where}: a {raw['type']} question needs options")
    if raw["type"] == "text" and not (
        isinstance(raw.get("max_length"), int) and 0 < raw["max_length"] <= MAX_TEXT_LENGTH
    ):
        raise ValueError(f"{where}: a text question needs a max_length of 1 to {MAX_TEXT_LENGTH}")
    if raw["type"] == "number" and name not in NUMBER_FIELDS:
        raise ValueError(f"{where}: a number question must fill a number field")
    if raw["type"] == "number" and raw.get("unit") not in UNITS:
        raise ValueError(f"{where}: a number question needs a unit, one of {UNITS}")
    if "per" in raw and (raw["per"] not in PERIODS or raw.get("unit") in TIME_UNITS):
        raise ValueError(f"{where}: per is one of {PERIODS}, for a figure that is not a time")
    ask_if = compile_expression(raw["ask_if"], answer_names) if "ask_if" in raw else None
    dont_know = (
        compile_expression(raw["dont_know"], [*answer_names, *ESTIMATE_NAMES])
        if "dont_know" in raw
        else None
    )
    return Question(
        field=name,
        section=raw["section"],
        type=raw["type"],
        label=_texts(raw, "label", where),
        ask=_texts(raw, "ask", where),
        hint=_texts(raw, "hint", where),
        options=options,
        optional=bool(raw.get("optional")),
        typed=bool(raw.get("typed")),
        unit=raw.get("unit"),
        per=raw.get("per"),
        max_length=raw.get("max_length"),
        ask_if=ask_if,
        dont_know=dont_know,
    )


@cache
def load_questionnaire(path: Path = DATA_DIR / "questionnaire.toml") -> Questionnaire:
    raw = read_toml(path)
    questions: list[Question] = []
    for entry in raw["question"]:
        # A condition may only look at answers given before the question.
        questions.append(_parse_question(entry, [q.field for q in questions]))
    sections = raw["sections"]
    unknown = {q.section for q in questions} - set(sections)
    if unknown:
        raise ValueError(f"questionnaire: sections without names: {sorted(unknown)}")
    expects = {k: _texts(raw["expects"], k, "questionnaire: expects") for k in raw["expects"]}
    unnamed = {q.measure for q in questions if q.measure} - set(expects)
    if unnamed:
        raise ValueError(f"questionnaire: [expects] lacks {sorted(unnamed)}")
    return Questionnaire(questions, sections, expects)
