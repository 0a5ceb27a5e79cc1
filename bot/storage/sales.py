"""What a step reads of the seller's sales ledger and customer book (see
:mod:`~bot.storage.loads`): sales since a moment, and the customers with their purchases
summed up in the database, so a seller with 100,000 sales costs one grouped query."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, case, func, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import snapshot as need
from bot.core.snapshot import Snapshot
from bot.core.values import CustomerView, SalesTotals, SaleView, WeekTotals, aware
from bot.storage.driver import fetch
from bot.storage.statements import CUSTOMERS, SALES, Query, prepared

_HUNDRED = Decimal(100)


async def _rows(
    engine: AsyncEngine, name: str, build: Callable[[Any], Query], values: dict[str, Any]
) -> Sequence[RowMapping]:
    return await fetch(engine, prepared(engine.dialect.name, name, build), values)


def _bought(s: Any, postgresql: bool, *only: Any) -> Any:
    """Each customer's orders summed up (refunds subtract from the total only), with the
    days (UTC) they ordered on; ``only``: conditions on the sales summed (one customer's)."""
    order = s.amount_minor > 0
    day = func.date(func.timezone("UTC", s.at) if postgresql else s.at)
    return (
        select(
            s.customer_id,
            func.count().filter(order).label("orders"),
            func.count(func.distinct(day)).filter(order).label("order_days"),
            func.sum(s.amount_minor).label("total_minor"),
            func.min(s.at).filter(order).label("first_at"),
            func.max(s.at).filter(order).label("last_at"),
        )
        .where(s.user_id == bindparam("user"), s.customer_id.is_not(None), *only)
        .group_by(s.customer_id)
        .subquery("bought")
    )


def _sales_query(insert: Any) -> Query:
    """The seller's sales since ``since``, each with its customer's nickname."""
    s, c = SALES.c, CUSTOMERS.c
    return (
        select(SALES, c.nickname)
        .outerjoin(CUSTOMERS, c.id == s.customer_id)
        .where(s.user_id == bindparam("user"), s.at >= bindparam("since", type_=s.at.type))
        .order_by(s.at, s.id)
    )


def _sale(row: RowMapping) -> SaleView:
    return SaleView(
        id=row["id"],
        user_id=row["user_id"],
        at=aware(row["at"]),
        amount=Decimal(row["amount_minor"]) / _HUNDRED,
        currency=row["currency"],
        quantity=row["quantity"],
        items=row["items"],
        customer_id=row["customer_id"],
        channel=row["channel"],
        customer=row.get("nickname"),
    )


async def sales_since(
    engine: AsyncEngine, snapshot: Snapshot, wanted: need.SalesSince
) -> tuple[SaleView, ...]:
    values = {"user": snapshot.user.id, "since": wanted.since}
    return tuple(_sale(row) for row in await _rows(engine, "sales_since", _sales_query, values))


def _weeks_query(weeks: int) -> Callable[[Any], Query]:
    """Each week's orders, revenue, named buyers and new ones among them (whose first order
    ever falls in the week), for weeks from ``begin0`` ... ``begin{weeks-1}`` to ``until``:
    a few rows, however many sales the weeks hold."""

    def build(insert: Any) -> Query:
        s = SALES.c
        begins = [bindparam(f"begin{n}", type_=s.at.type) for n in range(weeks)]
        until = bindparam("until", type_=s.at.type)
        week = case(*((s.at >= begins[n], literal(n)) for n in reversed(range(weeks))))
        order = s.amount_minor > 0
        # One row per week and customer, then each customer's first order from the index
        # on (customer_id, at): one look-up per buyer, not per sale.
        per_buyer = (
            select(
                week.label("week"),
                s.customer_id,
                func.count().filter(order).label("orders"),
                func.sum(s.amount_minor).label("revenue_minor"),
            )
            .where(s.user_id == bindparam("user"), s.at >= begins[0], s.at <= until)
            .group_by(week, s.customer_id)
            .subquery("per_buyer")
        )
        first = SALES.alias("first").c
        first_at = (
            select(func.min(first.at))
            .where(first.customer_id == per_buyer.c.customer_id, first.amount_minor > 0)
            .scalar_subquery()
        )
        buyers = select(per_buyer, first_at.label("first_at")).subquery("buyers")
        b = buyers.c
        week_begin = case(*((b.week == n, begins[n]) for n in range(weeks)))
        bought = (b.orders > 0) & b.customer_id.is_not(None)
        return select(
            b.week,
            func.sum(b.orders).label("orders"),
            func.sum(b.revenue_minor).label("revenue_minor"),
            func.count().filter(bought).label("buyers"),
            func.count().filter(bought & (b.first_at >= week_begin)).label("new"),
        ).group_by(b.week)

    return build


def _repeat_query(insert: Any) -> Query:
    """The sales since ``since``; the named customers who ordered after ``since`` up to
    ``until``, and those of them who did on two days (UTC) or more."""
    s = SALES.c
    since = bindparam("since", type_=s.at.type)
    until = bindparam("until", type_=s.at.type)
    postgresql_ = insert is postgresql.insert
    mine = s.user_id == bindparam("user")
    span = (
        select(s.customer_id, func.min(s.at).label("first"), func.max(s.at).label("last"))
        .where(mine, s.customer_id.is_not(None), s.amount_minor > 0, s.at > since, s.at <= until)
        .group_by(s.customer_id)
        .subquery("span")
    )

    def day(at: Any) -> Any:
        return func.date(func.timezone("UTC", at) if postgresql_ else at)

    # Two days or more: the first order's day before the last's (no distinct count of days,
    # and a date worked out per customer, not per sale).
    count = select(func.count()).where(mine, s.at >= since, s.at <= until).scalar_subquery()
    return select(
        count.label("sales"),
        func.count().filter(day(span.c.first) < day(span.c.last)).label("repeat"),
        func.count().label("named"),
    ).select_from(span)


async def sales_weeks(
    engine: AsyncEngine, snapshot: Snapshot, wanted: need.SalesWeeks
) -> SalesTotals:
    weeks = len(wanted.begins)
    values: dict[str, Any] = {f"begin{n}": at for n, at in enumerate(wanted.begins)}
    values |= {"user": snapshot.user.id, "until": wanted.until}
    found = {
        row["week"]: row
        for row in await _rows(engine, f"sales_weeks:{weeks}", _weeks_query(weeks), values)
    }
    repeat_values = {"user": snapshot.user.id, "since": wanted.repeat_since, "until": wanted.until}
    (repeat,) = await _rows(engine, "sales_repeat", _repeat_query, repeat_values)

    def week(n: int) -> WeekTotals:
        row = found.get(n)
        if row is None:
            return WeekTotals(0, Decimal(0), 0, 0)
        revenue = Decimal(int(row["revenue_minor"] or 0)) / _HUNDRED
        return WeekTotals(int(row["orders"] or 0), revenue, int(row["buyers"]), int(row["new"]))

    return SalesTotals(
        tuple(week(n) for n in range(weeks)),
        int(repeat["sales"] or 0),
        int(repeat["repeat"] or 0),
        int(repeat["named"] or 0),
    )


def _one_sale_query(insert: Any) -> Query:
    s = SALES.c
    return select(SALES).where(s.user_id == bindparam("user"), s.id == bindparam("of_sale"))


async def one_sale(
    engine: AsyncEngine, snapshot: Snapshot, wanted: need.OneSale
) -> SaleView | None:
    values = {"user": snapshot.user.id, "of_sale": wanted.sale_id}
    rows = await _rows(engine, "one_sale", _one_sale_query, values)
    return _sale(rows[0]) if rows else None


def _customers_query(by_key: bool) -> Callable[[Any], Query]:
    """The seller's customers (or the one of ``key``) with their purchases summed up, and
    the items of their latest order that named them."""

    def build(insert: Any) -> Query:
        c, s = CUSTOMERS.c, SALES.c
        # One customer's sales only, through the index on (customer_id, at): SQLite otherwise
        # summed up every sale of the seller's (or the table) to find one customer.
        the_one = (
            select(c.id)
            .where(c.user_id == bindparam("user"), c.nickname_key == bindparam("key"))
            .scalar_subquery()
        )
        bought = _bought(
            s, insert is postgresql.insert, *([s.customer_id == the_one] if by_key else [])
        )
        latest = SALES.alias("latest").c
        last_items = (
            select(latest["items"])
            .where(
                latest.customer_id == c.id, latest.amount_minor > 0, latest["items"].is_not(None)
            )
            .order_by(latest.at.desc(), latest.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = (
            select(
                c.id,
                c.user_id,
                c.nickname,
                c.created_at,
                c.not_regular,
                c.later_until,
                c.followed_up_at,
                bought.c.orders,
                bought.c.total_minor,
                bought.c.first_at,
                bought.c.last_at,
                bought.c.order_days,
                last_items.label("last_items"),
            )
            .outerjoin(bought, bought.c.customer_id == c.id)
            .where(c.user_id == bindparam("user"))
        )
        if by_key:
            return query.where(c.nickname_key == bindparam("key"))
        return query.order_by(c.nickname_key)

    return build


def _customer(row: RowMapping) -> CustomerView:
    def moment(key: str) -> Any:
        return None if row[key] is None else aware(row[key])

    return CustomerView(
        id=row["id"],
        user_id=row["user_id"],
        nickname=row["nickname"],
        created_at=aware(row["created_at"]),
        not_regular=bool(row["not_regular"]),
        later_until=moment("later_until"),
        followed_up_at=moment("followed_up_at"),
        orders=int(row["orders"] or 0),
        total=Decimal(int(row["total_minor"] or 0)) / _HUNDRED,
        first_at=moment("first_at"),
        last_at=moment("last_at"),
        order_days=int(row["order_days"] or 0),
        last_items=row["last_items"],
    )


async def customers(
    engine: AsyncEngine, snapshot: Snapshot, wanted: need.Customers
) -> tuple[CustomerView, ...]:
    rows = await _rows(engine, "customers", _customers_query(False), {"user": snapshot.user.id})
    return tuple(_customer(row) for row in rows)


async def customer_named(
    engine: AsyncEngine, snapshot: Snapshot, wanted: need.CustomerNamed
) -> CustomerView | None:
    values = {"user": snapshot.user.id, "key": wanted.key}
    rows = await _rows(engine, "customer_named", _customers_query(True), values)
    return _customer(rows[0]) if rows else None
