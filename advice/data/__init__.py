"""Loading the data files that drive the advice (benchmarks, rules, questions, texts).

Everything a non-programmer may want to review or adjust lives in TOML files in this
folder; this module is the one place that reads them, and caches what it read.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent
LEVERS = ("traffic", "conversion", "order_value", "repeat")
LANGUAGES = ("en", "zh")


def read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


@dataclass(frozen=True, slots=True)
class CategoryBenchmark:
    weekly_reach: float
    conversion: float
    repeat_rate: float
    average_order_value: dict[str, float]


@dataclass(frozen=True, slots=True)
class PriceTierFactors:
    reach_factor: float
    conversion_factor: float


@dataclass(frozen=True, slots=True)
class Benchmarks:
    weeks_per_month: float
    category: dict[str, CategoryBenchmark]
    price_tier: dict[str, PriceTierFactors]
    cny_per_unit: dict[str, float]


@cache
def load_benchmarks(path: Path = DATA_DIR / "benchmarks.toml") -> Benchmarks:
    raw = read_toml(path)
    return Benchmarks(
        weeks_per_month=float(raw["weeks_per_month"]),
        category={k: CategoryBenchmark(**v) for k, v in raw["category"].items()},
        price_tier={k: PriceTierFactors(**v) for k, v in raw["price_tier"].items()},
        cny_per_unit={k: float(v) for k, v in raw["cny_per_unit"].items()},
    )


@cache
def load_strings(path: Path = DATA_DIR / "strings.toml") -> dict[str, dict[str, str]]:
    """Interface texts: key -> {language: text}."""
    raw = read_toml(path)
    for key, texts in raw.items():
        missing = set(LANGUAGES) - set(texts)
        if missing:
            raise ValueError(f"{path.name}: {key} has no text for {sorted(missing)}")
    return raw
