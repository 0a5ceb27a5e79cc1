"""An hour of the day as sellers type it, for the check-in hour step."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advice.hours import parse_hour


@pytest.mark.parametrize(
    ("typed", "hour"),
    [
        ("9", 9), ("09", 9), ("0", 0), ("23", 23), ("21:00", 21), ("9:00", 9), ("21h", 21),
        ("9am", 9), ("9 AM", 9), ("9 a.m.", 9), ("9pm", 21), ("12am", 0), ("12pm", 12), ("9 o'clock", 9),
        ("９点", 9), ("9点", 9), ("九点", 9), ("二十一点", 21), ("9点整", 9), ("21时", 21),
        ("早上7点", 7), ("上午10点", 10), ("中午12点", 12), ("中午1点", 13), ("下午三点", 15),
        ("晚上9点", 21), ("晚上 9 点", 21), ("凌晨12点", 0), ("２１：００", 21),
    ],
)  # fmt: skip
def test_an_hour_is_read_as_sellers_type_it(typed: str, hour: int) -> None:
    assert parse_hour(typed) == hour


@pytest.mark.parametrize(
    "typed", ["", "hello", "24", "25:00", "13pm", "0am", "9:30", "半点", "9.5", "-1", "晚上"]
)
def test_what_is_not_an_hour_on_the_hour_is_refused(typed: str) -> None:
    assert parse_hour(typed) is None


@given(st.integers(0, 23))
def test_every_hour_written_the_usual_ways_reads_back(hour: int) -> None:
    assert parse_hour(str(hour)) == parse_hour(f"{hour:02d}:00") == parse_hour(f"{hour}点") == hour
    twelve = hour % 12 or 12
    assert parse_hour(f"{twelve}{'pm' if hour >= 12 else 'am'}") == hour


@pytest.mark.parametrize(
    ("typed", "hour"),
    [
        ("12:00", 12), ("00:00", 0), ("0:00", 0), ("12 a.m.", 0), ("12 p.m.", 12), ("9 p.m.", 21),
        ("1am", 1), ("9 oclock", 9), ("零点", 0), ("十二点", 12), ("二十三点", 23),
        ("下午1点", 13), ("下午11点", 23), ("晚上11点", 23), ("晚上8点整", 20), ("中午2点", 14),
        ("凌晨1点", 1), ("凌晨3点", 3), ("上午12点", 12),
    ],
)  # fmt: skip
def test_the_part_of_the_day_moves_an_hour_into_the_afternoon_only_from_1_to_11(
    typed: str, hour: int
) -> None:
    assert parse_hour(typed) == hour


@pytest.mark.parametrize("typed", ["9:05", "二十四点", "9点半", "12:60", "十十点"])
def test_an_hour_past_23_or_off_the_hour_is_refused(typed: str) -> None:
    assert parse_hour(typed) is None
