"""The snapshots this process left its recent sellers in, so a seller's next update skips
the read (see :meth:`Store.read <bot.storage.store.Store.read>`).

The database stays the truth: an update decided on a kept snapshot is applied only if the
seller's row is still that snapshot's version, as any update is. Whatever changed the row
meanwhile (the seller's update handled by another process, a check-in started by the
dispatcher, a deletion) bumped or removed it, so the update conflicts, nothing is written,
and it is read from the database and decided again. A snapshot is kept only after its
writes were applied; whatever else befalls an update (a conflict, a duplicate, an error
whose outcome is unknown) forgets the seller's, so their next update reads.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from bot.core.snapshot import Snapshot


class RecentSnapshots:
    """The last snapshot of at most ``size`` sellers, the least recently used forgotten."""

    def __init__(self, size: int = 5_000) -> None:
        self.size = size
        self._kept: OrderedDict[int, Snapshot] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, user_id: int) -> Snapshot | None:
        snapshot = self._kept.get(user_id)
        if snapshot is not None:
            self._kept.move_to_end(user_id)
        return snapshot

    def keep(self, snapshot: Snapshot, *, version: int) -> None:
        """Keep ``snapshot`` (applied: the seller's row is now at ``version``)."""
        user = replace(snapshot.user, version=version)
        self._kept[user.id] = replace(snapshot, user=user)
        self._kept.move_to_end(user.id)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def forget(self, user_id: int) -> None:
        self._kept.pop(user_id, None)

    def note_question(self, user_id: int, checkup_id: int, message_id: int, field: str) -> None:
        """The check-up's question now shown in ``message_id`` (as the database will note it:
        only a newer message replaces one noted)."""
        snapshot = self._kept.get(user_id)
        if snapshot is None:
            return
        noted = tuple(
            replace(c, question_message_id=message_id, question_field=field)
            if c.id == checkup_id
            and (c.question_message_id is None or c.question_message_id < message_id)
            else c
            for c in snapshot.in_progress
        )
        self._kept[user_id] = replace(snapshot, in_progress=noted)
