"""The one way an update is applied, on both databases (see :meth:`Store.apply
<bot.storage.store.Store.apply>`): its writes, the update id and the noted question
messages, atomically, only if the seller's row is still the version the update read.

PostgreSQL applies the common update (one new answer, and/or the finishing report and the
check-up closed, plus the notes) in one statement without a transaction
(:func:`~bot.storage.protocol.apply_unchanged`); anything else in one transaction whose
first statement is the same check, which then holds the seller's row lock. SQLite: one
transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from functools import partial
from typing import Any

import asyncpg
from sqlalchemy import Update, bindparam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.dml import ReturningInsert, ReturningUpdate

from bot.core.snapshot import Snapshot
from bot.core.values import CheckupStatus
from bot.core.writes import Applied, CloseCheckup, SaveAnswer, SaveReport, Write
from bot.storage import changes
from bot.storage.driver import Runner, connection_runner, driver_connection, run_on_driver
from bot.storage.notes import QuestionNotes, note_questions, noted_parameters, remember_question
from bot.storage.protocol import apply_unchanged
from bot.storage.statements import PROCESSED_UPDATES, USERS, prepared, record_update

Noted = dict[int, tuple[int, str]]


def _record(insert: Any) -> ReturningInsert[Any]:
    return record_update(insert).returning(PROCESSED_UPDATES.c.update_id)


def _insert_user(insert: Any) -> ReturningInsert[Any]:
    """A seller's first row (none written if one was meanwhile)."""
    return (
        insert(USERS)
        .values(
            id=bindparam("user"),
            language=bindparam("lang"),
            created_at=bindparam("now"),
            last_seen_at=bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(USERS.c.id)
    )


def _bump_user(insert: Any) -> ReturningUpdate[Any]:
    """The seller's row, if still the version read: the version bumped, seen now."""
    u = USERS.c
    return (
        USERS.update()
        .where(u.id == bindparam("user"), u.version == bindparam("seen"))
        .values(version=u.version + 1, last_seen_at=bindparam("now"))
        .returning(u.id)
    )


def _note_questions(insert: Any) -> Update:
    return note_questions(of_user=bindparam("user"))


def one_statement(writes: Sequence[Write]) -> dict[str, Any] | None:
    """The values of the one-statement apply for ``writes`` (PostgreSQL), None when they
    need a transaction: only one new answer, and/or a report with its check-up finished."""
    answer: SaveAnswer | None = None
    report: SaveReport | None = None
    close: CloseCheckup | None = None
    for write in writes:
        if isinstance(write, SaveAnswer) and not write.replaces and answer is None:
            answer = write
        elif isinstance(write, SaveReport) and report is None:
            report = write
        elif (
            isinstance(write, CloseCheckup)
            and write.status == CheckupStatus.FINISHED.value
            and close is None
        ):
            close = write
        else:
            return None
    values: dict[str, Any] = {}
    if answer is not None:
        values |= {f"answer_{key}": v for key, v in changes.answer_row(answer).items()}
    if report is not None or close is not None:
        if report is None or close is None or report.checkup_id != close.checkup_id:
            return None
        values |= {f"report_{key}": v for key, v in changes.report_row(report).items()}
        values |= {"closed_checkup": close.checkup_id, "closed_at": close.at}
    return values


async def apply_update(
    engine: AsyncEngine,
    notes: QuestionNotes,
    snapshot: Snapshot,
    *,
    update_id: int,
    writes: Sequence[Write],
) -> Applied:
    """Apply ``writes`` with the update id and the seller's noted question messages (given
    back unless applied)."""
    user_id = snapshot.user.id
    noted = notes.take(user_id)
    applied = Applied.CONFLICT
    try:
        if engine.dialect.name == "postgresql":
            applied = await _on_postgresql(engine, snapshot, update_id, writes, noted)
        else:
            applied = await _on_sqlite(engine, snapshot, update_id, writes, noted)
    finally:
        if applied is not Applied.APPLIED:
            notes.give_back(user_id, noted)
    return applied


def _check_values(snapshot: Snapshot, update_id: int, noted: Noted) -> dict[str, Any]:
    values = {
        "update": update_id,
        "user": snapshot.user.id,
        "seen": snapshot.user.version,
        "now": snapshot.now,
    }
    return values | noted_parameters(noted) if noted else values


def _unchanged(row: Any) -> Applied:
    """What :func:`apply_unchanged`'s row says."""
    if row["handled"]:
        return Applied.DUPLICATE
    if not row["locked"]:
        return Applied.CONFLICT
    return Applied.APPLIED if row["recorded"] else Applied.DUPLICATE


async def _on_postgresql(
    engine: AsyncEngine, snapshot: Snapshot, update_id: int, writes: Sequence[Write], noted: Noted
) -> Applied:
    fast = one_statement(writes) if snapshot.user.version is not None else None
    async with driver_connection(engine) as driver:
        if fast is not None:
            flags = (bool(noted), any(k.startswith("answer_") for k in fast), "closed_at" in fast)
            build = partial(
                apply_unchanged, noting=flags[0], answering=flags[1], finishing=flags[2]
            )
            statement = prepared("postgresql", f"apply_unchanged_{flags}", build)
            try:
                (row,) = await run_on_driver(
                    driver, statement, _check_values(snapshot, update_id, noted) | fast
                )
            except asyncpg.IntegrityConstraintViolationError:
                return Applied.CONFLICT  # nothing written: one statement
            return _unchanged(row)
        transaction = driver.transaction()
        await transaction.start()
        try:
            applied = await _checked_writes(
                partial(run_on_driver, driver), "postgresql", snapshot, update_id, writes, noted
            )
        except asyncpg.IntegrityConstraintViolationError:
            applied = Applied.CONFLICT
        except BaseException:
            if driver.is_in_transaction():
                # The error that ended the update is what the caller needs, not this one's.
                with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                    await transaction.rollback()
            raise
        await (transaction.commit() if applied is Applied.APPLIED else transaction.rollback())
        return applied


async def _on_sqlite(
    engine: AsyncEngine, snapshot: Snapshot, update_id: int, writes: Sequence[Write], noted: Noted
) -> Applied:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            run = connection_runner(connection)
            applied = await _checked_writes(run, "sqlite", snapshot, update_id, writes, noted)
        except IntegrityError as exc:
            if not _clash(exc):
                await transaction.rollback()
                raise
            applied = Applied.CONFLICT  # read again and decide again
        except BaseException:
            await transaction.rollback()
            raise
        await (transaction.commit() if applied is Applied.APPLIED else transaction.rollback())
        return applied


# SQLite's refusals that mean the snapshot was out of date, as on PostgreSQL: a new row's id
# (the largest id + 1 when it was read) taken meanwhile, a second current answer to one
# question, or a second customer of one nickname.
_CLASHES = (
    "UNIQUE constraint failed: checkups.id",
    "UNIQUE constraint failed: advice_reports.id",
    "UNIQUE constraint failed: sales.id",
    "UNIQUE constraint failed: customers.id",
    "UNIQUE constraint failed: customers.user_id, customers.nickname_key",
    "UNIQUE constraint failed: answers.checkup_id, answers.field",
)


def _clash(exc: IntegrityError) -> bool:
    """Whether ``exc`` is a clash with what was stored since the read (a conflict); any
    other refusal (a trigger, a check) is an error the seller is told about."""
    return any(clash in str(exc.orig) for clash in _CLASHES)


async def _checked_writes(
    run: Runner,
    dialect: str,
    snapshot: Snapshot,
    update_id: int,
    writes: Sequence[Write],
    noted: Noted,
) -> Applied:
    """In a transaction: the check (the update recorded, the seller's row bumped or
    inserted, so locked), the notes, then the writes in order; the caller commits only
    what is APPLIED."""
    applied = await _check(run, dialect, snapshot, update_id, noted)
    if applied is not Applied.APPLIED:
        return applied
    for write in writes:
        for name, build, values in changes.statements(write, user_id=snapshot.user.id):
            await run(prepared(dialect, name, build), values)
    return Applied.APPLIED


async def _check(
    run: Runner, dialect: str, snapshot: Snapshot, update_id: int, noted: Noted
) -> Applied:
    values = _check_values(snapshot, update_id, noted)
    if dialect == "postgresql" and snapshot.user.version is not None:
        build = partial(apply_unchanged, noting=bool(noted))
        (row,) = await run(prepared(dialect, f"apply_unchanged_{bool(noted)}", build), values)
        return _unchanged(row)
    if not await run(prepared(dialect, "record_update_returning", _record), values):
        return Applied.DUPLICATE
    if snapshot.user.version is None:
        first = values | {"lang": snapshot.user.language}
        if not await run(prepared(dialect, "insert_user", _insert_user), first):
            return Applied.CONFLICT
    elif not await run(prepared(dialect, "bump_user", _bump_user), values):
        return Applied.CONFLICT
    if noted and dialect == "postgresql":
        await run(prepared(dialect, "note_questions", _note_questions), values)
    for checkup_id, (message_id, field) in noted.items():
        if dialect != "postgresql":
            remember = prepared(dialect, "remember_question", remember_question)
            await run(remember, {"of_checkup": checkup_id, "message": message_id, "asked": field})
    return Applied.APPLIED
