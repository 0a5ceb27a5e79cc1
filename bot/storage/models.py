"""Typed SQLAlchemy 2 models. The schema itself is created only by Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.core.values import CheckupKind, CheckupStatus, RoundKind, RoundStatus

# Stable constraint names, so migrations can refer to them on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class User(Base):
    """A Telegram user who talked to the bot."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(8), default="en")
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped by every update applied: an update's writes go in only if it is still the
    # version the update read (see bot.storage.updates).
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    checkups: Mapped[list[Checkup]] = relationship(back_populates="user", passive_deletes=True)


class Checkup(Base):
    """One run of the questionnaire; its answers say where it stands."""

    __tablename__ = "checkups"
    __table_args__ = (Index("ix_checkups_user_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=CheckupStatus.IN_PROGRESS.value)
    kind: Mapped[str] = mapped_column(
        String(16), default=CheckupKind.CHECKUP.value, server_default=CheckupKind.CHECKUP.value
    )
    language: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The chat message that shows a question, edited as the seller answers, and which
    # question it shows: it is stored after the message is sent, so after a crash in
    # between it can point at an earlier question, and must then be left alone.
    question_message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    question_field: Mapped[str | None] = mapped_column(String(32), default=None)

    user: Mapped[User] = relationship(back_populates="checkups")


class AnswerRow(Base):
    """One answer, written the moment it is given. A changed answer supersedes the old
    row instead of overwriting it, so the history of changes is kept."""

    __tablename__ = "answers"
    __table_args__ = (
        # At most one current answer per question of a check-up, on every database.
        Index(
            "uq_answers_current",
            "checkup_id",
            "field",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkup_id: Mapped[int] = mapped_column(
        ForeignKey("checkups.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(32))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    low: Mapped[float | None] = mapped_column(Float, default=None)
    high: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)


class AdviceReport(Base):
    """The advice given at the end of a check-up: the structured result and the text sent."""

    __tablename__ = "advice_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    checkup_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkups.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    language: Mapped[str] = mapped_column(String(8))
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    rule_ids: Mapped[list[str]] = mapped_column(JSON)
    bottleneck: Mapped[str] = mapped_column(String(16))
    monthly_sales: Mapped[float] = mapped_column(Float)
    rendered_html: Mapped[str] = mapped_column(Text)


class UserSettings(Base):
    """Per-user preferences that are not part of a check-up, and the check-in schedule.

    The schedule is the row the dispatcher claims: ``checkin_next_due_at`` (indexed) is
    when the next check-in falls due, in UTC; None while check-ins are off or paused. The
    local rule (cadence, weekday, hour) with ``User.time_zone`` gives the next one. The
    weekly digest of due customers is scheduled the same way: ``digest_next_due_at``, None
    while it is off.
    """

    __tablename__ = "settings"
    __table_args__ = (
        Index("ix_settings_checkin_next_due_at", "checkin_next_due_at"),
        Index("ix_settings_digest_next_due_at", "digest_next_due_at"),
    )

    user_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    checkin_cadence: Mapped[str] = mapped_column(String(16), default="off")
    checkin_weekday: Mapped[int | None] = mapped_column(Integer, default=None)  # 0 = Monday
    checkin_hour: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    checkin_paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    checkin_next_due_at: Mapped[datetime | None] = mapped_column(default=None)
    # Check-ins sent and neither answered nor declined, in a row: two make the bot quieter.
    checkin_ignored_in_row: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    checkin_streak: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    checkin_cadence_asked: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # What a typed message means outside a check-up ("time_zone" after the zone prompt).
    awaiting: Mapped[str | None] = mapped_column(String(16), default=None)
    # The weekly digest of due customers: on or off, its local weekday and hour.
    digest_on: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    digest_weekday: Mapped[int | None] = mapped_column(Integer, default=None)  # 0 = Monday
    digest_hour: Mapped[int | None] = mapped_column(Integer, default=None)
    digest_next_due_at: Mapped[datetime | None] = mapped_column(default=None)
    # A bare /sold given an amount without a customer: the sale as a /sold line (amount,
    # quantity, items, channel) until a customer button is pressed, and the number of that
    # flow, which its buttons carry (a button of an earlier flow is out of date).
    sale_pending: Mapped[str | None] = mapped_column(String(200), default=None)
    sale_flow: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class CheckinRound(Base):
    """One check-in (or, by ``kind``, one digest of due customers) falling due for one
    user: at most one message per (user, kind, due time)."""

    __tablename__ = "checkin_rounds"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "due_at", name="uq_checkin_rounds_user_kind_due"),
        Index("ix_checkin_rounds_status_claimed", "status", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime] = mapped_column()
    kind: Mapped[str] = mapped_column(
        String(16), default=RoundKind.CHECKIN.value, server_default=RoundKind.CHECKIN.value
    )
    status: Mapped[str] = mapped_column(String(16), default=RoundStatus.SENDING.value)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    checkup_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkups.id", ondelete="SET NULL"), default=None
    )


class Customer(Base):
    """Someone the seller sells to, by the nickname the seller gave them (another person's
    data: only as typed, bounded, in the seller's export and gone with /delete)."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("user_id", "nickname_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    nickname: Mapped[str] = mapped_column(String(40))
    nickname_key: Mapped[str] = mapped_column(String(40))  # casefolded: one customer per name
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the seller said of a follow-up: not someone who comes back; reminded again after
    # this; last followed up.
    not_regular: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    later_until: Mapped[datetime | None] = mapped_column(default=None)
    followed_up_at: Mapped[datetime | None] = mapped_column(default=None)


class Sale(Base):
    """One sale in the seller's ledger (a refund: a negative amount). Amounts in hundredths
    of the currency, exact on every database."""

    __tablename__ = "sales"
    __table_args__ = (
        # A seller's sales in time order, with what /sales sums up: read from the index alone.
        Index(
            "ix_sales_user_id_at_customer_id_amount_minor",
            "user_id",
            "at",
            "customer_id",
            "amount_minor",
        ),
        # A customer's sales in time order (the customer book's latest order; the cascade).
        Index("ix_sales_customer_id_at", "customer_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column()
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[int | None] = mapped_column(Integer, default=None)
    items: Mapped[str | None] = mapped_column(String(200), default=None)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), default=None
    )
    channel: Mapped[str | None] = mapped_column(String(32), default=None)


class SendSlot(Base):
    """Telegram's overall message rate, shared by every bot process: each send reserves
    the next free moment by advancing ``next_free`` (seconds since the epoch) atomically.
    ``hold_until`` is when the last 429 Telegram answered any process ends: no slot starts
    before it. Holds no personal data."""

    __tablename__ = "send_slots"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_free: Mapped[float] = mapped_column(Float, default=0.0)
    hold_until: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class ProcessedUpdate(Base):
    """Telegram update ids already handled, so a redelivered update is applied once.
    Holds no personal data: only the id and when it was handled."""

    __tablename__ = "processed_updates"
    # Pruning finds old ids by time. Rows arrive in time order, so on PostgreSQL a BRIN
    # index (a few pages, almost free to keep up per update) serves it.
    __table_args__ = (
        Index("ix_processed_updates_handled_at", "handled_at", postgresql_using="brin"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    handled_at: Mapped[datetime] = mapped_column(default=utcnow)
