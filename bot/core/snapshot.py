"""What an update's step starts from: the stored state it reads, as frozen values.

Every step gets the seller's row and their check-ups in progress with their answers (what
almost every update needs, read in one round trip). Anything else (the latest report, the
settings, a round, the history of check-ins, a new row's id) is a :class:`Need`: a step
that asks for one not yet loaded stops with :class:`NeedsMore`, the shell loads it, and
the step runs again from the start on the richer snapshot. Steps are pure, so running one
again is safe, and a step never reads what it does not use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from bot.core.values import CheckupView, UserView


class Need:
    """Something a step may read beyond the basic snapshot (the subclasses below)."""


@dataclass(frozen=True, slots=True)
class LatestReport(Need):
    """The seller's newest advice report (a ReportView, or None)."""


@dataclass(frozen=True, slots=True)
class Reports(Need):
    """Every report of the seller, oldest first (a tuple of ReportView)."""


@dataclass(frozen=True, slots=True)
class Report(Need):
    """One report of the seller's (None for another seller's id: buttons can be forged)."""

    report_id: int


@dataclass(frozen=True, slots=True)
class Settings(Need):
    """The seller's settings (a SettingsView; the defaults when none are stored)."""


@dataclass(frozen=True, slots=True)
class Round(Need):
    """One check-in round of the seller's (a RoundView, or None)."""

    round_id: int


@dataclass(frozen=True, slots=True)
class RoundOfCheckup(Need):
    """The round a check-in was started from (a RoundView, or None)."""

    checkup_id: int


@dataclass(frozen=True, slots=True)
class SalesSince(Need):
    """The seller's sales from ``since`` on, oldest first (a tuple of SaleView)."""

    since: datetime


@dataclass(frozen=True, slots=True)
class SalesWeeks(Need):
    """The seller's weeks summed up (a SalesTotals): one week from each of ``begins``
    (ascending) to the next, the last to ``until``; and the named customers who ordered in
    (``repeat_since``, ``until``], with those who did on two days or more. In UTC."""

    begins: tuple[datetime, ...]
    until: datetime
    repeat_since: datetime


@dataclass(frozen=True, slots=True)
class OneSale(Need):
    """One sale of the seller's (a SaleView; None for another seller's id or one removed)."""

    sale_id: int


@dataclass(frozen=True, slots=True)
class Customers(Need):
    """Every customer of the seller's, with their purchases summed up (a tuple of
    CustomerView, by nickname)."""


@dataclass(frozen=True, slots=True)
class CustomerNamed(Need):
    """The seller's customer of this nickname (``key``: its advice.ledger.customer_key, so
    any case and spacing; a CustomerView, or None)."""

    key: str


@dataclass(frozen=True, slots=True)
class RecentCustomers(Need):
    """The seller's customers by their latest purchase, newest first, at most ``most`` (a
    tuple of CustomerName; customers who never bought are left out)."""

    most: int


@dataclass(frozen=True, slots=True)
class CustomerOfId(Need):
    """The seller's customer of this id (a CustomerName; None for another seller's id or
    one that does not exist: buttons can be forged)."""

    customer_id: int


@dataclass(frozen=True, slots=True)
class CheckinHistory(Need):
    """The answers of the seller's check-ins finished since ``since``, other than
    ``checkup_id``, newest first (a tuple of answer mappings)."""

    since: datetime
    checkup_id: int


@dataclass(frozen=True, slots=True)
class FinishedCount(Need):
    """How many check-ups of ``kind`` the seller finished (an int)."""

    kind: str


@dataclass(frozen=True, slots=True)
class OffersCheckins(Need):
    """Whether the advice of ``checkup_id`` offers check-ins: the seller's first finished
    check-up, and check-ins never switched on (a bool)."""

    checkup_id: int


@dataclass(frozen=True, slots=True)
class NewId(Need):
    """The id a new row of ``table`` ("checkups" or "advice_reports") will have; ``n``
    counts the new rows of that table in one step."""

    table: str
    n: int = 0


@dataclass(frozen=True, slots=True)
class Stats(Need):
    """The operator's figures (a bot.storage.privacy.Stats)."""


@dataclass(frozen=True, slots=True)
class Export(Need):
    """Everything stored about the seller, JSON-ready (a dict)."""


class NeedsMore(Exception):
    """A step asked for ``need``, which the snapshot has not loaded: load it, run again."""

    def __init__(self, need: Need) -> None:
        super().__init__(need)
        self.need = need


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The stored state an update's step starts from, read at ``now``.

    ``admin``: the seller is one of the operators (ADMIN_IDS). ``checkins``: the face can
    send check-ins (Telegram can; a terminal chat cannot, so it never offers them)."""

    user: UserView
    in_progress: tuple[CheckupView, ...] = ()
    now: datetime = field(default_factory=lambda: datetime.min)
    admin: bool = False
    checkins: bool = True
    loaded: Mapping[Need, Any] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, need: Need) -> Any:
        """What was loaded for ``need``; :class:`NeedsMore` if it was not."""
        try:
            return self.loaded[need]
        except KeyError:
            raise NeedsMore(need) from None

    def with_loaded(self, need: Need, value: Any) -> Snapshot:
        return replace(self, loaded=MappingProxyType({**self.loaded, need: value}))
