"""The one public entry point of storage.

An update is read, its pure step run, and its writes applied, the same way on both
databases: :meth:`Store.read` (the snapshot: the seller's row with its version, the
check-ups in progress with their answers), :meth:`Store.load` (whatever else the step asks
for), :meth:`Store.apply` (the writes with the update id, only if the seller's row is still
the version read; on a conflict the caller reads again and runs the step again).

Work that is not an update (the check-in dispatcher, the send slots) takes a
:meth:`Store.unit`: one transaction. The parts live in modules of their own: reading
(:mod:`~bot.storage.snapshots`), applying (:mod:`~bot.storage.updates`,
:mod:`~bot.storage.changes`, :mod:`~bot.storage.protocol`), what a step loads
(:mod:`~bot.storage.loads`), the check-in queue and send slots
(:mod:`~bot.storage.checkin_queue`), and privacy (:mod:`~bot.storage.privacy`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.snapshot import Need, Snapshot
from bot.core.writes import Write
from bot.storage.checkin_queue import CheckinQueue
from bot.storage.loads import load_need
from bot.storage.models import utcnow
from bot.storage.notes import QuestionNotes
from bot.storage.privacy import Privacy, forget_updates
from bot.storage.recent import RecentSnapshots
from bot.storage.snapshots import read_rows, snapshot_of
from bot.storage.statements import dialect_of, prepared
from bot.storage.updates import Applied, apply_update


class Unit(CheckinQueue, Privacy):
    """The work of one transaction that is not an update (see :meth:`Store.unit`)."""


class Store:
    """Reads and applies updates; hands out one :class:`Unit` per other task."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.notes = QuestionNotes()
        self.recent = RecentSnapshots()

    @property
    def engine(self) -> AsyncEngine:
        return self.sessions.kw["bind"]

    async def read(
        self, *, update_id: int, user_id: int, language: str, now: datetime, admin: bool = False
    ) -> Snapshot | None:
        """The snapshot an update's step starts from; None when the update was handled.

        The snapshot this process's last update of the seller left is taken as it is, unread
        (see :mod:`~bot.storage.recent`): :meth:`apply` checks that it is still the stored
        one and that the update was not handled."""
        kept = self.recent.get(user_id)
        if kept is not None:
            return replace(kept, now=now, admin=admin)
        return await self.read_stored(
            update_id=update_id, user_id=user_id, language=language, now=now, admin=admin
        )

    async def read_stored(
        self, *, update_id: int, user_id: int, language: str, now: datetime, admin: bool = False
    ) -> Snapshot | None:
        """:meth:`read` from the database, always."""
        rows, answers = await read_rows(self.engine, update_id=update_id, user_id=user_id)
        if rows[0]["handled"]:
            return None
        return snapshot_of(
            rows,
            answers,
            user_id=user_id,
            language=language,
            now=now,
            admin=admin,
            noted=self.notes.peek(user_id),
        )

    async def load(self, snapshot: Snapshot, need: Need) -> Snapshot:
        """``snapshot`` with ``need`` loaded (a step stopped with NeedsMore(need))."""
        return await load_need(self.engine, snapshot, need)

    async def apply(
        self,
        snapshot: Snapshot,
        *,
        update_id: int,
        writes: Sequence[Write],
        after: Snapshot | None = None,
    ) -> Applied:
        """Apply an update's ``writes`` atomically with its id and the seller's noted
        question messages, if the seller's row is still ``snapshot.user.version``.
        ``after``: the snapshot the writes leave, kept for the seller's next update."""
        user_id = snapshot.user.id
        self.recent.forget(user_id)  # until applied: the outcome of an error is unknown
        applied = await apply_update(
            self.engine, self.notes, snapshot, update_id=update_id, writes=writes
        )
        if applied is Applied.APPLIED and after is not None:
            seen = snapshot.user.version
            self.recent.keep(after, version=0 if seen is None else seen + 1)
        return applied

    def remember_question_message(
        self, user_id: int, checkup_id: int, message_id: int, field: str
    ) -> None:
        """See :meth:`QuestionNotes.remember <bot.storage.notes.QuestionNotes.remember>`."""
        self.notes.remember(user_id, checkup_id, message_id, field)
        self.recent.note_question(user_id, checkup_id, message_id, field)

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
                forgot = await session.execute(forget, {"cutoff": cutoff, "batch": batch})
            # AsyncSession.execute is typed as returning a Result; a DELETE's is a CursorResult.
            result = cast(CursorResult[Any], forgot)
            removed += result.rowcount or 0
            if (result.rowcount or 0) < batch:
                return removed

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """A transaction for work that is not a Telegram update (the dispatcher, the send
        slots, tests): commits when the block ends, rolls back if it raises."""
        async with self.sessions() as session, session.begin():
            yield Unit(session)
