"""What a step sees of the stored rows: plain frozen values, never ORM objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from advice.questionnaire import Answer


class CheckupStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    FINISHED = "finished"
    CANCELLED = "cancelled"


class CheckupKind(StrEnum):
    CHECKUP = "checkup"  # the full questionnaire
    CHECKIN = "checkin"  # the short periodic questions


class RoundKind(StrEnum):
    """What a round sends: a check-in, or the weekly digest of due customers."""

    CHECKIN = "checkin"
    DIGEST = "digest"


class RoundStatus(StrEnum):
    """Where one check-in round stands.

    ``sending`` is written (and committed) before the Bot API is called; a round that stays
    there past the stale limit is marked ``unknown`` and never sent again: Telegram cannot
    tell whether the message arrived, and a check-in is sent at most once.
    """

    SENDING = "sending"
    SENT = "sent"
    STARTED = "started"
    ANSWERED = "answered"
    SNOOZED = "snoozed"
    SKIPPED = "skipped"
    IGNORED = "ignored"
    PAUSED = "paused"
    BLOCKED = "blocked"
    FAILED = "failed"
    UNKNOWN = "unknown"


_NO_ANSWERS: Mapping[str, Answer] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class UserView:
    """The seller's row. ``version`` is what the update read (None: not stored yet); the
    update's writes are applied only if it is still the same."""

    id: int
    language: str = "en"
    language_chosen: bool = False
    time_zone: str = "UTC"
    version: int | None = None


@dataclass(frozen=True, slots=True)
class CheckupView:
    """A check-up (or check-in, by ``kind``) with its current answers, in asking order."""

    id: int
    user_id: int
    kind: str
    status: str
    language: str
    started_at: datetime
    answers: Mapping[str, Answer] = field(default_factory=lambda: _NO_ANSWERS)
    question_message_id: int | None = None
    question_field: str | None = None

    def with_answers(self, answers: Mapping[str, Answer]) -> CheckupView:
        return replace(self, answers=MappingProxyType(dict(answers)))


@dataclass(frozen=True, slots=True)
class ReportView:
    """An advice report: the profile it assessed and the result as stored."""

    id: int
    user_id: int
    checkup_id: int | None
    created_at: datetime
    language: str
    profile: Mapping[str, Any]
    result: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SettingsView:
    """A seller's settings and check-in schedule (the defaults until first stored)."""

    user_id: int
    checkin_cadence: str = "off"
    checkin_weekday: int | None = None
    checkin_hour: int | None = None
    checkin_paused: bool = False
    checkin_next_due_at: datetime | None = None
    checkin_ignored_in_row: int = 0
    checkin_streak: int = 0
    checkin_cadence_asked: bool = False
    awaiting: str | None = None
    updated_at: datetime | None = None
    digest_on: bool = False
    digest_weekday: int | None = None
    digest_hour: int | None = None
    digest_next_due_at: datetime | None = None
    sale_pending: str | None = None  # a bare /sold's sale waiting for its customer
    sale_flow: int = 0  # the number of that flow, carried by its buttons


@dataclass(frozen=True, slots=True)
class RoundView:
    """One check-in round of the seller."""

    id: int
    user_id: int
    status: str
    due_at: datetime
    checkup_id: int | None = None


@dataclass(frozen=True, slots=True)
class WeekTotals:
    """One week of the ledger summed up by the database."""

    orders: int
    revenue: Decimal  # net of refunds
    buyers: int  # named customers with an order in the week
    new: int  # of those, the ones whose first order ever is in the week


@dataclass(frozen=True, slots=True)
class SalesTotals:
    """What /sales shows, summed up by the database (see :class:`~bot.core.snapshot.SalesWeeks`)."""

    weeks: tuple[WeekTotals, ...]  # one per week asked for, oldest first
    sales: int  # sales and refunds since the repeat window began
    repeat_customers: int  # named customers with orders on 2+ days (UTC) in the window
    named_customers: int  # named customers with an order in the window


@dataclass(frozen=True, slots=True)
class SaleView:
    """One sale of the seller's ledger (a refund: a negative amount)."""

    id: int
    user_id: int
    at: datetime
    amount: Decimal
    currency: str
    quantity: int | None = None
    items: str | None = None
    customer_id: int | None = None
    channel: str | None = None
    customer: str | None = None  # the customer's nickname


@dataclass(frozen=True, slots=True)
class CustomerName:
    """A customer of the seller's as a button names them: the id and the nickname."""

    id: int
    nickname: str


@dataclass(frozen=True, slots=True)
class CustomerView:
    """A customer of the seller's, with their purchases summed up (refunds subtract)."""

    id: int
    user_id: int
    nickname: str
    created_at: datetime
    not_regular: bool = False
    later_until: datetime | None = None
    followed_up_at: datetime | None = None
    orders: int = 0
    total: Decimal = Decimal(0)
    first_at: datetime | None = None
    last_at: datetime | None = None
    order_days: int = 0  # the days (UTC) they ordered on
    last_items: str | None = None  # what their latest order that said so was of


def aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands back naive UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
