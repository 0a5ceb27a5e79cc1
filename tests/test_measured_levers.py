"""The levers, measured: the ledger's figures in place of the seller's estimates, and the
advice saying which figures are measured, over which period, and which are estimates."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from advice.engine import assess
from advice.ledger import MeasuredLevers, Sale, measured_levers, period_totals, with_measured
from advice.profile import Profile
from advice.render import render, render_checkin_result
from tests.personas import PERSONAS

NOW = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)
# "WeChat menswear reseller copying his upline": says 2 orders a week at ¥180, 10% repeat.
RESELLER = next(p for p in PERSONAS if p.name.startswith("WeChat menswear reseller"))


def ledger(days: int = 28, per_day: int = 1, amount: str = "240") -> list[Sale]:
    """An order a day (or ``per_day``) for ``days`` days to a day before NOW; each customer
    buys twice (two orders in a row), so nearly every one is a regular."""
    sales = []
    for day in range(days):
        for n in range(per_day):
            sale_id = len(sales) + 1
            customer = f"buyer{sale_id // 2}"  # buyer1 buys twice, on two days...
            at = NOW - timedelta(days=days - day) + timedelta(minutes=n)
            sales.append(Sale(sale_id, at, Decimal(amount), customer=customer))
    return sales


def levers(**changes: object) -> MeasuredLevers:
    base = MeasuredLevers(
        weekly_orders=14.0,
        average_order_value=Decimal("130.00"),
        repeat_rate=0.25,
        start=NOW - timedelta(days=30),
        end=NOW,
        days=30.0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# --- the substitution ----------------------------------------------------------------------


def test_the_measured_figures_replace_the_estimates_in_the_profiles_units() -> None:
    profile = Profile.from_dict(RESELLER.profile)
    measured = with_measured(profile, levers(weekly_orders=14.123456))
    assert measured.weekly_orders == 14.12  # orders a week, like the check-up's answer
    assert measured.average_order_value == 130.0  # a float in the profile's currency
    assert measured.repeat_rate == 0.25  # a share 0..1, as the profile holds it (not 25)
    assert measured.measured == ("weekly_orders", "average_order_value", "repeat_rate")
    assert measured.measured_days == 30
    assert measured.weekly_reach == profile.weekly_reach  # the rest stay the seller's
    assert Profile.from_dict(measured.to_dict()) == measured  # stored and read back


def test_the_period_is_rounded_to_days() -> None:
    profile = Profile.from_dict(RESELLER.profile)
    assert with_measured(profile, levers(days=36.4)).measured_days == 36
    assert with_measured(profile, levers(days=89.9)).measured_days == 90


def test_without_enough_in_the_ledger_nothing_is_measured() -> None:
    profile = Profile.from_dict(RESELLER.profile)
    assert with_measured(profile, None) == profile
    # Measured before but not now (sales removed): the figures are no longer said measured.
    before = with_measured(profile, levers())
    assert with_measured(before, None) == replace(before, measured=(), measured_days=None)


def test_a_figure_the_ledger_cannot_give_stays_an_estimate() -> None:
    profile = Profile.from_dict(RESELLER.profile)
    # No order named its customer: no repeat rate.
    unnamed = with_measured(profile, levers(repeat_rate=None))
    assert unnamed.repeat_rate == profile.repeat_rate
    assert unnamed.measured == ("weekly_orders", "average_order_value")
    # Everything refunded: no order value (the profile needs one above zero).
    refunded = with_measured(profile, levers(average_order_value=Decimal("0.00")))
    assert refunded.average_order_value == profile.average_order_value
    assert "average_order_value" not in refunded.measured


def test_a_figure_the_seller_gave_is_kept() -> None:
    profile = Profile.from_dict(RESELLER.profile)
    kept = with_measured(profile, levers(), keep=("weekly_orders", "average_order_value"))
    assert (kept.weekly_orders, kept.average_order_value) == (2.0, 180.0)
    assert kept.measured == ("repeat_rate",)
    assert with_measured(profile, levers(), keep=("weekly_orders", "average_order_value",
                                                   "repeat_rate")) == profile  # fmt: skip


def test_a_measured_figure_is_no_longer_assumed() -> None:
    profile = Profile.from_dict({**RESELLER.profile, "assumed": ["weekly_reach", "repeat_rate"]})
    assert with_measured(profile, levers()).assumed == ("weekly_reach",)


def test_the_ledger_measures_what_the_substitution_takes() -> None:
    measured = measured_levers(ledger(days=28), now=NOW)
    assert measured is not None
    profile = with_measured(Profile.from_dict(RESELLER.profile), measured)
    assert profile.weekly_orders == pytest.approx(7.0, abs=0.01)  # one a day
    assert profile.average_order_value == 240.0
    assert profile.repeat_rate == 0.8667  # 13 of 15 named buyers came back
    assert profile.measured_days == 28


def test_period_totals_are_the_last_days_net_of_refunds() -> None:
    sales = [*ledger(days=14), Sale(99, NOW - timedelta(hours=1), Decimal("-40"))]
    totals = period_totals(sales, now=NOW, days=7)
    assert totals.orders == 6  # days 6 to 1 before NOW: the sale 7 days back is before it
    assert totals.revenue == Decimal(6 * 240 - 40)


# --- the advice says which figures are measured ------------------------------------------


def test_the_same_seller_with_a_ledger_gets_other_advice_and_is_told_which_is_measured() -> None:
    estimated = Profile.from_dict(RESELLER.profile)
    measured_levers_ = measured_levers(ledger(days=28, per_day=2, amount="260"), now=NOW)
    with_ledger = with_measured(estimated, measured_levers_)
    without, with_ = assess(estimated), assess(with_ledger)
    # 14 orders a week at ¥260 measured, against 2 at ¥180 estimated: a bigger estimate and
    # other findings.
    assert with_.metrics.monthly_sales > 5 * without.metrics.monthly_sales
    assert {f.id for f in with_.findings} != {f.id for f in without.findings}
    plain = render(without, "en", "text")
    text = render(with_, "en", "text")
    assert "ledger" not in plain
    assert (
        "Measured from your ledger over the last 28 days: weekly orders, order value, "
        "repeat rate; the rest are your estimates."
    ) in text
    assert "about 14 orders a week x ¥260" in text
    html = render(with_, "en", "html")
    assert "<i>Measured from your ledger over the last 28 days:" in html
    zh = render(with_, "zh", "html")
    assert "按你账本最近 28 天的记录实测：每周订单、客单价、复购率；其余是你的估计。" in zh


def test_only_the_measured_figures_are_named() -> None:
    profile = with_measured(Profile.from_dict(RESELLER.profile), levers(repeat_rate=None))
    text = render(assess(profile), "en", "text")
    assert (
        "Measured from your ledger over the last 30 days: weekly orders, order value; "
        "the rest are your estimates."
    ) in text


def test_a_checkin_result_says_which_figures_are_measured() -> None:
    previous = Profile.from_dict(RESELLER.profile)
    current = with_measured(previous, levers())
    result = render_checkin_result(previous, current, previous, "en", fmt="html")
    assert "Measured from your ledger over the last 30 days: weekly orders" in result
    zh = render_checkin_result(previous, current, previous, "zh", fmt="text")
    assert "按你账本最近 30 天的记录实测" in zh
    assert "ledger" not in render_checkin_result(previous, previous, previous, "en")


# --- the edges of what is measured -----------------------------------------------------------


def test_the_order_value_is_kept_to_the_cent() -> None:
    profile = Profile.from_dict(RESELLER.profile)
    measured = with_measured(profile, levers(average_order_value=Decimal("130.456")))
    assert measured.average_order_value == 130.46


def test_figures_at_the_ends_of_their_range_are_measured() -> None:
    profile = Profile.from_dict(RESELLER.profile)
    nobody_back = with_measured(profile, levers(weekly_orders=0.0, repeat_rate=0.0))
    assert (nobody_back.weekly_orders, nobody_back.repeat_rate) == (0.0, 0.0)
    assert nobody_back.measured == ("weekly_orders", "average_order_value", "repeat_rate")
    everyone_back = with_measured(profile, levers(repeat_rate=1.0))
    assert everyone_back.repeat_rate == 1.0 and "repeat_rate" in everyone_back.measured


def test_when_the_seller_keeps_every_figure_nothing_is_said_measured() -> None:
    profile = Profile.from_dict(RESELLER.profile)
    before = with_measured(profile, levers())
    kept = with_measured(
        before, levers(), keep=("weekly_orders", "average_order_value", "repeat_rate")
    )
    assert (kept.measured, kept.measured_days) == ((), None)


def test_less_than_a_day_counts_as_one_day() -> None:
    profile = Profile.from_dict(RESELLER.profile)
    assert with_measured(profile, levers(days=0.4)).measured_days == 1


def test_a_sale_at_the_very_moment_counts_and_one_exactly_90_days_before_does_not() -> None:
    sales = [
        Sale(100, NOW - timedelta(days=90), Decimal("1000"), customer="old"),
        *ledger(28),
        Sale(101, NOW, Decimal("530"), customer="late"),
    ]
    measured = measured_levers(sales, now=NOW)
    assert measured is not None
    assert measured.start == NOW - timedelta(days=28)  # the first of the 28, not 90 days ago
    # 28 orders of 240 and one of 530: 7,250 over 29 orders
    assert measured.average_order_value == Decimal("250.00")
    totals = period_totals(sales, now=NOW, days=30)
    assert (totals.orders, totals.revenue) == (29, Decimal(7250))
