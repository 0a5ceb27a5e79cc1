"""Loading the data files that drive the advice (benchmarks, rules, questions, texts).

Everything a non-programmer may want to review or adjust lives in TOML files in this
folder; this module is the one place that reads them, and caches what it read.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

DATA_DIR = Path(__file__).resolve().parent
Lever = Literal["traffic", "conversion", "order_value", "repeat"]
LEVERS: tuple[Lever, ...] = ("traffic", "conversion", "order_value", "repeat")  # funnel order
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
def load_sales_data(path: Path = DATA_DIR / "sales.toml") -> dict[str, Any]:
    """The sales ledger's words, repeat intervals and follow-up messages (sales.toml)."""
    return read_toml(path)


PLURAL_FORMS = frozenset({"one", "other"})


@cache
def load_strings(path: Path = DATA_DIR / "strings.toml") -> dict[str, dict[str, Any]]:
    """Interface texts: key -> {language: text}.

    A counted text ("1 more suggestion", "3 more suggestions") has its forms instead of one
    text: ``en = { one = "...", other = "..." }``; a language with one form (Chinese) keeps
    a plain text. :func:`pick_text` chooses."""
    raw = read_toml(path)
    for key, texts in raw.items():
        missing = set(LANGUAGES) - set(texts)
        if missing:
            raise ValueError(f"{path.name}: {key} has no text for {sorted(missing)}")
        for lang, text in texts.items():
            if isinstance(text, dict) and set(text) != PLURAL_FORMS:
                raise ValueError(
                    f"{path.name}: {key}.{lang} needs exactly the forms {sorted(PLURAL_FORMS)}"
                )
    return raw


def plural_form(lang: str, count: float) -> str:
    """The form a count takes: English says "1 suggestion" but "0 / 1.5 / 2 suggestions";
    Chinese has one form ("other")."""
    return "one" if lang == "en" and count == 1 else "other"


def pick_text(texts: dict[str, Any], key: str, lang: str, count: float | None = None) -> str:
    """The text of ``key`` in ``lang``; for a counted text, the form ``count`` takes."""
    text = texts[key][lang]
    if isinstance(text, str):
        return text
    if count is None:
        raise ValueError(f"{key} is a counted text: it needs a count")
    return text[plural_form(lang, count)]
