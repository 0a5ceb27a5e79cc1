"""The number parser, read as a specification: what a seller types -> what the bot understands."""

import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advice.numbers import ParsedNumber, format_number, parse_number


def number(value: float, *, percent: bool = False, approx: bool = False) -> ParsedNumber:
    return ParsedNumber(value, percent=percent, approximate=approx)


def between(
    low: float, high: float, *, percent: bool = False, approx: bool = False
) -> ParsedNumber:
    return ParsedNumber((low + high) / 2, low, high, percent=percent, approximate=approx)


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
    # periods, before and after, and stacked words
    ("300 a week", number(300)),
    ("300 per week", number(300)),
    ("300/week", number(300)),
    ("300 weekly", number(300)),
    ("300 people per week", number(300)),
    ("about 300 orders a month", number(300, approx=True)),
    ("300一周", number(300)),
    ("300/月", number(300)),
    ("每周300单", number(300)),
    ("一周300人", number(300)),
    ("每月约300单", number(300, approx=True)),
    ("3个月", number(3)),
    ("一个月5000", number(5000)),
    # a word holding a numeral is not cut from another numeral nor swallows the text
    ("十一个月", number(11)),
    ("一个", number(1)),
    ("一个月", number(1)),
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
    ("十万", number(100_000)),
    ("一亿五千万", number(150_000_000)),
    ("一点五", number(1.5)),
    ("十二点五", number(12.5)),
    ("一点五万", number(15_000)),
    ("三百多人", number(300, approx=True)),
    ("兩萬", number(20_000)),
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
    ("100-200人", between(100, 200)),
    ("100-100", between(100, 100)),
    ("1k-2k", between(1000, 2000)),
    ("1-2万", between(10_000, 20_000)),
    ("5-20k", between(5000, 20_000)),
    ("500-1k", between(500, 1000)),
    ("10%-20%", between(10, 20, percent=True)),
    ("10-20%", between(10, 20, percent=True)),
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
    ("1" * 201, None),
    # several numbers, or words we do not know
    ("3 or 4", None),
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
