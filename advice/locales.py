"""Numbers, money and dates in each language, with Babel's locale data (CLDR).

English and Chinese keep the forms advice/numbers.py has always used; the other languages
(Russian, Spanish, Brazilian Portuguese, Indonesian, Persian) take their separators, digits,
currency layout and dates from Babel, and the words sellers type around a number from
``data/numbers.toml``. These languages are supported by the parser and the formatters only;
what the bot offers is ``advice.data.LANGUAGES``.

Public API
    ``locale_for(lang)``: the :class:`NumberLocale` of a language (None for English, Chinese
    and any language not known, which read as today).
    ``format_decimal(value, lang)``: a number with at most two decimals in a locale.
    ``format_money(amount, currency, lang)``: an amount in a locale, with its currency.
    ``format_day(day, lang, year=False)``: a day as the bot shows it ("5 мар.", "03-05").
    ``NATIVE_DIGITS``: Persian and Arabic-Indic digits, and their separators, to ASCII.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from typing import Any

from advice.data import DATA_DIR, read_toml

# Languages read as they always were (advice/numbers.py's own words and separators).
TODAY = frozenset({"en", "zh"})

# Persian (U+06F0..) and Arabic-Indic (U+0660..) digits, and the Arabic decimal and thousands
# separators (U+066B, U+066C), as ASCII; the Arabic percent sign as "%".
NATIVE_DIGITS: dict[int, str] = {
    **{0x06F0 + digit: str(digit) for digit in range(10)},
    **{0x0660 + digit: str(digit) for digit in range(10)},
    0x066B: ".",
    0x066C: ",",
    0x066A: "%",
}
_TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

# Other spellings of a language's name, to the one data/numbers.toml uses.
_ALIASES = {"pt": "pt-BR", "pt_BR": "pt-BR", "pt-br": "pt-BR", "pt_br": "pt-BR"}


@dataclass(frozen=True, slots=True)
class NumberLocale:
    """How one language writes numbers, from Babel and data/numbers.toml."""

    lang: str
    locale: str  # Babel's name, e.g. "pt_BR"
    decimal: str  # the decimal separator sellers type with ASCII digits: "," or "."
    space_groups: bool  # thousands are grouped with a (no-break) space: "1 200" (Russian)
    multipliers: dict[str, int]
    not_multipliers: frozenset[str]
    currency: tuple[str, ...]
    currency_scale: dict[str, Decimal]
    approximately: tuple[str, ...]
    dot_groups_ambiguous: bool


def _language(lang: str) -> str:
    return _ALIASES.get(lang, lang)


@cache
def _numbers_data() -> dict[str, Any]:
    return read_toml(DATA_DIR / "numbers.toml")


@lru_cache(maxsize=64)
def locale_for(lang: str) -> NumberLocale | None:
    """The language's way of writing numbers; None for English, Chinese and unknown ones."""
    lang = _language(lang)
    raw = _numbers_data()["languages"].get(lang)
    if lang in TODAY or raw is None:
        return None
    from babel.numbers import get_decimal_symbol, get_group_symbol

    return NumberLocale(
        lang=lang,
        locale=raw["locale"],
        # Persian's own decimal separator is ٫ (read as a native symbol); with ASCII digits
        # Persian sellers write the Latin system's, which Babel gives for "latn".
        decimal=get_decimal_symbol(raw["locale"], numbering_system="latn"),
        space_groups=get_group_symbol(raw["locale"], numbering_system="latn").isspace(),
        multipliers={word.lower(): int(value) for word, value in raw["multipliers"].items()},
        not_multipliers=frozenset(raw.get("not_multipliers", ())),
        currency=tuple(word.lower() for word in raw["currency"]),
        currency_scale={
            word.lower(): Decimal(str(value))
            for word, value in raw.get("currency_scale", {}).items()
        },
        approximately=tuple(word.lower() for word in raw.get("approximately", ())),
        dot_groups_ambiguous=bool(raw.get("dot_groups_ambiguous", False)),
    )


def load_numbers_data() -> dict[str, Any]:
    """Read and check data/numbers.toml: every language's locale is one Babel knows."""
    from babel import Locale

    raw = _numbers_data()
    for lang in raw["languages"]:
        found = locale_for(lang)
        if found is None:
            raise ValueError(f"numbers.toml: {lang} is read as today; do not list it")
        Locale.parse(found.locale)
        if not found.multipliers or not found.currency:
            raise ValueError(f"numbers.toml: {lang} needs multipliers and currency words")
    for code, money in raw["currencies"].items():
        Locale.parse(money["home"])
        if not code.isupper() or len(code) != 3:
            raise ValueError(f"numbers.toml: {code} is not a currency code")
    return raw


def _native(text: str, locale: NumberLocale) -> str:
    """Persian digits for Persian; the text as it is elsewhere."""
    return text.translate(_TO_PERSIAN) if locale.lang == "fa" else text


def _babel_symbols(locale: NumberLocale) -> str:
    """The numbering system Babel formats in: Persian's own digits and separators."""
    return "default" if locale.lang == "fa" else "latn"


def format_decimal(value: float | Decimal, lang: str) -> str:
    """A number with at most two decimals, trailing zeros dropped: 1234.5 -> '1.234,5' (es)."""
    locale = locale_for(lang)
    if locale is None:
        raise ValueError(f"{lang} formats numbers as advice.numbers.format_number does")
    from babel.numbers import format_decimal as babel_decimal

    rounded = Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = Decimal(0)  # no "-0"
    text = babel_decimal(
        rounded, format="#,##0.##", locale=locale.locale, numbering_system=_babel_symbols(locale)
    )
    return _native(text, locale)


def format_money(amount: Decimal, currency: str, lang: str) -> str:
    """An amount in the seller's language: '1 200 ₽', 'Rp 1.200', '۵۰٬۰۰۰ تومان'.

    Whole amounts show no decimals; others show the currency's (two for most, none for
    the rupiah, the rial and the toman, whose amounts are rounded). Separators are the
    language's; the symbol and its place are the currency's home country's."""
    locale = locale_for(lang)
    if locale is None:
        raise ValueError(f"{lang} formats money as advice.sales.format_money does")
    from babel import Locale
    from babel.numbers import format_currency, get_currency_precision, get_currency_symbol

    money = _numbers_data()["currencies"].get(currency, {})
    home = Locale.parse(money.get("home", locale.locale))
    digits = int(money.get("digits", get_currency_precision(currency)))
    rounded = amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    whole = rounded == rounded.to_integral_value()
    pattern = str(money.get("pattern") or home.currency_formats["standard"].pattern)
    pattern = pattern.split(";")[0]
    if whole:
        pattern = pattern.replace(".00", "")
    symbol = str(
        money.get(f"symbol_{locale.lang}")
        or money.get("symbol")
        or get_currency_symbol(currency, home)
    )
    text = format_currency(
        abs(rounded) if rounded != 0 else Decimal(0),
        currency,
        format=pattern.replace("¤", "\x00"),  # the symbol goes in below, as chosen here
        locale=locale.locale,
        currency_digits=False,
        numbering_system=_babel_symbols(locale),
    )
    text = _native(text.replace("\x00", symbol).strip(), locale)
    if rounded < 0:
        return f"-{text}"
    return text


def format_day(day: datetime.date, lang: str, *, year: bool = False) -> str:
    """A day as the bot shows it: '03-05' in English and Chinese (as the tables do today),
    '5 мар.', '5 mar', '5 de mar.', '5 Mar', '۵ مارس' elsewhere; with the year if asked."""
    locale = locale_for(lang)
    if locale is None:
        return day.strftime("%y-%m-%d" if year else "%m-%d")
    from babel.dates import format_skeleton

    text = format_skeleton("yMMMd" if year else "MMMd", day, locale=locale.locale)
    return _native(text, locale)
