"""An update's snapshot read: whether it was handled, the seller's row and the check-ups in
progress with their current answers, as frozen values (see :meth:`Store.read
<bot.storage.store.Store.read>`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from types import MappingProxyType
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from advice.questionnaire import Answer
from bot.core.snapshot import Snapshot
from bot.core.values import CheckupStatus, CheckupView, UserView
from bot.storage.checkin_queue import aware
from bot.storage.driver import connection_runner, driver_connection, run_on_driver
from bot.storage.protocol import read_snapshot
from bot.storage.statements import ANSWERS, CHECKUPS, Query, prepared

Notes = Mapping[int, tuple[int, str]]


def _answers_in_progress(insert: Any) -> Query:
    """SQLite: the current answers of the seller's check-ups in progress, in answer order."""
    a, k = ANSWERS.c, CHECKUPS.c
    return (
        select(a.checkup_id, a.field, a.value, a.status, a.low, a.high)
        .join(CHECKUPS, k.id == a.checkup_id)
        .where(
            k.user_id == bindparam("user"),
            k.status == CheckupStatus.IN_PROGRESS.value,
            a.superseded_at.is_(None),
        )
        .order_by(a.id)
    )


async def read_rows(
    engine: AsyncEngine, *, update_id: int, user_id: int
) -> tuple[Sequence[RowMapping], dict[int, list[Sequence[Any]]] | None]:
    """The rows of :func:`read_snapshot`, and on SQLite the answers by check-up (on
    PostgreSQL they are in the rows' ``c_answers``: None)."""
    parameters = {"update": update_id, "user": user_id}
    if engine.dialect.name == "postgresql":
        statement = prepared("postgresql", "read_snapshot", read_snapshot)
        async with driver_connection(engine) as driver:
            return await run_on_driver(driver, statement, parameters), None
    async with engine.connect() as connection:
        run = connection_runner(connection)
        read = partial(read_snapshot, with_answers=False)
        rows = await run(prepared("sqlite", "read_snapshot", read), parameters)
        answers: dict[int, list[Sequence[Any]]] = {}
        if rows[0]["c_id"] is not None:
            query = prepared("sqlite", "answers_in_progress", _answers_in_progress)
            for row in await run(query, {"user": user_id}):
                answers.setdefault(row["checkup_id"], []).append(
                    (row["field"], row["value"], row["status"], row["low"], row["high"])
                )
        return rows, answers


def snapshot_of(
    rows: Sequence[RowMapping],
    answers: dict[int, list[Sequence[Any]]] | None,
    *,
    user_id: int,
    language: str,
    now: datetime,
    admin: bool,
    noted: Notes,
) -> Snapshot:
    """The snapshot of :func:`read_rows`' rows, with the question messages ``noted``."""
    first = rows[0]
    if first["u_id"] is None:
        user = UserView(user_id, language=language, version=None)
    else:
        user = UserView(
            first["u_id"],
            first["u_language"],
            first["u_language_chosen"],
            first["u_time_zone"],
            first["u_version"],
        )
    in_progress = tuple(
        _checkup_view(row, row["c_answers"] if answers is None else answers.get(row["c_id"]), noted)
        for row in rows
        if row["c_id"] is not None
    )
    return Snapshot(user=user, in_progress=in_progress, now=now, admin=admin)


def _checkup_view(row: RowMapping, answers: Any, noted: Notes) -> CheckupView:
    """A check-up of the rows, its answers read back exactly, a newer noted message shown."""
    message, field = row["c_question_message_id"], row["c_question_field"]
    note = noted.get(row["c_id"])
    if note is not None and (message is None or message < note[0]):
        message, field = note
    return CheckupView(
        id=row["c_id"],
        user_id=row["c_user_id"],
        kind=row["c_kind"],
        status=row["c_status"],
        language=row["c_language"],
        started_at=aware(row["c_started_at"]),
        answers=MappingProxyType(
            {
                name: Answer.stored(
                    value,
                    status,
                    None if low is None else float(low),
                    None if high is None else float(high),
                )
                for name, value, status, low, high in answers or ()
            }
        ),
        question_message_id=message,
        question_field=field,
    )
