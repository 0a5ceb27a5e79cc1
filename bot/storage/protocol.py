"""PostgreSQL: the statements that begin and apply an update (see :meth:`Store.update_unit
<bot.storage.store.Store.update_unit>`), locked or optimistic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import asyncpg
from sqlalchemy import (
    String,
    Text,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql import Executable

from bot.storage.driver import run_on_driver
from bot.storage.models import CheckupStatus, ProcessedUpdate
from bot.storage.notes import note_questions, noted_parameters
from bot.storage.statements import ANSWERS, CHECKUPS, REPORTS, USERS, prepared, record_update


def begin_update(insert: Any, noting: bool = False) -> Executable:
    """PostgreSQL, the first statement of an update (one round trip instead of three): the
    update id recorded, the user's row upserted (so locked) and read, and the user's
    check-ups in progress read with their current answers; ``noting``: the question
    messages noted since the user's last update written too (see Store.remember_question_message).

    No row comes back when the update was handled before. Otherwise the first row has
    ``recorded`` set, and the user's columns (NULL when read too early, see below), and
    there is one row for each check-up in progress (see :func:`_in_progress`).

    The check-ups are read as of the statement's start, which comes before the user's
    lock is granted: if another transaction changed the user's row in between (every update
    does, and only updates change a user's check-ups), what was read may be out of date.
    The upsert then changes nothing (its WHERE compares the row it locked with the row the
    statement saw), the user's columns come back NULL, and the caller reads again, under
    the lock (PostgreSQL locks the row even when the WHERE is false)."""
    recorded = (
        record_update(insert).returning(ProcessedUpdate.__table__.c.update_id).cte("recorded")
    )
    c = USERS.c
    first_contact = select(
        bindparam("user", type_=c.id.type),
        bindparam("lang", type_=c.language.type),
        bindparam("now", type_=c.created_at.type),
        bindparam("now", type_=c.last_seen_at.type),
        literal(c.language_chosen.default.arg, c.language_chosen.type),  # the model's defaults
        literal(c.time_zone.default.arg, c.time_zone.type),
    ).select_from(recorded)
    columns = [c.id, c.language, c.created_at, c.last_seen_at, c.language_chosen, c.time_zone]
    as_seen = USERS.alias("as_seen")
    seen_version = (
        select(literal_column("as_seen.xmin"))
        .where(as_seen.c.id == bindparam("user"))
        .scalar_subquery()
    )
    upsert = insert(USERS).from_select(columns, first_contact)
    upsert = upsert.on_conflict_do_update(
        index_elements=[c.id],
        set_={c.last_seen_at: upsert.excluded.last_seen_at},
        where=literal_column("users.xmin") == seen_version,
    )
    locked = upsert.returning(*c).cte("locked")
    in_progress, of_user = _in_progress(locked.c.id)
    read = (
        select(recorded.c.update_id.label("recorded"), *locked.c, *in_progress)
        .select_from(recorded.outerjoin(locked, true()).outerjoin(CHECKUPS, of_user))
        .order_by(CHECKUPS.c.id)
    )
    if noting:
        read = read.add_cte(note_questions(of_user=locked.c.id).cte("noted_questions"))
    return read


def read_for_update(insert: Any) -> Executable:
    """PostgreSQL, the first statement of an update handled optimistically (no transaction,
    no lock): whether the update was handled before, the user's row and its version
    (``seen``, the row's xmin), and the user's check-ups in progress with their current
    answers (as :func:`begin_update` returns them). No row for a user never seen."""
    c, handled = USERS.c, ProcessedUpdate.__table__.c
    in_progress, of_user = _in_progress(c.id)
    return (
        select(
            select(handled.update_id)
            .where(handled.update_id == bindparam("update"))
            .exists()
            .label("handled"),
            *c,
            cast(literal_column("users.xmin"), Text).label("seen"),
            *in_progress,
        )
        .select_from(USERS.outerjoin(CHECKUPS, of_user))
        .where(c.id == bindparam("user"))
        .order_by(CHECKUPS.c.id)
    )


def _in_progress(user_id: Any) -> tuple[tuple[Any, ...], Any]:
    """PostgreSQL: the columns and the join condition that read the check-ups in progress of
    ``user_id``, one row each: its columns prefixed ``c_`` and its current answers in
    ``c_answers``, a JSON array of ``[field, value, status, low, high]`` in the order given
    (NULL without any). One row per answer (the user's and the check-up's columns on each)
    cost an update more to decode than the rest of reading it."""
    checkup, a = CHECKUPS.c, ANSWERS.c
    answer = func.json_build_array(a.field, a.value, a.status, a.low, a.high)
    answers = (
        select(func.json_agg(aggregate_order_by(answer, a.id)))
        .where(a.checkup_id == checkup.id, a.superseded_at.is_(None))
        .scalar_subquery()
    )
    columns = (*(column.label(f"c_{column.key}") for column in checkup), answers.label("c_answers"))
    return columns, (checkup.user_id == user_id) & (
        checkup.status == CheckupStatus.IN_PROGRESS.value
    )


def apply_unchanged(
    insert: Any, noting: bool = False, answering: bool = False, finishing: bool = False
) -> Executable:
    """PostgreSQL: the update's writes, applied only if the user's row is the version the
    update read (``seen``): nothing changed the user's check-ups since (every update
    changes the user's row). In one statement: the user's row updated (so locked, in a
    transaction), the update id recorded, ``answering``: one answer stored, ``noting``: the
    noted question messages written, ``finishing``: the check-up closed as finished and
    its report stored (its id taken before, see Unit.finish_checkup). Returns ``locked`` (0: the row changed, nothing was
    written) and ``recorded`` (0: the update was handled meanwhile)."""
    c, handled = USERS.c, ProcessedUpdate.__table__.c
    unchanged = text("users.xmin = CAST(CAST(:seen AS text) AS xid)").bindparams(
        bindparam("seen", type_=String)
    )
    locked = (
        USERS.update()
        .where(c.id == bindparam("user"), unchanged)
        .values(last_seen_at=bindparam("now"))
        .returning(c.id)
        .cte("locked")
    )
    record = select(
        bindparam("update", type_=handled.update_id.type),
        bindparam("now", type_=handled.handled_at.type),
    ).select_from(locked)
    recorded = (
        insert(ProcessedUpdate.__table__)
        .from_select([handled.update_id, handled.handled_at], record)
        .on_conflict_do_nothing(index_elements=[handled.update_id])
        .returning(handled.update_id)
        .cte("recorded")
    )
    applied = select(
        select(func.count()).select_from(locked).scalar_subquery().label("locked"),
        select(func.count()).select_from(recorded).scalar_subquery().label("recorded"),
    )
    if answering:
        a = ANSWERS.c
        columns = [a.checkup_id, a.user_id, a.field, a.value, a.status, a.low, a.high, a.created_at]
        answer = select(
            *(bindparam(f"answer_{column.key}", type_=column.type) for column in columns)
        ).select_from(recorded)
        applied = applied.add_cte(insert(ANSWERS).from_select(columns, answer).cte("answered"))
    if noting:
        applied = applied.add_cte(note_questions(of_user=locked.c.id).cte("noted_questions"))
    if finishing:
        k = CHECKUPS.c
        closed = (
            CHECKUPS.update()
            .where(k.id == bindparam("report_checkup_id"), select(recorded.c.update_id).exists())
            .values(status=CheckupStatus.FINISHED.value, finished_at=bindparam("now"))
        )
        columns = list(REPORTS.c)
        report = select(
            *(bindparam(f"report_{column.key}", type_=column.type) for column in columns)
        ).select_from(recorded)
        applied = applied.add_cte(closed.cte("closed")).add_cte(
            insert(REPORTS).from_select(columns, report).cte("reported")
        )
    return applied


class Contended(Exception):
    """Another update of the same user was applied between this update's read and its
    writes, or this update was handled meanwhile: nothing of it was written. Handle the
    update again with ``Store.update_unit(..., optimistic=False)``."""


@dataclass
class Unchecked:
    """An update handled optimistically: read without a lock, its writes not yet made."""

    update_id: int
    user_id: int
    seen: str  # the version of the user's row the update read
    now: datetime
    noted: dict[int, tuple[int, str]]
    answer: dict[str, Any] | None = None  # the one answer to store, as save_answer builds it
    report: dict[str, Any] | None = (
        None  # the report of the check-up it finishes (see finish_checkup)
    )


async def apply_writes(
    driver: asyncpg.Connection, unchecked: Unchecked, *, with_answer: bool
) -> None:
    """:func:`apply_unchanged`'s statement for ``unchecked``; :class:`Contended` if it wrote nothing."""
    noting = bool(unchecked.noted)
    parameters: dict[str, Any] = {
        "user": unchecked.user_id,
        "seen": unchecked.seen,
        "now": unchecked.now,
        "update": unchecked.update_id,
    }
    if noting:
        parameters.update(noted_parameters(unchecked.noted))
    if with_answer:
        assert unchecked.answer is not None
        parameters.update({f"answer_{key}": value for key, value in unchecked.answer.items()})
    finishing = unchecked.report is not None
    if finishing:
        parameters.update({f"report_{key}": value for key, value in unchecked.report.items()})
    name = f"apply_unchanged_{noting}_{with_answer}_{finishing}"
    statement = prepared(
        "postgresql",
        name,
        partial(apply_unchanged, noting=noting, answering=with_answer, finishing=finishing),
    )
    (row,) = await run_on_driver(driver, statement, parameters)
    if not (row["locked"] and row["recorded"]):
        raise Contended
