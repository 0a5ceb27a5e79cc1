"""The question messages noted after they were sent, written behind (see
:meth:`QuestionNotes.remember`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    TextClause,
    Update,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.statements import CHECKUPS, dialect_of, prepared


def remember_question(insert: Any) -> Update:
    """One question message noted on its check-up (SQLite; PostgreSQL notes them all in one
    statement). Message ids only grow in a chat: an older note arriving late changes nothing."""
    c = CHECKUPS.c
    newer = c.question_message_id.is_(None) | (c.question_message_id < bindparam("message"))
    return (
        CHECKUPS.update()
        .where(c.id == bindparam("of_checkup"), newer)
        .values(question_message_id=bindparam("message"), question_field=bindparam("asked"))
    )


def _noted_questions() -> Any:
    """PostgreSQL: the question messages to note, as a table (one array parameter per column)."""
    return (
        func.unnest(
            bindparam("noted_checkups", type_=ARRAY(Integer)),
            bindparam("noted_messages", type_=ARRAY(BigInteger)),
            bindparam("noted_fields", type_=ARRAY(String)),
        )
        .table_valued("checkup_id", "message_id", "field")
        .render_derived(name="noted")
    )


def note_questions(of_user: Any, skipping: Any = None) -> Update:
    """PostgreSQL: the noted question messages stored on the check-ups of ``of_user`` (the
    row locked by the statement this becomes part of), unless a newer one is there
    (message ids only grow in a chat); but not on the check-up ``skipping`` (which the
    statement changes otherwise: see :func:`noted_on`)."""
    c, noted = CHECKUPS.c, _noted_questions()
    newer = c.question_message_id.is_(None) | (c.question_message_id < noted.c.message_id)
    update = CHECKUPS.update().where(c.id == noted.c.checkup_id, c.user_id == of_user, newer)
    if skipping is not None:
        update = update.where(c.id != skipping)
    return update.values(question_message_id=noted.c.message_id, question_field=noted.c.field)


def noted_on() -> dict[str, Any]:
    """PostgreSQL: the values of an UPDATE of one check-up that store its noted question
    message too, unless a newer one is there."""
    c, noted = CHECKUPS.c, _noted_questions()
    newer = c.question_message_id.is_(None) | (c.question_message_id < noted.c.message_id)
    note = select(noted.c.message_id, noted.c.field).where(noted.c.checkup_id == c.id, newer)
    message = note.with_only_columns(noted.c.message_id).scalar_subquery()
    field = note.with_only_columns(noted.c.field).scalar_subquery()
    return {
        "question_message_id": func.coalesce(message, c.question_message_id),
        "question_field": func.coalesce(field, c.question_field),
    }


def _write_notes(insert: Any) -> TextClause:
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


def noted_parameters(noted: Mapping[int, tuple[int, str]]) -> dict[str, list[Any]]:
    """The values of the statements that note question messages: ``noted`` is check-up id
    -> (message id, field), one array each."""
    return {
        "noted_checkups": list(noted),
        "noted_messages": [message_id for message_id, _ in noted.values()],
        "noted_fields": [field for _, field in noted.values()],
    }


class QuestionNotes:
    """Question messages sent and not yet written: user id -> check-up id -> (message id,
    field). See :meth:`remember`."""

    def __init__(self) -> None:
        self._noted: dict[int, dict[int, tuple[int, str]]] = {}

    def remember(self, user_id: int, checkup_id: int, message_id: int, field: str) -> None:
        """Note which message asks ``field`` (after it was sent), to be written behind.

        It is a hint for editing the question once it is answered, not an answer: it is
        written in the user's next update (in its first statement, no round trip of its
        own) or by :meth:`write` (every second, in one statement for all),
        whichever comes first. A crash loses the notes of the last second; a typed answer
        then leaves its question as it was, and the next question is sent as usual."""
        self._noted.setdefault(user_id, {})[checkup_id] = (message_id, field)

    def peek(self, user_id: int) -> dict[int, tuple[int, str]]:
        """The user's notes, left noted (an update reads them, then takes them to write)."""
        return dict(self._noted.get(user_id) or {})

    def take(self, user_id: int) -> dict[int, tuple[int, str]]:
        return self._noted.pop(user_id, None) or {}

    def give_back(self, user_id: int, notes: dict[int, tuple[int, str]]) -> None:
        """Notes taken by a transaction that did not commit them, kept for the next one
        (a newer note taken meanwhile wins: message ids only grow in a chat)."""
        if not notes:
            return
        kept = self._noted.setdefault(user_id, {})
        for checkup_id, note in notes.items():
            if checkup_id not in kept or kept[checkup_id][0] < note[0]:
                kept[checkup_id] = note

    async def write(self, sessions: async_sessionmaker[AsyncSession]) -> int:
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
        async with sessions() as session, session.begin():
            if dialect_of(session) == "postgresql":
                parameters = noted_parameters({c: (m, f) for _, c, m, f in snapshot})
                busy = set(
                    (
                        await session.execute(
                            prepared("postgresql", "write_notes", _write_notes), parameters
                        )
                    ).scalars()
                )
            else:
                remember = prepared("sqlite", "remember_question", remember_question)
                await session.execute(
                    remember,
                    [{"of_checkup": c, "message": m, "asked": f} for _, c, m, f in snapshot],
                )
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
