"""The writes a step decides, as plain values: storage applies them in order, atomically,
together with the update id and a check that the seller's row is still the version read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from advice.questionnaire import Answer
from bot.core.snapshot import Snapshot
from bot.replies import Reply


@dataclass(frozen=True, slots=True)
class SetUser:
    """Columns of the seller's row (``language``, ``language_chosen``, ``time_zone``)."""

    user_id: int
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StartCheckup:
    id: int
    user_id: int
    kind: str
    language: str
    started_at: datetime


@dataclass(frozen=True, slots=True)
class CloseCheckup:
    checkup_id: int
    status: str
    at: datetime


@dataclass(frozen=True, slots=True)
class SaveAnswer:
    """An answer stored now; ``replaces``: the current answer to ``field`` becomes history."""

    checkup_id: int
    user_id: int
    field: str
    answer: Answer
    replaces: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class WithdrawAnswer:
    """The current answer to ``field`` becomes history (Back)."""

    checkup_id: int
    field: str
    at: datetime


@dataclass(frozen=True, slots=True)
class SaveReport:
    id: int
    user_id: int
    checkup_id: int | None
    created_at: datetime
    language: str
    profile: Mapping[str, Any]
    result: Mapping[str, Any]
    rule_ids: tuple[str, ...]
    bottleneck: str
    monthly_sales: float
    rendered_html: str


@dataclass(frozen=True, slots=True)
class SetSettings:
    """Columns of the seller's settings row, created with the defaults if there is none."""

    user_id: int
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SetRound:
    """Columns (``status``, ``checkup_id``) of one check-in round."""

    round_id: int
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AddCustomer:
    """A new customer of the seller's, by the nickname the seller typed."""

    id: int
    user_id: int
    nickname: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SetCustomer:
    """Columns (``not_regular``, ``later_until``, ``followed_up_at``) of a customer."""

    customer_id: int
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RecordSale:
    """A sale (a refund: a negative amount) in the seller's ledger."""

    id: int
    user_id: int
    at: datetime
    amount: Decimal
    currency: str
    quantity: int | None = None
    items: str | None = None
    customer_id: int | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class RemoveSale:
    """A sale taken out of the ledger (Undo)."""

    sale_id: int


@dataclass(frozen=True, slots=True)
class DeleteUser:
    """Every row of the seller, at once."""

    user_id: int


Write = (
    SetUser
    | StartCheckup
    | CloseCheckup
    | SaveAnswer
    | WithdrawAnswer
    | SaveReport
    | SetSettings
    | SetRound
    | AddCustomer
    | SetCustomer
    | RecordSale
    | RemoveSale
    | DeleteUser
)


@dataclass(slots=True)
class Decision:
    """What a step decided: the writes to make, then the replies to send; ``after``: the
    seller's snapshot as the writes leave it (None when they delete the seller)."""

    replies: list[Reply] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    after: Snapshot | None = None


class Applied(Enum):
    """What became of a decision's writes (see bot.updates.run_update)."""

    APPLIED = "applied"  # written, with the update id
    CONFLICT = "conflict"  # the seller's row changed since it was read: nothing written
    DUPLICATE = "duplicate"  # the update was handled before: nothing written
