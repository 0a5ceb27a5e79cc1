"""/price's arithmetic and its reading of a typed line (advice/pricing.py): pure, no bot."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advice.pricing import (
    MAX_TEXT_LENGTH,
    PriceInputs,
    PriceRejection,
    keywords,
    parse_price,
    price_check,
    round_money,
)

D = Decimal

# A baker's birthday cake: sold at 120, 50 of ingredients and box, 8 of delivery, the
# platform takes 5% of the price, agents get 10% off, and she wants 5,000 a month.
CAKE = PriceInputs(
    price=D(120),
    unit_cost=D(50),
    shipping=D(8),
    fee_percent=D(5),
    agent_percent=D(10),
    monthly_goal=D(5000),
    target_percent=D(30),
)


def test_the_cake_by_hand() -> None:
    result = price_check(CAKE)
    assert result.agent_discount == 12  # 10% of 120
    assert result.fees == 6  # 5% of 120
    assert result.margin == 44  # 120 - 12 - 6 - 50 - 8
    assert result.margin_percent == D("36.67")  # 44 / 120 = 36.666...%
    # 5000 / 44 = 113.6 orders a month; / (52/12 = 4.333 weeks) = 26.2: 27 a week
    assert result.weekly_orders == 27
    # P x (1 - 10% - 5% - 30%) = 50 + 8, so P = 58 / 0.55 = 105.4545...: up to 105.46
    assert result.target_price == D("105.46")
    assert not result.target_impossible and not result.target_any
    assert result.warnings == ()
    assert result.gross_margin == 56  # 44 + the agent's 12
    assert result.agent_share == D("21.43")  # 12 / 56


def test_the_target_price_really_gives_the_target() -> None:
    at_target = price_check(PriceInputs(**{**_fields(CAKE), "price": D("105.46")}))
    # 105.46 - 10.546 - 5.273 - 58 = 31.641, 30.003% of the price; a cent less is under 30%
    assert at_target.margin == D("31.641") and at_target.margin_percent == D("30.00")
    below = price_check(PriceInputs(**{**_fields(CAKE), "price": D("105.45")}))
    assert below.margin / D("105.45") < D("0.30")


def test_a_goal_met_exactly_needs_no_extra_order() -> None:
    # a margin of 12 and a goal of 624 a month: 624 / 12 = 52 orders a month, and
    # 52 / (52/12 weeks) = 12 a week exactly, not 13
    result = price_check(PriceInputs(D(20), D(8), monthly_goal=D(624)))
    assert result.margin == 12 and result.weekly_orders == 12
    one_more = price_check(PriceInputs(D(20), D(8), monthly_goal=D("624.01")))
    assert one_more.weekly_orders == 13


def test_a_loss_warns_and_no_number_of_orders_reaches_the_goal() -> None:
    # 60 - 45 - 10 - 8 = -3: every order loses 3
    result = price_check(PriceInputs(D(60), D(45), D(8), fee_fixed=D(10), monthly_goal=D(1000)))
    assert result.margin == -3 and result.margin_percent == D("-5.00")
    assert result.weekly_orders is None
    assert result.warnings == ("loss",)


def test_a_zero_margin_is_a_loss_too() -> None:
    assert price_check(PriceInputs(D(50), D(50))).warnings == ("loss",)


def test_a_thin_margin_warns() -> None:
    # 100 - 85 - 8 = 7, 7% of the price: under 10%
    assert price_check(PriceInputs(D(100), D(85), D(8))).warnings == ("thin",)
    # 100 - 82 - 8 = 10: exactly 10% is not thin
    assert price_check(PriceInputs(D(100), D(82), D(8))).warnings == ()


def test_an_agent_discount_taking_more_than_half_the_margin_warns() -> None:
    # gross margin 100 - 40 = 60; agents take 35 of it (58%), leaving 25
    result = price_check(PriceInputs(D(100), D(40), agent_percent=D(35)))
    assert result.margin == 25 and result.warnings == ("agent_eats",)
    assert result.agent_share == D("58.33")
    # 30 of 60 is exactly half: no warning
    assert price_check(PriceInputs(D(100), D(40), agent_percent=D(30))).warnings == ()


def test_agents_eating_a_loss_warn_of_both() -> None:
    # gross 100 - 50 - 20 = 30, agents take 60: a loss of 30
    result = price_check(PriceInputs(D(100), D(50), fee_fixed=D(20), agent_percent=D(60)))
    assert result.margin == -30 and result.warnings == ("loss", "agent_eats")


def test_no_price_gives_a_target_the_percentages_leave_no_room_for() -> None:
    # agents 40% + fees 30% + target 30% = 100%
    inputs = PriceInputs(
        D(100), D(10), fee_percent=D(30), agent_percent=D(40), target_percent=D(30)
    )
    result = price_check(inputs)
    assert result.target_impossible and result.target_price is None


def test_without_fixed_costs_any_price_meets_the_target() -> None:
    # a digital pattern: no cost, 10% fee; every price keeps 90%
    result = price_check(PriceInputs(D(30), D(0), fee_percent=D(10), target_percent=D(50)))
    assert result.target_any and result.target_price is None and result.margin_percent == 90


def test_no_float_drift() -> None:
    # 0.1 + 0.2 in floats is 0.30000000000000004
    result = price_check(PriceInputs(D("0.3"), D("0.1"), D("0.2")))
    assert result.margin == 0
    assert price_check(PriceInputs(D("19.99"), D("7.33"), fee_percent=D("2.9"))).margin == D(
        "12.08029"
    )  # 19.99 - 0.57971 - 7.33


# --- reading the line -----------------------------------------------------------------------
def _fields(inputs: PriceInputs) -> dict[str, object]:
    return {name: getattr(inputs, name) for name in PriceInputs.__dataclass_fields__}


@pytest.mark.parametrize(
    "typed",
    [
        "120 cost 50 ship 8 fee 5% agent 10% goal 5000 target 30%",
        "售价120 成本50 运费8 手续费5% 代理折扣10% 目标5000 目标利润率30%",
        "price: 120, cost: 50, shipping 8, commission 5%, agent discount 10, goal 5k, target 30",
        "目标利润率30% 目标5千 售价￥120 成本50元 邮费8块 佣金百分之五 代理10%",
        "１２０　ｃｏｓｔ　５０　ｓｈｉｐ　８　ｆｅｅ　５％　ａｇｅｎｔ　１０％　ｇｏａｌ　５０００　ｔａｒｇｅｔ　３０％",
        "Price 120 COST 50 Ship 8 Fee 5% Agent 10% Goal 5,000 Target 30%",
    ],
)
def test_the_cake_as_sellers_type_it(typed: str) -> None:
    assert parse_price(typed) == CAKE


def test_numbers_as_sellers_type_them() -> None:
    inputs = parse_price("¥1.2k cost 1.2千 ship 50元 goal 1.5万")
    assert isinstance(inputs, PriceInputs)
    assert (inputs.price, inputs.unit_cost, inputs.shipping) == (1200, 1200, 50)
    assert inputs.monthly_goal == 15000


@pytest.mark.parametrize(
    "goal", ["goal 5000 a month", "goal 5k/month", "目标每月5000", "月目标5000/月"]
)
def test_a_goal_may_say_it_is_a_month(goal: str) -> None:
    inputs = parse_price(f"120 cost 50 {goal}")
    assert isinstance(inputs, PriceInputs) and inputs.monthly_goal == 5000
    assert parse_price("120 cost 50 goal 5000 a week") == PriceRejection(
        "bad_number", "goal", "5000 a week"
    )


def test_a_fee_in_percent_and_a_fixed_fee_together() -> None:
    inputs = parse_price("99.9 cost 40 fee 2.5% fee 1")
    assert isinstance(inputs, PriceInputs)
    assert inputs.fee_percent == D("2.5") and inputs.fee_fixed == 1 and inputs.price == D("99.9")
    # 99.9 - 2.4975 - 1 - 40 = 56.4025
    assert price_check(inputs).margin == D("56.4025")


@pytest.mark.parametrize(
    ("typed", "rejection"),
    [
        ("", PriceRejection("empty")),
        ("  ，", PriceRejection("empty")),
        ("\x1f", PriceRejection("empty")),  # a control character str.split takes for a space
        ("120\x1f cost 50\x1c cost 60", PriceRejection("repeated", "cost", "60")),
        ("abc", PriceRejection("unknown_word", None, "abc")),
        ("🎂", PriceRejection("unknown_word", None, "🎂")),
        ("120 cost 50 🎂", PriceRejection("unknown_word", None, "🎂")),
        ("120 cots 50", PriceRejection("unknown_word", None, "cots")),
        ("120 coffee 5", PriceRejection("unknown_word", None, "coffee")),
        ("0", PriceRejection("out_of_range", "price", "0")),
        ("1e99", PriceRejection("bad_number", "price", "1e99")),
        ("120 cost -5", PriceRejection("out_of_range", "cost", "-5")),
        ("120 cost 50 agent 100%", PriceRejection("out_of_range", "agent", "100%")),
        ("120 cost 50 target 0", PriceRejection("out_of_range", "target", "0")),
        ("120 cost 50 goal 0", PriceRejection("out_of_range", "goal", "0")),
        ("2000000000 cost 5", PriceRejection("out_of_range", "price", "2000000000")),
        ("120 cost 50%", PriceRejection("percent_here", "cost", "50%")),
        ("120 cost 50-60", PriceRejection("range", "cost", "50-60")),
        ("120 cost 50 cost 60", PriceRejection("repeated", "cost", "60")),
        ("120 cost 50 fee 2% fee 3%", PriceRejection("repeated", "fee", "3%")),
        ("120 cost", PriceRejection("no_value", "cost", "")),
        ("120 cost 50 ship 3 days", PriceRejection("bad_number", "shipping", "3 days")),
        ("120", PriceRejection("no_cost")),
        ("cost 50", PriceRejection("no_price")),
        ("1" * (MAX_TEXT_LENGTH + 1), PriceRejection("too_long")),
    ],
)
def test_what_cannot_be_used_says_why(typed: str, rejection: PriceRejection) -> None:
    assert parse_price(typed) == rejection


def test_no_word_names_two_figures() -> None:
    assert keywords()["目标"] == "goal" and keywords()["目标利润率"] == "target"
    assert keywords()["commission"] == "fee" and keywords()["代理折扣"] == "agent"


# --- properties -----------------------------------------------------------------------------
@given(st.text(max_size=400))
def test_never_raises_on_any_text(typed: str) -> None:
    assert isinstance(parse_price(typed), PriceInputs | PriceRejection)


WORDS = st.sampled_from(["cost", "ship", "fee", "agent", "goal", "target", "成本", "运费", "目标"])
FIGURES = st.sampled_from(["50", "5%", "1.2k", "1.2千", "50元", "-3", "0", "1e9", "🎂", "", "约8"])


@given(st.lists(st.one_of(WORDS, FIGURES), max_size=12))
def test_never_raises_on_lines_of_words_and_figures(parts: list[str]) -> None:
    read = parse_price(" ".join(parts))
    if isinstance(read, PriceInputs):
        price_check(read)


MONEY = st.decimals(min_value=0, max_value=10**9, places=2)
PERCENT = st.decimals(min_value=0, max_value=99, places=2)


@given(
    st.decimals(min_value="0.01", max_value=10**9, places=2),
    MONEY,
    MONEY,
    PERCENT,
    MONEY,
    PERCENT,
    st.none() | st.decimals(min_value="0.01", max_value=10**12, places=2),
    st.none() | st.decimals(min_value="0.01", max_value=99, places=2),
)
def test_margin_and_deductions_make_the_price(
    price: Decimal,
    cost: Decimal,
    shipping: Decimal,
    fee_percent: Decimal,
    fee_fixed: Decimal,
    agent_percent: Decimal,
    goal: Decimal | None,
    target: Decimal | None,
) -> None:
    inputs = PriceInputs(price, cost, shipping, fee_percent, fee_fixed, agent_percent, goal, target)
    result = price_check(inputs)
    assert result.margin + result.agent_discount + result.fees + cost + shipping == price
    assert ("loss" in result.warnings) == (result.margin <= 0)
    if result.weekly_orders is not None:
        assert goal is not None and result.margin > 0
        # enough orders a week for the goal, and one fewer is not
        assert result.weekly_orders * result.margin * 52 >= goal * 12
        assert (result.weekly_orders - 1) * result.margin * 52 < goal * 12
    if result.target_price is not None:
        assert target is not None
        at = price_check(PriceInputs(**{**_fields(inputs), "price": result.target_price}))
        assert at.margin * 100 >= target * result.target_price


# --- the edges of what is accepted, and the arithmetic at its limits ---------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "1 cost 0",  # a price from a cent up; a cost may be nothing
        "0.5 cost 0.5 ship 0 fee 0",
        "1000000000 cost 1000000000 ship 1000000000 fee 1000000000",  # up to 10^9 each
        "120 cost 50 agent 0 fee 0%",  # percentages of the price from 0...
        "120 cost 50 agent 99.99% fee 99.99%",  # ... to under 100
        "120 cost 50 target 0.5",  # a target above 0...
        "120 cost 50 target 1",
        "120 cost 50 target 99.99",  # ... and under 100
        "120 cost 50 goal 1",  # a goal from 1...
        "120 cost 50 goal 0.5",
        "120 cost 50 goal 1000000000000",  # ... up to 10^12
    ],
)
def test_the_figures_accepted_at_the_edges(typed: str) -> None:
    assert isinstance(parse_price(typed), PriceInputs), typed


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ("1000000001 cost 5", "price"),
        ("120 cost 1000000001", "cost"),
        ("120 cost 5 fee 1000000001", "fee"),
        ("120 cost 50 target 100%", "target"),
        ("120 cost 50 fee 100%", "fee"),
        ("120 cost 50 goal 1000000000001", "goal"),
    ],
)
def test_the_figures_refused_just_past_the_edges(typed: str, field: str) -> None:
    refused = parse_price(typed)
    assert isinstance(refused, PriceRejection) and refused.reason == "out_of_range"
    assert refused.field == field


def test_a_line_without_the_optional_figures_has_them_at_nothing() -> None:
    assert parse_price("120 cost 50") == PriceInputs(
        price=D(120),
        unit_cost=D(50),
        shipping=D(0),
        fee_percent=D(0),
        fee_fixed=D(0),
        agent_percent=D(0),
        monthly_goal=None,
        target_percent=None,
    )


def test_a_whole_figure_is_kept_whole_and_a_decimal_as_typed() -> None:
    inputs = parse_price("120.0 cost 49.90")
    assert isinstance(inputs, PriceInputs)
    assert (str(inputs.price), str(inputs.unit_cost)) == ("120", "49.9")


def test_the_longest_line_accepted_and_one_made_too_long_by_normalising() -> None:
    assert isinstance(parse_price("120 cost 50".ljust(MAX_TEXT_LENGTH)), PriceInputs)
    # 101 characters, 303 once "㍱" is written as the letters "hpa"
    assert parse_price("㍱" * 101) == PriceRejection("too_long")


def test_a_word_after_a_figure_of_several_words_is_named() -> None:
    assert parse_price("120 cost 1 000 banana") == PriceRejection("unknown_word", None, "banana")


def test_the_result_carries_the_inputs_and_no_target_when_none_is_asked() -> None:
    result = price_check(PriceInputs(D(100), D(50)))
    assert result.inputs == PriceInputs(D(100), D(50))
    assert (result.target_price, result.target_impossible, result.target_any) == (
        None,
        False,
        False,
    )
    # a target the percentages leave no room for is not one any price meets
    no_room = price_check(PriceInputs(D(100), D(10), agent_percent=D(50), target_percent=D(50)))
    assert (no_room.target_impossible, no_room.target_any) == (True, False)
    # with no fixed costs any price meets it; it is not impossible
    any_price = price_check(PriceInputs(D(30), D(0), target_percent=D(50)))
    assert (any_price.target_impossible, any_price.target_any) == (False, True)


def test_a_price_of_nothing_has_a_margin_of_no_percent() -> None:
    assert price_check(PriceInputs(D(0), D(5))).margin_percent == 0


def test_the_margin_percent_rounds_halves_up() -> None:
    # 200 - 175.31 = 24.69, 12.345% of the price
    assert price_check(PriceInputs(D(200), D("175.31"))).margin_percent == D("12.35")


def test_agents_eating_a_margin_of_less_than_one_still_warn() -> None:
    # 2 - 1.20 cost = 0.80 gross; agents take 25% of 2 = 0.50 of it, leaving 0.30 (15%)
    result = price_check(PriceInputs(D(2), D("1.20"), agent_percent=D(25)))
    assert result.margin == D("0.30") and result.warnings == ("agent_eats",)


def test_agents_on_a_sale_with_nothing_to_share_are_not_said_to_eat_it() -> None:
    # 100 - 20 for agents - 100 cost = -20: the gross margin is 0
    assert price_check(PriceInputs(D(100), D(100), agent_percent=D(20))).warnings == ("loss",)


def test_orders_for_a_goal_need_a_margin_above_nothing() -> None:
    # 50 cents a sale, 100 a month: 200 sales, 46.2 a week (52 / 12 weeks a month): 47
    assert price_check(PriceInputs(D(2), D("1.5"), monthly_goal=D(100))).weekly_orders == 47
    assert price_check(PriceInputs(D(2), D(2), monthly_goal=D(100))).weekly_orders is None


def test_the_arithmetic_is_exact_for_the_longest_figures_the_parser_reads() -> None:
    # 17 and 16 significant digits: their product has 33, more than Decimal's default 28
    price, fee = D("123456789.12345678"), D("2.345678901234568")
    fees = price_check(PriceInputs(price, D(0), fee_percent=fee)).fees
    assert fees == D("2895899.8546105786514250978997104")  # price x fee / 100, every digit


def test_money_is_rounded_to_the_cent_halves_up() -> None:
    assert round_money(D("2.345")) == D("2.35")  # halves up, as a seller writes it down
    assert round_money(D("2.355")) == D("2.36")
    assert str(round_money(D(12))) == "12.00"
