"""The one way an update is applied: read a snapshot, decide, apply the writes once.

A step is pure (:func:`bot.core.router.decide`), so this loop is all the shell needs, for
Telegram, the terminal and the tests alike: read what is stored; run the step, loading
what it asks for; apply its writes together with the update id and a check that the
seller's row is still the version read. If another update of the same seller came in
between (another process), nothing was written: read again and decide again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol, TypeVar

from bot.core.events import Event
from bot.core.router import decide
from bot.core.snapshot import Need, NeedsMore, Snapshot
from bot.core.writes import Applied, Decision, Write
from bot.storage.models import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")

# Conflicts need another process handling the same seller's update at the same moment;
# a few in a row mean something is wrong, not busy.
MAX_ATTEMPTS = 8


class UpdateStorage(Protocol):
    """What the loop needs of storage (bot.storage.store.Store)."""

    async def read(
        self, *, update_id: int, user_id: int, language: str, now: datetime, admin: bool = False
    ) -> Snapshot | None: ...

    async def load(self, snapshot: Snapshot, need: Need) -> Snapshot: ...

    async def apply(
        self,
        snapshot: Snapshot,
        *,
        update_id: int,
        writes: Sequence[Write],
        after: Snapshot | None = None,
    ) -> Applied: ...


class TooManyConflicts(RuntimeError):
    """The update met another of its seller's on every attempt."""


async def run_update(
    storage: UpdateStorage,
    *,
    update_id: int,
    user_id: int,
    language: str,
    event: Event,
    admin: bool = False,
    checkins: bool = True,
) -> Decision | None:
    """Apply ``event`` (update ``update_id`` of ``user_id``) once; its decision, or None if
    the update was handled before (a redelivery). ``checkins``: the face can send them."""
    for _ in range(MAX_ATTEMPTS):
        snapshot = await storage.read(
            update_id=update_id, user_id=user_id, language=language, now=utcnow(), admin=admin
        )
        if snapshot is None:
            return None
        if not checkins:
            snapshot = replace(snapshot, checkins=False)
        snapshot, decision = await decide_loading(storage, snapshot, event)
        applied = await storage.apply(
            snapshot, update_id=update_id, writes=decision.writes, after=decision.after
        )
        if applied is Applied.APPLIED:
            return decision
        if applied is Applied.DUPLICATE:
            return None
        log.info("update %s met another update of its seller: deciding again", update_id)
    raise TooManyConflicts(f"update {update_id} conflicted {MAX_ATTEMPTS} times")


async def decide_loading(
    storage: UpdateStorage, snapshot: Snapshot, event: Event
) -> tuple[Snapshot, Decision]:
    """Decide on ``snapshot``, loading what the step asks for, and deciding again."""
    return await run_loading(storage, snapshot, lambda loaded: decide(loaded, event))


async def run_loading(
    storage: UpdateStorage, snapshot: Snapshot, step: Callable[[Snapshot], T]
) -> tuple[Snapshot, T]:
    """Run a pure ``step`` on ``snapshot``, loading what it asks for, and running it again."""
    while True:
        try:
            return snapshot, step(snapshot)
        except NeedsMore as more:
            snapshot = await storage.load(snapshot, more.need)
