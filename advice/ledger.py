"""The sales ledger, summed up: weeks, the customer book, and the levers it measures.

Pure functions over a list of :class:`Sale` (in any order); nothing here stores anything.

Public API
    ``Sale(id, at, amount, quantity, items, customer, channel, refund_of)``: one logged line;
    ``at`` is an aware datetime, ``amount`` a Decimal, negative for a refund; ``refund_of``
    (the id of the sale a refund reverses, when the bot knows it) is kept for the bot, the
    sums do not need it. ``Sale.of(entry, id=, at=, refund_of=None)`` makes one from a
    parsed :class:`advice.sales.SaleEntry`.
    ``weekly_summary(sales, *, now, weeks=5, tz="UTC", first_orders=None) -> SalesSummary``:
    ``weeks`` weeks (Monday to Sunday in the seller's time zone, a ZoneInfo or its name),
    oldest first, the last being the week of ``now``; each a :class:`WeekSummary`; plus the
    repeat share over the 90 days up to ``now``. ``first_orders``: each customer's first
    order ever (by :func:`customer_key`), when ``sales`` hold only the recent ones.
    ``totals_of(sales, *, now) -> tuple[CustomerTotals, ...]``: each customer summed up.
    ``customer_book(totals, *, now, category) -> tuple[CustomerEntry, ...]``: one entry per
    customer, due ones first (longest overdue first), then by last purchase, newest first.
    ``measured_levers(sales, *, now) -> MeasuredLevers | None``.
    ``with_measured(profile, levers, *, keep=()) -> Profile``: the profile with the measured
    figures in place of the seller's estimates, saying which (``Profile.measured``) and over
    how many days (``Profile.measured_days``); ``keep``: fields the seller's own figure wins.
    ``period_totals(sales, *, now, days) -> PeriodTotals``: orders and net revenue over the
    last ``days`` days (what a check-in asks, prefilled from the ledger).
    ``follow_up(entry, lang) -> str``: a message for a due customer, to adapt and send.
    ``repeat_interval_days(category) -> int`` ('other' for an unknown category).
    ``customer_key(name) -> str``: who a nickname names.
    Results: :class:`WeekSummary`, :class:`SalesSummary`, :class:`CustomerEntry`,
    :class:`MeasuredLevers` (frozen dataclasses; amounts are Decimal, shares 0..1 floats).

What counts
    An order is a sale with a positive amount; a refund (negative) is not an order and
    takes its amount off the revenue (an order refunded in full still counts as an order,
    and its revenue nets to zero). The average order value is net revenue over orders.
    Sales after ``now`` are left out. Customers are told apart by their nickname with case
    and spacing ignored ("Lena" and "lena " are one customer, shown as last typed); sales
    without a customer count in orders and revenue only.

Due customers
    A visit is a day (UTC) with an order of theirs: two lines logged for one basket are one.
    A customer's usual interval is the time from their first order to their last over their
    visits less one (a mean the database can sum up for 100,000 sales, see
    :class:`CustomerTotals`). They are due at their last order plus 1.2 times that
    interval; with one visit, at their last order plus the category's typical interval
    (data/sales.toml, ``repeat_interval_days``). The repeat share counts visits too.

Measured levers
    Once the ledger holds at least 5 orders spanning at least 14 days, over the last 90
    days, it measures the levers itself: weekly orders (orders over the days from the first
    of those orders to ``now``, times 7), the average order value and the repeat rate (share
    of named customers with two or more visits). Why these bounds: two weeks cover every
    weekday twice, so a busy weekend does not stand for the week, and with five orders one
    order more or less moves the weekly figure by a fifth, about as much as a seller's own
    estimate is off; fewer orders or days give figures that estimate beats. The period is
    given, since over less than 90 days the repeat rate understates the 90-day rate the
    benchmarks use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from advice.data import load_sales_data
from advice.profile import MEASURABLE, MEASURED_DAYS_MAX, NUMBER_FIELDS, Profile
from advice.sales import SaleEntry

DUE_FACTOR = 1.2  # due once 20% past their own usual interval
REPEAT_WINDOW = timedelta(days=90)  # the benchmarks' repeat rate is over 90 days
MEASURED_MIN_ORDERS = 5
MEASURED_MIN_SPAN = timedelta(days=14)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Sale:
    """One line of the ledger: a sale, or a refund (negative amount)."""

    id: int
    at: datetime
    amount: Decimal
    quantity: int | None = None
    items: str | None = None
    customer: str | None = None
    channel: str | None = None
    refund_of: int | None = None

    @classmethod
    def of(cls, entry: SaleEntry, *, id: int, at: datetime, refund_of: int | None = None) -> Sale:
        """A ledger line from a parsed sale line."""
        return cls(
            id, at, entry.amount, entry.quantity, entry.items, entry.customer, entry.channel,
            refund_of,
        )  # fmt: skip

    @property
    def is_order(self) -> bool:
        """True for a sale (a refund is not an order)."""
        return self.amount > 0


@dataclass(frozen=True, slots=True)
class WeekSummary:
    """One week, Monday ``start`` to Sunday ``end`` (dates in the seller's time zone)."""

    start: date
    end: date
    orders: int
    revenue: Decimal
    average_order_value: Decimal | None  # None without orders
    new_customers: int  # named customers whose first order ever was this week
    returning_customers: int  # named customers who ordered this week and before it


@dataclass(frozen=True, slots=True)
class SalesSummary:
    """What /sales shows: the weeks, oldest first, and the repeat share over 90 days."""

    weeks: tuple[WeekSummary, ...]
    repeat_share: float | None  # None when no named customer ordered in the 90 days
    repeat_customers: int  # named customers with 2+ visits in the 90 days
    named_customers: int  # named customers with an order in the 90 days


@dataclass(frozen=True, slots=True)
class CustomerTotals:
    """One customer's purchases summed up: from their ledger lines (:func:`totals_of`), or
    as the database sums them for a large ledger (the same figures)."""

    name: str
    orders: int
    total: Decimal  # net of refunds
    first_purchase: datetime | None
    last_purchase: datetime | None
    order_days: int  # the days (UTC) with an order: two orders on one day are one visit
    last_items: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerEntry:
    """One customer in the book."""

    name: str
    orders: int
    total: Decimal  # net of refunds
    first_purchase: datetime | None  # None for a customer with refunds only
    last_purchase: datetime | None
    last_items: str | None  # the items of their latest order that said what was bought
    usual_interval: timedelta | None  # see usual_interval(); None with one visit
    due_at: datetime | None  # when a follow-up is due
    due: bool
    due_since: datetime | None  # due_at when due


@dataclass(frozen=True, slots=True)
class MeasuredLevers:
    """The levers as the ledger measures them, and the period they cover."""

    weekly_orders: float
    average_order_value: Decimal
    repeat_rate: float | None  # None when no order named its customer
    start: datetime
    end: datetime
    days: float


@dataclass(frozen=True, slots=True)
class PeriodTotals:
    """Orders and net revenue over the last days of a period."""

    orders: int
    revenue: Decimal


# --- helpers -----------------------------------------------------------------------------------


def _zone(tz: tzinfo | str) -> tzinfo:
    """A time zone from a ZoneInfo or its name."""
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def customer_key(name: str) -> str:
    """Who a nickname names: case and spacing ignored."""
    return " ".join(name.casefold().split())


def _orders(sales: Iterable[Sale], now: datetime) -> list[Sale]:
    """The orders up to ``now``, oldest first."""
    return sorted((s for s in sales if s.is_order and s.at <= now), key=lambda s: (s.at, s.id))


def _average(revenue: Decimal, orders: int) -> Decimal | None:
    """Revenue over orders, to the cent; None without orders."""
    return (revenue / orders).quantize(Decimal("0.01")) if orders else None


def _repeat_counts(orders: Iterable[Sale]) -> tuple[int, int]:
    """(named customers with 2+ visits, named customers with an order)."""
    times: dict[str, list[datetime]] = {}
    for sale in orders:
        if sale.customer:
            times.setdefault(customer_key(sale.customer), []).append(sale.at)
    repeat = sum(1 for at in times.values() if len(_days(at)) >= 2)
    return repeat, len(times)


def _days(times: Iterable[datetime]) -> set[date]:
    """The days (UTC) of ``times``: orders on one day are one visit."""
    return {at.astimezone(UTC).date() for at in times}


# --- /sales ------------------------------------------------------------------------------------


def weekly_summary(
    sales: Sequence[Sale],
    *,
    now: datetime,
    weeks: int = 5,
    tz: tzinfo | str = "UTC",
    first_orders: Mapping[str, datetime] | None = None,
) -> SalesSummary:
    """The last ``weeks`` weeks to ``now`` (Monday-start, in ``tz``) and the 90-day repeat share."""
    starts = week_starts(now, weeks, tz)
    orders = _orders(sales, now)  # sorted once: a busy seller has thousands in 90 days
    first_order = _first_orders(orders, now)
    for key, at in (first_orders or {}).items():  # orders before those given
        first_order[key] = min(at, first_order.get(key, at))
    shown = [s for s in sales if starts[0][1] <= s.at <= now]  # each week looks at these only
    summaries = []
    for n, (start, begin) in enumerate(starts):
        finish = starts[n + 1][1] if n + 1 < len(starts) else _next_monday(start, tz)
        in_week = [s for s in shown if begin <= s.at < finish]
        summaries.append(_week(start, in_week, first_order, begin))
    repeat, named = _repeat_counts(s for s in orders if s.at > now - REPEAT_WINDOW)
    return SalesSummary(tuple(summaries), repeat / named if named else None, repeat, named)


def week_starts(now: datetime, weeks: int, tz: tzinfo | str) -> list[tuple[date, datetime]]:
    """The last ``weeks`` weeks to ``now``, oldest first: each Monday (in ``tz``) and the
    moment it begins."""
    zone = _zone(tz)
    today = now.astimezone(zone).date()
    this_monday = today - timedelta(days=today.weekday())
    mondays = [this_monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    return [(monday, datetime.combine(monday, time(), zone)) for monday in mondays]


def _next_monday(monday: date, tz: tzinfo | str) -> datetime:
    return datetime.combine(monday + timedelta(days=7), time(), _zone(tz))


def week_summary(
    start: date, orders: int, revenue: Decimal, new: int, returning: int
) -> WeekSummary:
    """One week's figures, from its orders and revenue (net of refunds) and its named buyers."""
    return WeekSummary(
        start=start,
        end=start + timedelta(days=6),
        orders=orders,
        revenue=revenue,
        average_order_value=_average(revenue, orders),
        new_customers=new,
        returning_customers=returning,
    )


def _first_orders(sales: Iterable[Sale], now: datetime) -> dict[str, datetime]:
    """Each named customer's first order."""
    first: dict[str, datetime] = {}
    for sale in _orders(sales, now):
        if sale.customer:
            first.setdefault(customer_key(sale.customer), sale.at)
    return first


def _week(
    start: date, sales: list[Sale], first_order: dict[str, datetime], begin: datetime
) -> WeekSummary:
    """One week's figures."""
    orders = [s for s in sales if s.is_order]
    revenue = sum((s.amount for s in sales), Decimal(0))
    buyers = {customer_key(s.customer) for s in orders if s.customer}
    new = sum(1 for key in buyers if first_order[key] >= begin)
    return week_summary(start, len(orders), revenue, new, len(buyers) - new)


# --- /customers --------------------------------------------------------------------------------


def repeat_interval_days(category: str) -> int:
    """The typical days between two purchases in a category ('other' when unknown)."""
    intervals = load_sales_data()["repeat_interval_days"]
    return int(intervals[category] if category in intervals else intervals["other"])


def totals_of(sales: Sequence[Sale], *, now: datetime) -> tuple[CustomerTotals, ...]:
    """Each named customer's purchases summed up from their lines (as the database sums
    them for a large ledger)."""
    by_customer: dict[str, list[Sale]] = {}
    for sale in sorted(sales, key=lambda s: (s.at, s.id)):
        if sale.customer and sale.at <= now:
            by_customer.setdefault(customer_key(sale.customer), []).append(sale)
    totals = []
    for lines in by_customer.values():
        orders = [s for s in lines if s.is_order]
        totals.append(
            CustomerTotals(
                name=lines[-1].customer or "",
                orders=len(orders),
                total=sum((s.amount for s in lines), Decimal(0)),
                first_purchase=orders[0].at if orders else None,
                last_purchase=orders[-1].at if orders else None,
                order_days=len(_days(s.at for s in orders)),
                last_items=next((s.items for s in reversed(orders) if s.items), None),
            )
        )
    return tuple(totals)


def customer_book(
    totals: Sequence[CustomerTotals], *, now: datetime, category: str
) -> tuple[CustomerEntry, ...]:
    """Every customer, due ones first (longest overdue first), then latest buyers."""
    typical = timedelta(days=repeat_interval_days(category))
    entries = [_customer(customer, now, typical) for customer in totals]
    due = sorted((e for e in entries if e.due_since), key=lambda e: e.due_since or now)
    others = sorted(
        (e for e in entries if not e.due_since),
        key=lambda e: e.last_purchase or datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )
    return (*due, *others)


def usual_interval(customer: CustomerTotals) -> timedelta | None:
    """The customer's usual time between orders: from their first order to their last,
    over the days they ordered on, less one (None with orders on one day only)."""
    first, last = customer.first_purchase, customer.last_purchase
    if first is None or last is None or customer.order_days < 2:
        return None
    return (last - first) / (customer.order_days - 1)


def _customer(customer: CustomerTotals, now: datetime, typical: timedelta) -> CustomerEntry:
    """One customer's entry: due at their last order plus 1.2 times their usual interval
    (the category's typical interval when they ordered on one day only)."""
    usual = usual_interval(customer)
    last = customer.last_purchase
    due_at = None
    if last is not None:
        due_at = last + (usual * DUE_FACTOR if usual is not None else typical)
    due = due_at is not None and due_at <= now
    return CustomerEntry(
        name=customer.name,
        orders=customer.orders,
        total=customer.total,
        first_purchase=customer.first_purchase,
        last_purchase=last,
        last_items=customer.last_items,
        usual_interval=usual,
        due_at=due_at,
        due=due,
        due_since=due_at if due else None,
    )


def follow_up(entry: CustomerEntry, lang: str) -> str:
    """A ready-to-adapt message to a customer, filled with what they bought last."""
    templates = load_sales_data()["follow_up"]
    if entry.last_items:
        return str(templates[lang]).format(name=entry.name, items=entry.last_items)
    return str(templates["no_items"][lang]).format(name=entry.name)


# --- the levers, measured ----------------------------------------------------------------------


def measured_levers(sales: Sequence[Sale], *, now: datetime) -> MeasuredLevers | None:
    """Weekly orders, order value and repeat rate from the last 90 days, once there is enough."""
    window_start = now - REPEAT_WINDOW
    orders = [s for s in _orders(sales, now) if s.at > window_start]
    if len(orders) < MEASURED_MIN_ORDERS or orders[-1].at - orders[0].at < MEASURED_MIN_SPAN:
        return None
    start = orders[0].at
    days = (now - start) / DAY
    revenue = sum((s.amount for s in sales if start <= s.at <= now), Decimal(0))
    repeat, named = _repeat_counts(orders)
    average = _average(revenue, len(orders))
    assert average is not None
    return MeasuredLevers(
        weekly_orders=len(orders) * 7 / days,
        average_order_value=average,
        repeat_rate=repeat / named if named else None,
        start=start,
        end=now,
        days=days,
    )


def with_measured(
    profile: Profile, levers: MeasuredLevers | None, *, keep: Iterable[str] = ()
) -> Profile:
    """The profile with the ledger's figures in place of the seller's estimates.

    Weekly orders (rounded to 0.01), the average order value (in the profile's currency: the
    caller gives sales in it) and the repeat rate (a share, 0..1, as the profile holds it)
    replace the profile's; ``measured`` names those replaced and ``measured_days`` the days
    covered, and they leave ``assumed``. A figure is left as it is when it is in ``keep``
    (the seller gave their own), when the ledger cannot say (no named customer: no repeat
    rate; refunds as large as the sales: no order value) or when it is out of the profile's
    range. Without levers (too little in the ledger) nothing is measured.
    """
    if levers is None:
        return replace(profile, measured=(), measured_days=None)
    kept = set(keep)
    figures: dict[str, float | None] = {
        "weekly_orders": round(levers.weekly_orders, 2),
        "average_order_value": round(float(levers.average_order_value), 2),
        "repeat_rate": None if levers.repeat_rate is None else round(levers.repeat_rate, 4),
    }
    changes: dict[str, Any] = {}
    for name in MEASURABLE:
        value, bounds = figures[name], NUMBER_FIELDS[name]
        if name in kept or value is None:
            continue
        low_ok = value >= bounds.low if bounds.low_inclusive else value > bounds.low
        if low_ok and value <= bounds.high:
            changes[name] = value
    if not changes:
        return replace(profile, measured=(), measured_days=None)
    days = min(max(round(levers.days), 1), MEASURED_DAYS_MAX)
    return replace(
        profile,
        **changes,
        assumed=tuple(name for name in profile.assumed if name not in changes),
        measured=tuple(changes),
        measured_days=days,
    )


def period_totals(sales: Sequence[Sale], *, now: datetime, days: int) -> PeriodTotals:
    """Orders and net revenue (refunds taken off) over the ``days`` days up to ``now``."""
    start = now - timedelta(days=days)
    lines = [s for s in sales if start < s.at <= now]
    return PeriodTotals(
        orders=sum(1 for s in lines if s.is_order),
        revenue=sum((s.amount for s in lines), Decimal(0)),
    )
