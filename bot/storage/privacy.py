"""The operator's figures and a seller's rights: export, delete, and forgetting handled
update ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, TextClause, bindparam, delete, func, select, text
from sqlalchemy.dialects import postgresql

from bot.storage.models import (
    AdviceReport,
    AnswerRow,
    Base,
    CheckinRound,
    Checkup,
    CheckupStatus,
    Customer,
    Sale,
    User,
    UserSettings,
)
from bot.storage.statements import PROCESSED_UPDATES, table_of
from bot.storage.unit import UnitCore


@dataclass(frozen=True)
class Stats:
    """Figures for the operator (/stats): counts only, nothing about any one user."""

    users: int
    checkups_done: int
    active_checkins: int
    top_bottleneck: str | None  # the commonest bottleneck in each user's latest advice


# Tables holding a user's data, children first (the order a manual delete must follow).
USER_TABLES: tuple[type[Base], ...] = (
    Sale,
    Customer,
    CheckinRound,
    AnswerRow,
    AdviceReport,
    Checkup,
    UserSettings,
    User,
)


def forget_updates(insert: Any) -> TextClause | Delete:
    """Delete up to ``batch`` update ids handled before ``cutoff``.

    PostgreSQL deletes the rows it found by their physical address: matching them back by
    id made it hash-join the whole table for every batch (208 ms a batch against 9-12 ms
    with two million ids stored; benchmarks/prune_bench.py)."""
    if insert is postgresql.insert:
        return text(
            "DELETE FROM processed_updates WHERE ctid = ANY(ARRAY("
            "SELECT ctid FROM processed_updates WHERE handled_at < :cutoff LIMIT :batch))"
        ).bindparams(bindparam("cutoff", type_=PROCESSED_UPDATES.c.handled_at.type))
    handled = PROCESSED_UPDATES.c
    oldest = (
        select(handled.update_id)
        .where(handled.handled_at < bindparam("cutoff"))
        .limit(bindparam("batch"))
    )
    return delete(PROCESSED_UPDATES).where(handled.update_id.in_(oldest))


class Privacy(UnitCore):
    """Stats, export and delete."""

    # --- the operator ----------------------------------------------------------------
    async def stats(self) -> Stats:
        async def scalar(query: Any) -> Any:
            return (await (await self.orm()).execute(query)).scalar()

        latest = select(func.max(AdviceReport.id)).group_by(AdviceReport.user_id)
        top = (
            select(AdviceReport.bottleneck)
            .where(AdviceReport.id.in_(latest))
            .group_by(AdviceReport.bottleneck)
            .order_by(func.count().desc(), AdviceReport.bottleneck)
            .limit(1)
        )
        return Stats(
            users=await scalar(select(func.count()).select_from(User)),
            checkups_done=await scalar(
                select(func.count())
                .select_from(Checkup)
                .where(Checkup.status == CheckupStatus.FINISHED.value)
            ),
            active_checkins=await scalar(
                select(func.count())
                .select_from(UserSettings)
                .where(
                    UserSettings.checkin_cadence != "off", UserSettings.checkin_paused.is_(False)
                )
            ),
            top_bottleneck=await scalar(top),
        )

    # --- the user's rights: export and delete ----------------------------------------
    async def export(self, user_id: int) -> dict[str, Any]:
        """Everything stored about one user, as JSON-ready data."""
        user = await (await self.orm()).get(User, user_id)
        if user is None:
            return {"user": None}
        data: dict[str, Any] = {"user": _row(user)}
        tables = (
            (UserSettings, "settings"),
            (Checkup, "checkups"),
            (AnswerRow, "answers"),
            (AdviceReport, "advice_reports"),
            (CheckinRound, "checkin_rounds"),
            (Customer, "customers"),
            (Sale, "sales"),
        )
        for model, key in tables:
            rows = (
                await (await self.orm()).execute(
                    select(model)
                    .where(model.user_id == user_id)
                    .order_by(*table_of(model).primary_key.columns)
                )
            ).scalars()
            data[key] = [_row(r) for r in rows]
        return data

    async def delete_user(self, user_id: int) -> dict[str, int]:
        """Remove every row of this user; returns how many rows went from each table."""
        counts: dict[str, int] = {}
        for model in USER_TABLES:
            column = model.id if model is User else model.user_id  # type: ignore[attr-defined]
            deleted = delete(model).where(column == user_id)
            # AsyncSession.execute is typed as returning a Result; a DELETE's is a CursorResult.
            result = cast(CursorResult[Any], await (await self.orm()).execute(deleted))
            counts[model.__tablename__] = result.rowcount or 0
        return counts

    async def count_user_rows(self, user_id: int) -> dict[str, int]:
        counts: dict[str, int] = {}
        for model in USER_TABLES:
            column = model.id if model is User else model.user_id  # type: ignore[attr-defined]
            counts[model.__tablename__] = (
                await (await self.orm()).execute(
                    select(func.count()).select_from(model).where(column == user_id)
                )
            ).scalar_one()
        return counts


def _row(obj: Base) -> dict[str, Any]:
    data = {}
    for column in obj.__table__.columns:
        value = getattr(obj, column.key)
        data[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return data
