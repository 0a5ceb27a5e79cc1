"""/whatif as typed: a lever by any of its names, then a figure in the lever's own unit."""

from __future__ import annotations

import pytest

from advice.whatif import parse_whatif


@pytest.mark.parametrize(
    ("typed", "lever", "value"),
    [
        ("traffic 300", "traffic", 300),
        ("traffic 30 per day", "traffic", 210),
        ("触达 每天30人", "traffic", 210),
        ("reach 1200 a month", "traffic", 1200 * 168 / 720),
        ("order value ¥200", "order_value", 200),
    ],
)
def test_a_figure_is_read_in_the_levers_own_unit(typed: str, lever: str, value: float) -> None:
    asked = parse_whatif(typed)
    assert asked is not None
    assert (asked.lever, asked.value) == (lever, pytest.approx(value))


@pytest.mark.parametrize("typed", ["order value 2 days", "客单价 两天", "conversion 3 per day"])
def test_a_unit_of_time_where_the_lever_has_none_is_not_read(typed: str) -> None:
    assert parse_whatif(typed) is None
