"""The one public entry point of storage: :class:`Store` hands out one :class:`Unit` per
update (or per task), whose writes are applied whole or not at all.

Every Telegram update is handled in one unit, with the update id (so a redelivered update
is applied once), one user's updates one after another (even across processes on
PostgreSQL), and committed before the bot replies: a transaction that locks the user's row,
or on PostgreSQL, for a user seen before, one final statement that applies the writes only
if no other update of the user came first (see :meth:`Store.update_unit`).

A unit's jobs each live in a module of their own: the unit of work itself
(:mod:`bot.storage.unit`), check-ups and answers (:mod:`~bot.storage.checkups`), reports
(:mod:`~bot.storage.reports`), settings (:mod:`~bot.storage.settings`), the check-in queue
and send slots (:mod:`~bot.storage.checkin_queue`), and privacy (:mod:`~bot.storage.privacy`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.util import greenlet_spawn

from bot.storage.checkin_queue import CheckinQueue
from bot.storage.driver import CONNECTION_BROKEN, checkout, driver_errors, run_on_driver
from bot.storage.models import User, utcnow
from bot.storage.notes import QuestionNotes, noted_parameters, remember_question
from bot.storage.privacy import Privacy, forget_updates
from bot.storage.protocol import Unchecked, begin_update, read_for_update
from bot.storage.reports import Reports
from bot.storage.settings import Settings
from bot.storage.statements import USER_KEYS, dialect_of, prepared, record_update, unloaded


class Unit(Reports, Settings, CheckinQueue, Privacy):
    """The work of one update, applied whole or not at all (see :meth:`Store.update_unit`)."""


class Store:
    """Hands out one :class:`Unit` (one transaction) per update."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.notes = QuestionNotes()

    @property
    def engine(self) -> AsyncEngine:
        return self.sessions.kw["bind"]

    def remember_question_message(
        self, user_id: int, checkup_id: int, message_id: int, field: str
    ) -> None:
        """See :meth:`QuestionNotes.remember <bot.storage.notes.QuestionNotes.remember>`."""
        self.notes.remember(user_id, checkup_id, message_id, field)

    async def write_noted_questions(self) -> int:
        """See :meth:`QuestionNotes.write <bot.storage.notes.QuestionNotes.write>`."""
        return await self.notes.write(self.sessions)

    async def forget_processed_updates(self, older_than: timedelta, batch: int = 10_000) -> int:
        """Delete update ids handled more than ``older_than`` ago, ``batch`` rows per
        transaction; returns how many went. Telegram never redelivers them that late."""
        cutoff = utcnow() - older_than
        removed = 0
        while True:
            async with self.sessions() as session, session.begin():
                forget = prepared(dialect_of(session), "forget_updates", forget_updates)
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
        :func:`apply_unchanged`): two round trips for an answer instead of four. A write
        that cannot wait (anything but one new answer) first opens the transaction the same
        way. When the row changed, nothing is written and :class:`Contended` is raised: the
        caller handles the update again without ``optimistic``.

        Otherwise, on PostgreSQL, recording the update and locking the user's row take one
        statement, which also reads the user's check-ups in progress with their answers (see
        :func:`begin_update`). Either way the transaction is the driver's own: the unit's
        Core statements go straight to asyncpg, and the session (for the ORM's rarer work)
        runs in autocommit mode on the same connection, so its statements join that
        transaction. Through the session, each statement costs 80-95 µs more CPU, and a
        transaction 55-90 µs more (benchmarks/statement_bench.py).
        """
        noted = self.notes.take(user_id)
        try:
            if self.engine.dialect.name == "postgresql":
                async with self._postgresql_update_unit(
                    update_id, user_id, language, noted, optimistic
                ) as handled:
                    if handled is None:
                        self.notes.give_back(user_id, noted)
                    yield handled
                return
            async with self.sessions() as session, session.begin():
                unit = Unit(session)
                if not await _record(session, update_id):
                    self.notes.give_back(user_id, noted)
                    yield None
                    return
                user = await unit.user(user_id, language)
                remember = prepared("sqlite", "remember_question", remember_question)
                for checkup_id, (message_id, field) in noted.items():
                    await unit._run(
                        remember, {"of_checkup": checkup_id, "message": message_id, "asked": field}
                    )
                yield unit, user
        except BaseException:
            self.notes.give_back(user_id, noted)  # rolled back: they are written next time
            raise

    @asynccontextmanager
    async def _postgresql_update_unit(
        self,
        update_id: int,
        user_id: int,
        language: str,
        noted: dict[int, tuple[int, str]],
        optimistic: bool,
    ) -> AsyncIterator[tuple[Unit, User] | None]:
        parameters: dict[str, Any] = {
            "update": update_id,
            "user": user_id,
            "lang": language,
            "now": utcnow(),
        }
        if noted:
            first = prepared(
                "postgresql", "begin_update_noting", partial(begin_update, noting=True)
            )
            parameters.update(noted_parameters(noted))
        else:
            first = prepared("postgresql", "begin_update", begin_update)
        with driver_errors():
            # The pool's connection itself: an engine Connection around it costs more than a
            # statement, and only the ORM session needs one (Unit.orm makes it).
            pooled = await checkout(self.engine)
            driver: asyncpg.Connection = pooled.driver_connection
            unit = Unit(None, driver, pooled, self.engine)
            try:
                if optimistic:
                    now = parameters["now"]
                    read = prepared("postgresql", "read_for_update", read_for_update)
                    rows = await run_on_driver(driver, read, {"update": update_id, "user": user_id})
                    if rows and rows[0]["handled"]:
                        yield None
                        return
                    if rows:  # a user seen before (a new one is handled below)
                        user = unloaded(
                            User, {key: rows[0][key] for key in USER_KEYS} | {"last_seen_at": now}
                        )
                        unit._keep_in_progress(user_id, rows, noted)
                        unit._unchecked = Unchecked(update_id, user_id, rows[0]["seen"], now, noted)
                        try:
                            yield unit, user
                            if unit._unchecked is not None:
                                await unit._finish_unchecked()
                            else:
                                await unit.flush()
                                await unit._transaction.commit()
                        except BaseException:
                            if unit._transaction is not None and driver.is_in_transaction():
                                with contextlib.suppress(
                                    asyncpg.PostgresError, asyncpg.InterfaceError, OSError
                                ):
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
                        self.notes.give_back(user_id, noted)
                        user = await unit.user(user_id, language)
                    else:
                        user = unloaded(User, {key: rows[0][key] for key in USER_KEYS})
                        unit._keep_in_progress(user_id, rows, noted)
                    yield unit, user
                    await unit.flush()  # the ORM's changes, inside the transaction, before COMMIT
            except CONNECTION_BROKEN:
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


async def _record(session: AsyncSession, update_id: int) -> bool:
    """Record that ``update_id`` is handled in this transaction; False if it was before."""
    record = prepared(dialect_of(session), "record_update", record_update)
    result = await (await session.connection()).execute(
        record, {"update": update_id, "now": utcnow()}
    )
    return result.rowcount != 0
