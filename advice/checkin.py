"""The check-in as data: a few figures for the period just ended, and the new profile.

Like the check-up, a check-in has no hidden state: given the answers so far,
:meth:`Checkin.next_question` says what to ask. Its answers turn into a new data point:
the previous profile with the period's figures replaced (converted to the weekly figures
the profile holds), which is then assessed again.

A period measures what it can: reach and orders per week (a day's figures times seven),
the order value (revenue over orders). Repeat purchases are a share of buyers over 90
days, which one day or week cannot show: they are worked out from the check-ins that span
the window (their orders and repeat orders added up), and kept from before until the
check-ins cover it (:class:`Window`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal

from advice.data import DATA_DIR, LANGUAGES, read_toml
from advice.numbers import format_number, parse_number
from advice.profile import Profile
from advice.questionnaire import Answer, AnswerStatus, Rejection, clean_text
from advice.schedule import PERIOD_DAYS
from advice.units import HOURS_IN

FOLLOW_UP = "last_action_outcome"
CADENCE = "cadence"  # stored when a check-in starts: the period its figures are for
# Stored when the seller accepts the ledger's orders and revenue for the period: the
# ledger's measured levers then stand; figures the seller gives themselves win over them.
FROM_LEDGER = "from_ledger"
Outcome = Literal["tried", "not_yet", "not_relevant"]  # did the seller try the top action
OUTCOMES: tuple[Outcome, ...] = ("tried", "not_yet", "not_relevant")
FIGURES = ("new_people", "orders", "revenue", "repeat_orders")


@dataclass(frozen=True, slots=True)
class CheckinQuestion:
    field: str
    ask: dict[str, str]
    hint: dict[str, str]
    integer: bool
    maximum: float
    needs_orders: bool  # asked only when there were orders
    expects: dict[str, str]  # what the figure is, named when a typed unit does not fit

    def parse(self, typed: str, lang: str, cadence: str | None = None) -> Answer | Rejection:
        """A typed figure (the check-up's number parser: 1.2k, 1.2万, ranges).

        The figure is the period's total; a rate ("3 a day") is converted to the period of
        ``cadence``, and a length of time ("2 days") is refused, as is any unit of time
        when the period is not given."""
        typed_number = parse_number(clean_text(typed))
        if typed_number is None or typed_number.percent:
            return Rejection("not_a_number", self.hint[lang])
        per = typed_number.per
        if typed_number.unit is not None or (per is not None and cadence not in PERIOD_DAYS):
            return Rejection("wrong_unit", self.hint[lang], {"expected": self.expects[lang]})
        factor = (
            1.0 if per is None else PERIOD_DAYS[cadence or ""] * HOURS_IN["day"] / HOURS_IN[per]
        )
        low = None if typed_number.low is None else typed_number.low * factor
        high = None if typed_number.high is None else typed_number.high * factor
        value = typed_number.value * factor
        if self.integer:
            value = round(value)
        if not 0 <= value <= self.maximum:
            return Rejection(
                "out_of_range", self.hint[lang], {"low": 0, "high": format_number(self.maximum)}
            )
        return Answer(value, AnswerStatus.GIVEN, low, high)


@dataclass(frozen=True, slots=True)
class Window:
    """Repeat purchases over a window of days, from the check-ins that span it.

    ``covered`` counts the days of the check-ins taken (this one first, then earlier ones,
    newest first, until the window is full); ``orders`` and ``repeat_orders`` add up theirs.
    """

    days: int
    covered: int
    orders: float
    repeat_orders: float

    @property
    def complete(self) -> bool:
        return self.covered >= self.days

    @property
    def repeat_rate(self) -> float | None:
        """The share of buyers who bought again, once the check-ins span the window and
        hold orders; None until then (the previous figure is kept)."""
        if not self.complete or self.orders <= 0:
            return None
        # purchases per buyer p = 1 + r, so repeat orders are the share r / p of orders.
        share = min(self.repeat_orders / self.orders, 1.0)
        return 1.0 if share >= 0.5 else round(share / (1 - share), 4)


@dataclass(frozen=True, slots=True)
class Checkin:
    questions: tuple[CheckinQuestion, ...]
    follow_up_ask: dict[str, str]
    follow_up_options: tuple[tuple[Outcome, dict[str, str]], ...]
    period: dict[str, dict[str, str]]
    zone_buttons: tuple[str, ...]
    zone_aliases: dict[str, str]
    window_days: int
    window_texts: dict[str, dict[str, str]]  # measured, kept, kept_no_orders
    same_per_week: dict[str, str]  # "Same as last time (5 a week)"

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

    def window(
        self,
        answers: Mapping[str, Answer],
        cadence: str,
        earlier: Sequence[Mapping[str, Answer]] = (),
    ) -> Window:
        """Repeat purchases over the window, from this check-in and ``earlier`` ones (the
        answers of the check-ins before it, newest first; each tells its own cadence)."""
        covered, orders, repeat = 0, 0.0, 0.0
        for one in (answers, *earlier):
            if covered >= self.window_days:
                break
            covered += PERIOD_DAYS[cadence_of(one, cadence)]
            orders += _figure(one, "orders")
            repeat += _figure(one, "repeat_orders")
        return Window(self.window_days, covered, orders, repeat)

    def window_note(self, window: Window, lang: str) -> str:
        """Says whether repeat purchases were measured over the window or kept, and why."""
        if window.repeat_rate is not None:
            key = "measured"
        else:
            key = "kept_no_orders" if window.complete else "kept"
        return self.window_texts[key][lang].format(
            days=window.days,
            covered=window.covered,
            orders=format_number(window.orders),
            repeat=format_number(window.repeat_orders),
        )

    def same_label(self, field: str, profile: Profile, cadence: str, lang: str) -> str:
        """The figure on the "same as last time" button: the period's figure when it is a
        whole number (or money, or people), else the weekly figure the seller gave (an
        order a week is not "0.1" a day)."""
        question = self.by_field[field]
        figure = last_time(field, profile, cadence)
        if question.integer:
            return format_number(round(figure))
        if field == "revenue" or abs(figure - round(figure)) < 0.05:
            return format_number(round(figure, 1))
        weekly = figure * 7 / PERIOD_DAYS[cadence]
        return self.same_per_week[lang].format(value=format_number(round(weekly, 1)))


def cadence_of(answers: Mapping[str, Answer], default: str) -> str:
    """The cadence a check-in was started with (stored as its first answer), else ``default``
    (check-ins started before it was stored)."""
    stored = answers.get(CADENCE)
    return stored.value if stored is not None and stored.value in PERIOD_DAYS else default


def _figure(answers: Mapping[str, Answer], field: str) -> float:
    answer = answers.get(field)
    return float(answer.value) if answer is not None and answer.value is not None else 0.0


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


def to_profile(
    previous: Profile,
    answers: Mapping[str, Answer],
    cadence: str,
    earlier: Sequence[Mapping[str, Answer]] = (),
) -> Profile:
    """The previous profile with this period's figures, as weekly figures.

    Order value is revenue / orders; without orders it keeps its previous value. The repeat
    rate is measured over the window from this check-in and ``earlier`` ones (see
    :meth:`Checkin.window`), and kept until they span it. Nothing is marked measured from
    the ledger any more (the previous profile's ``measured``): the caller measures again.
    """
    cadence = cadence_of(answers, cadence)
    per_week = 7 / PERIOD_DAYS[cadence]
    figures = {name: float(a.value) for name, a in answers.items() if name in FIGURES}
    changes: dict[str, Any] = {
        "weekly_reach": min(round(figures["new_people"] * per_week), 10_000_000),
        "weekly_orders": min(round(figures["orders"] * per_week, 2), 1_000_000),
    }
    orders = figures["orders"]
    if orders > 0 and figures.get("revenue", 0) > 0:
        changes["average_order_value"] = round(figures["revenue"] / orders, 2)
    repeat_rate = load_checkin().window(answers, cadence, earlier).repeat_rate
    if repeat_rate is not None:
        changes["repeat_rate"] = repeat_rate
    assumed = tuple(name for name in previous.assumed if name not in changes)
    # The period's figures are the seller's: the ledger measures them again if it can
    # (advice.ledger.with_measured).
    return replace(previous, **changes, assumed=assumed, measured=(), measured_days=None)


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
            expects=_texts(q, "expects", f"checkin: {q['field']}"),
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
        window_days=_window_days(raw["window"]),
        window_texts={
            key: _texts(raw["window"], key, "checkin: window")
            for key in ("measured", "kept", "kept_no_orders")
        },
        same_per_week=_texts(raw["same_as_last_time"], "per_week", "checkin: same_as_last_time"),
    )


def _window_days(window: Mapping[str, Any]) -> int:
    days = window.get("days")
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise ValueError("checkin: window days must be a whole number of days")
    return days
