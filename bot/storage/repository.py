"""The one place that talks to the database.

Every Telegram update is handled in one :class:`Unit`: a single transaction that records
the update id (so a redelivered update is applied once), locks the user's row (so one
user's updates are applied one at a time, even across processes on PostgreSQL) and commits
every answer before the bot replies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from advice.questionnaire import MAX_TEXT_LENGTH, Answer
from bot.storage.models import (
    AdviceReport,
    AnswerRow,
    Base,
    Checkup,
    CheckupStatus,
    ProcessedUpdate,
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
USER_TABLES: tuple[type[Base], ...] = (AnswerRow, AdviceReport, Checkup, UserSettings, User)


def _insert(session: AsyncSession, model: type[Base]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the session's database."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


@dataclass
class Unit:
    """The work of one update, inside one transaction."""

    session: AsyncSession

    # --- users -----------------------------------------------------------------------
    async def user(self, user_id: int, language: str) -> User:
        """The user's row, created on first contact and locked for this transaction."""
        await self.session.execute(
            _insert(self.session, User)
            .values(id=user_id, language=language, created_at=utcnow(), last_seen_at=utcnow())
            .on_conflict_do_nothing(index_elements=["id"])
        )
        user = (
            await self.session.execute(
                select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
            )
        ).scalar_one()
        user.last_seen_at = utcnow()
        return user

    async def existing_user(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    # --- check-ups -------------------------------------------------------------------
    async def active_checkup(self, user_id: int) -> Checkup | None:
        return (
            await self.session.execute(
                select(Checkup)
                .where(Checkup.user_id == user_id, Checkup.status == CheckupStatus.IN_PROGRESS.value)
                .order_by(Checkup.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def checkup(self, checkup_id: int, user_id: int) -> Checkup | None:
        """A check-up of this user (None for another user's id: buttons can be forged)."""
        found = await self.session.get(Checkup, checkup_id)
        return found if found is not None and found.user_id == user_id else None

    async def start_checkup(self, user: User) -> Checkup:
        checkup = Checkup(user_id=user.id, language=user.language, started_at=utcnow())
        self.session.add(checkup)
        await self.session.flush()
        return checkup

    async def set_question_message(self, checkup_id: int, message_id: int, field: str) -> None:
        """Remember the message that asks ``field``, so the answer can edit it."""
        await self.session.execute(
            update(Checkup)
            .where(Checkup.id == checkup_id)
            .values(question_message_id=message_id, question_field=field)
        )

    async def close_checkup(self, checkup: Checkup, status: CheckupStatus) -> None:
        checkup.status = status.value
        checkup.finished_at = utcnow()

    async def answers(self, checkup_id: int) -> dict[str, Answer]:
        """The current answers of a check-up (superseded ones are history)."""
        rows = (
            await self.session.execute(
                select(AnswerRow)
                .where(AnswerRow.checkup_id == checkup_id, AnswerRow.superseded_at.is_(None))
                .order_by(AnswerRow.id)
            )
        ).scalars()
        return {
            row.field: Answer.from_dict({"value": row.value, "status": row.status, "low": row.low, "high": row.high})
            for row in rows
        }

    async def save_answer(self, checkup: Checkup, field: str, answer: Answer) -> None:
        """Store an answer now; an earlier answer to the same question becomes history."""
        value = list(answer.value) if isinstance(answer.value, tuple) else answer.value
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and len(t) > MAX_TEXT_LENGTH for t in texts):
            # The questionnaire bounds typed text; this is the last line, never the check.
            raise ValueError(f"answer to {field} longer than {MAX_TEXT_LENGTH} characters")
        await self.withdraw_answer(checkup, field)
        self.session.add(
            AnswerRow(
                checkup_id=checkup.id,
                user_id=checkup.user_id,
                field=field,
                value=value,
                status=answer.status.value,
                low=answer.low,
                high=answer.high,
                created_at=utcnow(),
            )
        )
        await self.session.flush()

    async def withdraw_answer(self, checkup: Checkup, field: str) -> None:
        """Mark the current answer as superseded (Back), keeping it as history."""
        await self.session.execute(
            update(AnswerRow)
            .where(
                AnswerRow.checkup_id == checkup.id,
                AnswerRow.field == field,
                AnswerRow.superseded_at.is_(None),
            )
            .values(superseded_at=utcnow())
        )

    # --- advice ----------------------------------------------------------------------
    async def save_report(self, report: AdviceReport) -> AdviceReport:
        self.session.add(report)
        await self.session.flush()
        return report

    async def latest_report(self, user_id: int) -> AdviceReport | None:
        return (
            await self.session.execute(
                select(AdviceReport)
                .where(AdviceReport.user_id == user_id)
                .order_by(AdviceReport.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def report(self, report_id: int, user_id: int) -> AdviceReport | None:
        found = await self.session.get(AdviceReport, report_id)
        return found if found is not None and found.user_id == user_id else None

    # --- settings --------------------------------------------------------------------
    async def settings(self, user_id: int) -> UserSettings:
        found = await self.session.get(UserSettings, user_id)
        if found is None:
            found = UserSettings(user_id=user_id)
            self.session.add(found)
            await self.session.flush()
        return found

    # --- the operator ----------------------------------------------------------------
    async def stats(self) -> Stats:
        async def scalar(query: Any) -> Any:
            return (await self.session.execute(query)).scalar()

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
                select(func.count()).select_from(UserSettings).where(UserSettings.checkin_cadence != "off")
            ),
            top_bottleneck=await scalar(top),
        )

    # --- the user's rights: export and delete ----------------------------------------
    async def export(self, user_id: int) -> dict[str, Any]:
        """Everything stored about one user, as JSON-ready data."""
        user = await self.session.get(User, user_id)
        if user is None:
            return {"user": None}
        data: dict[str, Any] = {"user": _row(user)}
        for model, key in ((UserSettings, "settings"), (Checkup, "checkups"), (AnswerRow, "answers"), (AdviceReport, "advice_reports")):
            rows = (
                await self.session.execute(select(model).where(model.user_id == user_id).order_by(*model.__table__.primary_key.columns))  # type: ignore[attr-defined]
            ).scalars()
            data[key] = [_row(r) for r in rows]
        return data

    async def delete_user(self, user_id: int) -> dict[str, int]:
        """Remove every row of this user; returns how many rows went from each table."""
        counts: dict[str, int] = {}
        for model in USER_TABLES:
            column = model.id if model is User else model.user_id  # type: ignore[attr-defined]
            result = await self.session.execute(delete(model).where(column == user_id))
            counts[model.__tablename__] = result.rowcount or 0
        return counts

    async def count_user_rows(self, user_id: int) -> dict[str, int]:
        counts: dict[str, int] = {}
        for model in USER_TABLES:
            column = model.id if model is User else model.user_id  # type: ignore[attr-defined]
            counts[model.__tablename__] = (
                await self.session.execute(select(func.count()).select_from(model).where(column == user_id))
            ).scalar_one()
        return counts


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

    @property
    def engine(self) -> AsyncEngine:
        return self.sessions.kw["bind"]

    @asynccontextmanager
    async def unit(self, update_id: int | None = None) -> AsyncIterator[Unit | None]:
        """A transaction for one update; yields None when ``update_id`` was handled before.

        Commits when the block ends, rolls back if it raises.
        """
        async with self.sessions() as session, session.begin():
            if update_id is not None:
                result = await session.execute(
                    _insert(session, ProcessedUpdate)
                    .values(update_id=update_id, handled_at=utcnow())
                    .on_conflict_do_nothing(index_elements=["update_id"])
                )
                if result.rowcount == 0:
                    yield None
                    return
            yield Unit(session)
