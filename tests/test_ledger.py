"""The ledger, read as a specification: logged sales in -> /sales, /customers and the levers out.

Figures in the comments are worked out by hand from the ledgers below.
"""

import time as time_module
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advice.ledger import (
    CustomerEntry,
    Sale,
    customer_book,
    customer_key,
    follow_up,
    measured_levers,
    period_totals,
    repeat_interval_days,
    totals_of,
    weekly_summary,
)
from advice.profile import CATEGORIES
from advice.sales import SaleEntry, parse_sale

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str, clock: str = "12:00", tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=tz)


def line(
    id: int,
    when: datetime,
    amount: str,
    customer: str | None = None,
    items: str | None = None,
    quantity: int | None = None,
    refund_of: int | None = None,
) -> Sale:
    return Sale(id, when, Decimal(amount), quantity, items, customer, None, refund_of)


# A baker (food: customers usually come back within 14 days) in Shanghai, six weeks of sales.
# Mondays: 26 Jan, 2 Feb, 9 Feb, 16 Feb (Spring Festival: no sales), 23 Feb, 2 Mar 2026.
BAKER_NOW = at("2026-03-04", "20:00")  # a Wednesday evening
BAKER = [
    line(1, at("2026-01-27", "10:00"), "180", "Lena", "cakes", 2),
    line(2, at("2026-01-28", "12:00"), "160", "Auntie Fang", "birthday cake"),
    line(3, at("2026-01-29", "15:00"), "60", None, "cookies"),
    line(4, at("2026-02-03", "11:00"), "120", "Wang", "cake", 1),
    line(5, at("2026-02-05", "09:00"), "90", "lena", "cookies"),  # Lena, typed in lower case
    line(6, at("2026-02-10", "10:00"), "180", "Lena", "cakes", 2),
    line(7, at("2026-02-12", "18:00"), "200", "Mei", "cake"),
    line(8, at("2026-02-12", "18:30"), "40", "Mei", "cookies"),  # the same visit as 7
    line(9, at("2026-02-24", "10:00"), "180", "Lena", "cakes", 2),
    line(10, at("2026-02-26", "12:00"), "150", "Zhou"),
    line(11, at("2026-03-02", "00:30"), "75", "Wang", "cookies"),  # Monday in Shanghai only
    line(12, at("2026-03-03", "10:00"), "180", "Lena", "cakes", 2),
    line(13, at("2026-03-05", "10:00"), "100", "Lena"),  # after "now": not counted
]


def test_a_parsed_sale_line_becomes_a_ledger_line() -> None:
    entry = parse_sale("/sold 180 2 cakes @Lena #groups", "en")
    assert isinstance(entry, SaleEntry)
    when = at("2026-03-04")
    assert Sale.of(entry, id=7, at=when) == Sale(
        7, when, Decimal(180), 2, "cakes", "Lena", "groups", None
    )


def test_a_bakers_five_weeks() -> None:
    summary = weekly_summary(BAKER, now=BAKER_NOW, tz="Asia/Shanghai")
    figures = [
        (w.start, w.orders, w.revenue, w.average_order_value, w.new_customers,
         w.returning_customers)
        for w in summary.weeks
    ]  # fmt: skip
    assert figures == [
        # sales 4, 5: 120 + 90 = 210; Wang is new, Lena bought in January
        (date(2026, 2, 2), 2, Decimal(210), Decimal(105), 1, 1),
        # sales 6, 7, 8: 180 + 200 + 40 = 420 over 3 orders; Mei is new
        (date(2026, 2, 9), 3, Decimal(420), Decimal(140), 1, 1),
        (date(2026, 2, 16), 0, Decimal(0), None, 0, 0),
        # sales 9, 10: 180 + 150 = 330; Zhou is new
        (date(2026, 2, 23), 2, Decimal(330), Decimal(165), 1, 1),
        # sales 11, 12 (13 is after now): 75 + 180 = 255; Wang and Lena come back
        (date(2026, 3, 2), 2, Decimal(255), Decimal("127.50"), 0, 2),
    ]
    assert summary.weeks[-1].end == date(2026, 3, 8)
    # Over 90 days: Lena, Wang came back; Fang, Mei (one visit, two lines), Zhou did not.
    assert (summary.repeat_customers, summary.named_customers) == (2, 5)
    assert summary.repeat_share == 0.4


def test_weeks_start_on_monday_in_the_sellers_time_zone() -> None:
    # Sale 11 is Monday 00:30 in Shanghai but Sunday 16:30 in UTC.
    in_utc = weekly_summary(BAKER, now=BAKER_NOW, tz=UTC)
    assert [w.start for w in in_utc.weeks][-1] == date(2026, 3, 2)
    assert (in_utc.weeks[-2].orders, in_utc.weeks[-1].orders) == (3, 1)


def test_the_customer_book_puts_the_due_first() -> None:
    book = customer_book(totals_of(BAKER, now=BAKER_NOW), now=BAKER_NOW, category="food")
    assert [c.name for c in book] == [
        "Auntie Fang",  # one order 28 Jan: due 14 days later, 11 Feb
        "Mei",  # one visit 12 Feb 18:30: due 26 Feb 18:30
        "Lena",  # not due; last bought 3 Mar
        "Wang",  # not due; last bought 2 Mar
        "Zhou",  # one order 26 Feb: due 12 Mar
    ]
    fang, mei, lena, wang, zhou = book
    assert fang.due and fang.due_since == at("2026-02-11", "12:00")
    assert mei.due and mei.due_since == at("2026-02-26", "18:30")
    assert (mei.orders, mei.total, mei.usual_interval, mei.last_items) == (
        2, Decimal(240), None, "cookies"
    )  # fmt: skip
    # Lena: 5 orders on 5 days, 810 in all. Gaps 8d23h, 5d1h, 14d, 7d: 35 days over 4 gaps,
    # 8d18h; due 1.2 times that (10d12h) after 3 Mar 10:00.
    assert (lena.orders, lena.total, lena.name) == (5, Decimal(810), "Lena")
    assert lena.usual_interval == timedelta(days=8, hours=18)
    assert lena.due_at == at("2026-03-13", "22:00") and not lena.due
    assert lena.first_purchase == at("2026-01-27", "10:00")
    assert lena.last_purchase == at("2026-03-03", "10:00")
    # Wang: one gap of 26d13h30m (637.5 h); due 1.2 times that, 765 h (31d21h), after 2 Mar 00:30.
    assert wang.due_at == at("2026-04-02", "21:30") and wang.due_since is None
    assert zhou.due_at == at("2026-03-12", "12:00") and zhou.last_items is None


def test_a_customer_falls_due_at_their_own_rhythm() -> None:
    every_ten_days = [
        line(i, at("2026-01-01") + timedelta(days=10 * i), "50", "Li") for i in range(3)
    ]
    # Orders on 1, 11, 21 Jan: usual interval 10 days, due 12 days after the last.
    due_day = at("2026-02-02")
    (before,) = customer_book(
        totals_of(every_ten_days, now=due_day - timedelta(minutes=1)),
        now=due_day - timedelta(minutes=1),
        category="food",
    )
    (after,) = customer_book(totals_of(every_ten_days, now=due_day), now=due_day, category="food")
    assert not before.due and before.due_since is None
    assert after.due and after.due_since == due_day


@pytest.mark.parametrize(("category", "days"), [("food", 14), ("jewellery", 180), ("other", 60)])
def test_a_one_time_customer_falls_due_after_the_categorys_interval(
    category: str, days: int
) -> None:
    once = [line(1, at("2026-01-01"), "300", "Kim")]
    due_day = at("2026-01-01") + timedelta(days=days)
    (before,) = customer_book(
        totals_of(once, now=due_day - timedelta(seconds=1)),
        now=due_day - timedelta(seconds=1),
        category=category,
    )
    (after,) = customer_book(totals_of(once, now=due_day), now=due_day, category=category)
    assert (before.due, after.due, after.due_since) == (False, True, due_day)


def test_every_category_has_a_repeat_interval() -> None:
    assert {c: repeat_interval_days(c) for c in CATEGORIES} == {
        "menswear": 90, "womenswear": 90, "jewellery": 180, "beauty": 45, "food": 14,
        "home": 120, "other": 60,
    }  # fmt: skip
    assert repeat_interval_days("no such category") == 60


# A reseller of clothes, in UTC, with refunds.
RESELLER_NOW = at("2026-03-05", "12:00", UTC)
RESELLER = [
    line(
        1, at("2026-03-01", "09:00", UTC), "-50", "Dee", refund_of=None
    ),  # a sale before the ledger
    line(2, at("2026-03-02", "10:00", UTC), "300", "Amy", "dress"),
    line(3, at("2026-03-02", "11:00", UTC), "250", "Bea", "skirt"),
    line(4, at("2026-03-03", "09:00", UTC), "-300", "Amy", "dress", refund_of=2),
    line(5, at("2026-03-04", "12:00", UTC), "400", "Cleo", "coat"),
    line(6, at("2026-03-04", "13:00", UTC), "-100", "Cleo", refund_of=5),  # a partial refund
]


def test_refunds_take_off_revenue_but_are_not_orders() -> None:
    (week,) = weekly_summary(RESELLER, now=RESELLER_NOW, weeks=1).weeks
    # 300 + 250 - 300 + 400 - 100 = 550 over 3 orders: 183.33
    assert (week.orders, week.revenue, week.average_order_value) == (
        3, Decimal(550), Decimal("183.33")
    )  # fmt: skip
    assert (week.new_customers, week.returning_customers) == (3, 0)
    # Dee's refund fell on Sunday 1 Mar, the week before.
    (before, _) = weekly_summary(RESELLER, now=RESELLER_NOW, weeks=2).weeks
    assert (before.orders, before.revenue, before.average_order_value) == (0, Decimal(-50), None)


def test_the_reseller_customer_book_nets_refunds() -> None:
    book = customer_book(
        totals_of(RESELLER, now=RESELLER_NOW), now=RESELLER_NOW, category="womenswear"
    )
    assert [(c.name, c.orders, c.total, c.due) for c in book] == [
        ("Cleo", 1, Decimal(300), False),  # 400 - 100
        ("Bea", 1, Decimal(250), False),
        ("Amy", 1, Decimal(0), False),  # refunded in full
        ("Dee", 0, Decimal(-50), False),  # refunds only: no purchase to follow up
    ]
    assert book[-1].last_purchase is None and book[-1].due_at is None


def test_the_levers_are_measured_once_the_ledger_holds_enough() -> None:
    assert measured_levers(RESELLER, now=RESELLER_NOW) is None  # 3 orders over 2 days
    measured = measured_levers(BAKER, now=BAKER_NOW)
    assert measured is not None
    # 12 orders from 27 Jan 10:00 to now, 4 Mar 20:00: 36 days 10 hours.
    assert measured.start == at("2026-01-27", "10:00") and measured.end == BAKER_NOW
    assert measured.days == pytest.approx(36 + 10 / 24)
    assert measured.weekly_orders == pytest.approx(12 * 7 / (36 + 10 / 24))  # 2.31
    # 1615 over 12 orders
    assert measured.average_order_value == Decimal("134.58")
    assert measured.repeat_rate == 0.4  # Lena and Wang of 5 named customers


def test_five_orders_over_less_than_fourteen_days_are_not_enough() -> None:
    start = at("2026-01-01")
    daily = [line(i, start + timedelta(days=3 * i), "100") for i in range(5)]  # 12 days
    assert measured_levers(daily, now=start + timedelta(days=30)) is None
    one_more = [*daily, line(5, start + timedelta(days=14), "100")]
    measured = measured_levers(one_more, now=start + timedelta(days=28))
    assert measured is not None
    assert measured.weekly_orders == 1.5  # 6 orders in 28 days
    assert measured.repeat_rate is None  # no sale named its customer


def test_a_due_customer_gets_a_message_with_what_they_bought() -> None:
    book = customer_book(totals_of(BAKER, now=BAKER_NOW), now=BAKER_NOW, category="food")
    mei = book[1]
    assert follow_up(mei, "en").startswith("Hi Mei! How are you finding the cookies?")
    assert follow_up(mei, "zh").startswith("Mei，你好呀！上次的cookies")
    zhou = next(c for c in book if c.name == "Zhou")  # never said what they bought
    assert "{" not in follow_up(zhou, "en") and follow_up(zhou, "en").startswith("Hi Zhou!")
    assert follow_up(zhou, "zh").startswith("Zhou，好久不见")


# --- properties --------------------------------------------------------------------------------

PROPERTY_NOW = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)


@st.composite
def ledgers(draw: st.DrawFn) -> list[Sale]:
    count = draw(st.integers(min_value=0, max_value=30))
    sales = []
    for i in range(count):
        minutes = draw(st.integers(min_value=0, max_value=35 * 24 * 60))  # within 5 weeks
        amount = draw(st.integers(min_value=-50_000, max_value=100_000).filter(bool))
        customer = draw(st.none() | st.sampled_from(["Lena", "lena", "Wang", "小李"]))
        when = PROPERTY_NOW - timedelta(minutes=minutes)
        sales.append(line(i, when, str(Decimal(amount) / 100), customer))
    return sales


@given(ledgers())
def test_revenue_is_the_sum_of_the_amounts_and_orders_never_negative(sales: list[Sale]) -> None:
    weeks = weekly_summary(sales, now=PROPERTY_NOW, weeks=6).weeks
    assert sum((w.revenue for w in weeks), Decimal(0)) == sum((s.amount for s in sales), Decimal(0))
    for week in weeks:
        assert week.orders >= 0 and week.new_customers >= 0 and week.returning_customers >= 0
        assert week.new_customers + week.returning_customers <= week.orders


@given(ledgers(), st.sampled_from(CATEGORIES))
def test_the_book_adds_up_and_lists_the_due_first(sales: list[Sale], category: str) -> None:
    book = customer_book(totals_of(sales, now=PROPERTY_NOW), now=PROPERTY_NOW, category=category)
    named = sum((s.amount for s in sales if s.customer), Decimal(0))
    assert sum((c.total for c in book), Decimal(0)) == named
    assert sum(c.orders for c in book) == sum(1 for s in sales if s.customer and s.amount > 0)
    dues = [c.due for c in book]
    assert dues == sorted(dues, reverse=True)
    overdue = [c.due_since for c in book if c.due_since is not None]
    assert overdue == sorted(overdue)
    for entry in book:
        assert isinstance(entry, CustomerEntry)
        assert entry.due == (entry.due_at is not None and entry.due_at <= PROPERTY_NOW)


@given(ledgers())
def test_levers_are_measured_only_from_enough_orders(sales: list[Sale]) -> None:
    measured = measured_levers(sales, now=PROPERTY_NOW)
    orders = sorted(s.at for s in sales if s.amount > 0)
    enough = len(orders) >= 5 and orders[-1] - orders[0] >= timedelta(days=14)
    assert (measured is not None) == enough
    if measured is not None:
        assert measured.start == orders[0] and measured.end == PROPERTY_NOW
        assert measured.days >= 14 and measured.weekly_orders > 0
        assert measured.repeat_rate is None or 0 <= measured.repeat_rate <= 1


# --- the edges: a refund's link, a name's spaces, a week's first instant, the 90 days --------


def test_a_refund_keeps_the_sale_it_refunds() -> None:
    entry = parse_sale("/sold -180 @Lena", "en")
    assert isinstance(entry, SaleEntry)
    when = at("2026-03-04")
    refund = Sale.of(entry, id=8, at=when, refund_of=7)
    assert refund == Sale(8, when, Decimal(-180), None, None, "Lena", None, 7)


def test_a_customer_is_known_by_their_name_whatever_its_case_and_spacing() -> None:
    assert customer_key(" Aunt  MAY ") == "aunt may"


MONDAY = at("2026-03-02", "00:00")  # the first instant of the week in Shanghai


def test_a_sale_on_the_first_instant_of_a_week_is_in_that_week_only() -> None:
    sales = [line(1, MONDAY, "100", "Lena")]
    before, week = weekly_summary(sales, now=BAKER_NOW, weeks=2, tz="Asia/Shanghai").weeks
    assert (before.orders, week.orders) == (0, 1)
    assert (week.new_customers, week.returning_customers) == (1, 0)  # her first order


def test_an_empty_week_has_a_revenue_of_zero_in_money() -> None:
    (week,) = weekly_summary([], now=BAKER_NOW, weeks=1, tz="Asia/Shanghai").weeks
    assert week.revenue == 0 and isinstance(week.revenue, Decimal)
    totals = period_totals([], now=BAKER_NOW, days=30)
    assert totals.revenue == 0 and isinstance(totals.revenue, Decimal)


def test_the_week_is_the_sellers_week_even_when_utc_is_still_on_the_one_before() -> None:
    # 01:00 on Monday 2 March in Shanghai is 17:00 on Sunday 1 March in UTC
    (week,) = weekly_summary([], now=at("2026-03-02", "01:00"), weeks=1, tz="Asia/Shanghai").weeks
    assert week.start == date(2026, 3, 2)


def test_orders_before_the_ledger_make_a_customer_returning() -> None:
    sales = [line(1, at("2026-03-03"), "100", "Lena"), line(2, at("2026-03-03"), "80", "Mei")]
    earlier = {"lena": at("2025-12-01"), "someone_else": at("2025-11-01")}
    (week,) = weekly_summary(
        sales, now=BAKER_NOW, weeks=1, tz="Asia/Shanghai", first_orders=earlier
    ).weeks
    assert (week.new_customers, week.returning_customers) == (1, 1)  # Mei new, Lena back
    # a first order given that is later than the ledger's own changes nothing: Lena first
    # bought on 24 February, the week before
    sales.append(line(3, at("2026-02-24"), "90", "Lena"))
    later = {"lena": at("2026-03-02", "08:00")}
    (week,) = weekly_summary(
        sales, now=BAKER_NOW, weeks=1, tz="Asia/Shanghai", first_orders=later
    ).weeks
    assert (week.new_customers, week.returning_customers) == (1, 1)


def test_the_repeat_share_is_over_the_90_days_before_now_not_the_instant_90_days_ago() -> None:
    sales = [
        line(1, BAKER_NOW - timedelta(days=90), "100", "Lena"),  # just outside
        line(2, BAKER_NOW - timedelta(days=10), "100", "Lena"),
    ]
    summary = weekly_summary(sales, now=BAKER_NOW, weeks=1, tz="Asia/Shanghai")
    assert (summary.repeat_customers, summary.named_customers) == (0, 1)


def test_due_customers_come_longest_overdue_first_whatever_order_they_bought_in() -> None:
    now = at("2026-03-04")
    sales = [
        # every 14 days: due 1.2 x 14 days after 15 January, on 1 February
        line(1, at("2026-01-01"), "100", "Lena"),
        line(2, at("2026-01-15"), "100", "Lena"),
        # one order (food: typically every 14 days): due on 26 January, longer ago
        line(3, at("2026-01-10"), "100", "Mei"),
        line(4, at("2026-02-25"), "100", "Zhou"),  # not due yet
    ]
    book = customer_book(totals_of(sales, now=now), now=now, category="food")
    assert [e.name for e in book] == ["Mei", "Lena", "Zhou"]


@pytest.fixture
def machine_in_shanghai(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's own time zone set to Shanghai, and back to what it was afterwards."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time_module.tzset()
    yield
    monkeypatch.undo()
    time_module.tzset()


@pytest.mark.usefixtures("machine_in_shanghai")
def test_a_visit_is_a_day_in_utc_whatever_the_machines_time_zone() -> None:
    # 23:00 and 01:00 UTC, on two UTC days: two visits (both are 2 March in Shanghai)
    sales = [
        line(1, datetime(2026, 3, 1, 23, 0, tzinfo=UTC), "100", "Lena"),
        line(2, datetime(2026, 3, 2, 1, 0, tzinfo=UTC), "100", "Lena"),
    ]
    (lena,) = totals_of(sales, now=BAKER_NOW)
    assert lena.order_days == 2
