"""An hour of the day as sellers type it: ``9``, ``9am``, ``9 pm``, ``21:00``, ``9点``,
``晚上9点``, ``下午三点``. Check-ins go out on the hour, so minutes other than ``:00`` are
not an hour."""

from __future__ import annotations

import re
import unicodedata

from advice.numbers import parse_number

_LATIN = re.compile(
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<half>am|a\.m\.|pm|p\.m\.|h|o'?clock)?"
)
_CHINESE = re.compile(
    r"(?P<part>凌晨|早上|早晨|清晨|上午|中午|下午|傍晚|晚上|夜里|夜间)?(?P<hour>[0-9零〇一二两三四五六七八九十]{1,3})(?:点钟?|时)(?P<whole>整)?"
)
_AFTERNOON = frozenset({"下午", "傍晚", "晚上", "夜里", "夜间"})


def parse_hour(text: str) -> int | None:
    """The hour (0-23) in ``text``; None when it is not an hour of the day."""
    typed = unicodedata.normalize("NFKC", text).strip().casefold()
    if match := _LATIN.fullmatch(typed):
        hour, minute, half = int(match["hour"]), match["minute"], match["half"] or ""
        if minute not in (None, "00"):
            return None
        if half[:1] in ("a", "p"):  # am / pm
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if half[0] == "p" else 0)
        return hour if 0 <= hour <= 23 else None
    if match := _CHINESE.fullmatch(typed.replace(" ", "")):
        number = parse_number(match["hour"])
        if number is None or number.value != int(number.value):
            return None
        hour, part = int(number.value), match["part"]
        if part in _AFTERNOON and 1 <= hour < 12:
            hour += 12
        elif part == "中午" and hour < 3:  # noon: 12点, 1点 (13:00)
            hour = 12 if hour == 12 else hour + 12
        elif part == "凌晨" and hour == 12:
            hour = 0
        return hour if 0 <= hour <= 23 else None
    return None
