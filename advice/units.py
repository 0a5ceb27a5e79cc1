"""Units of time in what sellers type: the words for them, and conversion between them.

:mod:`advice.numbers` keeps the unit of time a reply gives ("2天" is 2 with unit "day",
"3 per day" 3 with per "day"); :func:`convert` turns it into the unit a question asks for
(a reply time in hours, stock in weeks, reach per week) or says it does not fit.

What is read (after the number unless said otherwise):
    A length of time (``unit``), after: min, mins, minute(s), h, hr, hrs, hour(s), d, day(s),
    wk(s), week(s), mo, mos, mth(s), month(s), yr(s), year(s); 分钟 小时 个小时 钟头 天 日
    周 星期 个星期 礼拜 个礼拜 月 个月 年: ``2天`` is 2 days, ``48h`` 48 hours. Alone,
    ``an hour``, ``a day``, ``a year`` are one. Halves: ``half an hour``, ``an hour and a
    half``, ``2 and a half hours``, ``半小时``, ``半天``, ``一个半小时``, ``两天半``.
    A rate (``per``), after: per/a/each/every day|week|month|year, /day /week /wk /month /mo
    /year /yr, daily, weekly, monthly, yearly, annually; 每天 一天 /天 (likewise 日 周 星期
    个星期 礼拜 个礼拜 月 个月 年); and before the number: 每周300单, 一天3单.
    One unit of time at most: "2 hours a day" and "3 days 2 hours" are rejected. "Within"
    is the figure itself: ``within 2 hours``, ``2小时内``, ``两天以内``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from advice.numbers import ParsedNumber

# What each unit of time is worth in hours. A month is 30 days and a year 365, as people
# count a reply's "a month" or a stock's "3 months".
HOURS_IN: dict[str, float] = {
    "minute": 1 / 60,
    "hour": 1.0,
    "day": 24.0,
    "week": 168.0,
    "month": 720.0,
    "year": 8760.0,
}


def convert(
    parsed: ParsedNumber, *, unit: str | None = None, per: str | None = None
) -> ParsedNumber | None:
    """The number as a length of time in ``unit``, a figure per ``per``, or a plain figure.

    A number the text gave no unit of time is taken as already in the one asked for. None
    when the text's own unit does not fit: a length of time for a figure per week ("2 days"
    as orders), a rate for a length of time ("3 a day" as a reply time), or any unit of
    time for a plain figure ("two days" as money). Both bounds of a range are converted.
    """
    if unit is not None and per is not None:
        raise ValueError("a figure is a length of time or a rate, not both")
    if unit is not None:
        if parsed.per is not None:
            return None
        factor = HOURS_IN[parsed.unit] / HOURS_IN[unit] if parsed.unit else 1.0
    elif per is not None:
        if parsed.unit is not None:
            return None
        factor = HOURS_IN[per] / HOURS_IN[parsed.per] if parsed.per else 1.0
    else:
        if parsed.unit is not None or parsed.per is not None:
            return None
        factor = 1.0

    def scaled(value: float | None) -> float | None:
        return None if value is None else value * factor

    return replace(
        parsed,
        value=parsed.value * factor,
        low=scaled(parsed.low),
        high=scaled(parsed.high),
        unit=unit,
        per=per,
    )


# --- the words ---------------------------------------------------------------------------------

# Each word below maps to what it says, for advice.numbers to note: a marker followed by the
# unit of time, "unit:day" (2天), "half:day" (两天半), "lone_half:day" (半天), "per:day" (每天).
UNIT, HALF, LONE_HALF, PER = "unit:", "half:", "lone_half:", "per:"

# Time, by the unit it names (minute, hour, day, week, month, year).
_EN_DURATIONS = {
    "minute": "minute minutes min mins",
    "hour": "hour hours hr hrs h",
    "day": "day days d",
    "week": "week weeks wk wks",
    "month": "month months mo mos mth mths",
    "year": "year years yr yrs",
}
_ZH_DURATIONS = {
    "minute": "分钟",
    "hour": "小时 个小时 钟头 个钟头",
    "day": "天 日",
    "week": "周 星期 个星期 礼拜 个礼拜",
    "month": "月 个月",
    "year": "年",
}
_EN_RATES = {"day": "day d", "week": "week wk", "month": "month mo", "year": "year yr"}
_EN_RATE_WORDS = {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly annually"}
_ZH_RATES = {unit: _ZH_DURATIONS[unit] for unit in ("day", "week", "month", "year")}
RATE_BEFORE: dict[str, str] = {
    f"{each}{word}": f"{PER}{unit}"
    for unit, words in _ZH_RATES.items()
    for word in words.split()
    for each in ("每", "一")
}
RATE_AFTER: dict[str, str] = {
    **{
        f"{per}{word}": f"{PER}{unit}"
        for unit, words in _EN_RATES.items()
        for word in words.split()
        for per in ("per ", "a ", "each ", "every ", "/")
    },
    **{word: f"{PER}{unit}" for unit, words in _EN_RATE_WORDS.items() for word in words.split()},
    **{
        f"{per}{word}": f"{PER}{unit}"
        for unit, words in _ZH_RATES.items()
        for word in words.split()
        for per in ("每", "一", "/")
    },
}
# 半 is a half: 半小时 (half an hour), 一个半小时 (an hour and a half), 一天半 (a day and a half).
DURATION_AFTER: dict[str, str] = {
    **{word: f"{UNIT}{unit}" for unit, words in _EN_DURATIONS.items() for word in words.split()},
    **{word: f"{UNIT}{unit}" for unit, words in _ZH_DURATIONS.items() for word in words.split()},
    **{
        half: f"{HALF}{unit}"
        for unit, words in _ZH_DURATIONS.items()
        for word in words.split()
        for half in (f"{word}半", f"个半{word.removeprefix('个')}")
    },
    **{
        f"半{word}": f"{LONE_HALF}{unit}"
        for unit, words in _ZH_DURATIONS.items()
        for word in words.split()
    },
}

_EN_TIME = "(minute|hour|day|week|month|year)"
_EN_HALVES = (
    (re.compile(rf"\bhalf an? {_EN_TIME}\b"), r"0.5 \1"),
    (re.compile(rf"\ban? {_EN_TIME} and a half\b"), r"1.5 \1"),
    (re.compile(rf"\b([0-9]+) and a half {_EN_TIME}s?\b"), r"\1.5 \2"),
    (re.compile(rf"^an? {_EN_TIME}\b"), r"1 \1"),  # "an hour" alone; "3 a day" is a rate
)


def english_halves(core: str) -> str:
    """'half an hour' -> '0.5 hour', 'a day and a half' -> '1.5 day', 'a week' -> '1 week'."""
    for pattern, replacement in _EN_HALVES:
        core = pattern.sub(replacement, core)
    return core
