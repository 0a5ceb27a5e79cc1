"""The number parser, read as a specification: what a seller types -> what the bot understands."""

import math
import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advice.chinese_numbers import alternation
from advice.numbers import ParsedNumber, format_number, parse_number
from advice.units import HOURS_IN, convert


def number(
    value: float,
    *,
    percent: bool = False,
    approx: bool = False,
    unit: str | None = None,
    per: str | None = None,
) -> ParsedNumber:
    return ParsedNumber(value, percent=percent, approximate=approx, unit=unit, per=per)


def between(
    low: float,
    high: float,
    *,
    percent: bool = False,
    approx: bool = False,
    unit: str | None = None,
    per: str | None = None,
) -> ParsedNumber:
    return ParsedNumber(
        (low + high) / 2, low, high, percent=percent, approximate=approx, unit=unit, per=per
    )


SPECIFICATION: list[tuple[str, ParsedNumber | None]] = [
    # plain numbers
    ("1200", number(1200)),
    ("1,200", number(1200)),
    ("1,200,000", number(1_200_000)),
    ("1 200", number(1200)),
    ("100 200", number(100_200)),
    ("1200.50", number(1200.5)),
    ("1,200.50", number(1200.5)),
    ("0.5", number(0.5)),
    (".5", number(0.5)),
    ("0", number(0)),
    ("-5", number(-5)),
    ("+5", number(5)),
    ("-0", number(0)),
    ("  42  ", number(42)),
    # multipliers
    ("1.2k", number(1200)),
    ("1.2K", number(1200)),
    ("1.2 k", number(1200)),
    ("3m", number(3_000_000)),
    ("3M", number(3_000_000)),
    ("3 million", number(3_000_000)),
    ("5 thousand", number(5000)),
    ("1.2w", number(12_000)),
    ("1.2W", number(12_000)),
    ("1.2万", number(12_000)),
    ("3千", number(3000)),
    ("2百", number(200)),
    ("1亿", number(100_000_000)),
    ("5百万", number(5_000_000)),
    ("3千万", number(30_000_000)),
    # approximations
    ("约300", number(300, approx=True)),
    ("大约300", number(300, approx=True)),
    ("大概300", number(300, approx=True)),
    ("差不多300", number(300, approx=True)),
    ("300左右", number(300, approx=True)),
    ("300上下", number(300, approx=True)),
    ("300多", number(300, approx=True)),
    ("300+", number(300, approx=True)),
    ("~300", number(300, approx=True)),
    ("about 300", number(300, approx=True)),
    ("around 300", number(300, approx=True)),
    ("approx. 300", number(300, approx=True)),
    ("approximately 300", number(300, approx=True)),
    ("roughly 300", number(300, approx=True)),
    ("300 or so", number(300, approx=True)),
    ("300ish", number(300, approx=True)),
    ("≈300", number(300, approx=True)),
    ("About 1.2K", number(1200, approx=True)),
    # units and currency
    ("300人", number(300)),
    ("300 people", number(300)),
    ("300个", number(300)),
    ("300单", number(300)),
    ("300 orders", number(300)),
    ("300 followers", number(300)),
    ("¥85", number(85)),
    ("￥85", number(85)),
    ("85元", number(85)),
    ("85块", number(85)),
    ("85块钱", number(85)),
    ("85 yuan", number(85)),
    ("RMB 85", number(85)),
    ("$85", number(85)),
    ("US$85", number(85)),
    ("€85", number(85)),
    ("£85", number(85)),
    ("85 USD", number(85)),
    ("85 CNY", number(85)),
    ("HK$85", number(85)),
    ("S$ 85", number(85)),
    ("$1.2k", number(1200)),
    ("1.2万元", number(12_000)),
    ("¥85/件", number(85)),
    ("85 each", number(85)),
    # rates: a figure per day, week, month or year, the period before or after
    ("300 a week", number(300, per="week")),
    ("300 per week", number(300, per="week")),
    ("300/week", number(300, per="week")),
    ("300 weekly", number(300, per="week")),
    ("300 people per week", number(300, per="week")),
    ("about 300 orders a month", number(300, approx=True, per="month")),
    ("3 per day", number(3, per="day")),
    ("3 a day", number(3, per="day")),
    ("3 posts daily", number(3, per="day")),
    ("3 times a week", number(3, per="week")),
    ("1000 a year", number(1000, per="year")),
    ("300一周", number(300, per="week")),
    ("300/月", number(300, per="month")),
    ("每周300单", number(300, per="week")),
    ("一周300人", number(300, per="week")),
    ("每月约300单", number(300, approx=True, per="month")),
    ("每天3单", number(3, per="day")),
    ("一天三单", number(3, per="day")),
    ("每个月5000", number(5000, per="month")),
    ("一个月5000", number(5000, per="month")),
    # lengths of time
    ("2天", number(2, unit="day")),
    ("两天", number(2, unit="day")),
    ("一天", number(1, unit="day")),
    ("一年", number(1, unit="year")),
    ("3个月", number(3, unit="month")),
    ("两周", number(2, unit="week")),
    ("2个星期", number(2, unit="week")),
    ("24小时", number(24, unit="hour")),
    ("3个小时", number(3, unit="hour")),
    ("30分钟", number(30, unit="minute")),
    ("48h", number(48, unit="hour")),
    ("1.5h", number(1.5, unit="hour")),
    ("2 hrs", number(2, unit="hour")),
    ("1.5 hours", number(1.5, unit="hour")),
    ("30 min", number(30, unit="minute")),
    ("30mins", number(30, unit="minute")),
    ("2 days", number(2, unit="day")),
    ("3 weeks", number(3, unit="week")),
    ("6 months", number(6, unit="month")),
    ("a year", number(1, unit="year")),
    ("an hour", number(1, unit="hour")),
    ("about a day", number(1, approx=True, unit="day")),
    ("within 2 hours", number(2, unit="hour")),
    ("2小时内", number(2, unit="hour")),
    ("两天以内", number(2, unit="day")),
    ("一天之内", number(1, unit="day")),
    ("一天内", number(1, unit="day")),
    # halves
    ("half an hour", number(0.5, unit="hour")),
    ("half a day", number(0.5, unit="day")),
    ("an hour and a half", number(1.5, unit="hour")),
    ("2 and a half hours", number(2.5, unit="hour")),
    ("半小时", number(0.5, unit="hour")),
    ("半个小时", number(0.5, unit="hour")),
    ("半天", number(0.5, unit="day")),
    ("半年", number(0.5, unit="year")),
    ("一个半小时", number(1.5, unit="hour")),
    ("两个半小时", number(2.5, unit="hour")),
    ("1个半小时", number(1.5, unit="hour")),
    ("一个半月", number(1.5, unit="month")),
    ("一天半", number(1.5, unit="day")),
    ("一周半", number(1.5, unit="week")),
    ("一百个半小时", number(100.5, unit="hour")),  # the half after a whole hundred
    ("3%个半小时", None),
    ("半小时左右", number(0.5, approx=True, unit="hour")),
    ("3半天", None),
    ("一点五个半小时", None),
    ("两到三个半小时", None),
    # one unit of time or one period at most
    ("2 hours a day", None),
    ("每天2小时", None),
    ("3 days 2 hours", None),
    # a word holding a numeral is not cut from another numeral nor swallows the text
    ("十一个月", number(11, unit="month")),
    ("一个", number(1)),
    ("一个月", number(1, unit="month")),
    ("85一个", number(85)),
    # full-width forms
    ("１２００", number(1200)),
    ("１，２００", number(1200)),
    ("３０％", number(30, percent=True)),
    ("１．５", number(1.5)),
    ("～300", number(300, approx=True)),
    ("－5", number(-5)),
    ("１００～２００", between(100, 200)),
    ("1\u3000200", number(1200)),
    # Chinese numerals
    ("三", number(3)),
    ("零", number(0)),
    ("十", number(10)),
    ("十五", number(15)),
    ("二十", number(20)),
    ("二十五", number(25)),
    ("三百", number(300)),
    ("两千", number(2000)),
    ("五千", number(5000)),
    ("一百零五", number(105)),
    ("一千零五十", number(1050)),
    ("三千五", number(3500)),
    ("两百五", number(250)),
    ("一百一", number(110)),
    ("一万五", number(15_000)),
    ("两万三千", number(23_000)),
    ("一万零五", number(10_005)),
    # a zero stands between two parts of a numeral: never first, doubled, or after a digit
    ("零五", None),
    ("一百零零五", None),
    ("一百五零", None),
    ("十万", number(100_000)),
    ("一亿五千万", number(150_000_000)),
    ("一点五", number(1.5)),
    ("十二点五", number(12.5)),
    ("一点五万", number(15_000)),
    ("三百多人", number(300, approx=True)),
    ("兩萬", number(20_000)),
    # Chinese fractions: 点 and the digits after it, one by one
    ("一点二五", number(1.25)),
    ("零点五", number(0.5)),
    ("零点零五", number(0.05)),
    ("一点零五", number(1.05)),
    ("三点一四一五", number(3.1415)),
    ("二十点五", number(20.5)),
    ("一百点二五", number(100.25)),
    ("一千二点五", number(1200.5)),
    ("两点五万", number(25_000)),
    ("百分之十二点五", number(12.5, percent=True)),
    ("一点五小时", number(1.5, unit="hour")),
    ("一点五到两点五", between(1.5, 2.5)),
    ("一点", None),
    ("一点十", None),
    ("一点五点五", None),
    ("一万点五", None),
    ("一亿点五", None),
    # the next unit down after a unit, as in speech
    ("一千二", number(1200)),
    ("一万二", number(12_000)),
    ("两万五", number(25_000)),
    ("三百五", number(350)),
    # two neighbouring digits are "two or three"
    ("两三个", between(2, 3)),
    ("一两个", between(1, 2)),
    ("三四十", between(30, 40)),
    ("两三百", between(200, 300)),
    ("三五千", between(3000, 5000)),
    ("两三天", between(2, 3, unit="day")),
    ("三三", None),
    ("两四", None),
    # percent
    ("30%", number(30, percent=True)),
    ("30 %", number(30, percent=True)),
    ("30％", number(30, percent=True)),
    ("百分之三十", number(30, percent=True)),
    ("30 percent", number(30, percent=True)),
    ("30 per cent", number(30, percent=True)),
    ("约30%", number(30, percent=True, approx=True)),
    # ranges
    ("100-200", between(100, 200)),
    ("100 - 200", between(100, 200)),
    ("100–200", between(100, 200)),
    ("100—200", between(100, 200)),
    ("100~200", between(100, 200)),
    ("100～200", between(100, 200)),
    ("100到200", between(100, 200)),
    ("100至200", between(100, 200)),
    ("100 to 200", between(100, 200)),
    ("6 or 7", between(6, 7)),
    ("6 to 7", between(6, 7)),
    ("6~7", between(6, 7)),
    ("6或7", between(6, 7)),
    ("6 to 7 hours", between(6, 7, unit="hour")),
    ("2-3天", between(2, 3, unit="day")),
    ("每周3到5条", between(3, 5, per="week")),
    ("100-200人", between(100, 200)),
    ("100-100", between(100, 100)),
    ("1k-2k", between(1000, 2000)),
    ("1-2万", between(10_000, 20_000)),
    ("5-20k", between(5000, 20_000)),
    ("5-5k", between(5000, 5000)),  # borrowed up to the high end itself
    ("500-1k", between(500, 1000)),
    ("10%-20%", between(10, 20, percent=True)),
    ("10-20%", between(10, 20, percent=True)),
    ("百分之十到二十", between(10, 20, percent=True)),
    ("10-20 percent", between(10, 20, percent=True)),
    ("约100-200人", between(100, 200, approx=True)),
    ("-5-10", between(-5, 10)),
    ("三到五", between(3, 5)),
    ("三到五万", between(30_000, 50_000)),
    ("两到三千", between(2000, 3000)),
    ("五到一百", between(5, 100)),
    # a low end above the high end is rejected, not swapped
    ("200-100", None),
    ("5--3", None),
    # invisible characters are stripped first
    ("\u200b1200\u200d", number(1200)),
    ("\ufeff\u2060300\u200e", number(300)),
    ("\u202a\u202e85\u202c\u2066\u2069", number(85)),
    ("\u200f约300\u200f", number(300, approx=True)),
    # nothing to read
    ("", None),
    ("   ", None),
    ("\u200b", None),
    ("hello", None),
    ("🔥🔥", None),
    ("🔥300", None),
    ("NaN", None),
    ("nan", None),
    ("inf", None),
    ("-inf", None),
    ("Infinity", None),
    ("1e309", None),
    ("1e3", None),
    ("1.5E6", None),
    ("9999999999999999999", None),
    ("2000万亿", None),
    ("1000万亿", number(1e15)),  # the largest magnitude read
    ("1001万亿", None),
    ("0-1000万亿", between(0, 1e15)),
    ("0-1001万亿", None),
    ("1" * 201, None),
    # several numbers, or words we do not know
    ("3 or 4 or 5", None),
    ("12 34", None),
    ("1-2-3", None),
    ("2024-05-01", None),
    ("5:30", None),
    ("3/4", None),
    ("banana 5", None),
    ("call me at 5", None),
    ("300 apples", None),
    ("over 300", None),
    ("5kpeople", None),
    ("5ka day", None),  # "a day" must not run into "5k" either
    ("5 mbucks", None),
    ("1万5", None),
    # malformed digits
    ("1,2,,3", None),
    ("1,20", None),
    ("85,50", None),
    ("1..2", None),
    ("1.2.3", None),
    ("--5", None),
    ("+-5", None),
    ("1.", None),
    ("k", None),
    ("%", None),
    # malformed Chinese numerals
    ("三三", None),
    ("十十", None),
    ("百", None),
    ("万", None),
    ("五零", None),
    ("一百零", None),
    ("一万零", None),
    ("一万万", None),
    ("点五", None),
    ("百分之", None),
]


@pytest.mark.parametrize(("text", "expected"), SPECIFICATION)
def test_parse_number_specification(text: str, expected: ParsedNumber | None) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("words", "text"),
    [(["m", "million", "k"], "million"), (["千", "千万", "万"], "千万"), (["万", "万亿"], "万亿")],
)
def test_a_multiplier_is_read_whole_where_a_shorter_one_starts_it(
    words: list[str], text: str
) -> None:
    match = re.match(alternation(words), text)
    assert match is not None and match.group() == text


def test_is_range_only_for_ranges() -> None:
    assert parse_number("100-200").is_range
    assert not parse_number("150").is_range


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (5, "5"),
        (1200, "1,200"),
        (1234.5, "1,234.5"),
        (0.333, "0.33"),
        (2.999, "3"),
        (1200.10, "1,200.1"),
        (1_000_000, "1,000,000"),
        (-1234.5, "-1,234.5"),
        (-0.001, "0"),
        (-0.0, "0"),
    ],
)
def test_format_number(value: float, expected: str) -> None:
    assert format_number(value) == expected
    assert format_number(value, lang="zh") == expected


# --- properties -------------------------------------------------------------------------------

CHAT_ALPHABET = st.sampled_from(
    list("0123456789０１２３４５６７８９,.，．-–~～+%％ kKmMwW$¥￥€")
    + list("万千百亿十零一二两三四五六七八九点约到至左右元人个单多之分")
    + ["about ", "to", "per week", "\u200b", "\u202e", "🔥", "😀", "e", "nan", "inf"]
    + ["天", "小时", "个月", "半", "每天", " h", "min", " hours", "half an ", "a day", " or "]
)
CHAT_TEXT = st.lists(CHAT_ALPHABET, max_size=40).map("".join)
LONG_TEXT = st.text(min_size=1, max_size=64).map(lambda seed: (seed * 4096)[:4096])


def assert_sane(result: ParsedNumber | None) -> None:
    """Whatever came in, what comes out is None or finite numbers in order."""
    if result is None:
        return
    assert math.isfinite(result.value)
    assert abs(result.value) <= 1e15
    if result.is_range:
        assert math.isfinite(result.low) and math.isfinite(result.high)
        assert result.low <= result.value <= result.high
    else:
        assert result.low is None and result.high is None


@given(st.text())
def test_never_raises_on_any_text(text: str) -> None:
    assert_sane(parse_number(text))


@given(CHAT_TEXT)
def test_never_raises_on_chat_like_text(text: str) -> None:
    assert_sane(parse_number(text))


@given(LONG_TEXT)
def test_long_text_is_rejected(text: str) -> None:
    assert parse_number(text) is None


def test_adversarial_inputs_are_fast() -> None:
    """No pattern backtracks catastrophically, even on the longest text we accept."""
    pieces = ["1 ", "1,", "1-", "9", "一", "约", "1 000", "1k-", "- ", "%", "1 2", "to"]
    pieces += ["半", "天", "一天", "两三", "or ", "a day ", "half an hour "]
    texts = [(piece * 200)[:200] for piece in pieces]
    texts += [text[:-1] + "x" for text in texts]
    start = time.perf_counter()
    for text in texts:
        assert_sane(parse_number(text))
    assert time.perf_counter() - start < 1.0


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
AMOUNTS = st.integers(min_value=0, max_value=10**14 - 1).map(lambda cents: cents / 100)


def close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)


@given(AMOUNTS)
def test_round_trip_of_written_forms(x: float) -> None:
    forms = [
        f"{x}",
        f"{x:,}",
        f"约{x}",
        f"{x}人",
        f"¥{x}",
        f"{x}元",
        f"{x}".translate(FULL_WIDTH),
        f"{x:,}".translate(FULL_WIDTH).replace(",", "，").replace(".", "．"),
    ]
    for text in forms:
        result = parse_number(text)
        assert result is not None, text
        assert close(result.value, x), text
        assert not result.is_range and not result.percent
    assert parse_number(f"约{x}").approximate
    percent = parse_number(f"{x}%")
    assert percent is not None and percent.percent and close(percent.value, x)


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_round_trip_of_multipliers(x: int) -> None:
    thousands = parse_number(f"{x / 1000}k")
    ten_thousands = parse_number(f"{x / 10000}万")
    assert thousands is not None and close(thousands.value, x)
    assert ten_thousands is not None and close(ten_thousands.value, x)


@given(AMOUNTS, AMOUNTS)
def test_round_trip_of_ranges(a: float, b: float) -> None:
    a, b = min(a, b), max(a, b)
    result = parse_number(f"{a}-{b}")
    assert result is not None and result.is_range
    assert close(result.low, a) and close(result.high, b)
    assert close(result.value, (a + b) / 2)


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_format_number_parses_back(x: float) -> None:
    result = parse_number(format_number(x))
    assert result is not None
    assert close(result.value, float(f"{x:.2f}"))


# --- units of time ----------------------------------------------------------------------------

# How a seller writes each unit of time after a number, in English and Chinese.
WRITTEN_UNITS = {
    "minute": ["min", " mins", " minutes", "分钟"],
    "hour": ["h", " hrs", " hours", "小时", "个小时"],
    "day": [" days", "天", "日"],
    "week": [" weeks", " wks", "周", "个星期"],
    "month": [" months", "个月"],
    "year": [" years", "年"],
}
WRITTEN_RATES = {
    "day": [" per day", " a day", "/day", "每天", "/天"],
    "week": [" per week", " a week", " weekly", "每周", "一周"],
    "month": [" per month", " a month", "每月", "/月"],
    "year": [" per year", " a year", "每年"],
}
UNITS = st.sampled_from(sorted(HOURS_IN))
POSITIVE = st.integers(min_value=1, max_value=10**6).map(lambda cents: cents / 100)


@given(POSITIVE, UNITS, UNITS, st.data())
def test_a_length_of_time_is_never_silently_the_same_number_in_another_unit(
    x: float, written: str, asked: str, data: st.DataObject
) -> None:
    text = f"{x}{data.draw(st.sampled_from(WRITTEN_UNITS[written]))}"
    parsed = parse_number(text)
    assert parsed is not None and parsed.unit == written, text
    converted = convert(parsed, unit=asked)
    assert converted is not None and converted.unit == asked
    assert close(converted.value, x * HOURS_IN[written] / HOURS_IN[asked]), text
    if written != asked:
        assert not close(converted.value, x), text
    # a length of time is no figure per week, and no plain amount (money, a percentage)
    assert convert(parsed, per="week") is None
    assert convert(parsed) is None


@given(
    POSITIVE,
    st.sampled_from(sorted(WRITTEN_RATES)),
    st.sampled_from(sorted(WRITTEN_RATES)),
    st.data(),
)
def test_a_rate_is_never_silently_the_same_number_over_another_period(
    x: float, written: str, asked: str, data: st.DataObject
) -> None:
    text = f"{x}{data.draw(st.sampled_from(WRITTEN_RATES[written]))}"
    parsed = parse_number(text)
    assert parsed is not None and parsed.per == written, text
    converted = convert(parsed, per=asked)
    assert converted is not None and converted.per == asked
    assert close(converted.value, x * HOURS_IN[asked] / HOURS_IN[written]), text
    if written != asked:
        assert not close(converted.value, x), text
    assert convert(parsed, unit="hour") is None
    assert convert(parsed) is None


@given(POSITIVE, UNITS, UNITS)
def test_every_conversion_of_a_length_of_time_round_trips(x: float, one: str, other: str) -> None:
    there = convert(ParsedNumber(x, unit=one), unit=other)
    back = convert(there, unit=one)
    assert back is not None and close(back.value, x) and back.unit == one


@given(POSITIVE, UNITS, UNITS)
def test_every_conversion_of_a_rate_round_trips(x: float, one: str, other: str) -> None:
    there = convert(ParsedNumber(x, per=one), per=other)
    back = convert(there, per=one)
    assert back is not None and close(back.value, x) and back.per == one


@given(POSITIVE, POSITIVE, UNITS, UNITS, st.data())
def test_a_range_keeps_its_midpoint_inside_it_in_any_unit(
    a: float, b: float, written: str, asked: str, data: st.DataObject
) -> None:
    a, b = min(a, b), max(a, b)
    word = data.draw(st.sampled_from(WRITTEN_UNITS[written]))
    joiner = data.draw(st.sampled_from(["-", " to ", "~", " or ", "到"]))
    parsed = parse_number(f"{a}{joiner}{b}{word}")
    assert parsed is not None and parsed.is_range
    converted = convert(parsed, unit=asked)
    assert converted is not None and converted.is_range
    assert converted.low <= converted.value <= converted.high
    factor = HOURS_IN[written] / HOURS_IN[asked]
    assert close(converted.low, a * factor) and close(converted.high, b * factor)
    assert close(converted.value, (a + b) / 2 * factor)


def test_a_figure_is_asked_for_as_a_length_of_time_or_a_rate_not_both() -> None:
    with pytest.raises(ValueError, match="^a figure is a length of time or a rate, not both$"):
        convert(parse_number("3"), unit="hour", per="week")


def test_a_plain_number_is_taken_in_the_unit_asked_for() -> None:
    assert convert(parse_number("48"), unit="hour").value == 48
    assert convert(parse_number("3"), per="week").value == 3
    assert convert(parse_number("85")).value == 85


@pytest.mark.parametrize(
    ("text", "asked", "expected"),
    [
        ("2天", {"unit": "hour"}, 48),
        ("两天", {"unit": "hour"}, 48),
        ("一天", {"unit": "hour"}, 24),
        ("半小时", {"unit": "hour"}, 0.5),
        ("30 min", {"unit": "hour"}, 0.5),
        ("一年", {"unit": "week"}, 365 / 7),
        ("3个月", {"unit": "week"}, 90 / 7),
        ("3 per day", {"per": "week"}, 21),
        ("每月300单", {"per": "week"}, 70),
    ],
)
def test_what_the_issue_saw_is_converted(text: str, asked: dict[str, str], expected: float) -> None:
    converted = convert(parse_number(text), **asked)
    assert converted is not None and close(converted.value, expected)


def test_a_reply_of_up_to_200_characters_is_read() -> None:
    assert parse_number("300" + " " * 197) == number(300)
    assert parse_number("300" + " " * 198) is None


def test_minus_zero_is_zero_without_a_sign() -> None:
    zero = parse_number("-0")
    assert zero is not None and math.copysign(1.0, zero.value) == 1.0
