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
    """The sales ledger's #tags, counting words, repeat intervals and texts (sales.toml).

    Checked as it is read: every channel and category of the check-up and nothing else, a
    tag naming one channel only, whole positive intervals, every text in both languages
    with the placeholders it needs."""
    from advice.profile import CATEGORIES, CHANNELS  # profile reads this module's benchmarks

    raw = read_toml(path)
    where = path.name
    tags = raw["channel_tags"]
    if set(tags) != set(CHANNELS):
        raise ValueError(f"{where}: channel_tags must list exactly {list(CHANNELS)}")
    seen = {channel: channel for channel in CHANNELS}  # a channel's own name is a tag too
    for channel, words in tags.items():
        for word in words:
            if seen.setdefault(word.casefold(), channel) != channel:
                raise ValueError(f"{where}: #{word} names two channels")
    if not all(isinstance(w, str) and w for w in raw["quantity"]["measure_words"]):
        raise ValueError(f"{where}: quantity.measure_words must be words")
    intervals = raw["repeat_interval_days"]
    if set(intervals) != set(CATEGORIES):
        raise ValueError(f"{where}: repeat_interval_days must list exactly {list(CATEGORIES)}")
    if not all(isinstance(days, int) and days > 0 for days in intervals.values()):
        raise ValueError(f"{where}: repeat_interval_days must be whole days above 0")
    follow_up = raw["follow_up"]
    _check_texts(where, "follow_up", follow_up, ("{name}", "{items}"))
    _check_texts(where, "follow_up.no_items", follow_up["no_items"], ("{name}",))
    for reason, texts in raw["rejection"].items():
        _check_texts(where, f"rejection.{reason}", texts, ())
    return raw


def _check_texts(where: str, key: str, texts: dict[str, Any], needs: tuple[str, ...]) -> None:
    """Every language has a text, and each text holds the placeholders ``needs``."""
    for lang in LANGUAGES:
        text = texts.get(lang)
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{where}: {key} has no text for {lang}")
        missing = [name for name in needs if name not in text]
        if missing:
            raise ValueError(f"{where}: {key}.{lang} lacks {missing}")


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
