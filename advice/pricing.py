"""The margin calculator of the order-value lever: what is left of a sale once the agent, the
platform, the goods and the postage are paid, and what that means for the goal.

``parse_price`` reads the one line a seller types after /price ("120 cost 50 ship 8 fee 5%
agent 10% goal 5000 target 30%", "售价120 成本50 运费8 手续费5% 代理折扣10%"): a bare number
first is the price, every other figure follows its word (advice/data/pricing.toml), and each
figure is read by :func:`advice.numbers.parse_number`. It never raises: a line it cannot use
gives a :class:`PriceRejection` with a reason code.

``price_check`` works the figures out in :class:`~decimal.Decimal` (and exact fractions where
it divides), so a margin never drifts by a float's last digit:

    margin = price - agent discount - fees - unit cost - shipping

where the agent discount and the percentage fee are shares of the price.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from fractions import Fraction
from functools import cache
from typing import Literal

from advice.data import DATA_DIR, read_toml
from advice.numbers import parse_number

Field = Literal["price", "cost", "shipping", "fee", "agent", "goal", "target"]
FIELDS: tuple[Field, ...] = ("price", "cost", "shipping", "fee", "agent", "goal", "target")
Reason = Literal[
    "empty",  # nothing typed: the seller gets how to use it
    "too_long",
    "unknown_word",  # ``typed`` is the word
    "no_value",  # a word with no figure after it ("cost" at the end)
    "bad_number",  # ``field``'s figure could not be read; ``typed`` is what was there
    "range",  # a range ("100-120") where one figure is needed
    "percent_here",  # a percentage where an amount of money is needed
    "out_of_range",  # ``field``'s figure is negative, zero or too big for it
    "repeated",  # ``field`` given twice
    "no_price",
    "no_cost",
]

HUNDRED = Decimal(100)
WEEKS_PER_MONTH = Fraction(52, 12)
MAX_TEXT_LENGTH = 300
MAX_AMOUNT = Decimal(10) ** 9  # a price, cost, postage or fee per order
MAX_GOAL = Decimal(10) ** 12  # a monthly goal
THIN_MARGIN = Decimal("0.10")  # a margin under 10% of the price is thin
CENT = Decimal("0.01")
# Exact for every figure the parser lets through (up to 1e12, a float's 17 digits).
_EXACT = Context(prec=80)


@dataclass(frozen=True, slots=True)
class PriceInputs:
    """One product's figures, in the seller's currency; percentages are of the price
    (``fee_percent=5`` is 5%)."""

    price: Decimal
    unit_cost: Decimal
    shipping: Decimal = Decimal(0)
    fee_percent: Decimal = Decimal(0)
    fee_fixed: Decimal = Decimal(0)
    agent_percent: Decimal = Decimal(0)
    monthly_goal: Decimal | None = None
    target_percent: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PriceRejection:
    """Why a line could not be read: a reason code, the figure it is about (if any) and the
    part of the line at fault, as typed."""

    reason: Reason
    field: Field | None = None
    typed: str = ""


PriceWarning = Literal["loss", "thin", "agent_eats"]


@dataclass(frozen=True, slots=True)
class PriceResult:
    """The figures worked out. ``weekly_orders``: orders a week for the monthly goal (None
    without a goal, or when an order makes no money). ``target_price``: the lowest price in
    cents that gives the target margin (None without a target; ``target_impossible`` when
    the percentages taken from the price leave no room for it; ``target_any`` when there are
    no fixed costs, so every price gives the same percentage, enough for the target)."""

    inputs: PriceInputs
    agent_discount: Decimal
    fees: Decimal
    margin: Decimal
    margin_percent: Decimal
    weekly_orders: int | None = None
    target_price: Decimal | None = None
    target_impossible: bool = False
    target_any: bool = False
    warnings: tuple[PriceWarning, ...] = ()

    @property
    def gross_margin(self) -> Decimal:
        """The margin before the agent's discount."""
        return self.margin + self.agent_discount

    @property
    def agent_share(self) -> Decimal | None:
        """The agent's discount as a percentage of the gross margin (None when there is no
        gross margin to share)."""
        gross = self.gross_margin
        if gross <= 0:
            return None
        with localcontext(_EXACT):
            return round_percent(self.agent_discount / gross * HUNDRED)


def price_check(inputs: PriceInputs) -> PriceResult:
    """Margin per order and in percent, orders a week for the goal, the price for the
    target margin, and what to worry about."""
    with localcontext(_EXACT):
        price = inputs.price
        agent = price * inputs.agent_percent / HUNDRED
        fees = price * inputs.fee_percent / HUNDRED + inputs.fee_fixed
        margin = price - agent - fees - inputs.unit_cost - inputs.shipping
        margin_percent = round_percent(margin / price * HUNDRED) if price else Decimal(0)
        gross = margin + agent
        warnings: list[PriceWarning] = []
        if margin <= 0:
            warnings.append("loss")
        elif margin < price * THIN_MARGIN:
            warnings.append("thin")
        if agent > 0 and gross > 0 and agent * 2 > gross:
            warnings.append("agent_eats")
    weekly = None
    if inputs.monthly_goal is not None and margin > 0:
        weekly = math.ceil(Fraction(inputs.monthly_goal) / Fraction(margin) / WEEKS_PER_MONTH)
    target_price, impossible, any_price = _target_price(inputs)
    return PriceResult(
        inputs,
        agent,
        fees,
        margin,
        margin_percent,
        weekly,
        target_price,
        impossible,
        any_price,
        tuple(warnings),
    )


def _target_price(inputs: PriceInputs) -> tuple[Decimal | None, bool, bool]:
    """Solve margin / price = target: price x (1 - agent% - fee% - target%) = the costs
    that do not grow with the price. Rounded up to the cent, so the target is met."""
    if inputs.target_percent is None:
        return None, False, False
    shares = Fraction(inputs.agent_percent + inputs.fee_percent + inputs.target_percent) / 100
    if shares >= 1:
        return None, True, False
    fixed = Fraction(inputs.unit_cost + inputs.shipping + inputs.fee_fixed)
    if fixed == 0:
        return None, False, True
    cents = math.ceil(fixed / (1 - shares) * 100)
    return Decimal(cents) / HUNDRED, False, False


def round_percent(value: Decimal) -> Decimal:
    """To a hundredth of a percent, halves up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round_money(value: Decimal) -> Decimal:
    """To the cent, halves up (what a seller would write down)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --- reading the line -----------------------------------------------------------------------


@cache
def keywords() -> dict[str, Field]:
    """Every word that names a figure (casefolded) -> the figure."""
    raw = read_toml(DATA_DIR / "pricing.toml")["keywords"]
    words: dict[str, Field] = {}
    for field in FIELDS:
        for word in raw[field]:
            key = unicodedata.normalize("NFKC", word).casefold()
            if key in words:
                raise ValueError(f"pricing.toml: {word!r} names both {words[key]} and {field}")
            words[key] = field
    return words


@cache
def _keyword_re() -> re.Pattern[str]:
    parts = []
    for word in sorted(keywords(), key=len, reverse=True):
        if word.isascii():  # a word on its own: "fee" is not in "coffee" nor "fees"
            parts.append(rf"(?<![a-z]){re.escape(word)}(?![a-z])")
        else:
            parts.append(re.escape(word))
    return re.compile("|".join(parts))


_JOINER = re.compile(r"^(?:[:=]|is(?![a-z])|at(?![a-z])|为|是)\s*")
_EDGES = re.compile(r"^[\s,;，；、]+|[\s,;，；、]+$")  # spaces and separators around a figure


def _trim(text: str) -> str:
    return _EDGES.sub("", text)


def parse_price(text: str) -> PriceInputs | PriceRejection:
    """The figures of one typed line, or why they cannot be used. Never raises."""
    if len(text) > MAX_TEXT_LENGTH:
        return PriceRejection("too_long")
    line = unicodedata.normalize("NFKC", text).casefold()
    if len(line) > MAX_TEXT_LENGTH:  # NFKC can lengthen a line ("㍱" is four letters)
        return PriceRejection("too_long")
    if not _trim(line):
        return PriceRejection("empty")
    segments: list[tuple[Field, str]] = []
    matches = list(_keyword_re().finditer(line))
    first = _trim(line[: matches[0].start() if matches else len(line)])
    if first:
        segments.append(("price", first))
    for match, after in zip(matches, [*matches[1:], None], strict=False):
        value = line[match.end() : after.start() if after else len(line)]
        value = _trim(_JOINER.sub("", _trim(value)))
        segments.append((keywords()[match.group()], value))

    figures: dict[str, Decimal] = {}
    for field, typed in segments:
        read = _read(field, typed)
        if isinstance(read, PriceRejection):
            return read
        amount, is_percent = read
        name = _slot(field, is_percent)
        if name in figures:
            return PriceRejection("repeated", field, typed)
        figures[name] = amount
    if "price" not in figures:
        return PriceRejection("no_price")
    if "cost" not in figures:
        return PriceRejection("no_cost")
    return PriceInputs(
        price=figures["price"],
        unit_cost=figures["cost"],
        shipping=figures.get("shipping", Decimal(0)),
        fee_percent=figures.get("fee_percent", Decimal(0)),
        fee_fixed=figures.get("fee_fixed", Decimal(0)),
        agent_percent=figures.get("agent", Decimal(0)),
        monthly_goal=figures.get("goal"),
        target_percent=figures.get("target"),
    )


def _slot(field: Field, is_percent: bool) -> str:
    if field == "fee":
        return "fee_percent" if is_percent else "fee_fixed"
    return field


PERCENT_FIELDS = ("agent", "target")  # always a percentage: "agent 10" is 10%
MONEY_FIELDS = ("price", "cost", "shipping", "goal")


def _read(field: Field, typed: str) -> tuple[Decimal, bool] | PriceRejection:
    """One figure: its value and whether it is a percentage, or why not."""
    if not typed:
        return PriceRejection("no_value", field, typed)
    number = parse_number(typed)
    if number is None:
        return _why_not(field, typed)
    if number.is_range:
        return PriceRejection("range", field, typed)
    monthly = field == "goal" and number.per == "month"  # "goal 5000 a month", "目标每月5000"
    if number.unit is not None or (number.per is not None and not monthly):
        return PriceRejection("bad_number", field, typed)
    if number.percent and field in MONEY_FIELDS:
        return PriceRejection("percent_here", field, typed)
    value = _decimal(number.value)
    is_percent = number.percent or field in PERCENT_FIELDS
    if not _allowed(field, value, is_percent):
        return PriceRejection("out_of_range", field, typed)
    return value, is_percent


def _decimal(value: float) -> Decimal:
    """The figure as typed: the parser's float has the shortest form that reads back the
    same, so 120.1 is 120.1, not 120.099999..."""
    exact = Decimal(repr(value))
    return exact.quantize(Decimal(1)) if exact == exact.to_integral_value() else exact


def _allowed(field: Field, value: Decimal, is_percent: bool) -> bool:
    if is_percent:
        if field == "target":
            return 0 < value < HUNDRED
        return 0 <= value < HUNDRED
    if field == "goal":
        return 0 < value <= MAX_GOAL
    if field == "price":
        return 0 < value <= MAX_AMOUNT
    return 0 <= value <= MAX_AMOUNT


def _why_not(field: Field, typed: str) -> PriceRejection:
    """A figure followed by a word no list knows ("50 banana") is an unknown word; anything
    else that is not a number is a figure that could not be read."""
    words = typed.split()
    for cut in range(len(words) - 1, 0, -1):
        if parse_number(" ".join(words[:cut])) is not None:
            rest = words[cut]
            if not any(char.isdigit() for char in rest):
                return PriceRejection("unknown_word", None, rest)
            break
    if words and not any(char.isdigit() for char in typed) and not _has_numeral(typed):
        return PriceRejection("unknown_word", None, words[0])
    return PriceRejection("bad_number", field, typed)


def _has_numeral(typed: str) -> bool:
    return any(char in "零〇一二两三四五六七八九十百千万亿" for char in typed)
