"""/whatif as typed: a lever by any of its names, then a figure in the lever's own unit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advice.metrics import compute_metrics
from advice.profile import Profile
from advice.whatif import WhatIf, parse_whatif, what_if
from tests.personas import HEALTHY


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


@pytest.mark.parametrize(
    ("typed", "asked"),
    [
        ("conversion 3%", WhatIf("conversion", 0.03)),
        ("conversion 3", WhatIf("conversion", 0.03, read_as_percent=True)),  # "3" is 3%
        ("conversion 0.5%", WhatIf("conversion", 0.005)),
        ("conversion 0", WhatIf("conversion", 0.0, read_as_percent=True)),
        ("conversion to 3%", WhatIf("conversion", 0.03)),
        ("Conversion rate is 3%", WhatIf("conversion", 0.03)),
        ("转化率为3%", WhatIf("conversion", 0.03)),
        ("repeat rate 30", WhatIf("repeat", 0.3, read_as_percent=True)),
        ("回头客 25%", WhatIf("repeat", 0.25)),
        ("order_value 200", WhatIf("order_value", 200)),
        ("average order value = 0", WhatIf("order_value", 0)),
        ("aov约200", WhatIf("order_value", 200)),  # a Chinese word after the name
        ("price: 150", WhatIf("order_value", 150)),
        ("reach 0.4k", WhatIf("traffic", 400)),
    ],
)
def test_a_what_if_is_read_as_typed(typed: str, asked: WhatIf | None) -> None:
    assert parse_whatif(typed) == asked


@pytest.mark.parametrize(
    "typed",
    ["pricey 200", "priceabout 200", "orders 5", "aov -5", "conversion -1%", "conversion", "hello 3%", ""],
)
def test_what_is_not_a_lever_and_a_figure_is_not_read(typed: str) -> None:
    assert parse_whatif(typed) is None


def a_profile() -> Profile:
    return Profile.from_dict(HEALTHY)


def test_a_what_if_within_the_model_is_used_as_asked() -> None:
    outcome = what_if(a_profile(), WhatIf("order_value", 150.5))
    assert (outcome.asked, outcome.used, outcome.clamped) == (150.5, 150.5, False)
    assert outcome.profile == replace(a_profile(), average_order_value=150.5)


def test_reach_is_asked_in_whole_people() -> None:
    outcome = what_if(a_profile(), WhatIf("traffic", 300.4))
    assert (outcome.asked, outcome.used, outcome.clamped) == (300, 300, False)
    assert outcome.profile.weekly_reach == 300
    assert outcome.profile.weekly_orders == 20  # conversion and repeat purchases held


def test_a_figure_beyond_the_model_is_clamped_and_said_so() -> None:
    outcome = what_if(a_profile(), WhatIf("conversion", 3.0))  # 300%
    assert (outcome.asked, outcome.used, outcome.clamped) == (3.0, 1.0, True)
    assert compute_metrics(outcome.profile).conversion == 1.0
