"""Read Chinese numerals the way sellers type them: 三百, 一万五, 一点二五, 两三个.

:mod:`advice.numbers` calls :func:`read_chinese` for one numeral and :func:`read_pair` for
two neighbouring digits; everything around the numeral (words, ranges, percent) is its job.

Chinese numerals
    Digits 零〇一二两三四五六七八九 with 十百千万亿: ``三`` 3, ``零`` 0, ``十`` 10, ``十五`` 15,
    ``二十`` 20, ``三百`` 300, ``两千`` 2000, ``一百零五`` 105, ``两万三千`` 23000,
    ``一亿五千万`` 150000000. A lone digit right after a unit is the next unit down, as in
    speech: ``一万五`` 15000, ``三千五`` 3500, ``两百五`` 250, ``一百一`` 110.
    A decimal with ``点``, its digits read one by one, and an optional multiplier: ``一点五``
    1.5, ``一点二五`` 1.25, ``零点五`` 0.5, ``零点零五`` 0.05, ``十二点五`` 12.5,
    ``一千二点五`` 1200.5, ``一点五万`` 15000. Malformed sequences (``三三``, ``百``,
    ``十十``) are rejected.

Neighbouring digits
    Two neighbouring digits are a range, as in speech: ``两三`` 2-3, ``一两`` 1-2, ``三五``
    3-5, ``三四十`` 30-40, ``两三百`` 200-300.
"""

import re
from collections.abc import Iterable
from decimal import Decimal

_CN_DIGITS = dict(
    zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True)
)
_CN_ZEROS = frozenset("零〇")
_CN_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG_UNITS = (("亿", 10**8), ("万", 10**4))
CN_CHARS = "".join(_CN_DIGITS) + "十百千万亿点"

# The Chinese multipliers a number may carry: 1.2万, 3千, 一点五万.
CN_MULTIPLIERS = {
    "万": 10**4,
    "十万": 10**5,
    "百万": 10**6,
    "千万": 10**7,
    "亿": 10**8,
    "万亿": 10**12,
    "千": 10**3,
    "百": 10**2,
}


def alternation(words: Iterable[str]) -> str:
    """Each word before its prefixes, so that 'million' wins over 'm' and '千万' over '千'.

    Reverse order alone does it: a word sorts after every prefix of itself.
    """
    return "|".join(re.escape(word) for word in sorted(words, reverse=True))


_CN_FRACTION_RE = re.compile(
    rf"(?P<digits>[{''.join(_CN_DIGITS)}]+)(?P<mult>{alternation(CN_MULTIPLIERS)})?"
)
_CN_DIGIT_AND_UNITS_RE = re.compile(r"[一二两三四五六七八九][十百千万亿]*[百千万亿]")

# 两三个 is two or three: a range of two neighbouring digits (and the idiomatic 三五).
_CN_PAIRS = {
    "一两": (1, 2), "一二": (1, 2), "两三": (2, 3), "二三": (2, 3), "三四": (3, 4),
    "四五": (4, 5), "五六": (5, 6), "六七": (6, 7), "七八": (7, 8), "八九": (8, 9),
    "三五": (3, 5),
}  # fmt: skip
_CN_PAIR_UNITS = {"": 1, "十": 10, **CN_MULTIPLIERS}
_CN_PAIR_RE = re.compile(
    f"(?P<pair>{alternation(_CN_PAIRS)})(?P<unit>{alternation(_CN_PAIR_UNITS)})"
)


def read_pair(text: str) -> tuple[int, int] | None:
    """两三 -> (2, 3), 两三百 -> (200, 300), 三五千 -> (3000, 5000); None otherwise."""
    match = _CN_PAIR_RE.fullmatch(text)
    if match is None:
        return None
    low, high = _CN_PAIRS[match["pair"]]
    factor = _CN_PAIR_UNITS[match["unit"]]
    return low * factor, high * factor


def read_chinese(text: str) -> tuple[Decimal, int | None] | None:
    """A Chinese numeral as (base, multiplier): 五万 is (5, 10000) so 三到五万 can share it.

    A lone digit has no multiplier (it may borrow one); any other numeral counts as having
    its own (multiplier 1), so it neither borrows nor lends.
    """
    if text in _CN_DIGITS:
        return Decimal(_CN_DIGITS[text]), None
    value = _chinese_decimal(text) if "点" in text else _chinese_integer(text)
    if value is None:
        return None
    if _CN_DIGIT_AND_UNITS_RE.fullmatch(text):
        digit = _CN_DIGITS[text[0]]
        return Decimal(digit), int(value) // digit
    return Decimal(value), 1


def _chinese_decimal(text: str) -> Decimal | None:
    """一点五 -> 1.5, 十二点五 -> 12.5, 一点五万 -> 15000."""
    whole, _, rest = text.partition("点")
    match = _CN_FRACTION_RE.fullmatch(rest)
    if not whole or match is None or "万" in whole or "亿" in whole:
        return None
    integer = _chinese_integer(whole)
    if integer is None:
        return None
    fraction = "".join(str(_CN_DIGITS[char]) for char in match["digits"])
    multiplier = CN_MULTIPLIERS[match["mult"]] if match["mult"] else 1
    return Decimal(f"{integer}.{fraction}") * multiplier


def _chinese_integer(text: str) -> int | None:
    """Split on 亿 then 万; a lone digit after a big unit is the next unit down (一万五)."""
    for unit, factor in _CN_BIG_UNITS:
        head, found, tail = text.partition(unit)
        if not found:
            continue
        if unit in tail:
            return None
        high = _chinese_integer(head)  # None for an empty head, as for any non-numeral
        if not high:
            return None
        low: int | None
        if not tail:
            low = 0
        elif tail in _CN_DIGITS and tail not in _CN_ZEROS:
            low = _CN_DIGITS[tail] * factor // 10
        else:
            # Below ``factor`` when read: the tail holds no unit as big (refused above).
            low = _chinese_integer(tail[1:] if tail[0] in _CN_ZEROS else tail)
            if low is None:
                return None
        return high * factor + low
    return _chinese_section(text)


def _chinese_section(text: str) -> int | None:
    """A numeral below 10000 built from digits and 十百千, e.g. 三千零五十, 两百五, 十五."""
    if not text:
        return None
    if text in _CN_ZEROS:
        return 0
    value = 0
    digit: int | None = None
    last_unit = 10**4
    after_zero = after_unit = False
    for char in text:
        if char in _CN_ZEROS:
            if digit is not None or value == 0 or after_zero:
                return None
            after_zero, after_unit = True, False
        elif char in _CN_DIGITS:
            if digit is not None:
                return None
            digit = _CN_DIGITS[char]
        elif char in _CN_SMALL_UNITS:
            unit = _CN_SMALL_UNITS[char]
            if unit >= last_unit or (digit is None and unit != 10):
                return None
            value += (1 if digit is None else digit) * unit
            last_unit, digit = unit, None
            after_zero, after_unit = False, True
        else:
            return None
    if digit is not None:
        return value + digit * (last_unit // 10 if after_unit else 1)
    return None if after_zero else value
