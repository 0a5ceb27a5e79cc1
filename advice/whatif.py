"""What if one lever moved? A profile with that lever changed and the others held."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from functools import cache
from typing import TypedDict

from advice.data import LANGUAGES, LEVERS, Lever, load_strings
from advice.metrics import compute_metrics
from advice.numbers import parse_number
from advice.profile import NUMBER_FIELDS, Profile
from advice.units import convert

# What sellers call the levers besides the names the advice shows (lever_* in strings.toml).
LEVER_ALIASES: dict[Lever, tuple[str, ...]] = {
    "traffic": (
        "reach",
        "new people",
        "people reached",
        "visitors",
        "followers",
        "触达",
        "新触达",
        "曝光",
    ),
    "conversion": ("conversion rate", "conv", "转化"),
    "order_value": ("order", "average order value", "aov", "price", "basket", "客单", "单价"),
    "repeat": (
        "repeat purchase",
        "repeat rate",
        "repeats",
        "returning buyers",
        "复购率",
        "回购",
        "回头客",
    ),
}
SHARES = ("conversion", "repeat")  # typed as percentages: "3" and "3%" both mean 3%
_JOINERS = re.compile(r"^(?:to|at|=|:|：|is|were|was|为|是|到|变成|提高到)\s*")


@dataclass(frozen=True, slots=True)
class WhatIf:
    """A what-if as typed: which lever, the figure (a share for conversion and repeat), and
    whether a share was typed without "%" (then it was read as a percentage)."""

    lever: str
    value: float
    read_as_percent: bool = False


def _key(name: str) -> str:
    return " ".join(name.casefold().replace("_", " ").split())


@cache
def lever_names() -> dict[str, Lever]:
    """Every name a lever goes by, normalised: the names shown in both languages and the
    aliases above."""
    strings = load_strings()
    names = {_key(strings[f"lever_{lever}"][lang]): lever for lever in LEVERS for lang in LANGUAGES}
    names.update({_key(lever): lever for lever in LEVERS})
    names.update(
        {_key(alias): lever for lever, aliases in LEVER_ALIASES.items() for alias in aliases}
    )
    return names


class _LeverChanges(TypedDict, total=False):
    """The profile's fields a lever moves (the keywords of ``dataclasses.replace``)."""

    weekly_reach: int
    weekly_orders: float
    average_order_value: float
    repeat_rate: float


def with_lever(profile: Profile, lever: str, value: float) -> Profile:
    """``profile`` with one lever set to ``value`` (reach per week, conversion as a share,
    order value in the seller's currency, repeat rate as a share), the others held."""
    m = compute_metrics(profile)
    purchases = m.purchases_per_customer
    changes: _LeverChanges
    if lever == "traffic":
        reach = int(_clamp("weekly_reach", round(value)))  # a whole number of people
        orders = reach * m.conversion * purchases
        changes = {"weekly_reach": reach, "weekly_orders": orders}
    elif lever == "conversion":
        conversion = min(max(value, 0.0), 1.0)
        changes = {"weekly_orders": m.weekly_reach * conversion * purchases}
    elif lever == "order_value":
        changes = {"average_order_value": _clamp("average_order_value", value)}
    elif lever == "repeat":
        rate = _clamp("repeat_rate", value)
        changes = {"repeat_rate": rate, "weekly_orders": m.new_buyers * (1 + rate)}
    else:
        raise ValueError(f"lever must be one of {LEVERS}")
    changes["weekly_orders"] = _clamp(
        "weekly_orders", changes.get("weekly_orders", profile.weekly_orders)
    )
    return dataclasses.replace(profile, **changes)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A what-if worked out: the changed profile, the figure asked for and the one used
    (they differ when the figure was beyond what the model takes, e.g. 300% conversion)."""

    profile: Profile
    asked: float
    used: float

    @property
    def clamped(self) -> bool:
        return not math.isclose(self.asked, self.used, rel_tol=1e-6, abs_tol=1e-9)


def what_if(profile: Profile, asked: WhatIf) -> Outcome:
    """``profile`` with the lever set as asked; the figure used is read back from it."""
    changed = with_lever(profile, asked.lever, asked.value)
    used = compute_metrics(changed).levers[asked.lever].value
    wanted = round(asked.value) if asked.lever == "traffic" else asked.value  # whole people
    return Outcome(changed, wanted, used)


def to_benchmark(profile: Profile, lever: str) -> Profile:
    """``profile`` with ``lever`` lifted to its benchmark (unchanged if already there)."""
    score = compute_metrics(profile).levers[lever]
    return with_lever(profile, lever, max(score.value, score.benchmark))


def parse_whatif(text: str) -> WhatIf | None:
    """Read "conversion 3%", "order value ¥200", "客单价 150", "转化率3%": a lever's name
    (as shown, in either language, or an alias), then a figure; None if it is not that."""
    typed = " ".join(text.casefold().replace("_", " ").split())  # a minus sign stays
    # reverse order puts a name before its prefixes: "order value" before "order"
    for name in sorted(lever_names(), reverse=True):
        if typed.startswith(name):
            rest = typed[len(name) :]
            glued = rest[:1]  # "pricey": not the word "price"; "price约200" is the price
            if name.isascii() and glued.isascii() and glued.isalpha():
                continue
            lever = lever_names()[name]
            break
    else:
        return None
    number = parse_number(_JOINERS.sub("", rest.strip()))
    if number is not None:  # reach is per week ("30 a day" is 210); no other lever has a time
        number = convert(number, per="week") if lever == "traffic" else convert(number)
    if number is None or number.value < 0:
        return None
    if lever in SHARES:
        return WhatIf(lever, number.value / 100, read_as_percent=not number.percent)
    return WhatIf(lever, number.value)


def _clamp(field: str, value: float) -> float:
    bounds = NUMBER_FIELDS[field]
    low = bounds.low if bounds.low_inclusive else bounds.low + 0.01
    clamped = min(max(value, low), bounds.high)
    return int(clamped) if bounds.integer else float(clamped)
