"""Text lookup and number/money formatting: how values read in the seller's language.

:class:`Formatter` is handed to every template; the functions below format questionnaire
answers, check-up progress and rejections, and pad columns for monospaced tables.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from advice.data import load_strings, pick_text
from advice.locales import format_money, locale_for
from advice.metrics import Projection
from advice.numbers import format_number
from advice.questionnaire import Answer, AnswerStatus, Question, Rejection, load_questionnaire

CURRENCY_SYMBOLS = {
    "CNY": "¥",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "HKD": "HK$",
    "TWD": "NT$",
    "MOP": "MOP$",
    "SGD": "S$",
    "JPY": "JP¥",
    "KRW": "₩",
    "INR": "₹",
    "AUD": "A$",
    "NZD": "NZ$",
    "CAD": "C$",
    "RUB": "₽",
}
RATIO_NAMES = {"conversion", "repeat_rate", "benchmark_conversion", "benchmark_repeat_rate"}
MONEY_NAMES = {"average_order_value", "benchmark_aov", "monthly_sales"}


@dataclass(frozen=True, slots=True)
class Formatter:
    """Language- and currency-aware formatting helpers handed to every template."""

    lang: str
    currency: str

    def t(self, key: str, count: float | None = None, **values: Any) -> str:
        """An interface text in this language, with ``{name}`` placeholders filled;
        ``count`` picks the form of a counted text and fills its ``{count}``."""
        text = pick_text(load_strings(), key, self.lang, count)
        if count is not None:
            values["count"] = self.num(count)
        return text.format(**values) if values else text

    def num(self, value: float | None) -> str:
        return "?" if value is None else format_number(value, self.lang)

    def money(self, value: float | None) -> str:
        if value is None:
            return "?"
        shown = round(value) if abs(value) >= 100 else value
        if self.lang not in ("en", "zh") and locale_for(self.lang) is not None:
            return format_money(Decimal(repr(shown)), self.currency, self.lang)
        amount = format_number(shown, self.lang)
        symbol = CURRENCY_SYMBOLS.get(self.currency)
        return f"{symbol}{amount}" if symbol else f"{amount} {self.currency}"

    def pct(self, ratio: float | None) -> str:
        """A share (0.034) as a percentage ('3.4%')."""
        if ratio is None:
            return "?"
        return format_number(round(ratio * 100, 1 if ratio < 0.1 else 0), self.lang) + "%"

    def signed_pct(self, value: float | None) -> str:
        if value is None:
            return self.t("not_comparable")
        return ("+" if value >= 0 else "") + format_number(round(value), self.lang) + "%"

    def lever(self, lever: str) -> str:
        return self.t(f"lever_{lever}")

    def label(self, name: str) -> str:
        """The question's short label for an answer field, or a metric's name."""
        question = load_questionnaire().by_field.get(name)
        if question is not None:
            return question.label[self.lang]
        return self.t(f"name_{name}")

    def option(self, name: str, value: Any) -> str:
        question = load_questionnaire().by_field.get(name)
        if question is not None and question.options:
            labels = {o.value: o.label[self.lang] for o in question.options}
            if isinstance(value, tuple | list):
                if not value:
                    return self.t("none_chosen")
                return self.t("list_separator").join(labels.get(v, str(v)) for v in value)
            if value in labels:
                return labels[value]
        if isinstance(value, bool):
            return self.t("yes" if value else "no")
        return str(value)

    def value(self, name: str, value: Any) -> str:
        """A context value as a seller would read it."""
        if value is None:
            return self.t("unknown")
        if name in RATIO_NAMES:
            return self.pct(value)
        if name in MONEY_NAMES:
            return self.money(value)
        if name.endswith("_ratio"):
            return format_number(round(value * 100), self.lang)
        if name in ("category", "bottleneck"):
            return self.lever(value) if name == "bottleneck" else self.option(name, value)
        if name == "assumed":  # field names: say which answers, as the questions call them
            return self.t("list_separator").join(self.label(field) for field in value) or self.t(
                "none_chosen"
            )
        if isinstance(value, bool | str | tuple | list):
            return self.option(name, value)
        return self.num(value)

    def because(self, items: Sequence[tuple[str, str]]) -> str:
        """The answers behind a finding: "New people reached a week: 10; Typical ...: 120"."""
        return self.t("item_separator").join(
            self.t("label_value", label=label, value=value) for label, value in items
        )

    def projection(self, p: Projection) -> str:
        return self.t(
            "projection",
            lever=self.lever(p.lever),
            current=self.money(p.current),
            projected=self.money(p.projected),
            change=self.signed_pct(p.change_pct),
        )


def display_width(text: str) -> int:
    """Columns ``text`` takes in a monospaced font: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def format_answer(question: Question, answer: Answer, lang: str, currency: str = "CNY") -> str:
    """An answer as the seller would read it back ("30%", "¥85", "Menswear")."""
    f = Formatter(lang, currency)
    if answer.status is AnswerStatus.SKIPPED:
        return f.t("answer_skipped")
    if answer.status is AnswerStatus.DONT_KNOW:
        return f.t("answer_dont_know")
    if question.type in ("choice", "multi"):
        return f.option(question.field, answer.value)
    if question.type == "text":
        return str(answer.value)
    show = {"percent": f.pct, "money": f.money}.get(question.unit or "", f.num)
    if answer.low is not None and answer.high is not None:
        return f"{show(answer.low)}-{show(answer.high)}"
    return show(answer.value)


def progress_line(question: Question, answers: Mapping[str, Answer], lang: str) -> str:
    """'Traffic - 3/14': where the seller is in the check-up."""
    questionnaire = load_questionnaire()
    p = questionnaire.progress(question, answers)
    section = questionnaire.sections[p.section][lang]
    return Formatter(lang, "CNY").t("progress", section=section, index=p.index, total=p.total)


def rejection_text(rejection: Rejection, lang: str) -> str:
    """Why an answer was not accepted, followed by the question's hint."""
    values = dict(rejection.values)
    count = values.pop("limit", None)  # "at most {count} characters"
    reason = Formatter(lang, "CNY").t(f"reject_{rejection.reason}", count, **values)
    return f"{reason}{'' if lang == 'zh' else ' '}{rejection.hint}"  # Chinese runs on: no space
