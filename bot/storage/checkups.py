"""Check-ups and their answers, read and written in an update's unit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import Executable

from advice.questionnaire import MAX_TEXT_LENGTH, Answer
from bot.storage.models import AnswerRow, Checkup, CheckupKind, CheckupStatus, User, utcnow
from bot.storage.statements import ANSWERS, CHECKUP_KEYS, CHECKUPS, prepared, unloaded
from bot.storage.unit import UnitCore

_ANSWER_COLUMNS = tuple(
    getattr(ANSWERS.c, name).label(f"a_{name}")
    for name in ("field", "value", "status", "low", "high")
)


def _with_answers(which: Any) -> Executable:
    """The check-up chosen by ``which`` and its current answers, one row per answer (one
    row with no answer for a check-up without any): the check-up and its answers in one
    round trip, as every answer needs both."""
    c, a = CHECKUPS.c, ANSWERS.c
    current = (a.checkup_id == c.id) & a.superseded_at.is_(None)
    return (
        select(*c, *_ANSWER_COLUMNS)
        .select_from(CHECKUPS.outerjoin(ANSWERS, current))
        .where(which)
        .order_by(a.id)
    )


def _active_checkup(insert: Any) -> Executable:
    c = CHECKUPS.c
    latest = (
        select(c.id)
        .where(
            c.user_id == bindparam("user"),
            c.status == CheckupStatus.IN_PROGRESS.value,
            c.kind == bindparam("wanted_kind"),
        )
        .order_by(c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return _with_answers(c.id == latest)


def _checkup_by_id(insert: Any) -> Executable:
    c = CHECKUPS.c
    return _with_answers((c.id == bindparam("of_checkup")) & (c.user_id == bindparam("user")))


def _close_checkup(insert: Any) -> Executable:
    c = CHECKUPS.c
    return (
        CHECKUPS.update()
        .where(c.id == bindparam("of_checkup"))
        .values(status=bindparam("to"), finished_at=bindparam("now"))
    )


def _insert_checkup(insert: Any) -> Executable:
    return CHECKUPS.insert().returning(*CHECKUPS.c)


def _count_finished(insert: Any) -> Executable:
    c = CHECKUPS.c
    finished = (
        (c.user_id == bindparam("user"))
        & (c.kind == bindparam("wanted_kind"))
        & (c.status == CheckupStatus.FINISHED.value)
    )
    return select(func.count().label("finished")).select_from(CHECKUPS).where(finished)


def _current_answers(insert: Any) -> Executable:
    c = ANSWERS.c
    return (
        select(c.field, c.value, c.status, c.low, c.high)
        .where(c.checkup_id == bindparam("of_checkup"), c.superseded_at.is_(None))
        .order_by(c.id)
    )


def _insert_answer(insert: Any) -> Executable:
    return ANSWERS.insert()


def _withdraw_answer(insert: Any) -> Executable:
    c = ANSWERS.c
    return (
        ANSWERS.update()
        .where(
            c.checkup_id == bindparam("of_checkup"),
            c.field == bindparam("of_field"),
            c.superseded_at.is_(None),
        )
        .values(superseded_at=bindparam("now"))
    )


class Checkups(UnitCore):
    """Check-ups and their answers."""

    async def active_checkup(
        self, user_id: int, kind: CheckupKind = CheckupKind.CHECKUP
    ) -> Checkup | None:
        """The check-up (or check-in, by ``kind``) in progress."""
        if self._in_progress is not None and user_id == self._user_id:
            of_kind = [c for c in self._in_progress.values() if c.kind == kind.value]
            return max(of_kind, key=lambda c: c.id) if of_kind else None
        query = prepared(self.dialect, "active_checkup", _active_checkup)
        return self._checkup_from(
            await self._run(query, {"user": user_id, "wanted_kind": kind.value}, reads=True)
        )

    async def checkup(self, checkup_id: int, user_id: int) -> Checkup | None:
        """A check-up of this user (None for another user's id: buttons can be forged)."""
        if (
            self._in_progress is not None
            and user_id == self._user_id
            and checkup_id in self._in_progress
        ):
            return self._in_progress[checkup_id]
        query = prepared(self.dialect, "checkup_by_id", _checkup_by_id)
        return self._checkup_from(
            await self._run(query, {"of_checkup": checkup_id, "user": user_id}, reads=True)
        )

    def _checkup_from(self, rows: list[Mapping[str, Any]]) -> Checkup | None:
        """The check-up of :func:`_with_answers` rows; its answers are kept for
        :meth:`answers` until this unit writes one."""
        if not rows:
            return None
        first = rows[0]
        checkup = unloaded(Checkup, {key: first[key] for key in CHECKUP_KEYS})
        self._answers[checkup.id] = {
            r["a_field"]: Answer.stored(r["a_value"], r["a_status"], r["a_low"], r["a_high"])
            for r in rows
            if r["a_field"] is not None
        }
        return checkup

    async def start_checkup(self, user: User, kind: CheckupKind = CheckupKind.CHECKUP) -> Checkup:
        self._in_progress = None
        values = {
            "user_id": user.id,
            "language": user.language,
            "started_at": utcnow(),
            "kind": kind.value,
        }
        (row,) = await self._run(prepared(self.dialect, "insert_checkup", _insert_checkup), values)
        checkup = unloaded(Checkup, row)
        self._answers[checkup.id] = {}  # a new check-up has no answers: nothing to read back
        return checkup

    async def close_checkup(self, checkup: Checkup, status: CheckupStatus) -> None:
        self._in_progress = None
        now = utcnow()
        close = prepared(self.dialect, "close_checkup", _close_checkup)
        await self._run(close, {"of_checkup": checkup.id, "to": status.value, "now": now})
        set_committed_value(checkup, "status", status.value)
        set_committed_value(checkup, "finished_at", now)

    async def answers(self, checkup_id: int) -> dict[str, Answer]:
        """The current answers of a check-up (superseded ones are history)."""
        known = self._answers.get(checkup_id)
        if known is not None:
            return dict(known)
        query = prepared(self.dialect, "current_answers", _current_answers)
        return {
            r["field"]: Answer.stored(r["value"], r["status"], r["low"], r["high"])
            for r in await self._run(query, {"of_checkup": checkup_id}, reads=True)
        }

    async def save_answer(
        self, checkup: Checkup, field: str, answer: Answer, *, replaces: bool = True
    ) -> None:
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
        if (
            unchecked is not None
            and unchecked.answer is None
            and not replaces
            and known is not None
        ):
            # Written with the update's other writes, at the end; read back from here.
            unchecked.answer = row
            known[field] = answer
            return
        self._answers.pop(checkup.id, None)
        if replaces:
            await self.withdraw_answer(checkup, field)
        await self._run(prepared(self.dialect, "insert_answer", _insert_answer), row)

    async def withdraw_answer(self, checkup: Checkup, field: str) -> None:
        """Mark the current answer as superseded (Back), keeping it as history."""
        self._answers.pop(checkup.id, None)
        withdraw = prepared(self.dialect, "withdraw_answer", _withdraw_answer)
        await self._run(withdraw, {"of_checkup": checkup.id, "of_field": field, "now": utcnow()})

    async def count_finished(self, user_id: int, kind: CheckupKind) -> int:
        query = prepared(self.dialect, "count_finished", _count_finished)
        (row,) = await self._run(query, {"user": user_id, "wanted_kind": kind.value}, reads=True)
        return row["finished"]

    async def checkin_answers_since(
        self, user_id: int, since: datetime, checkup_id: int
    ) -> list[dict[str, Answer]]:
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
            select(
                AnswerRow.checkup_id,
                AnswerRow.field,
                AnswerRow.value,
                AnswerRow.status,
                AnswerRow.low,
                AnswerRow.high,
            )
            .join(finished, finished.c.id == AnswerRow.checkup_id)
            .where(AnswerRow.superseded_at.is_(None))
            .order_by(finished.c.finished_at.desc(), AnswerRow.checkup_id.desc(), AnswerRow.id)
        )
        found: dict[int, dict[str, Answer]] = {}
        for row in rows:
            found.setdefault(row.checkup_id, {})[row.field] = Answer.stored(
                row.value, row.status, row.low, row.high
            )
        return list(found.values())
