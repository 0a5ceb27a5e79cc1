"""The seller profile: the answers the advice is computed from.

The field names are a public contract (documented in the README, used in JSON files and in
the database). Validation is strict: a value of the wrong type is an error, never coerced,
and every bad field is reported at once with its name, the value given and what is allowed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from advice.data import load_benchmarks

CATEGORIES = ("menswear", "womenswear", "jewellery", "beauty", "food", "home", "other")
CHANNELS = (
    "offline_store",
    "moments_feed",
    "groups",
    "short_video",
    "paid_ads",
    "marketplace",
    "referrals",
    "acquaintances",
)
COPYWRITING = ("original", "mixed", "copied")
SUPPLY_TIERS = ("first_hand", "wholesaler", "reseller")
AUDIENCES = ("students", "young_professionals", "parents", "affluent", "mixed")
PRICE_TIERS = ("budget", "mid", "premium", "luxury")
VALUE_ADDS = ("styling_advice", "fast_delivery", "customisation", "warranty", "tutorials")
AFTER_SALES = ("none", "returns", "returns_and_follow_up")
SHOP_NAME_MAX = 64
# The figures the sales ledger can measure (advice.ledger.with_measured), and for how long.
MEASURABLE = ("weekly_orders", "average_order_value", "repeat_rate")
MEASURED_DAYS_MAX = 90


@dataclass(frozen=True, slots=True)
class NumberRange:
    """Bounds of a numeric field; ``integer`` fields refuse fractions."""

    low: float
    high: float
    integer: bool = False
    low_inclusive: bool = True

    def describe(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        low = f"from {self.low:,g}" if self.low_inclusive else f"above {self.low:,g}"
        # Whole numbers with thousands separators (never 1e+07), fractions as they are.
        high = f"{self.high:,.0f}" if self.high == int(self.high) else f"{self.high:g}"
        return f"{kind} {low} to {high}"


NUMBER_FIELDS: dict[str, NumberRange] = {
    "weekly_reach": NumberRange(0, 10_000_000, integer=True),
    "weekly_orders": NumberRange(0, 1_000_000),
    "average_order_value": NumberRange(0, 10_000_000, low_inclusive=False),
    "repeat_rate": NumberRange(0, 1),
    "response_hours": NumberRange(0, 720),
    "unsold_stock_weeks": NumberRange(0, 520),
    "posts_per_week": NumberRange(0, 1_000),
}
CHOICE_FIELDS: dict[str, tuple[str, ...]] = {
    "category": CATEGORIES,
    "copywriting": COPYWRITING,
    "supply_tier": SUPPLY_TIERS,
    "audience": AUDIENCES,
    "price_tier": PRICE_TIERS,
    "after_sales": AFTER_SALES,
}
LIST_FIELDS: dict[str, tuple[str, ...]] = {"channels": CHANNELS, "value_add": VALUE_ADDS}
BOOL_FIELDS = ("social_proof", "recruits_agents")
REQUIRED = frozenset(
    {
        "category",
        "weekly_reach",
        "channels",
        "weekly_orders",
        "average_order_value",
        "repeat_rate",
        "copywriting",
        "supply_tier",
        "audience",
        "price_tier",
    }
)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field: its name, the value given, and what is allowed."""

    field: str
    value: Any
    allowed: str

    missing: bool = False

    def __str__(self) -> str:
        given = "missing" if self.missing else f"got {self.value!r}"
        return f"{self.field}: {given}; expected {self.allowed}"


class ProfileError(ValueError):
    """A profile that failed validation; ``errors`` lists every bad field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("invalid seller profile:\n" + "\n".join(f"  - {e}" for e in errors))


@dataclass(frozen=True, slots=True)
class Profile:
    """A seller's answers about the four levers of sales."""

    category: str
    weekly_reach: int
    channels: tuple[str, ...]
    weekly_orders: float
    average_order_value: float
    repeat_rate: float
    copywriting: str
    supply_tier: str
    audience: str
    price_tier: str
    currency: str = "CNY"
    social_proof: bool = False
    value_add: tuple[str, ...] = ()
    response_hours: float | None = None
    after_sales: str = "none"
    recruits_agents: bool = False
    unsold_stock_weeks: float | None = None
    posts_per_week: float | None = None
    shop_name: str | None = None
    # Fields whose value is an estimate because the seller answered "don't know".
    assumed: tuple[str, ...] = field(default=())
    # Fields measured from the sales ledger over its last ``measured_days`` days, not estimated.
    measured: tuple[str, ...] = field(default=())
    measured_days: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Validate ``data`` strictly; raise :class:`ProfileError` listing every bad field."""
        if not isinstance(data, Mapping):
            raise ProfileError([FieldError("profile", data, "a JSON object of fields")])
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        known = set(cls.__dataclass_fields__)
        for name in sorted(set(data) - known):
            errors.append(
                FieldError(name, data[name], "no such field; known: " + ", ".join(sorted(known)))
            )
        for name in sorted(REQUIRED - set(data)):
            errors.append(FieldError(name, None, _describe(name), missing=True))
        for name, value in data.items():
            if name not in known:
                continue
            checked = _check_field(name, value)
            if isinstance(checked, FieldError):
                errors.append(checked)
            else:
                values[name] = checked
        if errors:
            raise ProfileError(errors)
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> Profile:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProfileError(
                [FieldError("profile", text[:40], f"valid JSON ({exc.msg})")]
            ) from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        text = Path(path).read_text(encoding="utf-8")  # pragma: no mutate (utf-8: the default here)
        return cls.from_json(text)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict that :meth:`from_dict` accepts back."""
        data = asdict(self)
        for name in ("channels", "value_add", "assumed", "measured"):
            data[name] = list(data[name])
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def _describe(name: str) -> str:
    """What a required field accepts, for a 'missing' error."""
    if name in NUMBER_FIELDS:
        return NUMBER_FIELDS[name].describe()
    if name in CHOICE_FIELDS:
        return "one of " + ", ".join(CHOICE_FIELDS[name])
    return "a list of: " + ", ".join(LIST_FIELDS[name])


def _check_field(name: str, value: Any) -> Any:
    """The validated value for one field, or a FieldError."""
    if name in NUMBER_FIELDS:
        return _check_number(name, value, NUMBER_FIELDS[name])
    if name in CHOICE_FIELDS:
        allowed = CHOICE_FIELDS[name]
        if isinstance(value, str) and value in allowed:
            return value
        return FieldError(name, value, "one of " + ", ".join(allowed))
    if name in LIST_FIELDS:
        return _check_list(name, value, LIST_FIELDS[name])
    if name in BOOL_FIELDS:
        if isinstance(value, bool):
            return value
        return FieldError(name, value, "true or false")
    if name == "currency":
        codes = tuple(load_benchmarks().cny_per_unit)
        if isinstance(value, str) and value in codes:
            return value
        return FieldError(name, value, "an ISO 4217 currency code, one of " + ", ".join(codes))
    if name == "shop_name":
        if value is None or (isinstance(value, str) and 0 < len(value) <= SHOP_NAME_MAX):
            return value
        return FieldError(name, value, f"text of 1 to {SHOP_NAME_MAX} characters, or null")
    if name == "assumed":
        return _check_list(name, value, tuple(NUMBER_FIELDS))
    if name == "measured":
        return _check_list(name, value, MEASURABLE)
    if name == "measured_days":
        if value is None or (
            isinstance(value, int)
            and not isinstance(value, bool)
            and 1 <= value <= MEASURED_DAYS_MAX
        ):
            return value
        return FieldError(
            name, value, f"a whole number of days from 1 to {MEASURED_DAYS_MAX}, or null"
        )
    raise AssertionError(f"field {name} has no check")  # pragma: no cover, no mutate


def _check_number(name: str, value: Any, bounds: NumberRange) -> Any:
    optional = name not in REQUIRED
    if value is None and optional:
        return None
    wrong = FieldError(name, value, bounds.describe() + (", or null" if optional else ""))
    if isinstance(value, bool) or not isinstance(value, int | float):
        return wrong
    # An integer is always finite; one too large for a float (JSON allows any length) is
    # refused by the bounds below.
    if isinstance(value, float) and not math.isfinite(value):
        return wrong
    if bounds.integer and value != int(value):
        return wrong
    below = value < bounds.low if bounds.low_inclusive else value <= bounds.low
    if below or value > bounds.high:
        return wrong
    return int(value) if bounds.integer else float(value)


def _check_list(name: str, value: Any, allowed: tuple[str, ...]) -> Any:
    expected = "a list without repeats of: " + ", ".join(allowed)
    if not isinstance(value, list | tuple):
        return FieldError(name, value, expected)
    if not all(isinstance(v, str) and v in allowed for v in value) or len(set(value)) != len(value):
        return FieldError(name, value, expected)
    return tuple(value)
