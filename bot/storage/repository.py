"""The one place that talks to the database.

Every Telegram update is handled in one :class:`Unit`, whose writes are applied whole or
not at all, with the update id (so a redelivered update is applied once), one user's
updates one after another (even across processes on PostgreSQL), and committed before the
bot replies: a transaction that locks the user's row, or on PostgreSQL, for a user seen
before, one final statement that applies the writes only if no other update of the user
came first (see :meth:`Store.update_unit`).

The users and check-ups a Unit hands out are snapshots read with Core statements (the ORM's
loading cost several times the statement, on every update): they are changed through the
Unit's methods (``close_checkup``, ``set_language``, ``set_time_zone``), which write the
change and update the snapshot, never by assigning to them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    delete,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert
from sqlalchemy.util import greenlet_spawn

from advice.questionnaire import MAX_TEXT_LENGTH, Answer
from advice.schedule import Rule, following_due
from bot.storage.models import (
    AdviceReport,
    AnswerRow,
    Base,
    CheckinRound,
    Checkup,
    CheckupKind,
    CheckupStatus,
    ProcessedUpdate,
    RoundStatus,
    SendSlot,
    User,
    UserSettings,
    utcnow,
)


@dataclass(frozen=True)
class Stats:
    """Figures for the operator (/stats): counts only, nothing about any one user."""

    users: int
    checkups_done: int
    active_checkins: int
    top_bottleneck: str | None  # the commonest bottleneck in each user's latest advice


# Tables holding a user's data, children first (the order a manual delete must follow).
USER_TABLES: tuple[type[Base], ...] = (
    CheckinRound,
    AnswerRow,
    AdviceReport,
    Checkup,
    UserSettings,
    User,
)


def _insert(dialect: str, model: type[Base]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for ``dialect``."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


# --- the statements of every update, built once -------------------------------------------
# Building a statement (argument coercion, its cache key) costs more CPU than running it, so
# the ones each update runs are built once per dialect, with bound parameters, and reused.
# Rows the update only reads or appends go through the session's connection as Core
# statements (no ORM identity map or unit of work for them), in the same transaction.
_STATEMENTS: dict[tuple[str, str], Executable] = {}
_ANSWERS = AnswerRow.__table__
_CHECKUPS = Checkup.__table__
_USERS = User.__table__
_REPORTS = AdviceReport.__table__
_CHECKUP_KEYS = tuple(column.key for column in _CHECKUPS.c)
_USER_KEYS = tuple(column.key for column in _USERS.c)
_ANSWER_COLUMNS = tuple(
    getattr(_ANSWERS.c, name).label(f"a_{name}") for name in ("field", "value", "status", "low", "high")
)
M = TypeVar("M", bound=Base)


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind else "sqlite"


def _statement(dialect: str, name: str, build: Callable[[Any], Executable]) -> Executable:
    """The statement ``name`` for ``dialect``, built by ``build(insert)`` the first time."""
    key = (dialect, name)
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = build(postgresql.insert if dialect == "postgresql" else sqlite.insert)
    return found


def _record_update(insert: Any) -> Executable:
    return (
        insert(ProcessedUpdate.__table__)
        .values(update_id=bindparam("update"), handled_at=bindparam("now"))
        .on_conflict_do_nothing(index_elements=["update_id"])
    )


def _upsert_user(insert: Any) -> Executable:
    upsert = insert(_USERS).values(
        id=bindparam("user"), language=bindparam("lang"), created_at=bindparam("now"), last_seen_at=bindparam("now")
    )
    upsert = upsert.on_conflict_do_update(index_elements=["id"], set_={"last_seen_at": upsert.excluded.last_seen_at})
    return upsert.returning(*_USERS.c)


def _begin_update(insert: Any, noting: bool = False) -> Executable:
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
    recorded = _record_update(insert).returning(ProcessedUpdate.__table__.c.update_id).cte("recorded")
    c = _USERS.c
    first_contact = select(
        bindparam("user", type_=c.id.type),
        bindparam("lang", type_=c.language.type),
        bindparam("now", type_=c.created_at.type),
        bindparam("now", type_=c.last_seen_at.type),
        literal(c.language_chosen.default.arg, c.language_chosen.type),  # the model's defaults
        literal(c.time_zone.default.arg, c.time_zone.type),
    ).select_from(recorded)
    columns = [c.id, c.language, c.created_at, c.last_seen_at, c.language_chosen, c.time_zone]
    as_seen = _USERS.alias("as_seen")
    seen_version = select(literal_column("as_seen.xmin")).where(as_seen.c.id == bindparam("user")).scalar_subquery()
    upsert = insert(_USERS).from_select(columns, first_contact)
    upsert = upsert.on_conflict_do_update(
        index_elements=[c.id],
        set_={c.last_seen_at: upsert.excluded.last_seen_at},
        where=literal_column("users.xmin") == seen_version,
    )
    locked = upsert.returning(*c).cte("locked")
    in_progress, of_user = _in_progress(locked.c.id)
    read = (
        select(recorded.c.update_id.label("recorded"), *locked.c, *in_progress)
        .select_from(recorded.outerjoin(locked, true()).outerjoin(_CHECKUPS, of_user))
        .order_by(_CHECKUPS.c.id)
    )
    if noting:
        read = read.add_cte(_note_questions(of_user=locked.c.id).cte("noted_questions"))
    return read


def _read_for_update(insert: Any) -> Executable:
    """PostgreSQL, the first statement of an update handled optimistically (no transaction,
    no lock): whether the update was handled before, the user's row and its version
    (``seen``, the row's xmin), and the user's check-ups in progress with their current
    answers (as :func:`_begin_update` returns them). No row for a user never seen."""
    c, handled = _USERS.c, ProcessedUpdate.__table__.c
    in_progress, of_user = _in_progress(c.id)
    return (
        select(
            select(handled.update_id).where(handled.update_id == bindparam("update")).exists().label("handled"),
            *c,
            cast(literal_column("users.xmin"), Text).label("seen"),
            *in_progress,
        )
        .select_from(_USERS.outerjoin(_CHECKUPS, of_user))
        .where(c.id == bindparam("user"))
        .order_by(_CHECKUPS.c.id)
    )


def _in_progress(user_id: Any) -> tuple[tuple[Any, ...], Any]:
    """PostgreSQL: the columns and the join condition that read the check-ups in progress of
    ``user_id``, one row each: its columns prefixed ``c_`` and its current answers in
    ``c_answers``, a JSON array of ``[field, value, status, low, high]`` in the order given
    (NULL without any). One row per answer (the user's and the check-up's columns on each)
    cost an update more to decode than the rest of reading it."""
    checkup, a = _CHECKUPS.c, _ANSWERS.c
    answer = func.json_build_array(a.field, a.value, a.status, a.low, a.high)
    answers = (
        select(func.json_agg(aggregate_order_by(answer, a.id)))
        .where(a.checkup_id == checkup.id, a.superseded_at.is_(None))
        .scalar_subquery()
    )
    columns = (*(column.label(f"c_{column.key}") for column in checkup), answers.label("c_answers"))
    return columns, (checkup.user_id == user_id) & (checkup.status == CheckupStatus.IN_PROGRESS.value)


def _apply_unchanged(insert: Any, noting: bool = False, answering: bool = False, finishing: bool = False) -> Executable:
    """PostgreSQL: the update's writes, applied only if the user's row is the version the
    update read (``seen``): nothing changed the user's check-ups since (every update
    changes the user's row). In one statement: the user's row updated (so locked, in a
    transaction), the update id recorded, ``answering``: one answer stored, ``noting``: the
    noted question messages written, ``finishing``: the check-up closed as finished and
    its report stored (its id taken before, see Unit.finish_checkup). Returns ``locked`` (0: the row changed, nothing was
    written) and ``recorded`` (0: the update was handled meanwhile)."""
    c, handled = _USERS.c, ProcessedUpdate.__table__.c
    unchanged = text("users.xmin = CAST(CAST(:seen AS text) AS xid)").bindparams(bindparam("seen", type_=String))
    locked = _USERS.update().where(c.id == bindparam("user"), unchanged).values(last_seen_at=bindparam("now")).returning(c.id).cte("locked")
    record = select(bindparam("update", type_=handled.update_id.type), bindparam("now", type_=handled.handled_at.type)).select_from(locked)
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
        a = _ANSWERS.c
        columns = [a.checkup_id, a.user_id, a.field, a.value, a.status, a.low, a.high, a.created_at]
        answer = select(*(bindparam(f"answer_{column.key}", type_=column.type) for column in columns)).select_from(recorded)
        applied = applied.add_cte(insert(_ANSWERS).from_select(columns, answer).cte("answered"))
    if noting:
        applied = applied.add_cte(_note_questions(of_user=locked.c.id).cte("noted_questions"))
    if finishing:
        k = _CHECKUPS.c
        closed = (
            _CHECKUPS.update()
            .where(k.id == bindparam("report_checkup_id"), select(recorded.c.update_id).exists())
            .values(status=CheckupStatus.FINISHED.value, finished_at=bindparam("now"))
        )
        columns = list(_REPORTS.c)
        report = select(*(bindparam(f"report_{column.key}", type_=column.type) for column in columns)).select_from(recorded)
        applied = applied.add_cte(closed.cte("closed")).add_cte(insert(_REPORTS).from_select(columns, report).cte("reported"))
    return applied


def _with_answers(which: Any) -> Executable:
    """The check-up chosen by ``which`` and its current answers, one row per answer (one
    row with no answer for a check-up without any): the check-up and its answers in one
    round trip, as every answer needs both."""
    c, a = _CHECKUPS.c, _ANSWERS.c
    current = (a.checkup_id == c.id) & a.superseded_at.is_(None)
    return select(*c, *_ANSWER_COLUMNS).select_from(_CHECKUPS.outerjoin(_ANSWERS, current)).where(which).order_by(a.id)


def _active_checkup(insert: Any) -> Executable:
    c = _CHECKUPS.c
    latest = (
        select(c.id)
        .where(c.user_id == bindparam("user"), c.status == CheckupStatus.IN_PROGRESS.value, c.kind == bindparam("wanted_kind"))
        .order_by(c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return _with_answers(c.id == latest)


def _checkup_by_id(insert: Any) -> Executable:
    c = _CHECKUPS.c
    return _with_answers((c.id == bindparam("of_checkup")) & (c.user_id == bindparam("user")))


def _close_checkup(insert: Any) -> Executable:
    c = _CHECKUPS.c
    return _CHECKUPS.update().where(c.id == bindparam("of_checkup")).values(status=bindparam("to"), finished_at=bindparam("now"))


def _set_user_columns(insert: Any) -> Executable:
    c = _USERS.c
    return _USERS.update().where(c.id == bindparam("of_user"))


def _unloaded(model: type[M], values: Mapping[str, Any]) -> M:
    """An instance of ``model`` holding ``values`` (a row read with a Core statement), outside the
    session: the ORM's loading costs several times the statement itself. It is a snapshot:
    changes are written by the Unit method that makes them (close_checkup, set_language,
    set_time_zone), not by a flush.

    The values go straight into the instance's dict, as the ORM's own loading puts them
    (committed, no change history): ten times cheaper than the constructor, which records
    each keyword as a change."""
    if model.__mapper__.configured is False:  # the constructor would have configured it
        configure_mappers()
    instance = model.__mapper__.class_manager.new_instance()
    instance.__dict__.update(values)
    return instance


def _insert_checkup(insert: Any) -> Executable:
    return _CHECKUPS.insert().returning(*_CHECKUPS.c)


def _insert_report(insert: Any) -> Executable:
    return _REPORTS.insert().returning(_REPORTS.c.id, _REPORTS.c.created_at)


def _next_report_id(insert: Any) -> Executable:
    """PostgreSQL: an id for a report stored later in the update (see Unit.finish_checkup)."""
    return select(func.nextval(func.pg_get_serial_sequence(_REPORTS.name, _REPORTS.c.id.name)).label("id"))


def _checkin_offer(insert: Any) -> Executable:
    """Whether the user finished a check-up other than ``of_checkup``, and their check-in
    cadence (NULL: never set)."""
    k, s = _CHECKUPS.c, UserSettings.__table__.c
    finished = (k.user_id == bindparam("user")) & (k.kind == CheckupKind.CHECKUP.value) & (k.status == CheckupStatus.FINISHED.value)
    return select(
        select(k.id).where(finished, k.id != bindparam("of_checkup")).exists().label("finished_before"),
        select(s.checkin_cadence).where(s.user_id == bindparam("user")).scalar_subquery().label("cadence"),
    )


def _report_values(report: AdviceReport) -> dict[str, Any]:
    """The report's columns that have a value (the others take their defaults)."""
    return {column.key: getattr(report, column.key) for column in _REPORTS.c if getattr(report, column.key) is not None}


def _count_finished(insert: Any) -> Executable:
    c = _CHECKUPS.c
    finished = (c.user_id == bindparam("user")) & (c.kind == bindparam("wanted_kind")) & (c.status == CheckupStatus.FINISHED.value)
    return select(func.count().label("finished")).select_from(_CHECKUPS).where(finished)


def _current_answers(insert: Any) -> Executable:
    c = _ANSWERS.c
    return (
        select(c.field, c.value, c.status, c.low, c.high)
        .where(c.checkup_id == bindparam("of_checkup"), c.superseded_at.is_(None))
        .order_by(c.id)
    )


def _insert_answer(insert: Any) -> Executable:
    return _ANSWERS.insert()


def _withdraw_answer(insert: Any) -> Executable:
    c = _ANSWERS.c
    return (
        _ANSWERS.update()
        .where(c.checkup_id == bindparam("of_checkup"), c.field == bindparam("of_field"), c.superseded_at.is_(None))
        .values(superseded_at=bindparam("now"))
    )


def _forget_updates(insert: Any) -> Executable:
    """Delete up to ``batch`` update ids handled before ``cutoff``.

    PostgreSQL deletes the rows it found by their physical address: matching them back by
    id made it hash-join the whole table for every batch (208 ms a batch against 9-12 ms
    with two million ids stored; benchmarks/prune_bench.py)."""
    if insert is postgresql.insert:
        return text(
            "DELETE FROM processed_updates WHERE ctid = ANY(ARRAY("
            "SELECT ctid FROM processed_updates WHERE handled_at < :cutoff LIMIT :batch))"
        ).bindparams(bindparam("cutoff", type_=ProcessedUpdate.__table__.c.handled_at.type))
    handled = ProcessedUpdate.__table__.c
    oldest = select(handled.update_id).where(handled.handled_at < bindparam("cutoff")).limit(bindparam("batch"))
    return delete(ProcessedUpdate.__table__).where(handled.update_id.in_(oldest))


def _remember_question(insert: Any) -> Executable:
    """One question message noted on its check-up (SQLite; PostgreSQL notes them all in one
    statement). Message ids only grow in a chat: an older note arriving late changes nothing."""
    c = _CHECKUPS.c
    newer = c.question_message_id.is_(None) | (c.question_message_id < bindparam("message"))
    return (
        _CHECKUPS.update()
        .where(c.id == bindparam("of_checkup"), newer)
        .values(question_message_id=bindparam("message"), question_field=bindparam("asked"))
    )


def _noted_questions() -> Any:
    """PostgreSQL: the question messages to note, as a table (one array parameter per column)."""
    return func.unnest(
        bindparam("noted_checkups", type_=ARRAY(Integer)),
        bindparam("noted_messages", type_=ARRAY(BigInteger)),
        bindparam("noted_fields", type_=ARRAY(String)),
    ).table_valued("checkup_id", "message_id", "field").render_derived(name="noted")


def _note_questions(of_user: Any) -> Executable:
    """PostgreSQL: the noted question messages stored on the check-ups of ``of_user`` (the
    row locked by the statement this becomes part of), unless a newer one is there
    (message ids only grow in a chat)."""
    c, noted = _CHECKUPS.c, _noted_questions()
    newer = c.question_message_id.is_(None) | (c.question_message_id < noted.c.message_id)
    return (
        _CHECKUPS.update()
        .where(c.id == noted.c.checkup_id, c.user_id == of_user, newer)
        .values(question_message_id=noted.c.message_id, question_field=noted.c.field)
    )


def _write_notes(insert: Any) -> Executable:
    """PostgreSQL: the noted question messages written to the check-ups no one has locked;
    returns the ids of those someone has (an update in progress: tried again later)."""
    return text(
        "WITH noted AS (SELECT * FROM unnest(CAST(:noted_checkups AS integer[]), CAST(:noted_messages AS bigint[]),"
        " CAST(:noted_fields AS varchar[])) AS noted (checkup_id, message_id, field)),"
        " claimed AS (SELECT id FROM checkups WHERE id IN (SELECT checkup_id FROM noted) FOR UPDATE SKIP LOCKED),"
        " written AS (UPDATE checkups SET question_message_id = noted.message_id, question_field = noted.field"
        " FROM noted WHERE checkups.id = noted.checkup_id AND checkups.id IN (SELECT id FROM claimed)"
        " AND (checkups.question_message_id IS NULL OR checkups.question_message_id < noted.message_id))"
        " SELECT id FROM checkups WHERE id IN (SELECT checkup_id FROM noted) AND id NOT IN (SELECT id FROM claimed)"
    )


@dataclass(frozen=True, slots=True)
class Claim:
    """A check-in claimed for sending: its round and what the message needs."""

    round_id: int
    user_id: int
    language: str
    cadence: str
    due_at: datetime
    ask_cadence: bool  # ignored twice in a row: ask, once, whether to change the cadence


@dataclass(frozen=True, slots=True)
class SendOutcome:
    round_id: int
    user_id: int
    status: RoundStatus
    message_id: int | None = None


class Contended(Exception):
    """Another update of the same user was applied between this update's read and its
    writes, or this update was handled meanwhile: nothing of it was written. Handle the
    update again with ``Store.update_unit(..., optimistic=False)``."""


@dataclass
class _Unchecked:
    """An update handled optimistically: read without a lock, its writes not yet made."""

    update_id: int
    user_id: int
    seen: str  # the version of the user's row the update read
    now: datetime
    noted: dict[int, tuple[int, str]]
    answer: dict[str, Any] | None = None  # the one answer to store, as save_answer builds it
    report: dict[str, Any] | None = None  # the report of the check-up it finishes (see finish_checkup)


@dataclass
class Unit:
    """The work of one update, applied whole or not at all (see :meth:`Store.update_unit`)."""

    # The ORM session; None until first needed on PostgreSQL (see :meth:`orm`).
    session: AsyncSession | None
    # PostgreSQL, for an update: the asyncpg connection whose transaction this unit is, the
    # engine's pooled connection it belongs to, and the engine (the session is opened on
    # that connection when needed).
    driver: asyncpg.Connection | None = None
    pooled: PoolProxiedConnection | None = field(default=None, repr=False)
    engine: AsyncEngine | None = field(default=None, repr=False)
    connection: AsyncConnection | None = field(default=None, repr=False)
    # Current answers read with their check-up in this update (the user's row is locked, or
    # checked unchanged at the end, so only this unit changes them); dropped when this unit
    # writes an answer, or, for an optimistic update's one answer, kept with it.
    _answers: dict[int, dict[str, Answer]] = field(default_factory=dict, repr=False)
    # PostgreSQL, for an update: the user's check-ups in progress by id, read in the
    # update's first statement; None (unknown: asked for) once this unit changes a check-up
    # or opens the ORM session, which could.
    _in_progress: dict[int, Checkup] | None = field(default=None, repr=False)
    # PostgreSQL, an update handled optimistically: not None until its writes are made
    # (at the end, or when a write cannot wait: see :meth:`_check`).
    _unchecked: _Unchecked | None = field(default=None, repr=False)
    _transaction: Any = field(default=None, repr=False)  # asyncpg's, once this unit opened one

    def __post_init__(self) -> None:
        bound = self.session.bind if self.session is not None else self.engine
        self.dialect = bound.dialect.name if bound is not None else "sqlite"
        self._user_id: int | None = None  # whose check-ups _in_progress holds

    async def orm(self) -> AsyncSession:
        """The ORM session, for the rarer work (settings, reports, check-ins, the operator).

        On PostgreSQL an update's unit opens it only when first asked: most updates (an
        answer) need none, and opening one costs more than a statement. It runs in
        autocommit mode on the unit's connection, so its statements join the driver's
        transaction."""
        await self._check()
        self._in_progress = None
        if self.session is None:
            assert self.engine is not None and self.pooled is not None, "a unit has a session or a connection"
            self.connection = AsyncConnection(self.engine, Connection(self.engine.sync_engine, connection=self.pooled))
            joined = await self.connection.execution_options(isolation_level="AUTOCOMMIT")
            self.session = AsyncSession(bind=joined, expire_on_commit=False)
        return self.session

    async def flush(self) -> None:
        """Write what the ORM holds pending (before a Core statement reads, and at the end)."""
        if self.session is not None and (self.session.new or self.session.dirty or self.session.deleted):
            await self.session.flush()

    # --- users -----------------------------------------------------------------------
    async def user(self, user_id: int, language: str) -> User:
        """The user's row, created on first contact and locked for this transaction.

        One statement: the upsert takes the row lock (PostgreSQL locks a row that ON CONFLICT
        DO UPDATE touches, as FOR UPDATE would; SQLite locks the database for the write) and
        returns the row, so one user's updates wait for each other across processes."""
        upsert = _statement(self.dialect, "upsert_user", _upsert_user)
        (row,) = await self._run(upsert, {"user": user_id, "lang": language, "now": utcnow()})
        return _unloaded(User, row)

    async def set_language(self, user: User, language: str) -> None:
        """The language the seller chose (from now on, also for check-ins)."""
        await self._set(user, language=language, language_chosen=True)

    async def set_time_zone(self, user: User, zone: str) -> None:
        await self._set(user, time_zone=zone)

    async def _set(self, user: User, **values: Any) -> None:
        await self._run(_statement(self.dialect, "set_user_columns", _set_user_columns), {"of_user": user.id, **values})
        for key, value in values.items():
            set_committed_value(user, key, value)

    async def existing_user(self, user_id: int) -> User | None:
        return await (await self.orm()).get(User, user_id)

    # --- check-ups -------------------------------------------------------------------
    async def active_checkup(
        self, user_id: int, kind: CheckupKind = CheckupKind.CHECKUP
    ) -> Checkup | None:
        """The check-up (or check-in, by ``kind``) in progress."""
        if self._in_progress is not None and user_id == self._user_id:
            of_kind = [c for c in self._in_progress.values() if c.kind == kind.value]
            return max(of_kind, key=lambda c: c.id) if of_kind else None
        query = _statement(self.dialect, "active_checkup", _active_checkup)
        return self._checkup_from(await self._run(query, {"user": user_id, "wanted_kind": kind.value}, reads=True))

    async def checkup(self, checkup_id: int, user_id: int) -> Checkup | None:
        """A check-up of this user (None for another user's id: buttons can be forged)."""
        if self._in_progress is not None and user_id == self._user_id and checkup_id in self._in_progress:
            return self._in_progress[checkup_id]
        query = _statement(self.dialect, "checkup_by_id", _checkup_by_id)
        return self._checkup_from(await self._run(query, {"of_checkup": checkup_id, "user": user_id}, reads=True))

    def _checkup_from(self, rows: list[Mapping[str, Any]]) -> Checkup | None:
        """The check-up of :func:`_with_answers` rows; its answers are kept for
        :meth:`answers` until this unit writes one."""
        if not rows:
            return None
        first = rows[0]
        checkup = _unloaded(Checkup, {key: first[key] for key in _CHECKUP_KEYS})
        self._answers[checkup.id] = {
            r["a_field"]: Answer.stored(r["a_value"], r["a_status"], r["a_low"], r["a_high"]) for r in rows if r["a_field"] is not None
        }
        return checkup

    def _keep_in_progress(self, user_id: int, rows: list[Mapping[str, Any]], noted: Mapping[int, tuple[int, str]]) -> None:
        """The check-ups in progress of :func:`_begin_update` or :func:`_read_for_update`
        rows, with the question messages noted for this update (read as they were before
        this update writes them)."""
        self._user_id = user_id
        self._in_progress = {}
        for row in rows:
            if row["c_id"] is None:  # no check-up in progress
                continue
            checkup = _unloaded(Checkup, {key: row["c_" + key] for key in _CHECKUP_KEYS})
            self._answers[checkup.id] = {
                field: Answer.stored(value, status, None if low is None else float(low), None if high is None else float(high))
                for field, value, status, low, high in row["c_answers"] or ()
            }
            note = noted.get(checkup.id)
            if note is not None and (checkup.question_message_id is None or checkup.question_message_id < note[0]):
                checkup.__dict__.update(question_message_id=note[0], question_field=note[1])
            self._in_progress[checkup.id] = checkup

    async def start_checkup(self, user: User, kind: CheckupKind = CheckupKind.CHECKUP) -> Checkup:
        self._in_progress = None
        values = {"user_id": user.id, "language": user.language, "started_at": utcnow(), "kind": kind.value}
        (row,) = await self._run(_statement(self.dialect, "insert_checkup", _insert_checkup), values)
        checkup = _unloaded(Checkup, row)
        self._answers[checkup.id] = {}  # a new check-up has no answers: nothing to read back
        return checkup

    async def close_checkup(self, checkup: Checkup, status: CheckupStatus) -> None:
        self._in_progress = None
        now = utcnow()
        close = _statement(self.dialect, "close_checkup", _close_checkup)
        await self._run(close, {"of_checkup": checkup.id, "to": status.value, "now": now})
        set_committed_value(checkup, "status", status.value)
        set_committed_value(checkup, "finished_at", now)

    async def answers(self, checkup_id: int) -> dict[str, Answer]:
        """The current answers of a check-up (superseded ones are history)."""
        known = self._answers.get(checkup_id)
        if known is not None:
            return dict(known)
        query = _statement(self.dialect, "current_answers", _current_answers)
        return {
            r["field"]: Answer.stored(r["value"], r["status"], r["low"], r["high"])
            for r in await self._run(query, {"of_checkup": checkup_id}, reads=True)
        }

    async def _run(self, statement: Executable, parameters: dict[str, Any], *, reads: bool = False) -> list[Mapping[str, Any]]:
        """Run a Core statement in this unit's transaction; the rows it returns, by column
        name. On PostgreSQL an update's unit runs them on the driver (see Store.update_unit).
        ``reads``: the statement only reads, so an optimistic update need not be checked first."""
        if not reads:
            await self._check()
        await self.flush()  # what the ORM holds pending, as before a query of its own
        if self.driver is not None:
            return await _run_on_driver(self.driver, statement, parameters)
        result = await (await (await self.orm()).connection()).execute(statement, parameters)
        return [row._mapping for row in result] if result.returns_rows else []

    async def save_answer(self, checkup: Checkup, field: str, answer: Answer, *, replaces: bool = True) -> None:
        """Store an answer now; an earlier answer to the same question becomes history.

        ``replaces=False``: the caller read the current answers in this transaction (the
        user's row is locked) and there is none for ``field``, so there is nothing to mark."""
        value = list(answer.value) if isinstance(answer.value, tuple) else answer.value
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and len(t) > MAX_TEXT_LENGTH for t in texts):
            # The questionnaire bounds typed text; this is the last line, never the check.
            raise ValueError(f"answer to {field} longer than {MAX_TEXT_LENGTH} characters")
        row = {
            "checkup_id": checkup.id,
            "user_id": checkup.user_id,
            "field": field,
            "value": value,
            "status": answer.status.value,
            "low": answer.low,
            "high": answer.high,
            "created_at": utcnow(),
        }
        unchecked = self._unchecked
        known = self._answers.get(checkup.id)
        if unchecked is not None and unchecked.answer is None and not replaces and known is not None:
            # Written with the update's other writes, at the end; read back from here.
            unchecked.answer = row
            known[field] = answer
            return
        self._answers.pop(checkup.id, None)
        if replaces:
            await self.withdraw_answer(checkup, field)
        await self._run(_statement(self.dialect, "insert_answer", _insert_answer), row)

    async def _check(self) -> None:
        """For an update handled optimistically, before a write that cannot wait for the end:
        open the transaction and make the update's writes so far, if the user's row is still
        the version the update read (then it is locked, and what was read stays true);
        otherwise raise :class:`Contended`."""
        unchecked = self._unchecked
        if unchecked is None:
            return
        self._unchecked = None
        assert self.driver is not None
        self._transaction = self.driver.transaction()
        await self._transaction.start()
        await _apply(self.driver, unchecked, with_answer=unchecked.answer is not None)
        if unchecked.answer is not None:
            self._answers.pop(unchecked.answer["checkup_id"], None)

    async def _finish_unchecked(self) -> None:
        """An optimistic update's writes, in one statement (no transaction needed): raises
        :class:`Contended`, having written nothing, if the user's row changed since it was read."""
        unchecked, self._unchecked = self._unchecked, None
        assert unchecked is not None and self.driver is not None
        await _apply(self.driver, unchecked, with_answer=unchecked.answer is not None)

    async def withdraw_answer(self, checkup: Checkup, field: str) -> None:
        """Mark the current answer as superseded (Back), keeping it as history."""
        self._answers.pop(checkup.id, None)
        withdraw = _statement(self.dialect, "withdraw_answer", _withdraw_answer)
        await self._run(withdraw, {"of_checkup": checkup.id, "of_field": field, "now": utcnow()})

    # --- advice ----------------------------------------------------------------------
    async def save_report(self, report: AdviceReport) -> AdviceReport:
        """Store the advice (a Core insert: the ORM's flush costs more than the rest of
        finishing a check-up); the report gets its id."""
        (row,) = await self._run(_statement(self.dialect, "insert_report", _insert_report), _report_values(report))
        for key in ("id", "created_at"):
            set_committed_value(report, key, row[key])
        return report

    async def finish_checkup(self, checkup: Checkup, report: AdviceReport) -> AdviceReport:
        """Close the check-up as finished and store its advice; the report gets its id.

        An update handled optimistically takes the report's id from its sequence now and
        makes both writes at its end, in the statement that makes its others. With
        :meth:`offers_checkins`, the last answer of a check-up takes four round trips (the
        read, the report's id, the offer, the write) where it took eight (the read, a
        transaction opened, the answer, the report, the check-up closed, two reads for the
        offer, the commit)."""
        unchecked = self._unchecked
        if unchecked is None or unchecked.report is not None:
            report = await self.save_report(report)
            await self.close_checkup(checkup, CheckupStatus.FINISHED)
            return report
        (row,) = await self._run(_statement(self.dialect, "next_report_id", _next_report_id), {}, reads=True)
        set_committed_value(report, "id", row["id"])
        set_committed_value(report, "created_at", unchecked.now)
        unchecked.report = _report_values(report)
        set_committed_value(checkup, "status", CheckupStatus.FINISHED.value)
        set_committed_value(checkup, "finished_at", unchecked.now)
        if self._in_progress is not None:
            self._in_progress.pop(checkup.id, None)
        return report

    async def latest_report(self, user_id: int) -> AdviceReport | None:
        return (
            await (await self.orm()).execute(
                select(AdviceReport)
                .where(AdviceReport.user_id == user_id)
                .order_by(AdviceReport.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def reports(self, user_id: int) -> list[AdviceReport]:
        """Every report of the user, oldest first: the data points of their progress."""
        return list(
            (
                await (await self.orm()).execute(
                    select(AdviceReport)
                    .where(AdviceReport.user_id == user_id)
                    .order_by(AdviceReport.created_at, AdviceReport.id)
                )
            ).scalars()
        )

    async def report(self, report_id: int, user_id: int) -> AdviceReport | None:
        found = await (await self.orm()).get(AdviceReport, report_id)
        return found if found is not None and found.user_id == user_id else None

    # --- settings --------------------------------------------------------------------
    async def settings(self, user_id: int) -> UserSettings:
        session = await self.orm()
        found = await session.get(UserSettings, user_id)
        if found is None:
            found = UserSettings(user_id=user_id)
            session.add(found)
            await session.flush()
        return found

    async def offers_checkins(self, user_id: int, checkup_id: int) -> bool:
        """Whether the advice of ``checkup_id`` offers check-ins: the user's first finished
        check-up (whether or not it is written yet), and check-ins never switched on."""
        (row,) = await self._run(_statement(self.dialect, "checkin_offer", _checkin_offer), {"user": user_id, "of_checkup": checkup_id}, reads=True)
        return not row["finished_before"] and (row["cadence"] or "off") == "off"

    async def count_finished(self, user_id: int, kind: CheckupKind) -> int:
        query = _statement(self.dialect, "count_finished", _count_finished)
        (row,) = await self._run(query, {"user": user_id, "wanted_kind": kind.value}, reads=True)
        return row["finished"]

    # --- check-in rounds (the seller's side) ----------------------------------------
    async def checkin_round(self, round_id: int, user_id: int) -> CheckinRound | None:
        """A round of this user (None for another user's id: buttons can be forged)."""
        found = await (await self.orm()).get(CheckinRound, round_id)
        return found if found is not None and found.user_id == user_id else None

    async def round_of_checkup(self, checkup_id: int) -> CheckinRound | None:
        return (
            await (await self.orm()).execute(
                select(CheckinRound).where(CheckinRound.checkup_id == checkup_id)
            )
        ).scalar_one_or_none()

    async def checkin_answers_since(self, user_id: int, since: datetime, checkup_id: int) -> list[dict[str, Answer]]:
        """The answers of the user's check-ins finished since ``since``, other than
        ``checkup_id``, newest first: what a lever measured over a window adds up."""
        finished = (
            select(Checkup.id, Checkup.finished_at)
            .where(
                Checkup.user_id == user_id,
                Checkup.kind == CheckupKind.CHECKIN.value,
                Checkup.status == CheckupStatus.FINISHED.value,
                Checkup.finished_at >= since,
                Checkup.id != checkup_id,
            )
            .subquery()
        )
        rows = await (await self.orm()).execute(
            select(AnswerRow.checkup_id, AnswerRow.field, AnswerRow.value, AnswerRow.status, AnswerRow.low, AnswerRow.high)
            .join(finished, finished.c.id == AnswerRow.checkup_id)
            .where(AnswerRow.superseded_at.is_(None))
            .order_by(finished.c.finished_at.desc(), AnswerRow.checkup_id.desc(), AnswerRow.id)
        )
        found: dict[int, dict[str, Answer]] = {}
        for row in rows:
            found.setdefault(row.checkup_id, {})[row.field] = Answer.stored(row.value, row.status, row.low, row.high)
        return list(found.values())

    # --- the dispatcher ----------------------------------------------------------------
    async def claim_due_checkins(self, now: datetime, limit: int) -> list[Claim]:
        """Claim up to ``limit`` due check-ins: one new round each, marked ``sending``, and
        the schedule moved on to the next due time, in this one transaction.

        Rows another process holds are skipped (``FOR UPDATE SKIP LOCKED`` on PostgreSQL;
        SQLite serialises writers), and a round is unique per (user, due time), so each
        due check-in becomes exactly one round whichever process claims it.
        """
        due = (
            await (await self.orm()).execute(
                select(
                    UserSettings.user_id,
                    UserSettings.checkin_cadence,
                    UserSettings.checkin_weekday,
                    UserSettings.checkin_hour,
                    UserSettings.checkin_next_due_at,
                    UserSettings.checkin_ignored_in_row,
                    UserSettings.checkin_streak,
                    UserSettings.checkin_cadence_asked,
                    User.language,
                    User.time_zone,
                )
                .join(User, User.id == UserSettings.user_id)
                .where(
                    UserSettings.checkin_next_due_at <= now,
                    UserSettings.checkin_cadence != "off",
                    UserSettings.checkin_paused.is_(False),
                )
                .order_by(UserSettings.checkin_next_due_at)
                .limit(limit)
                # The user's row too: a seller whose update is being handled right now is
                # skipped this pass rather than waited for (no lock-order deadlock).
                .with_for_update(skip_locked=True, of=[UserSettings, User])
            )
        ).all()
        if not due:
            return []
        user_ids = [row.user_id for row in due]
        # A round still merely "sent" when the next one falls due was ignored.
        ignored = set(
            (
                await (await self.orm()).execute(
                    update(CheckinRound)
                    .where(
                        CheckinRound.user_id.in_(user_ids),
                        CheckinRound.status == RoundStatus.SENT.value,
                    )
                    .values(status=RoundStatus.IGNORED.value)
                    .returning(CheckinRound.user_id)
                )
            ).scalars()
        )
        rounds = [
            {
                "user_id": row.user_id,
                "due_at": row.checkin_next_due_at,
                "status": RoundStatus.SENDING.value,
                "claimed_at": now,
            }
            for row in due
        ]
        inserted = dict(
            (
                await (await self.orm()).execute(
                    _insert(self.dialect, CheckinRound)
                    .on_conflict_do_nothing(index_elements=["user_id", "due_at"])
                    .returning(CheckinRound.user_id, CheckinRound.id),
                    rounds,
                )
            ).all()
        )
        claims: list[Claim] = []
        schedule_updates: list[dict[str, Any]] = []
        for row in due:
            due_at = aware(row.checkin_next_due_at)
            ignored_in_row = (
                row.checkin_ignored_in_row + 1
                if row.user_id in ignored
                else row.checkin_ignored_in_row
            )
            quieter = ignored_in_row >= 2
            ask_cadence = quieter and not row.checkin_cadence_asked
            rule = Rule(
                row.checkin_cadence, row.checkin_weekday, row.checkin_hour or 0, row.time_zone
            )
            schedule_updates.append(
                {
                    "user_id": row.user_id,
                    "checkin_next_due_at": following_due(rule, due_at, now, quieter=quieter),
                    "checkin_ignored_in_row": ignored_in_row,
                    "checkin_streak": 0 if row.user_id in ignored else row.checkin_streak,
                    "checkin_cadence_asked": row.checkin_cadence_asked or ask_cadence,
                }
            )
            if row.user_id in inserted:
                claims.append(
                    Claim(
                        inserted[row.user_id],
                        row.user_id,
                        row.language,
                        row.checkin_cadence,
                        due_at,
                        ask_cadence,
                    )
                )
        await (await self.orm()).execute(update(UserSettings), schedule_updates)
        return claims

    async def record_sends(self, outcomes: list[SendOutcome], now: datetime) -> None:
        """What became of each claimed round; a blocked user has check-ins switched off.

        The seller may already have pressed a button of the message (the round moved on
        from ``sending``): then only its message id is added, its status is left alone.
        """
        sent = [
            {"id": o.round_id, "sent_at": now, "message_id": o.message_id}
            for o in outcomes
            if o.status is RoundStatus.SENT
        ]
        if sent:
            await (await self.orm()).execute(update(CheckinRound), sent)
        for status in {o.status for o in outcomes}:
            ids = [o.round_id for o in outcomes if o.status is status]
            await (await self.orm()).execute(
                update(CheckinRound)
                .where(CheckinRound.id.in_(ids), CheckinRound.status == RoundStatus.SENDING.value)
                .values(status=status.value)
            )
        blocked = [o.user_id for o in outcomes if o.status is RoundStatus.BLOCKED]
        if blocked:
            await self.switch_off_checkins(blocked, now)

    async def switch_off_checkins(self, user_ids: list[int], now: datetime) -> None:
        """No more check-ins for these users (they blocked the bot); their data stays, and
        only the seller can switch check-ins on again (/checkin)."""
        await (await self.orm()).execute(
            update(UserSettings)
            .where(UserSettings.user_id.in_(user_ids))
            .values(checkin_cadence="off", checkin_next_due_at=None, updated_at=now)
        )

    async def give_up_stale_sends(self, now: datetime, older_than: timedelta) -> int:
        """Rounds left ``sending`` by a process that died: Telegram cannot say whether the
        message arrived, so they are marked unknown and never sent again (at most once)."""
        result = await (await self.orm()).execute(
            update(CheckinRound)
            .where(
                CheckinRound.status == RoundStatus.SENDING.value,
                CheckinRound.claimed_at < now - older_than,
            )
            .values(status=RoundStatus.UNKNOWN.value)
        )
        return result.rowcount or 0

    async def reserve_send_slots(self, name: str, count: int, step: float, now: float) -> float:
        """Reserve ``count`` consecutive send slots ``step`` seconds apart, shared by every
        process, none before a hold (a 429) ends; returns when the first one starts
        (seconds since the epoch)."""
        larger = func.greatest if self.dialect == "postgresql" else func.max
        for _ in range(2):
            end = (
                await (await self.orm()).execute(
                    update(SendSlot)
                    .where(SendSlot.name == name)
                    .values(next_free=larger(SendSlot.next_free, SendSlot.hold_until, now) + step * count)
                    .returning(SendSlot.next_free)
                )
            ).scalar_one_or_none()
            if end is not None:
                return end - step * count
            await self._add_send_slot(name)
        raise AssertionError("the send slot row exists after inserting it")  # pragma: no cover

    async def hold_sending(self, name: str, until: float, channel: str | None = None) -> None:
        """Nobody sends before ``until`` (seconds since the epoch; Telegram answered 429).
        On PostgreSQL, ``channel`` is notified with ``until`` when this commits, so every
        process listening holds back at once."""
        larger = func.greatest if self.dialect == "postgresql" else func.max
        await self._add_send_slot(name)
        await (await self.orm()).execute(
            update(SendSlot).where(SendSlot.name == name).values(hold_until=larger(SendSlot.hold_until, until))
        )
        if channel is not None and self.dialect == "postgresql":
            await (await self.orm()).execute(select(func.pg_notify(channel, repr(until))))

    async def send_hold(self, name: str) -> float:
        """When the hold recorded last ends (seconds since the epoch; 0 if none was)."""
        held = await (await self.orm()).execute(select(SendSlot.hold_until).where(SendSlot.name == name))
        return held.scalar_one_or_none() or 0.0

    async def _add_send_slot(self, name: str) -> None:
        await (await self.orm()).execute(
            _insert(self.dialect, SendSlot)
            .values(name=name, next_free=0.0, hold_until=0.0)
            .on_conflict_do_nothing(index_elements=["name"])
        )

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
                select(func.count()).select_from(Checkup).where(Checkup.status == CheckupStatus.FINISHED.value)
            ),
            active_checkins=await scalar(
                select(func.count())
                .select_from(UserSettings)
                .where(UserSettings.checkin_cadence != "off", UserSettings.checkin_paused.is_(False))
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
        )
        for model, key in tables:
            rows = (
                await (await self.orm()).execute(select(model).where(model.user_id == user_id).order_by(*model.__table__.primary_key.columns))  # type: ignore[attr-defined]
            ).scalars()
            data[key] = [_row(r) for r in rows]
        return data

    async def delete_user(self, user_id: int) -> dict[str, int]:
        """Remove every row of this user; returns how many rows went from each table."""
        counts: dict[str, int] = {}
        for model in USER_TABLES:
            column = model.id if model is User else model.user_id  # type: ignore[attr-defined]
            result = await (await self.orm()).execute(delete(model).where(column == user_id))
            counts[model.__tablename__] = result.rowcount or 0
        return counts

    async def count_user_rows(self, user_id: int) -> dict[str, int]:
        counts: dict[str, int] = {}
        for model in USER_TABLES:
            column = model.id if model is User else model.user_id  # type: ignore[attr-defined]
            counts[model.__tablename__] = (
                await (await self.orm()).execute(select(func.count()).select_from(model).where(column == user_id))
            ).scalar_one()
        return counts


def aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands back naive UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _row(obj: Base) -> dict[str, Any]:
    data = {}
    for column in obj.__table__.columns:  # type: ignore[attr-defined]
        value = getattr(obj, column.key)
        data[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return data


class Store:
    """Hands out one :class:`Unit` (one transaction) per update."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        # Question messages sent and not yet written: user id -> check-up id -> (message id,
        # field). See remember_question_message.
        self._noted: dict[int, dict[int, tuple[int, str]]] = {}

    @property
    def engine(self) -> AsyncEngine:
        return self.sessions.kw["bind"]

    def remember_question_message(self, user_id: int, checkup_id: int, message_id: int, field: str) -> None:
        """Note which message asks ``field`` (after it was sent), to be written behind.

        It is a hint for editing the question once it is answered, not an answer: it is
        written in the user's next update (in its first statement, no round trip of its
        own) or by :meth:`write_noted_questions` (every second, in one statement for all),
        whichever comes first. A crash loses the notes of the last second; a typed answer
        then leaves its question as it was, and the next question is sent as usual."""
        self._noted.setdefault(user_id, {})[checkup_id] = (message_id, field)

    def _take_noted(self, user_id: int) -> dict[int, tuple[int, str]]:
        return self._noted.pop(user_id, None) or {}

    def _give_back_noted(self, user_id: int, notes: dict[int, tuple[int, str]]) -> None:
        """Notes taken by a transaction that did not commit them, kept for the next one
        (a newer note taken meanwhile wins: message ids only grow in a chat)."""
        if not notes:
            return
        kept = self._noted.setdefault(user_id, {})
        for checkup_id, note in notes.items():
            if checkup_id not in kept or kept[checkup_id][0] < note[0]:
                kept[checkup_id] = note

    async def write_noted_questions(self) -> int:
        """Write every noted question message in one transaction; how many notes are done.

        A note stays noted until its transaction commits, so the user's next update, if it
        starts meanwhile, takes and writes it itself rather than miss it. On PostgreSQL the
        check-ups locked by an update in progress are skipped (never waited for, so never a
        deadlock with it) and their notes kept for the next time; a note older than the
        stored message, or of a check-up since deleted, is done with."""
        snapshot = [
            (user_id, checkup_id, message_id, field)
            for user_id, per_user in self._noted.items()
            for checkup_id, (message_id, field) in per_user.items()
        ]
        if not snapshot:
            return 0
        busy: set[int] = set()
        async with self.sessions() as session, session.begin():
            if _dialect(session) == "postgresql":
                parameters: dict[str, Any] = {
                    "noted_checkups": [checkup_id for _, checkup_id, _, _ in snapshot],
                    "noted_messages": [message_id for _, _, message_id, _ in snapshot],
                    "noted_fields": [field for _, _, _, field in snapshot],
                }
                busy = set((await session.execute(_statement("postgresql", "write_notes", _write_notes), parameters)).scalars())
            else:
                remember = _statement("sqlite", "remember_question", _remember_question)
                await session.execute(remember, [{"of_checkup": c, "message": m, "asked": f} for _, c, m, f in snapshot])
        done = 0
        for user_id, checkup_id, message_id, _ in snapshot:
            if checkup_id in busy:
                continue
            done += 1
            per_user = self._noted.get(user_id)
            if per_user is not None and per_user.get(checkup_id, (None,))[0] == message_id:
                del per_user[checkup_id]
                if not per_user:
                    del self._noted[user_id]
        return done

    async def forget_processed_updates(self, older_than: timedelta, batch: int = 10_000) -> int:
        """Delete update ids handled more than ``older_than`` ago, ``batch`` rows per
        transaction; returns how many went. Telegram never redelivers them that late."""
        cutoff = utcnow() - older_than
        removed = 0
        while True:
            async with self.sessions() as session, session.begin():
                forget = _statement(_dialect(session), "forget_updates", _forget_updates)
                result = await session.execute(forget, {"cutoff": cutoff, "batch": batch})
            removed += result.rowcount or 0
            if (result.rowcount or 0) < batch:
                return removed

    @asynccontextmanager
    async def update_unit(
        self, update_id: int, user_id: int, language: str, *, optimistic: bool = False
    ) -> AsyncIterator[tuple[Unit, User] | None]:
        """:meth:`unit` for a Telegram update, with the sender's row from :meth:`Unit.user`
        (created on first contact, locked); None when the update was handled before.

        ``optimistic`` (PostgreSQL, a user seen before): the update reads without a
        transaction or a lock, and makes its writes at the end in one statement that applies
        them only if the user's row is still the version it read (see
        :func:`_apply_unchanged`): two round trips for an answer instead of four. A write
        that cannot wait (anything but one new answer) first opens the transaction the same
        way. When the row changed, nothing is written and :class:`Contended` is raised: the
        caller handles the update again without ``optimistic``.

        Otherwise, on PostgreSQL, recording the update and locking the user's row take one
        statement, which also reads the user's check-ups in progress with their answers (see
        :func:`_begin_update`). Either way the transaction is the driver's own: the unit's
        Core statements go straight to asyncpg, and the session (for the ORM's rarer work)
        runs in autocommit mode on the same connection, so its statements join that
        transaction. Through the session, each statement costs 80-95 µs more CPU, and a
        transaction 55-90 µs more (benchmarks/statement_bench.py).
        """
        noted = self._take_noted(user_id)
        try:
            if self.engine.dialect.name == "postgresql":
                async with self._postgresql_update_unit(update_id, user_id, language, noted, optimistic) as handled:
                    if handled is None:
                        self._give_back_noted(user_id, noted)
                    yield handled
                return
            async with self.sessions() as session, session.begin():
                unit = Unit(session)
                if not await _record(session, update_id):
                    self._give_back_noted(user_id, noted)
                    yield None
                    return
                user = await unit.user(user_id, language)
                remember = _statement("sqlite", "remember_question", _remember_question)
                for checkup_id, (message_id, field) in noted.items():
                    await unit._run(remember, {"of_checkup": checkup_id, "message": message_id, "asked": field})
                yield unit, user
        except BaseException:
            self._give_back_noted(user_id, noted)  # rolled back: they are written next time
            raise

    @asynccontextmanager
    async def _postgresql_update_unit(
        self, update_id: int, user_id: int, language: str, noted: dict[int, tuple[int, str]], optimistic: bool
    ) -> AsyncIterator[tuple[Unit, User] | None]:
        parameters: dict[str, Any] = {"update": update_id, "user": user_id, "lang": language, "now": utcnow()}
        if noted:
            first = _statement("postgresql", "begin_update_noting", partial(_begin_update, noting=True))
            parameters["noted_checkups"] = list(noted)
            parameters["noted_messages"] = [message_id for message_id, _ in noted.values()]
            parameters["noted_fields"] = [field for _, field in noted.values()]
        else:
            first = _statement("postgresql", "begin_update", _begin_update)
        with _driver_errors():
            # The pool's connection itself: an engine Connection around it costs more than a
            # statement, and only the ORM session needs one (Unit.orm makes it).
            pooled = await _checkout(self.engine)
            driver: asyncpg.Connection = pooled.driver_connection
            unit = Unit(None, driver, pooled, self.engine)
            try:
                if optimistic:
                    now = parameters["now"]
                    read = _statement("postgresql", "read_for_update", _read_for_update)
                    rows = await _run_on_driver(driver, read, {"update": update_id, "user": user_id})
                    if rows and rows[0]["handled"]:
                        yield None
                        return
                    if rows:  # a user seen before (a new one is handled below)
                        user = _unloaded(User, {key: rows[0][key] for key in _USER_KEYS} | {"last_seen_at": now})
                        unit._keep_in_progress(user_id, rows, noted)
                        unit._unchecked = _Unchecked(update_id, user_id, rows[0]["seen"], now, noted)
                        try:
                            yield unit, user
                            if unit._unchecked is not None:
                                await unit._finish_unchecked()
                            else:
                                await unit.flush()
                                await unit._transaction.commit()
                        except BaseException:
                            if unit._transaction is not None and driver.is_in_transaction():
                                with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                                    await unit._transaction.rollback()
                            raise
                        return
                async with driver.transaction():
                    rows = await unit._run(first, parameters)
                    if not rows:
                        yield None
                        return
                    if rows[0]["id"] is None:
                        # Read before the lock was granted and changed since: read under it.
                        self._give_back_noted(user_id, noted)
                        user = await unit.user(user_id, language)
                    else:
                        user = _unloaded(User, {key: rows[0][key] for key in _USER_KEYS})
                        unit._keep_in_progress(user_id, rows, noted)
                    yield unit, user
                    await unit.flush()  # the ORM's changes, inside the transaction, before COMMIT
            except _CONNECTION_BROKEN:
                # The connection itself failed (the server dropped it, or the driver lost
                # track of its protocol): never lent out again; the pool opens a new one.
                await greenlet_spawn(pooled.invalidate)
                raise
            finally:
                if unit.session is not None:
                    await unit.session.close()
                if unit.connection is not None:
                    await unit.connection.close()  # and the pooled connection with it
                else:
                    await greenlet_spawn(pooled.close)  # back to the pool (closing may need I/O)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """A transaction for work that is not a Telegram update (the dispatcher, the
        question-message id, tests); updates use :meth:`update_unit`.

        Commits when the block ends, rolls back if it raises.
        """
        async with self.sessions() as session, session.begin():
            yield Unit(session)


# --- statements on the asyncpg connection ---------------------------------------------------
_POSTGRESQL = postgresql.asyncpg.dialect()
_ON_DRIVER: dict[tuple[Executable, tuple[str, ...]], tuple[str, tuple[tuple[str | None, Any, Any], ...], dict[str, Callable[[], Any]]]] = {}


async def _run_on_driver(driver: asyncpg.Connection, statement: Executable, parameters: dict[str, Any]) -> list[Any]:
    """Run a Core statement on the asyncpg connection (see :func:`_driver_arguments`)."""
    sql, arguments = _driver_arguments(statement, parameters)
    return await driver.fetch(sql, *arguments)


def _driver_arguments(statement: Executable, parameters: dict[str, Any]) -> tuple[str, list[Any]]:
    """A Core statement as asyncpg takes it: compiled once (per set of parameter names) by
    SQLAlchemy's asyncpg dialect, with its positional values converted by the column types
    as SQLAlchemy would (JSON to text for the codec SQLAlchemy installed on the connection),
    and an INSERT given the Python-side column defaults, as SQLAlchemy's execution gives.

    The values are put in place as ``construct_params`` would (which cost more than the
    statement on every update): a given parameter by its name, a value fixed in the
    statement (a literal) converted once."""
    key = (statement, tuple(parameters))
    found = _ON_DRIVER.get(key)
    if found is None:
        found = _ON_DRIVER[key] = _compile_for_driver(statement, parameters)
    sql, places, defaults = found
    if defaults:
        parameters = {**{name: make() for name, make in defaults.items()}, **parameters}
    return sql, [fixed if name is None else parameters[name] if convert is None else convert(parameters[name]) for name, convert, fixed in places]


def _compile_for_driver(statement: Executable, parameters: Mapping[str, Any]) -> tuple[str, tuple[tuple[str | None, Any, Any], ...], dict[str, Callable[[], Any]]]:
    defaults = _python_defaults(statement, parameters)
    given = [*parameters, *defaults]
    compiled = statement.compile(dialect=_POSTGRESQL, column_keys=given)
    places = []
    for name in compiled.positiontup or ():
        bind = compiled.binds[name]
        if bind.expanding or bind.literal_execute:
            raise NotImplementedError(f"{name}: values rendered into the SQL are not run on the driver")
        convert = _bind_processor(bind.type)
        if name in given:
            places.append((name, convert, None))
        elif bind.required:
            raise KeyError(f"the statement needs a value for {name}")
        else:
            value = bind.effective_value
            places.append((None, None, value if convert is None else convert(value)))
    return str(compiled), tuple(places), defaults


async def _apply(driver: asyncpg.Connection, unchecked: _Unchecked, *, with_answer: bool) -> None:
    """:func:`_apply_unchanged`'s statement for ``unchecked``; :class:`Contended` if it wrote nothing."""
    noting = bool(unchecked.noted)
    parameters: dict[str, Any] = {"user": unchecked.user_id, "seen": unchecked.seen, "now": unchecked.now, "update": unchecked.update_id}
    if noting:
        parameters["noted_checkups"] = list(unchecked.noted)
        parameters["noted_messages"] = [message_id for message_id, _ in unchecked.noted.values()]
        parameters["noted_fields"] = [field for _, field in unchecked.noted.values()]
    if with_answer:
        assert unchecked.answer is not None
        parameters.update({f"answer_{key}": value for key, value in unchecked.answer.items()})
    finishing = unchecked.report is not None
    if finishing:
        parameters.update({f"report_{key}": value for key, value in unchecked.report.items()})
    name = f"apply_unchanged_{noting}_{with_answer}_{finishing}"
    statement = _statement("postgresql", name, partial(_apply_unchanged, noting=noting, answering=with_answer, finishing=finishing))
    (row,) = await _run_on_driver(driver, statement, parameters)
    if not (row["locked"] and row["recorded"]):
        raise Contended


def _bind_processor(type_: Any) -> Callable[[Any], Any] | None:
    """How SQLAlchemy converts a value of ``type_`` for asyncpg; None when it passes as is.
    An array of items that need no conversion needs none (SQLAlchemy would still copy it,
    item by item)."""
    if isinstance(type_, ARRAY) and type_.item_type.dialect_impl(_POSTGRESQL).bind_processor(_POSTGRESQL) is None:
        return None
    return type_.dialect_impl(_POSTGRESQL).bind_processor(_POSTGRESQL)


def _python_defaults(statement: Executable, parameters: Mapping[str, Any]) -> dict[str, Callable[[], Any]]:
    """The INSERT's columns left out of ``parameters`` that have a Python-side default."""
    if not isinstance(statement, Insert):
        return {}
    makers: dict[str, Callable[[], Any]] = {}
    for column in statement.table.c:
        default = column.default
        if column.key in parameters or default is None:
            continue
        if default.is_callable:
            makers[column.key] = partial(default.arg, None)  # SQLAlchemy's wrapper takes a context
        elif default.is_scalar:
            makers[column.key] = lambda value=default.arg: value
    return makers


async def _checkout(engine: AsyncEngine) -> PoolProxiedConnection:
    """A connection from the engine's pool. Failing to connect raises what engine.connect()
    raises (SQLAlchemy's OperationalError...), not the driver adapter's own error classes."""
    base = engine.dialect.loaded_dbapi.Error
    try:
        return await engine.raw_connection()
    except base as exc:
        raise DBAPIError.instance(None, None, exc, base, hide_parameters=True, dialect=engine.dialect) from exc


@contextmanager
def _driver_errors() -> Iterator[None]:
    """asyncpg's own errors as SQLAlchemy's DBAPIError, as the session would raise them, so
    the bot tells a seller the database is unavailable the same way whichever ran the
    statement. No statement or parameters are attached: they can hold what a seller typed."""
    try:
        yield
    except (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError) as exc:
        raise DBAPIError(None, None, exc, hide_parameters=True) from exc


# asyncpg's errors that mean the connection cannot be used again (an InternalClientError is
# what a statement on a connection the server had just terminated raised; OSError last).
_CONNECTION_BROKEN = (asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError, OSError)


async def _record(session: AsyncSession, update_id: int) -> bool:
    """Record that ``update_id`` is handled in this transaction; False if it was before."""
    record = _statement(_dialect(session), "record_update", _record_update)
    result = await (await session.connection()).execute(record, {"update": update_id, "now": utcnow()})
    return result.rowcount != 0
