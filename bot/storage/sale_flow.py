"""What the bare ``/sold`` flow reads of the customer book (see :mod:`~bot.storage.loads`):
the seller's customers by their latest purchase, for its buttons, and the customer a
pressed button names, by id and only the seller's own."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import snapshot as need
from bot.core.snapshot import Snapshot
from bot.core.values import CustomerName
from bot.storage.driver import fetch
from bot.storage.statements import CUSTOMERS, SALES, Query, prepared


def _recent_query(insert: Any, *, most: int) -> Query:
    """The seller's customers by their latest purchase (a refund is none), newest first:
    from the index on sales (user_id, at, customer_id, amount_minor) alone."""
    s, c = SALES.c, CUSTOMERS.c
    latest = (
        select(s.customer_id, func.max(s.at).label("last_at"))
        .where(s.user_id == bindparam("user"), s.customer_id.is_not(None), s.amount_minor > 0)
        .group_by(s.customer_id)
        .subquery("latest")
    )
    return (
        select(c.id, c.nickname)
        .join(latest, latest.c.customer_id == c.id)
        .where(c.user_id == bindparam("user"))
        .order_by(latest.c.last_at.desc(), c.id.desc())
        .limit(most)
    )


async def recent_customers(
    engine: AsyncEngine, snapshot: Snapshot, wanted: need.RecentCustomers
) -> tuple[CustomerName, ...]:
    build: Callable[[Any], Query] = partial(_recent_query, most=wanted.most)
    query = prepared(engine.dialect.name, f"recent_customers:{wanted.most}", build)
    rows = await fetch(engine, query, {"user": snapshot.user.id})
    return tuple(CustomerName(row["id"], row["nickname"]) for row in rows)


def _of_id_query(insert: Any) -> Query:
    c = CUSTOMERS.c
    return select(c.id, c.nickname).where(
        c.user_id == bindparam("user"), c.id == bindparam("of_customer")
    )


async def customer_of_id(
    engine: AsyncEngine, snapshot: Snapshot, wanted: need.CustomerOfId
) -> CustomerName | None:
    query = prepared(engine.dialect.name, "customer_of_id", _of_id_query)
    values = {"user": snapshot.user.id, "of_customer": wanted.customer_id}
    rows = await fetch(engine, query, values)
    return CustomerName(rows[0]["id"], rows[0]["nickname"]) if rows else None
