"""The statements that read an update's snapshot and apply its writes (see
:mod:`bot.storage.updates`): the read (one statement on PostgreSQL), and on PostgreSQL the
one statement that applies the common writes if the seller's row is the version read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, bindparam, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from bot.storage.models import CheckupStatus
from bot.storage.notes import note_questions, noted_on
from bot.storage.statements import ANSWERS, CHECKUPS, PROCESSED_UPDATES, REPORTS, USERS, Query

HANDLED = PROCESSED_UPDATES
USER_COLUMNS = ("id", "language", "language_chosen", "time_zone", "version")
CHECKUP_COLUMNS = (
    "id",
    "user_id",
    "kind",
    "status",
    "language",
    "started_at",
    "question_message_id",
    "question_field",
)


def _handled() -> Any:
    h = HANDLED.c
    return select(h.update_id).where(h.update_id == bindparam("update")).exists()


def read_snapshot(insert: Any, *, with_answers: bool = True) -> Query:
    """Whether the update was handled (``handled``), the seller's row (``u_`` columns, NULL
    for a seller never seen) and their check-ups in progress, one row each (``c_``
    columns, NULL without any); ``with_answers`` (PostgreSQL): their current answers too,
    in ``c_answers`` (see :func:`_current_answers`). Always at least one row."""
    u, k = USERS.c, CHECKUPS.c
    one = select(literal(1).label("one")).subquery("one")
    of_user = (k.user_id == u.id) & (k.status == CheckupStatus.IN_PROGRESS.value)
    columns = [
        _handled().label("handled"),
        *(u[name].label(f"u_{name}") for name in USER_COLUMNS),
        *(k[name].label(f"c_{name}") for name in CHECKUP_COLUMNS),
    ]
    if with_answers:
        columns.append(_current_answers().label("c_answers"))
    return (
        select(*columns)
        .select_from(one.outerjoin(USERS, u.id == bindparam("user")).outerjoin(CHECKUPS, of_user))
        .order_by(k.id)
    )


def _current_answers() -> Any:
    """PostgreSQL: the check-up's current answers as one JSON array of ``[field, value,
    status, low, high]`` in answer-id order (NULL without any): one row per answer cost an
    update more to decode than the rest of reading it."""
    k, a = CHECKUPS.c, ANSWERS.c
    answer = func.json_build_array(a.field, a.value, a.status, a.low, a.high)
    return (
        select(func.json_agg(aggregate_order_by(answer, a.id)))
        .where(a.checkup_id == k.id, a.superseded_at.is_(None))
        .scalar_subquery()
    )


def apply_unchanged(
    insert: Any, noting: bool = False, answering: bool = False, finishing: bool = False
) -> Query:
    """PostgreSQL: an update applied if the seller's row is still the version it read
    (``seen``) and the update was not handled: the row's version bumped (so locked, in a
    transaction), the update id recorded, ``noting``: the noted question messages written,
    ``answering``: one new answer stored, ``finishing``: the check-up closed as finished and
    its report stored. Returns ``handled``, ``locked`` (0: the row changed or the update was
    handled: nothing was written) and ``recorded``."""
    u, h = USERS.c, HANDLED.c
    already = _handled()
    locked = (
        USERS.update()
        .where(u.id == bindparam("user"), u.version == bindparam("seen"), ~already)
        .values(last_seen_at=bindparam("now"), version=u.version + 1)
        .returning(u.id)
        .cte("locked")
    )
    record = select(
        bindparam("update", type_=h.update_id.type), bindparam("now", type_=h.handled_at.type)
    ).select_from(locked)
    recorded = (
        insert(HANDLED)
        .from_select([h.update_id, h.handled_at], record)
        .on_conflict_do_nothing(index_elements=[h.update_id])
        .returning(h.update_id)
        .cte("recorded")
    )
    applied = select(
        already.label("handled"),
        select(func.count()).select_from(locked).scalar_subquery().label("locked"),
        select(func.count()).select_from(recorded).scalar_subquery().label("recorded"),
    )
    if noting:
        # Not on the check-up closed here: one statement changes a row once at most.
        skipping: BindParameter[Any] | None = bindparam("closed_checkup") if finishing else None
        noted = note_questions(of_user=locked.c.id, skipping=skipping)
        applied = applied.add_cte(noted.cte("noted_questions"))
    if answering:
        applied = applied.add_cte(_answered(insert, recorded))
    if finishing:
        closed = _closed(recorded, noting=noting)
        applied = applied.add_cte(closed).add_cte(_reported(insert, recorded))
    return applied


def _answered(insert: Any, recorded: Any) -> Any:
    a = ANSWERS.c
    columns = [a.checkup_id, a.user_id, a.field, a.value, a.status, a.low, a.high, a.created_at]
    answer = select(
        *(bindparam(f"answer_{column.key}", type_=column.type) for column in columns)
    ).select_from(recorded)
    return insert(ANSWERS).from_select(columns, answer).cte("answered")


def _closed(recorded: Any, *, noting: bool) -> Any:
    """The check-up finished (and its noted question message stored, ``noting``)."""
    k = CHECKUPS.c
    noted = noted_on() if noting else {}
    return (
        CHECKUPS.update()
        .where(
            k.id == bindparam("closed_checkup"),
            k.user_id == bindparam("user"),
            select(recorded.c.update_id).exists(),
        )
        .values(status=CheckupStatus.FINISHED.value, finished_at=bindparam("closed_at"), **noted)
        .cte("closed")
    )


def _reported(insert: Any, recorded: Any) -> Any:
    columns = list(REPORTS.c)
    report = select(
        *(bindparam(f"report_{column.key}", type_=column.type) for column in columns)
    ).select_from(recorded)
    return insert(REPORTS).from_select(columns, report).cte("reported")
