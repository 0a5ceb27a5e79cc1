"""What a test reads and writes through storage's public interface: the same snapshot and
writes the conversation core uses (Store.read, Store.load, Store.apply)."""

from __future__ import annotations

from datetime import datetime
from itertools import count

from bot.core import snapshot as need
from bot.core.snapshot import Snapshot
from bot.core.values import ReportView
from bot.core.writes import Applied, Write
from bot.storage.models import utcnow
from bot.storage.repository import Store

# Update ids of a test's own writes: far above any id a chat harness posts.
_UPDATE_IDS = count(10**12)


async def snapshot_of(store: Store, user_id: int, *needs: need.Need, language: str = "en") -> Snapshot:
    """The seller as an update would read them now, with ``needs`` loaded (reading writes
    nothing)."""
    snapshot = await store.read_stored(
        update_id=next(_UPDATE_IDS), user_id=user_id, language=language, now=utcnow()
    )
    assert snapshot is not None
    for wanted in needs:
        snapshot = await store.load(snapshot, wanted)
    return snapshot


async def write(store: Store, user_id: int, *writes: Write, language: str = "en") -> Snapshot:
    """Apply ``writes`` for the seller as one update; the snapshot they were applied on."""
    snapshot = await snapshot_of(store, user_id, language=language)
    applied = await store.apply(snapshot, update_id=next(_UPDATE_IDS), writes=list(writes))
    assert applied is Applied.APPLIED, applied
    return snapshot


class CheckedStore(Store):
    """A store that checks, on every read, that the snapshot kept from the seller's last
    update is what the database holds, whenever the seller's row is still its version."""

    async def read(
        self, *, update_id: int, user_id: int, language: str, now: datetime, admin: bool = False
    ) -> Snapshot | None:
        values = {"update_id": update_id, "user_id": user_id, "language": language}
        snapshot = await super().read(**values, now=now, admin=admin)
        stored = await self.read_stored(**values, now=now, admin=admin)
        if snapshot is not None and stored is not None:
            if snapshot.user.version == stored.user.version:
                assert snapshot == stored, f"kept {snapshot}\nstored {stored}"
        return snapshot


async def new_id(store: Store, user_id: int, table: str) -> int:
    return int((await snapshot_of(store, user_id, need.NewId(table))).get(need.NewId(table)))


async def latest_report(store: Store, user_id: int) -> ReportView | None:
    return (await snapshot_of(store, user_id, need.LatestReport())).get(need.LatestReport())
