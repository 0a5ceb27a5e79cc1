"""What if one lever moved? A profile with that lever changed and the others held."""

from __future__ import annotations

import dataclasses
import re

from advice.data import LEVERS
from advice.metrics import compute_metrics
from advice.numbers import parse_number
from advice.profile import NUMBER_FIELDS, Profile

LEVER_WORDS = {
    "traffic": "traffic", "reach": "traffic", "流量": "traffic",
    "conversion": "conversion", "转化": "conversion", "转化率": "conversion",
    "order_value": "order_value", "order": "order_value", "aov": "order_value",
    "price": "order_value", "客单价": "order_value",
    "repeat": "repeat", "复购": "repeat", "复购率": "repeat",
}  # fmt: skip


def with_lever(profile: Profile, lever: str, value: float) -> Profile:
    """``profile`` with one lever set to ``value`` (reach per week, conversion as a share,
    order value in the seller's currency, repeat rate as a share), the others held."""
    m = compute_metrics(profile)
    purchases = m.purchases_per_customer
    if lever == "traffic":
        reach = _clamp("weekly_reach", round(value))
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
    changes["weekly_orders"] = _clamp("weekly_orders", changes.get("weekly_orders", profile.weekly_orders))
    return dataclasses.replace(profile, **changes)


def to_benchmark(profile: Profile, lever: str) -> Profile:
    """``profile`` with ``lever`` lifted to its benchmark (unchanged if already there)."""
    score = compute_metrics(profile).levers[lever]
    return with_lever(profile, lever, max(score.value, score.benchmark))


def parse_whatif(text: str) -> tuple[str, float] | None:
    """Read "conversion 3%", "traffic 200", "客单价 150"; None if it is not that."""
    match = re.fullmatch(r"\s*([A-Za-z_]+|[\u4e00-\u9fff]+)\s*(.+?)\s*", text)
    if not match:
        return None
    lever = LEVER_WORDS.get(match.group(1).casefold())
    number = parse_number(match.group(2))
    if lever is None or number is None or number.value < 0:
        return None
    value = number.value
    if lever in ("conversion", "repeat"):
        value = value / 100  # always typed as a percentage: "3" and "3%" both mean 3%
    return lever, value


def _clamp(field: str, value: float) -> float:
    bounds = NUMBER_FIELDS[field]
    low = bounds.low if bounds.low_inclusive else bounds.low + 0.01
    clamped = min(max(value, low), bounds.high)
    return int(clamped) if bounds.integer else float(clamped)
