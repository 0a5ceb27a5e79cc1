"""The check-in queue: due check-ins and weekly reminders of due customers claimed as
rounds, what became of their sends, and the send slots every process shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Row, func, select, update

from advice.schedule import Rule, after_claim, hour_or_default, next_due
from bot.storage.models import CheckinRound, RoundKind, RoundStatus, SendSlot, User, UserSettings
from bot.storage.statements import dialect_insert
from bot.storage.unit import UnitCore


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
class DigestClaim:
    """A weekly reminder of due customers claimed for sending: its round and the seller."""

    round_id: int
    user_id: int
    language: str
    time_zone: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class SendOutcome:
    round_id: int
    user_id: int
    status: RoundStatus
    message_id: int | None = None


class CheckinQueue(UnitCore):
    """Check-in rounds and the send slots."""

    # --- the dispatcher ----------------------------------------------------------------
    async def claim_due_checkins(self, now: datetime, limit: int) -> list[Claim]:
        """Claim up to ``limit`` due check-ins: one new round each, marked ``sending``, and
        the schedule moved on to the next due time, in this one transaction.

        Rows another process holds are skipped (``FOR UPDATE SKIP LOCKED`` on PostgreSQL;
        SQLite serialises writers), and a round is unique per (user, kind, due time), so each
        due check-in becomes exactly one round whichever process claims it.
        """
        due = await self._lock_due(
            UserSettings.checkin_next_due_at,
            (UserSettings.checkin_cadence != "off", UserSettings.checkin_paused.is_(False)),
            (
                UserSettings.checkin_cadence,
                UserSettings.checkin_weekday,
                UserSettings.checkin_hour,
                UserSettings.checkin_ignored_in_row,
                UserSettings.checkin_streak,
                UserSettings.checkin_cadence_asked,
            ),
            now,
            limit,
        )
        if not due:
            return []
        user_ids = [row.user_id for row in due]
        # A check-in round still merely "sent" when the next one falls due was ignored.
        ignored = set(
            (
                await (await self.orm()).execute(
                    update(CheckinRound)
                    .where(
                        CheckinRound.user_id.in_(user_ids),
                        CheckinRound.kind == RoundKind.CHECKIN.value,
                        CheckinRound.status == RoundStatus.SENT.value,
                    )
                    .values(status=RoundStatus.IGNORED.value)
                    .returning(CheckinRound.user_id)
                )
            ).scalars()
        )
        inserted = await self._add_rounds(RoundKind.CHECKIN, due, now)
        claims: list[Claim] = []
        schedule_updates: list[dict[str, Any]] = []
        for row in due:
            due_at = aware(row.due_at)
            rule = Rule(
                row.checkin_cadence,
                row.checkin_weekday,
                hour_or_default(row.checkin_hour),
                row.time_zone,
            )
            after = after_claim(
                rule,
                due_at,
                now,
                ignored_in_row=row.checkin_ignored_in_row,
                streak=row.checkin_streak,
                cadence_asked=row.checkin_cadence_asked,
                last_ignored=row.user_id in ignored,
            )
            schedule_updates.append(
                {
                    "user_id": row.user_id,
                    "checkin_next_due_at": after.next_due,
                    "checkin_ignored_in_row": after.ignored_in_row,
                    "checkin_streak": after.streak,
                    "checkin_cadence_asked": after.cadence_asked,
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
                        after.ask_cadence,
                    )
                )
        await (await self.orm()).execute(update(UserSettings), schedule_updates)
        await self._changed_users(user_ids)
        return claims

    async def claim_due_digests(self, now: datetime, limit: int) -> list[DigestClaim]:
        """Claim up to ``limit`` due weekly reminders of due customers, as check-ins are
        claimed (:meth:`claim_due_checkins`): one round each, kind ``digest``, ``sending``,
        and the next due time a week on, in this one transaction."""
        due = await self._lock_due(
            UserSettings.digest_next_due_at,
            (UserSettings.digest_on.is_(True),),
            (UserSettings.digest_weekday, UserSettings.digest_hour),
            now,
            limit,
        )
        if not due:
            return []
        inserted = await self._add_rounds(RoundKind.DIGEST, due, now)
        schedule_updates = [
            {
                "user_id": row.user_id,
                "digest_next_due_at": next_due(
                    Rule("weekly", row.digest_weekday, row.digest_hour or 0, row.time_zone),
                    max(aware(row.due_at), now),
                ),
            }
            for row in due
        ]
        await (await self.orm()).execute(update(UserSettings), schedule_updates)
        await self._changed_users([row.user_id for row in due])
        return [
            DigestClaim(
                inserted[row.user_id], row.user_id, row.language, row.time_zone, aware(row.due_at)
            )
            for row in due
            if row.user_id in inserted
        ]

    async def _lock_due(
        self,
        due_at: Any,
        conditions: tuple[Any, ...],
        columns: tuple[Any, ...],
        now: datetime,
        limit: int,
    ) -> Sequence[Row[Any]]:
        """The settings rows due by ``due_at`` (a column of the schedule) and ``conditions``,
        earliest first, locked with their sellers' rows; rows another process holds are
        skipped (``FOR UPDATE SKIP LOCKED``; SQLite serialises writers)."""
        return (
            await (await self.orm()).execute(
                select(
                    UserSettings.user_id,
                    due_at.label("due_at"),
                    User.language,
                    User.time_zone,
                    *columns,
                )
                .join(User, User.id == UserSettings.user_id)
                .where(due_at <= now, *conditions)
                .order_by(due_at)
                .limit(limit)
                # The user's row too: a seller whose update is being handled right now is
                # skipped this pass rather than waited for (no lock-order deadlock).
                .with_for_update(skip_locked=True, of=[UserSettings, User])
            )
        ).all()

    async def _add_rounds(
        self, kind: RoundKind, due: Sequence[Row[Any]], now: datetime
    ) -> dict[int, int]:
        """One round of ``kind`` per due row, ``sending``; the ids of those inserted, by
        user (a round that exists for that user, kind and due time is not added again)."""
        rounds = [
            {
                "user_id": row.user_id,
                "kind": kind.value,
                "due_at": row.due_at,
                "status": RoundStatus.SENDING.value,
                "claimed_at": now,
            }
            for row in due
        ]
        return dict(
            (
                await (await self.orm()).execute(
                    dialect_insert(self.dialect)(CheckinRound)
                    .on_conflict_do_nothing(index_elements=["user_id", "kind", "due_at"])
                    .returning(CheckinRound.user_id, CheckinRound.id),
                    rounds,
                )
            ).all()
        )

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
        """No more check-ins, nor reminders of due customers, for these users (they blocked
        the bot); their data stays, and only the seller can switch them on again (/checkin,
        /customers)."""
        await (await self.orm()).execute(
            update(UserSettings)
            .where(UserSettings.user_id.in_(user_ids))
            .values(
                checkin_cadence="off",
                checkin_next_due_at=None,
                digest_on=False,
                digest_next_due_at=None,
                updated_at=now,
            )
        )
        await self._changed_users(user_ids)

    async def _changed_users(self, user_ids: list[int]) -> None:
        """The sellers' rows bumped: an update that read them before this applies nothing
        and reads again (its settings and rounds changed)."""
        await (await self.orm()).execute(
            update(User).where(User.id.in_(user_ids)).values(version=User.version + 1)
        )

    async def give_up_stale_sends(self, now: datetime, older_than: timedelta) -> int:
        """Rounds left ``sending`` by a process that died: Telegram cannot say whether the
        message arrived, so they are marked unknown and never sent again (at most once)."""
        given_up = (
            update(CheckinRound)
            .where(
                CheckinRound.status == RoundStatus.SENDING.value,
                CheckinRound.claimed_at < now - older_than,
            )
            .values(status=RoundStatus.UNKNOWN.value)
        )
        # AsyncSession.execute is typed as returning a Result; an UPDATE's is a CursorResult.
        result = cast(CursorResult[Any], await (await self.orm()).execute(given_up))
        return result.rowcount or 0

    async def reserve_send_slots(self, name: str, count: int, step: float, now: float) -> float:
        """Reserve ``count`` consecutive send slots ``step`` seconds apart, shared by every
        process, none before a hold (a 429) ends; returns when the first one starts
        (seconds since the epoch)."""
        larger = _larger(self.dialect)
        for _ in range(2):
            end = (
                await (await self.orm()).execute(
                    update(SendSlot)
                    .where(SendSlot.name == name)
                    .values(
                        next_free=larger(SendSlot.next_free, SendSlot.hold_until, now)
                        + step * count
                    )
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
        larger = _larger(self.dialect)
        await self._add_send_slot(name)
        await (await self.orm()).execute(
            update(SendSlot)
            .where(SendSlot.name == name)
            .values(hold_until=larger(SendSlot.hold_until, until))
        )
        if channel is not None and self.dialect == "postgresql":
            await (await self.orm()).execute(select(func.pg_notify(channel, repr(until))))

    async def send_hold(self, name: str) -> float:
        """When the hold recorded last ends (seconds since the epoch; 0 if none was)."""
        held = await (await self.orm()).execute(
            select(SendSlot.hold_until).where(SendSlot.name == name)
        )
        return held.scalar_one_or_none() or 0.0

    async def _add_send_slot(self, name: str) -> None:
        await (await self.orm()).execute(
            dialect_insert(self.dialect)(SendSlot)
            .values(name=name, next_free=0.0, hold_until=0.0)
            .on_conflict_do_nothing(index_elements=["name"])
        )


def aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands back naive UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _larger(dialect: str) -> Any:
    """The SQL function of the largest of its arguments in ``dialect``."""
    return func.greatest if dialect == "postgresql" else func.max
