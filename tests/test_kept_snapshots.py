"""A seller's next update starts from the snapshot their last one left, unread, and is still
applied only on what is stored: a kept snapshot that went stale (another process, the
check-in dispatcher, a deletion) makes the update conflict, read and decide again."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from advice.questionnaire import Answer
from bot import callbacks as cb
from bot.core.events import Command, Event, Pressed, Typed
from bot.core.snapshot import Snapshot
from bot.core.values import CheckupView, UserView
from bot.storage.database import session_factory
from bot.storage.recent import RecentSnapshots
from bot.storage.store import Store
from bot.updates import run_update
from tests.support.stored import snapshot_of

ANNA = 501
UPDATES = count(1)
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


async def say(store: Store, user_id: int, text: str) -> list[str]:
    """One update of the seller, applied once; the texts of its replies."""
    event: Event = Command(text[1:], "") if text.startswith("/") else Typed(text)
    return await send(store, user_id, event)


async def send(store: Store, user_id: int, event: Event) -> list[str]:
    decision = await run_update(
        store, update_id=next(UPDATES), user_id=user_id, language="en", event=event
    )
    assert decision is not None
    return [reply.html for reply in decision.replies]


def answers(snapshot: Snapshot) -> dict[str, object]:
    (checkup,) = snapshot.in_progress
    return {field: answer.value for field, answer in checkup.answers.items()}


# --- what a process keeps ----------------------------------------------------------------
async def test_an_applied_update_keeps_the_snapshot_a_read_would_give(store: Store) -> None:
    await say(store, ANNA, "/checkup")
    await say(store, ANNA, "1")
    kept, stored = store.recent.get(ANNA), await snapshot_of(store, ANNA)
    assert kept is not None
    assert (kept.user, kept.in_progress) == (stored.user, stored.in_progress)
    assert answers(kept) == {"category": "menswear"}


async def test_a_redelivered_update_is_not_applied_twice_from_a_kept_snapshot(
    store: Store,
) -> None:
    await say(store, ANNA, "/checkup")
    update_id = next(UPDATES)
    first = await run_update(store, update_id=update_id, user_id=ANNA, language="en",
                             event=Command("help", ""))  # fmt: skip
    again = await run_update(store, update_id=update_id, user_id=ANNA, language="en",
                             event=Command("help", ""))  # fmt: skip
    assert first is not None and again is None
    assert store.recent.get(ANNA) is None  # the next update reads


async def test_a_stale_kept_snapshot_is_read_again_and_nothing_is_lost(
    engine: AsyncEngine,
) -> None:
    """Two processes take turns with one seller's updates: each keeps a snapshot the other
    makes stale; every answer is stored once, in order."""
    first, second = Store(session_factory(engine)), Store(session_factory(engine))
    await say(first, ANNA, "/checkup")
    for process, option in ((first, "1"), (second, "2"), (first, "1")):
        await say(process, ANNA, option)  # the first's kept snapshot is stale at its second
    stored = await snapshot_of(first, ANNA)
    assert answers(stored) == {"category": "menswear", "price_tier": "mid", "currency": "CNY"}
    kept = first.recent.get(ANNA)
    assert kept is not None and (kept.user, kept.in_progress) == (stored.user, stored.in_progress)


async def test_a_deleted_seller_is_forgotten(store: Store) -> None:
    await say(store, ANNA, "/checkup")
    assert store.recent.get(ANNA) is not None
    await say(store, ANNA, "/delete")
    await send(store, ANNA, Pressed(cb.Delete(True).pack()))
    assert store.recent.get(ANNA) is None
    assert (await snapshot_of(store, ANNA)).user.version is None  # no row left


# --- the keeping itself -----------------------------------------------------------------
def snapshot(user_id: int, *in_progress: CheckupView) -> Snapshot:
    return Snapshot(UserView(user_id, version=None), in_progress, NOW)


def test_the_least_recently_used_seller_goes_first() -> None:
    recent = RecentSnapshots(size=2)
    for user_id in (1, 2):
        recent.keep(snapshot(user_id), version=0)
    assert recent.get(1) is not None  # 1 used: 2 is now the oldest
    recent.keep(snapshot(3), version=0)
    assert (recent.get(2), len(recent)) == (None, 2)
    assert recent.get(1) is not None and recent.get(3) is not None


def test_a_kept_snapshot_carries_the_version_its_writes_left() -> None:
    recent = RecentSnapshots()
    recent.keep(snapshot(1), version=4)
    kept = recent.get(1)
    assert kept is not None and kept.user.version == 4


@pytest.mark.parametrize(
    ("shown", "sent", "after"),
    [(None, 10, 10), (10, 12, 12), (12, 10, 12)],  # only a newer message replaces one shown
)
def test_a_question_sent_is_noted_in_the_kept_snapshot(
    shown: int | None, sent: int, after: int
) -> None:
    checkup = CheckupView(7, 1, "checkup", "in_progress", "en", NOW, question_message_id=shown)
    checkup = checkup.with_answers({"category": Answer("food")})
    recent = RecentSnapshots()
    recent.keep(snapshot(1, checkup), version=1)
    recent.note_question(1, 7, sent, "price_tier")
    kept = recent.get(1)
    assert kept is not None and kept.in_progress[0].question_message_id == after
    recent.note_question(2, 7, sent, "price_tier")  # a seller not kept: nothing to note
    assert recent.get(2) is None
