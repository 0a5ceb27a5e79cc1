"""The check-in as data: a few figures for the period just ended, and the new profile.

Like the check-up, a check-in has no hidden state: given the answers so far,
:meth:`Checkin.next_question` says what to ask. Its answers turn into a new data point:
the previous profile with the period's figures replaced (converted to the weekly figures
the profile holds), which is then assessed again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from advice.data import DATA_DIR, LANGUAGES, read_toml
from advice.numbers import format_number, parse_number
from advice.profile import Profile
from advice.questionnaire import Answer, AnswerStatus, Rejection, clean_text
from advice.schedule import PERIOD_DAYS

FOLLOW_UP = "last_action_outcome"
OUTCOMES = ("tried", "not_yet", "not_relevant")


@dataclass(frozen=True, slots=True)
class CheckinQuestion:
    field: str
    ask: dict[str, str]
    hint: dict[str, str]
    integer: bool
    maximum: float
    needs_orders: bool  # asked only when there were orders

    def parse(self, typed: str, lang: str) -> Answer | Rejection:
        """A typed figure (the check-up's number parser: 1.2k, 1.2万, ranges)."""
        cleaned = clean_text(typed)
        parsed = parse_number(cleaned) if cleaned else None
        if parsed is None or parsed.percent:
            return Rejection("not_a_number", self.hint[lang])
        value = round(parsed.value) if self.integer else parsed.value
        if not 0 <= value <= self.maximum:
            return Rejection(
                "out_of_range", self.hint[lang], {"low": 0, "high": format_number(self.maximum)}
            )
        return Answer(value, AnswerStatus.GIVEN, parsed.low, parsed.high)


@dataclass(frozen=True, slots=True)
class Checkin:
    questions: tuple[CheckinQuestion, ...]
    follow_up_ask: dict[str, str]
    follow_up_options: tuple[tuple[str, dict[str, str]], ...]
    period: dict[str, dict[str, str]]
    zone_buttons: tuple[str, ...]
    zone_aliases: dict[str, str]

    @property
    def by_field(self) -> dict[str, CheckinQuestion]:
        return {q.field: q for q in self.questions}

    def applicable(self, answers: Mapping[str, Answer]) -> list[CheckinQuestion]:
        orders = answers.get("orders")
        no_orders = orders is not None and not orders.value
        return [q for q in self.questions if not (q.needs_orders and no_orders)]

    def next_question(self, answers: Mapping[str, Answer]) -> CheckinQuestion | None:
        """The first figure not yet given; None when only the follow-up (or nothing) is left."""
        return next((q for q in self.applicable(answers) if q.field not in answers), None)

    def check(
        self, question: CheckinQuestion, answer: Answer, answers: Mapping[str, Answer], lang: str
    ) -> Rejection | None:
        """Figures that contradict each other (more repeat orders than orders)."""
        orders = answers.get("orders")
        if question.field == "repeat_orders" and orders is not None and answer.value > orders.value:
            return Rejection(
                "out_of_range", question.hint[lang], {"low": 0, "high": format_number(orders.value)}
            )
        return None


def last_time(field: str, profile: Profile, cadence: str) -> float:
    """The previous data point's figure for a period of this cadence ("same as last time")."""
    weeks = PERIOD_DAYS[cadence] / 7
    orders = profile.weekly_orders * weeks
    # Unrounded, so that "same" gives the same profile back; the button shows it rounded.
    if field == "new_people":
        return profile.weekly_reach * weeks
    if field == "orders":
        return orders
    if field == "revenue":
        return orders * profile.average_order_value
    if field == "repeat_orders":
        # purchases per buyer p = 1 + repeat_rate, so repeat orders are the share r / p.
        return orders * profile.repeat_rate / (1 + profile.repeat_rate)
    raise KeyError(field)


def to_profile(previous: Profile, answers: Mapping[str, Answer], cadence: str) -> Profile:
    """The previous profile with this period's figures, as weekly figures.

    Order value is revenue / orders and the repeat rate comes from the share of repeat
    orders; without orders both keep their previous value (nothing to measure them by).
    """
    per_week = 7 / PERIOD_DAYS[cadence]
    figures = {name: float(a.value) for name, a in answers.items() if name != FOLLOW_UP}
    changes: dict[str, Any] = {
        "weekly_reach": min(round(figures["new_people"] * per_week), 10_000_000),
        "weekly_orders": min(round(figures["orders"] * per_week, 2), 1_000_000),
    }
    orders = figures["orders"]
    if orders > 0:
        if figures.get("revenue", 0) > 0:
            changes["average_order_value"] = round(figures["revenue"] / orders, 2)
        share = min(figures.get("repeat_orders", 0) / orders, 1.0)
        changes["repeat_rate"] = 1.0 if share >= 0.5 else round(share / (1 - share), 4)
    assumed = tuple(name for name in previous.assumed if name not in changes)
    return replace(previous, **changes, assumed=assumed)


def history(
    last_action_rule: str | None, outcome: str | None, answered_before: int
) -> dict[str, Any]:
    """The facts about the seller's history that rules may read (advice.engine.HISTORY_NAMES)."""
    return {
        "last_action_rule": last_action_rule,
        "last_action_outcome": outcome,
        "checkins_answered": answered_before,
    }


def _texts(raw: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    texts = raw.get(key)
    if not isinstance(texts, Mapping) or set(texts) != set(LANGUAGES):
        raise ValueError(f"{where}: {key} needs exactly the languages {LANGUAGES}")
    return dict(texts)


@cache
def load_checkin(path: Path = DATA_DIR / "checkin.toml") -> Checkin:
    raw = read_toml(path)
    questions = tuple(
        CheckinQuestion(
            field=q["field"],
            ask=_texts(q, "ask", f"checkin: {q['field']}"),
            hint=_texts(q, "hint", f"checkin: {q['field']}"),
            integer=bool(q.get("integer", False)),
            maximum=float(q["max"]),
            needs_orders=bool(q.get("ask_if_orders", False)),
        )
        for q in raw["question"]
    )
    fields = [q.field for q in questions]
    if set(fields) != {"new_people", "orders", "revenue", "repeat_orders"} or fields[:2] != [
        "new_people",
        "orders",
    ]:
        raise ValueError(
            "checkin: the questions are new_people, orders, then revenue and repeat_orders"
        )
    follow = raw["follow_up"]
    options = tuple((o["value"], {lang: o[lang] for lang in LANGUAGES}) for o in follow["options"])
    if tuple(v for v, _ in options) != OUTCOMES:
        raise ValueError(f"checkin: follow-up options must be {OUTCOMES}")
    return Checkin(
        questions=questions,
        follow_up_ask=_texts(follow, "ask", "checkin: follow_up"),
        follow_up_options=options,
        period={name: _texts(raw["period"], name, "checkin: period") for name in PERIOD_DAYS},
        zone_buttons=tuple(raw["zones"]["buttons"]),
        zone_aliases={k.casefold(): v for k, v in raw["zones"]["aliases"].items()},
    )
