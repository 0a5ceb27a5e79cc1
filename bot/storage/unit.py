"""The unit of work: one update's (or one task's) transaction, applied whole or not at all.

:class:`UnitCore` holds the unit's connection and session, runs its Core statements (on
asyncpg for an update on PostgreSQL), makes an optimistic update's writes (see
:mod:`bot.storage.protocol`), and reads and changes the user's row. The users and check-ups
a unit hands out are snapshots read with Core statements (the ORM's loading cost several
times the statement, on every update): they are changed through the unit's methods
(``close_checkup``, ``set_language``, ``set_time_zone``), which write the change and update
the snapshot, never by assigning to them. The unit's other jobs are in the modules beside
this one, composed into :class:`bot.storage.store.Unit`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import bindparam
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import Executable

from advice.questionnaire import Answer
from bot.storage.driver import run_on_driver
from bot.storage.models import Checkup, User, utcnow
from bot.storage.protocol import Unchecked, apply_writes
from bot.storage.statements import CHECKUP_KEYS, USERS, prepared, unloaded


def _upsert_user(insert: Any) -> Executable:
    upsert = insert(USERS).values(
        id=bindparam("user"),
        language=bindparam("lang"),
        created_at=bindparam("now"),
        last_seen_at=bindparam("now"),
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=["id"], set_={"last_seen_at": upsert.excluded.last_seen_at}
    )
    return upsert.returning(*USERS.c)


def _set_user_columns(insert: Any) -> Executable:
    c = USERS.c
    return USERS.update().where(c.id == bindparam("of_user"))


@dataclass
class UnitCore:
    """The connection, session and user of one unit (see :meth:`Store.update_unit
    <bot.storage.store.Store.update_unit>`)."""

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
    _unchecked: Unchecked | None = field(default=None, repr=False)
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
            assert self.engine is not None and self.pooled is not None, (
                "a unit has a session or a connection"
            )
            self.connection = AsyncConnection(
                self.engine, Connection(self.engine.sync_engine, connection=self.pooled)
            )
            joined = await self.connection.execution_options(isolation_level="AUTOCOMMIT")
            self.session = AsyncSession(bind=joined, expire_on_commit=False)
        return self.session

    async def flush(self) -> None:
        """Write what the ORM holds pending (before a Core statement reads, and at the end)."""
        if self.session is not None and (
            self.session.new or self.session.dirty or self.session.deleted
        ):
            await self.session.flush()

    # --- users -----------------------------------------------------------------------
    async def user(self, user_id: int, language: str) -> User:
        """The user's row, created on first contact and locked for this transaction.

        One statement: the upsert takes the row lock (PostgreSQL locks a row that ON CONFLICT
        DO UPDATE touches, as FOR UPDATE would; SQLite locks the database for the write) and
        returns the row, so one user's updates wait for each other across processes."""
        upsert = prepared(self.dialect, "upsert_user", _upsert_user)
        (row,) = await self._run(upsert, {"user": user_id, "lang": language, "now": utcnow()})
        return unloaded(User, row)

    async def set_language(self, user: User, language: str) -> None:
        """The language the seller chose (from now on, also for check-ins)."""
        await self._set(user, language=language, language_chosen=True)

    async def set_time_zone(self, user: User, zone: str) -> None:
        await self._set(user, time_zone=zone)

    async def _set(self, user: User, **values: Any) -> None:
        await self._run(
            prepared(self.dialect, "set_user_columns", _set_user_columns),
            {"of_user": user.id, **values},
        )
        for key, value in values.items():
            set_committed_value(user, key, value)

    async def existing_user(self, user_id: int) -> User | None:
        return await (await self.orm()).get(User, user_id)

    def _keep_in_progress(
        self, user_id: int, rows: list[Mapping[str, Any]], noted: Mapping[int, tuple[int, str]]
    ) -> None:
        """The check-ups in progress of :func:`begin_update` or :func:`read_for_update`
        rows, with the question messages noted for this update (read as they were before
        this update writes them)."""
        self._user_id = user_id
        self._in_progress = {}
        for row in rows:
            if row["c_id"] is None:  # no check-up in progress
                continue
            checkup = unloaded(Checkup, {key: row["c_" + key] for key in CHECKUP_KEYS})
            self._answers[checkup.id] = {
                field: Answer.stored(
                    value,
                    status,
                    None if low is None else float(low),
                    None if high is None else float(high),
                )
                for field, value, status, low, high in row["c_answers"] or ()
            }
            note = noted.get(checkup.id)
            if note is not None and (
                checkup.question_message_id is None or checkup.question_message_id < note[0]
            ):
                checkup.__dict__.update(question_message_id=note[0], question_field=note[1])
            self._in_progress[checkup.id] = checkup

    async def _run(
        self, statement: Executable, parameters: dict[str, Any], *, reads: bool = False
    ) -> list[Mapping[str, Any]]:
        """Run a Core statement in this unit's transaction; the rows it returns, by column
        name. On PostgreSQL an update's unit runs them on the driver (see Store.update_unit).
        ``reads``: the statement only reads, so an optimistic update need not be checked first."""
        if not reads:
            await self._check()
        await self.flush()  # what the ORM holds pending, as before a query of its own
        if self.driver is not None:
            return await run_on_driver(self.driver, statement, parameters)
        result = await (await (await self.orm()).connection()).execute(statement, parameters)
        return [row._mapping for row in result] if result.returns_rows else []

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
        await apply_writes(self.driver, unchecked, with_answer=unchecked.answer is not None)
        if unchecked.answer is not None:
            self._answers.pop(unchecked.answer["checkup_id"], None)

    async def _finish_unchecked(self) -> None:
        """An optimistic update's writes, in one statement (no transaction needed): raises
        :class:`Contended`, having written nothing, if the user's row changed since it was read."""
        unchecked, self._unchecked = self._unchecked, None
        assert unchecked is not None and self.driver is not None
        await apply_writes(self.driver, unchecked, with_answer=unchecked.answer is not None)
