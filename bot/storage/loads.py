"""What a step reads beyond the snapshot: each :class:`~bot.core.snapshot.Need` loaded as a
frozen value (see :meth:`Store.load <bot.storage.store.Store.load>`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from advice.questionnaire import Answer
from bot.core import snapshot as need
from bot.core.snapshot import Need, Snapshot
from bot.core.values import (
    CheckupKind,
    CheckupStatus,
    ReportView,
    RoundKind,
    RoundView,
    SettingsView,
)
from bot.storage import sale_flow, sales
from bot.storage.checkin_queue import aware
from bot.storage.driver import fetch
from bot.storage.models import Base
from bot.storage.privacy import Privacy
from bot.storage.statements import ANSWERS, CHECKUPS, REPORTS, ROUNDS, SETTINGS, Query, prepared

_REPORT_COLUMNS = ("id", "user_id", "checkup_id", "created_at", "language", "profile", "result")
_ROUND_COLUMNS = ("id", "user_id", "status", "due_at", "checkup_id")
Row = RowMapping
Loader = Callable[[AsyncEngine, Snapshot, Any], Awaitable[Any]]


async def _rows(
    engine: AsyncEngine, name: str, build: Callable[[Any], Query], values: dict[str, Any]
) -> Sequence[Row]:
    return await fetch(engine, prepared(engine.dialect.name, name, build), values)


def _report(row: Row) -> ReportView:
    values = {key: row[key] for key in _REPORT_COLUMNS}
    return ReportView(**values | {"created_at": aware(row["created_at"])})


def _reports_query(which: str) -> Callable[[Any], Query]:
    """The seller's reports: the ``latest``, ``all`` oldest first, or ``one`` by id."""

    def build(insert: Any) -> Query:
        r = REPORTS.c
        query = select(*(r[key] for key in _REPORT_COLUMNS)).where(r.user_id == bindparam("user"))
        if which == "latest":
            return query.order_by(r.id.desc()).limit(1)
        if which == "one":
            return query.where(r.id == bindparam("of_report"))
        return query.order_by(r.created_at, r.id)

    return build


async def _latest_report(engine: AsyncEngine, snapshot: Snapshot, _: Need) -> ReportView | None:
    rows = await _rows(engine, "latest_report", _reports_query("latest"), _of(snapshot))
    return _report(rows[0]) if rows else None


async def _all_reports(engine: AsyncEngine, snapshot: Snapshot, _: Need) -> tuple[ReportView, ...]:
    rows = await _rows(engine, "reports", _reports_query("all"), _of(snapshot))
    return tuple(_report(row) for row in rows)


async def _one_report(
    engine: AsyncEngine, snapshot: Snapshot, wanted: need.Report
) -> ReportView | None:
    values = _of(snapshot) | {"of_report": wanted.report_id}
    rows = await _rows(engine, "report", _reports_query("one"), values)
    return _report(rows[0]) if rows else None


def _settings_query(insert: Any) -> Query:
    s = SETTINGS.c
    return select(SETTINGS).where(s.user_id == bindparam("user"))


async def _settings(engine: AsyncEngine, snapshot: Snapshot, _: Need) -> SettingsView:
    rows = await _rows(engine, "settings", _settings_query, _of(snapshot))
    if not rows:
        return SettingsView(snapshot.user.id)
    row = rows[0]
    values = {key: row[key] for key in SettingsView.__dataclass_fields__}
    for key in ("checkin_next_due_at", "updated_at", "digest_next_due_at"):
        values[key] = None if values[key] is None else aware(values[key])
    return SettingsView(**values)


def _round_query(by: str) -> Callable[[Any], Query]:
    """A check-in round of the seller's, by its ``id`` or by the ``checkup_id`` it started
    (a digest's round is no check-in: a forged button naming one finds nothing)."""

    def build(insert: Any) -> Query:
        r = ROUNDS.c
        return select(*(r[key] for key in _ROUND_COLUMNS)).where(
            r.user_id == bindparam("user"),
            r[by] == bindparam("wanted"),
            r.kind == RoundKind.CHECKIN.value,
        )

    return build


def _round(rows: Sequence[Row]) -> RoundView | None:
    if not rows:
        return None
    values = {key: rows[0][key] for key in _ROUND_COLUMNS}
    return RoundView(**values | {"due_at": aware(values["due_at"])})


async def _round_by_id(engine: AsyncEngine, snapshot: Snapshot, wanted: need.Round) -> Any:
    values = _of(snapshot) | {"wanted": wanted.round_id}
    return _round(await _rows(engine, "round", _round_query("id"), values))


async def _round_of_checkup(
    engine: AsyncEngine, snapshot: Snapshot, wanted: need.RoundOfCheckup
) -> RoundView | None:
    values = _of(snapshot) | {"wanted": wanted.checkup_id}
    return _round(await _rows(engine, "round_of_checkup", _round_query("checkup_id"), values))


def _history_query(insert: Any) -> Query:
    """The current answers of the seller's check-ins finished since ``since`` (other than
    ``of_checkup``), newest check-in first."""
    k, a = CHECKUPS.c, ANSWERS.c
    finished = (
        select(k.id, k.finished_at)
        .where(
            k.user_id == bindparam("user"),
            k.kind == CheckupKind.CHECKIN.value,
            k.status == CheckupStatus.FINISHED.value,
            k.finished_at >= bindparam("since", type_=k.finished_at.type),
            k.id != bindparam("of_checkup"),
        )
        .subquery()
    )
    return (
        select(a.checkup_id, a.field, a.value, a.status, a.low, a.high)
        .join(finished, finished.c.id == a.checkup_id)
        .where(a.superseded_at.is_(None))
        .order_by(finished.c.finished_at.desc(), a.checkup_id.desc(), a.id)
    )


async def _history(
    engine: AsyncEngine, snapshot: Snapshot, wanted: need.CheckinHistory
) -> tuple[Mapping[str, Answer], ...]:
    values = _of(snapshot) | {"since": wanted.since, "of_checkup": wanted.checkup_id}
    found: dict[int, dict[str, Answer]] = {}
    for row in await _rows(engine, "checkin_history", _history_query, values):
        found.setdefault(row["checkup_id"], {})[row["field"]] = Answer.stored(
            row["value"], row["status"], row["low"], row["high"]
        )
    return tuple(MappingProxyType(answers) for answers in found.values())


def _count_query(insert: Any) -> Query:
    k = CHECKUPS.c
    return select(func.count().label("finished")).where(
        k.user_id == bindparam("user"),
        k.kind == bindparam("wanted_kind"),
        k.status == CheckupStatus.FINISHED.value,
    )


async def _finished(engine: AsyncEngine, snapshot: Snapshot, wanted: need.FinishedCount) -> int:
    values = _of(snapshot) | {"wanted_kind": wanted.kind}
    (row,) = await _rows(engine, "count_finished", _count_query, values)
    return int(row["finished"])


def _offer_query(insert: Any) -> Query:
    """Whether the seller finished a check-up other than ``of_checkup``, and their check-in
    cadence (NULL: never set)."""
    k, s = CHECKUPS.c, SETTINGS.c
    finished = (
        (k.user_id == bindparam("user"))
        & (k.kind == CheckupKind.CHECKUP.value)
        & (k.status == CheckupStatus.FINISHED.value)
    )
    return select(
        select(k.id).where(finished, k.id != bindparam("of_checkup")).exists().label("before"),
        select(s.checkin_cadence)
        .where(s.user_id == bindparam("user"))
        .scalar_subquery()
        .label("cadence"),
    )


async def _offers(engine: AsyncEngine, snapshot: Snapshot, wanted: need.OffersCheckins) -> bool:
    values = _of(snapshot) | {"of_checkup": wanted.checkup_id}
    (row,) = await _rows(engine, "checkin_offer", _offer_query, values)
    return not row["before"] and (row["cadence"] or "off") == "off"


def _new_id_query(table: str) -> Callable[[Any], Query]:
    """PostgreSQL: the next value of the table's id sequence; SQLite: past the largest id,
    ``n`` rows on (a clash with another update's new row is a conflict when applied)."""

    def build(insert: Any) -> Query:
        c = Base.metadata.tables[table].c
        if insert is postgresql.insert:
            sequence = func.pg_get_serial_sequence(table, c.id.name)
            return select(func.nextval(sequence).label("id"))
        largest = func.coalesce(func.max(c.id), 0)
        return select((largest + 1 + bindparam("n")).label("id"))

    return build


async def _new_id(engine: AsyncEngine, snapshot: Snapshot, wanted: need.NewId) -> int:
    values = {} if engine.dialect.name == "postgresql" else {"n": wanted.n}
    (row,) = await _rows(engine, f"new_id:{wanted.table}", _new_id_query(wanted.table), values)
    return int(row["id"])


async def _stats(engine: AsyncEngine, snapshot: Snapshot, _: Need) -> Any:
    async with AsyncSession(engine) as session, session.begin():
        return await Privacy(session).stats()


async def _export(engine: AsyncEngine, snapshot: Snapshot, _: Need) -> dict[str, Any]:
    async with AsyncSession(engine) as session, session.begin():
        return await Privacy(session).export(snapshot.user.id)


def _of(snapshot: Snapshot) -> dict[str, Any]:
    return {"user": snapshot.user.id}


LOADERS: dict[type[Need], Loader] = {
    need.LatestReport: _latest_report,
    need.Reports: _all_reports,
    need.Report: _one_report,
    need.Settings: _settings,
    need.Round: _round_by_id,
    need.RoundOfCheckup: _round_of_checkup,
    need.CheckinHistory: _history,
    need.FinishedCount: _finished,
    need.OffersCheckins: _offers,
    need.NewId: _new_id,
    need.Stats: _stats,
    need.Export: _export,
    need.SalesSince: sales.sales_since,
    need.SalesWeeks: sales.sales_weeks,
    need.OneSale: sales.one_sale,
    need.Customers: sales.customers,
    need.CustomerNamed: sales.customer_named,
    need.RecentCustomers: sale_flow.recent_customers,
    need.CustomerOfId: sale_flow.customer_of_id,
}


async def load_need(engine: AsyncEngine, snapshot: Snapshot, wanted: Need) -> Snapshot:
    """The snapshot with ``wanted`` loaded."""
    return snapshot.with_loaded(wanted, await LOADERS[type(wanted)](engine, snapshot, wanted))
