"""Parse numbers the way sellers type them in a chat, in English and Chinese, and in the
other languages' own forms.

``parse_number`` turns one short reply ("约300人", "1.2k", "10-20%", "三百") into a
``ParsedNumber`` or returns ``None``. It never raises and never returns a non-finite value,
so callers only have to range-check the result.

Clean-up done first
    Text longer than 200 characters is rejected outright. Zero-width characters
    (U+200B..U+200D, U+FEFF, U+2060) and direction marks (U+200E, U+200F, U+202A..U+202E,
    U+2066..U+2069) are removed; full-width ASCII (``１２００``, ``，``, ``．``, ``％``,
    ``～``, ``－``) and ``￥ ￡`` become their ASCII forms; dashes (``‐ ‒ – — ― − ﹣``) become
    ``-`` and ``〜 ∼`` become ``~``; a few traditional characters (萬 億 兩 點 約 個 單 塊 週)
    become simplified; any run of whitespace becomes one space; case is ignored.

A number (Arabic digits)
    ``1200``, ``1,200`` (commas only in groups of three), ``1 200`` (a single space followed
    by exactly three digits is a thousands group, so ``100 200`` is 100200 but ``12 34`` is
    rejected), ``1200.50``, ``0.5``, ``.5``, a sign directly in front (``-5``, ``+5``).
    Scientific notation, ``NaN`` and ``inf`` are not numbers here.

A multiplier right after the digits (one optional space allowed)
    ``k``/``thousand`` (1e3), ``m``/``million`` (1e6, "m" is million, never minutes or
    metres), ``w``/``万`` (1e4), ``十万`` (1e5), ``百万`` (1e6), ``千万`` (1e7), ``亿`` (1e8),
    ``万亿`` (1e12), ``千`` (1e3), ``百`` (1e2): ``1.2k``, ``3M``, ``1.2w``, ``1.2万``, ``3千``.
    ``1万5`` style mixtures are not supported.

Chinese numerals
    ``三百``, ``一万五``, ``一点二五``, ``两三百``...: read by :mod:`advice.chinese_numbers`,
    which lists what it accepts.

Percent
    ``30%``, ``30 %``, ``３０％``, ``30 percent``/``per cent``/``pct``, ``百分之三十``;
    the value stays 30 and ``percent`` is set.

Ranges
    Two amounts joined by ``-`` (or any dash), ``~``, ``to``, ``or``, ``到``, ``至``, ``或``
    or ``或者``, with optional spaces: ``100-200``, ``6 or 7``, ``100 - 200``, ``100–200``,
    ``100～200``, ``100到200``, ``1k-2k``, ``10%-20%``, ``10-20%``, ``三到五``. ``value`` is
    the midpoint, ``low``/``high`` the bounds. A bare low end borrows the high end's
    multiplier (``1-2万`` is 10000-20000, ``5-20k`` is 5000-20000, ``三到五万`` is
    30000-50000) unless that would put it above the high end (``500-1k`` is 500-1000). A
    Chinese low end borrows only when it is one digit and the high end is one digit plus
    units (``两到三千``). Two neighbouring Chinese digits are a range too, as in speech:
    ``两三`` 2-3, ``一两`` 1-2, ``三五`` 3-5, ``三四十`` 30-40, ``两三百`` 200-300. A ``%``
    on either end makes the whole range a percentage. A range whose low end exceeds its high
    end is rejected (None), not swapped: "200-100" is more likely a typo than a range. Units
    and currency are written once around the whole range (``100-200人``), not on each end.

Words allowed around the number (any number of them, in any order; nothing else)
    Approximation, which sets ``approximate``: before - about, around, approx, approx.,
    approximately, roughly, circa, ``~``, ``≈``, 约, 大约, 大概, 大致, 差不多, 估计; after -
    左右, 上下, 前后, 多, 余, ``+``, or so, ish, -ish, approx, approx.
    Currency, before: ``$ US$ HK$ S$ A$ C$ NT$ ¥ € £ ₱ ₹ ₩ ฿`` and RMB, CNY, USD, HKD, SGD,
    EUR, GBP, MYR, PHP, RM, 人民币; after: 元, 块, 块钱, 元钱, 美元, 美金, 港币, 港元, 人民币,
    新币, yuan, dollar(s), buck(s), euro(s), pound(s), ringgit, peso(s), baht, ``$ ¥ €`` and
    the currency codes.
    Counts, after: people, person(s), ppl, customer(s), buyer(s), client(s), follower(s),
    fan(s), order(s), sale(s), item(s), piece(s), pc(s), unit(s), time(s), visitor(s),
    view(s), like(s), post(s), each; 人 个人 位 名 个 件 单 笔 次 份 条 盒 瓶 包 套 篇 粉 粉丝
    订单 客户 顾客 买家 (some with 个/位 in front), and per-unit forms per person/item/piece/
    order/customer, /人 每人 一人 (likewise 个 件 单 份 位).
    Units of time (2天, 48h, half an hour, 3 per day, 每周300单) are kept in ``unit`` and
    ``per``, never dropped; the words are listed in :mod:`advice.units`.
    Words that mean something else are deliberately absent (毛 would change the value,
    "over"/"at least" are not the number). An English word must not run into other letters
    ("5kpeople" is rejected) and a word starting with 一 is not split off another Chinese
    numeral (十一个月 is 11) nor swallow the whole text (一个月 alone is 1).

Everything else returns None: empty or blank text, no digits, several numbers ("3 or 4
or 5", "12 34"), malformed digits ("1,2,,3", "1..2", "--5"), unknown words ("banana 5"),
emoji, magnitudes above 1e15.

The seller's language (``lang``)
    English and Chinese (the default, and any language not known) read all of the above,
    whichever of the two the seller speaks. Russian (ru), Spanish (es), Brazilian Portuguese
    (pt-BR), Indonesian (id) and Persian (fa) read it too, with their own separators from
    Babel and their words from data/numbers.toml (:mod:`advice.locales`): Persian and
    Arabic-Indic digits, ``٫`` and ``٬``; ``1.200`` is 1200 and ``1,5`` is 1.5 where the
    decimal separator is a comma; ``1,2 тыс``, ``1,2 jt``, ``1,2 mil``, ``۱٫۲ میلیون``;
    currency words (``₽ руб р. Rp R$ تومان``; ``ریال`` is a tenth of a toman). A number whose
    separators read two ways (``1,200`` in Spanish: 1.2, or 1200 as English writes it) is
    read the language's way and carries the other reading in ``alternative``: ask back.
    docs/architecture.md, "Numbers in each language", lists every decision.
"""

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache

from advice.chinese_numbers import CN_CHARS, CN_MULTIPLIERS, alternation, read_chinese, read_pair
from advice.locales import NATIVE_DIGITS, NumberLocale, format_decimal, locale_for
from advice.units import (
    DURATION_AFTER,
    HALF,
    LONE_HALF,
    PER,
    RATE_AFTER,
    RATE_BEFORE,
    UNIT,
    english_halves,
)

MAX_TEXT_LENGTH = 200
MAX_MAGNITUDE = Decimal("1e15")


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    """A number read from a seller's message, with what the text said about it."""

    value: float
    low: float | None = None
    high: float | None = None
    percent: bool = False
    approximate: bool = False
    unit: str | None = None  # a length of time the text gave: "2天" is 2 with unit "day"
    per: str | None = None  # the period of a rate: "3 per day" is 3 with per "day"
    # The other reading of a text its language's separators leave open ("1,200" in Spanish is
    # 1.2, or 1200 as English writes it): the bot should ask back before using the value.
    alternative: float | None = None

    @property
    def is_range(self) -> bool:
        """True when the text gave two bounds rather than one number."""
        return self.low is not None and self.high is not None

    @property
    def ambiguous(self) -> bool:
        """True when the text reads as another number too (see ``alternative``)."""
        return self.alternative is not None


# --- clean-up ---------------------------------------------------------------------------------

_INVISIBLE = (
    [0x200B, 0x200C, 0x200D, 0xFEFF, 0x2060, 0x200E, 0x200F]
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
)
_TRANSLATION: dict[int, str | None] = {
    **{code: None for code in _INVISIBLE},
    **{code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)},  # full-width ASCII
    0x3000: " ",
    0xFFE5: "¥",
    0xFFE1: "£",
    **{ord(dash): "-" for dash in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63"},
    **{ord(tilde): "~" for tilde in "\u301c\u223c"},
    **{ord(old): new for old, new in zip("萬億兩點約個單塊週", "万亿两点约个单块周", strict=True)},
}
_WHITESPACE = re.compile(r"\s+")

# --- the number itself ------------------------------------------------------------------------

_MULTIPLIERS = {
    "k": 10**3,
    "thousand": 10**3,
    "m": 10**6,
    "million": 10**6,
    "w": 10**4,
    **CN_MULTIPLIERS,
}


# Each alternative is told apart by its separator, so the engine never backtracks far.
_DIGITS = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,3}(?: [0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|\.[0-9]+"


def _amount_patterns(multipliers: dict[str, int]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """One amount ('1.2k', '三百', '30%') and a range of two, with these multipliers."""
    mult = alternation(multipliers)
    amount = rf"[+-]?(?:(?:{_DIGITS}) ?(?:{mult})?|[{CN_CHARS}]+) ?%?"
    amount_re = re.compile(
        rf"(?P<sign>[+-])?(?:(?P<num>{_DIGITS}) ?(?P<mult>{mult})?|(?P<cn>[{CN_CHARS}]+))"
        r" ?(?P<pct>%)?"
    )
    range_re = re.compile(rf"(?P<low>{amount}) ?(?:-|~|to|or|到|至|或者|或) ?(?P<high>{amount})")
    return amount_re, range_re


# --- words around the number ------------------------------------------------------------------

_APPROX, _PERCENT, _NEUTRAL = "approximate", "percent", "neutral"
_SCALE = "scale:"  # a money word worth a part of the unit: "scale:0.1" (a rial, in toman)

# Word lists are space-separated; the few words that hold a space are spelled out apart.
_CURRENCY_CODES = "rmb cny usd hkd sgd eur gbp myr php".split()
_ZH_PER_UNITS = "人 个 件 单 份 位".split()
_EN_COUNTS = """
    people person persons ppl customer customers buyer buyers client clients follower
    followers fan fans order orders sale sales item items piece pieces pc pcs unit units
    time times visitor visitors view views like likes post posts each
""".split()
_ZH_COUNTS = """
    人 个人 位 名 个 件 单 笔 次 份 条 盒 瓶 包 套 篇 粉 粉丝 个粉丝 订单 个订单 客户 个客户
    位客户 顾客 位顾客 买家 个买家
""".split()

_APPROX_BEFORE = """
    about around approx approx. approximately roughly circa ~ ≈ 约 大约 大概 大致 差不多 估计
""".split()
_APPROX_AFTER = ["or so", *"左右 上下 前后 多 余 + ish -ish approx approx.".split()]
_WITHIN_BEFORE, _WITHIN_AFTER = ["within"], "内 以内 之内".split()  # "2小时内": within 2 hours
_CURRENCY_BEFORE = "$ us$ hk$ s$ a$ c$ nt$ ¥ € £ ₱ ₹ ₩ ฿ rm 人民币".split()
_CURRENCY_AFTER = """
    元 块 块钱 元钱 美元 美金 港币 港元 人民币 新币 yuan dollar dollars buck bucks euro euros
    pound pounds ringgit peso pesos baht $ ¥ €
""".split()
_PER_UNIT_AFTER = [
    *(f"per {what}" for what in "person item piece order customer".split()),
    *(f"{per}{unit}" for unit in _ZH_PER_UNITS for per in ("/", "每", "一")),
]

_PREFIXES: dict[str, str] = {
    **dict.fromkeys(_APPROX_BEFORE, _APPROX),
    "百分之": _PERCENT,
    **dict.fromkeys(_CURRENCY_BEFORE + _CURRENCY_CODES + _WITHIN_BEFORE, _NEUTRAL),
    **RATE_BEFORE,
}
_SUFFIXES: dict[str, str] = {
    **dict.fromkeys(_APPROX_AFTER, _APPROX),
    **dict.fromkeys(["per cent", "percent", "pct"], _PERCENT),
    **dict.fromkeys(
        _CURRENCY_AFTER
        + _CURRENCY_CODES
        + _EN_COUNTS
        + _ZH_COUNTS
        + _PER_UNIT_AFTER
        + _WITHIN_AFTER,
        _NEUTRAL,
    ),
    **DURATION_AFTER,
    **RATE_AFTER,
}


def _peeler(words: dict[str, str], *, reverse: bool) -> re.Pattern[str]:
    """Match one known word at the start of the text (of the reversed text for suffixes).

    A word must not run into letters ('5kpeople' is not '5k people'), a word starting with
    a Chinese numeral must not be cut from another numeral ('十一个月' is 11 months), and a
    word holding a numeral must leave something behind ('一个月' alone is 1, not nothing).
    """
    parts = []
    for word in sorted(words, key=len, reverse=True):
        key = word[::-1] if reverse else word
        inner = key[-1]
        if "a" <= inner <= "z":
            guard = "(?![a-z])"
        elif inner.isalpha() and inner.lower() != inner.upper():  # Cyrillic, accented Latin
            guard = r"(?![^\W\d_])"
        elif inner in CN_CHARS:
            guard = f"(?=[^{CN_CHARS}])"
        elif any(char in CN_CHARS for char in word):
            # 一天3单 is 3 a day, but 一天半 is a day and a half and 一天内 within a day:
            # a period before the number is followed by it (or by 约, 大概...).
            guard = "(?=.)" if reverse else f"(?=[0-9.+ ~≈约大差估{CN_CHARS}-])"
        else:
            guard = ""
        parts.append(re.escape(key) + guard)
    return re.compile(f"(?P<word>{'|'.join(parts)}) ?")


@dataclass(frozen=True, slots=True)
class _Grammar:
    """The words and patterns one language is read with."""

    multipliers: dict[str, int]
    amount_re: re.Pattern[str]
    range_re: re.Pattern[str]
    prefixes: dict[str, str]
    prefix_re: re.Pattern[str]
    suffix_re: re.Pattern[str]
    suffix_kinds: dict[str, str]
    translation: dict[int, str | None]
    locale: NumberLocale | None = None


def _grammar_of(
    multipliers: dict[str, int],
    prefixes: dict[str, str],
    suffixes: dict[str, str],
    translation: dict[int, str | None],
    locale: NumberLocale | None = None,
) -> _Grammar:
    amount_re, range_re = _amount_patterns(multipliers)
    return _Grammar(
        multipliers,
        amount_re,
        range_re,
        prefixes,
        _peeler(prefixes, reverse=False),
        _peeler(suffixes, reverse=True),
        {word[::-1]: kind for word, kind in suffixes.items()},
        translation,
        locale,
    )


# English and Chinese (and any language not in data/numbers.toml): the words above.
_TODAY = _grammar_of(_MULTIPLIERS, _PREFIXES, _SUFFIXES, _TRANSLATION)


@lru_cache(maxsize=64)
def _grammar(lang: str) -> _Grammar:
    """The grammar of a language: English and Chinese's words plus its own (numbers.toml)."""
    locale = locale_for(lang)
    if locale is None:
        return _TODAY
    multipliers = {
        word: value for word, value in _MULTIPLIERS.items() if word not in locale.not_multipliers
    }
    multipliers.update(locale.multipliers)
    money = {
        **dict.fromkeys(locale.currency, _NEUTRAL),
        **{word: f"{_SCALE}{value}" for word, value in locale.currency_scale.items()},
    }
    prefixes = {**_PREFIXES, **money, **dict.fromkeys(locale.approximately, _APPROX)}
    suffixes = {**_SUFFIXES, **money}
    # Native digits; the Arabic decimal separator is the language's own, and the Arabic
    # thousands separator is ',' where the decimal is '.' and a space (a group) elsewhere.
    native = {**NATIVE_DIGITS, 0x066B: locale.decimal}
    native[0x066C] = "," if locale.decimal == "." else " "
    return _grammar_of(multipliers, prefixes, suffixes, {**_TRANSLATION, **native}, locale)


# --- parsing ----------------------------------------------------------------------------------


def parse_number(text: str, lang: str = "en") -> ParsedNumber | None:
    """Parse a number as a seller types it; None when the text holds no single number.

    ``lang`` is the seller's language: English and Chinese (and a language not known) read
    as above; the others read their own separators, digits and words (:func:`_in_locale`).
    Never raises: a chat message is untrusted input and 'not a number' is an answer.
    """
    if len(text) > MAX_TEXT_LENGTH:
        return None
    grammar = _grammar(lang)
    core = _WHITESPACE.sub(" ", text.translate(grammar.translation)).strip().lower()
    if grammar.locale is None or grammar.locale.decimal == ".":
        return _parse_core(core, grammar)
    readings = _in_locale(core, grammar.locale)
    if readings is None:
        return None
    found = _parse_core(readings[0], grammar)
    if found is None or readings[1] is None:
        return found
    other = _parse_core(readings[1], grammar)
    if other is None or other.value == found.value:
        return found
    return replace(found, alternative=other.value)


def _parse_core(core: str, grammar: _Grammar) -> ParsedNumber | None:
    """A cleaned-up text with ASCII digits and '.' decimals, read with a grammar."""
    said = _Said()
    while (match := grammar.prefix_re.match(core)) is not None:
        said.note(grammar.prefixes[match["word"]])
        core = core[match.end() :]
    core = english_halves(core)
    backwards = core[::-1]
    while (match := grammar.suffix_re.match(backwards)) is not None:
        said.note(grammar.suffix_kinds[match["word"]])
        backwards = backwards[match.end() :]
    core = backwards[::-1].strip()
    if not said.consistent:
        return None
    unit, per = said.unit, said.per
    if said.halves:  # 半小时 alone; 一个半小时, 两天半 after a whole number
        if said.halves != [not core] or said.scale != 1:
            return None
        whole = _read_amount(core, grammar) if core else (Decimal(0), None, False)
        if whole is None or whole[2] or whole[0] < 0 or whole[0] != int(whole[0]):
            return None
        value = whole[0] * (whole[1] or 1) + Decimal("0.5")
        return ParsedNumber(_to_float(value), approximate=said.approximate, unit=unit)

    single = _read_amount(core, grammar)
    if single is not None:
        base, multiplier, has_percent = single
        value = base * (multiplier or 1) * said.scale
        if abs(value) > MAX_MAGNITUDE:
            return None
        return ParsedNumber(
            _to_float(value),
            percent=said.percent or has_percent,
            approximate=said.approximate,
            unit=unit,
            per=per,
        )
    found = _read_pair(core, said.scale) or _read_range(core, grammar, said.scale)
    if found is None:
        return None
    return replace(
        found,
        percent=said.percent or found.percent,
        approximate=said.approximate,
        unit=unit,
        per=per,
    )


# Digits with dots and commas between them, as a language with a decimal comma writes them.
# A leading separator (",5") only at the start of a word: "Rp.50.000" is Rp. and 50.000.
_LOCALE_DIGITS = re.compile(r"(?:(?<![^\s+~-])[.,])?[0-9]+(?:[.,][0-9]+)*")
_DOT_GROUPS = re.compile(r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+")
_COMMA_GROUPS = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+")
_ENGLISH_GROUP = re.compile(r"[1-9][0-9]{0,2},[0-9]{3}")


def _in_locale(core: str, locale: NumberLocale) -> tuple[str, str | None] | None:
    """The text with each number written as English does without groups ('1.200,5' ->
    '1200.5'), for a language whose decimal separator is a comma; and the other reading
    when a number reads two ways ('1,200': 1.2 here, 1200 in English), else None.

    None when a number is malformed in both conventions ('1.2.3', '1,2,3', '1.200,5.5').
    How each form is read is in docs/architecture.md, "Numbers in each language".
    """
    chosen: list[str] = []
    other: list[str] = []
    ambiguous = False
    last = 0
    for match in _LOCALE_DIGITS.finditer(core):
        reading = _locale_digits(match.group(), locale)
        if reading is None:
            return None
        between = core[last : match.start()]
        chosen += [between, reading[0]]
        other += [between, reading[1] or reading[0]]
        ambiguous = ambiguous or reading[1] is not None
        last = match.end()
    chosen.append(core[last:])
    other.append(core[last:])
    return "".join(chosen), "".join(other) if ambiguous else None


def _locale_digits(token: str, locale: NumberLocale) -> tuple[str, str | None] | None:
    """One number of digits, dots and commas: (its reading, the other reading or None)."""
    commas, dots = token.count(","), token.count(".")
    if not commas and not dots:
        return token, None
    if commas and dots:  # both: the last one is the decimal separator, in either convention
        whole, decimal, fraction = token.rpartition(
            "," if token.rfind(",") > token.rfind(".") else "."
        )
        groups = _DOT_GROUPS if decimal == "," else _COMMA_GROUPS
        if not groups.fullmatch(whole):
            return None
        return f"{whole.replace('.', '').replace(',', '')}.{fraction}", None
    if commas:
        if commas == 1:  # the decimal comma; "1,200" could be English's 1200
            whole, _, fraction = token.partition(",")
            english = token.replace(",", "") if _ENGLISH_GROUP.fullmatch(token) else None
            return f"{whole}.{fraction}", english
        # several commas can only be English groups: "1,200,000"
        return (token.replace(",", ""), None) if _COMMA_GROUPS.fullmatch(token) else None
    if _DOT_GROUPS.fullmatch(token):  # "1.200", "1.200.000": groups of thousands
        grouped = token.replace(".", "")
        if locale.dot_groups_ambiguous and dots == 1:
            return grouped, token  # Russian types the dot as a decimal point too
        return grouped, None
    # a dot not followed by exactly three digits is no group: a decimal point ("1.5")
    return (token, None) if dots == 1 else None


@dataclass(slots=True)
class _Said:
    """What the words around a number said about it."""

    approximate: bool = False
    percent: bool = False
    halves: list[bool] = field(default_factory=list)  # for each half: whether it stands alone
    units: set[str] = field(default_factory=set)
    pers: set[str] = field(default_factory=set)
    scale: Decimal = Decimal(1)  # what a money word makes the number worth (a rial: 0.1)

    def note(self, kind: str) -> None:
        if kind.startswith(_SCALE):
            self.scale *= Decimal(kind.removeprefix(_SCALE))
        elif kind == _APPROX:
            self.approximate = True
        elif kind == _PERCENT:
            self.percent = True
        elif kind.startswith(PER):
            self.pers.add(kind.removeprefix(PER))
        elif kind.startswith((HALF, LONE_HALF)):
            self.halves.append(kind.startswith(LONE_HALF))
            self.units.add(kind.partition(":")[2])
        elif kind.startswith(UNIT):
            self.units.add(kind.removeprefix(UNIT))

    @property
    def consistent(self) -> bool:
        """One length of time or one rate at most ('2 hours a day' is two things)."""
        return len(self.units) + len(self.pers) <= 1

    @property
    def unit(self) -> str | None:
        return next(iter(self.units), None)

    @property
    def per(self) -> str | None:
        return next(iter(self.pers), None)


def _read_pair(core: str, scale: Decimal = Decimal(1)) -> ParsedNumber | None:
    """Two neighbouring Chinese digits as a range: 两三百 -> 200 to 300."""
    pair = read_pair(core)
    if pair is None:
        return None
    low, high = pair[0] * scale, pair[1] * scale
    return ParsedNumber(_to_float((low + high) / 2), _to_float(low), _to_float(high))


def _read_range(core: str, grammar: _Grammar, scale: Decimal = Decimal(1)) -> ParsedNumber | None:
    """Two amounts around a separator; the low end may borrow the high end's multiplier."""
    match = grammar.range_re.fullmatch(core)
    if match is None:
        return None
    low_amount = _read_amount(match["low"], grammar)
    high_amount = _read_amount(match["high"], grammar)
    if low_amount is None or high_amount is None:
        return None
    low_base, low_multiplier, low_percent = low_amount
    high_base, high_multiplier, high_percent = high_amount
    high = high_base * (high_multiplier or 1)
    low = low_base * (low_multiplier or 1)
    if low_multiplier is None and high_multiplier is not None:
        borrowed = low_base * high_multiplier
        if borrowed <= high:
            low = borrowed
    low, high = low * scale, high * scale
    if low > high or max(abs(low), abs(high)) > MAX_MAGNITUDE:
        return None
    low_float, high_float = _to_float(low), _to_float(high)
    return ParsedNumber(
        _to_float((low + high) / 2),
        low=low_float,
        high=high_float,
        percent=low_percent or high_percent,
    )


def _read_amount(text: str, grammar: _Grammar) -> tuple[Decimal, int | None, bool] | None:
    """One signed amount: (digits, multiplier or None when it has none, percent sign).

    The multiplier is kept apart so that a range's bare low end can borrow it.
    """
    match = grammar.amount_re.fullmatch(text)
    if match is None:
        return None
    if match["num"] is not None:
        base = Decimal(match["num"].replace(",", "").replace(" ", ""))
        multiplier = grammar.multipliers[match["mult"]] if match["mult"] else None
    else:
        chinese = read_chinese(match["cn"])
        if chinese is None:
            return None
        base, multiplier = chinese
    if match["sign"] == "-":
        base = -base
    return base, multiplier, match["pct"] is not None


def _to_float(value: Decimal) -> float:
    """Decimal to float without a negative zero, which would print as '-0'."""
    return float(value) + 0.0


def format_number(value: float, lang: str = "en") -> str:
    """A short human form: 1200 -> '1,200'; 1234.5 -> '1,234.5'; 0.333 -> '0.33'.

    English and Chinese get the same comma-grouped Western digits (what Chinese sellers type
    too). The other languages get their own separators from Babel ('1.234,5' in Spanish,
    '1 234,5' in Russian with a no-break space) and Persian its own digits ('۱٬۲۳۴٫۵').
    """
    if lang not in _TODAY_LANGUAGES and locale_for(lang) is not None:
        return format_decimal(value, lang)
    text = f"{value:,.2f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


_TODAY_LANGUAGES = frozenset({"en", "zh"})
