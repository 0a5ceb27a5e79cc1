"""The database going away in the middle of conversations (connections reset, new ones
refused) and coming back: sellers are told their answers are safe, no update is half
applied, and the same running bot carries on once the database is back, with no restart.

The shared PostgreSQL server is not stopped: the bot reaches it through a TCP proxy that the
test cuts and restores (tests/support/tcp_proxy.py).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.replies import text as bot_text
from bot.storage.database import create_engine, session_factory
from bot.storage.migrate import upgrade_database
from tests.db_fixtures import migrated_engine
from tests.support.fake_bot_api import BotMessage, FakeBotApi
from tests.support.harness import ChatHarness, Seller
from tests.support.stored import CheckedStore, snapshot_of
from tests.support.tcp_proxy import TcpProxy

UNAVAILABLE = bot_text("db_unavailable", "en")
OPENING = [("press", "Menswear"), ("press", "Mid-range")]  # then the currency question


@dataclass
class Outage:
    harness: ChatHarness
    proxy: TcpProxy
    direct: AsyncEngine  # straight to the server, for the test's own checks

    async def answers(self, user_id: int) -> list[tuple[str, bool]]:
        async with self.direct.connect() as connection:
            rows = await connection.execute(
                text("SELECT field, superseded_at IS NULL FROM answers WHERE user_id = :u ORDER BY id"), {"u": user_id}
            )
            return [(f, bool(c)) for f, c in rows.all()]

    async def handled(self, update_id: int) -> bool:
        async with self.direct.connect() as connection:
            found = await connection.execute(
                text("SELECT count(*) FROM processed_updates WHERE update_id = :u"), {"u": update_id}
            )
            return found.scalar_one() == 1


@pytest.fixture
async def outage(api: FakeBotApi, postgres_database: str) -> AsyncIterator[Outage]:
    direct = await migrated_engine(postgres_database)
    url = make_url(postgres_database)
    proxy = await TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    engine = create_engine(through_proxy, pool_size=4, max_overflow=4)
    async with ChatHarness(api, CheckedStore(session_factory(engine))) as harness:
        yield Outage(harness, proxy, direct)
    await engine.dispose()
    await proxy.stop()
    await direct.dispose()


async def start_checkup(seller: Seller) -> None:
    await seller.says("/checkup")
    for _, label in OPENING:
        await seller.presses(label)


async def press(seller: Seller, label: str) -> tuple[int, list[BotMessage]]:
    """Press ``label`` on the last keyboard: (the update's id, what the bot sent)."""
    harness = seller.harness
    update = harness.api.press_button_labelled(seller.user, seller.last_with_buttons(), label)
    return update["update_id"], await harness.deliver(seller.id, update)


@pytest.mark.postgres
async def test_a_seller_is_told_answers_are_safe_and_carries_on_when_the_database_is_back(outage: Outage) -> None:
    seller = outage.harness.seller(4001)
    await start_checkup(seller)
    assert await outage.answers(seller.id) == [("category", True), ("price_tier", True)]

    await outage.proxy.cut()
    update_id, replies = await press(seller, "CNY")
    assert [m.text for m in replies] == [UNAVAILABLE]
    assert "Traceback" not in seller.transcript()
    assert not await outage.handled(update_id)  # so a redelivery of it would be applied
    replies = (await seller.says("hello?"))
    assert [m.text for m in replies] == [UNAVAILABLE]

    await outage.proxy.restore()  # the same bot, no restart
    update_id, replies = await press(seller, "CNY")
    assert await outage.handled(update_id)
    assert UNAVAILABLE not in [m.text for m in replies]
    assert [f for f, _ in await outage.answers(seller.id)] == ["category", "price_tier", "currency"]
    assert "3/19" in replies[-1].text or "4/19" in replies[-1].text, seller.transcript()


@pytest.mark.postgres
async def test_an_outage_during_transactions_in_flight_leaves_each_update_all_or_nothing(outage: Outage) -> None:
    sellers = [outage.harness.seller(5000 + n) for n in range(8)]
    await asyncio.gather(*(start_checkup(s) for s in sellers))
    # Each answer is two statements (the read, then its writes in one): cut after a seeded
    # number of them, while some of the eight sellers are mid-update (read, not applied).
    outage.proxy.cut_after(random.Random(6).randint(2, 14))
    results = await asyncio.gather(*(press(s, "CNY") for s in sellers))
    assert outage.proxy.is_cut
    told_unavailable = 0
    for seller, (update_id, replies) in zip(sellers, results, strict=True):
        fields = [f for f, _ in await outage.answers(seller.id)]
        applied = await outage.handled(update_id)
        # The update id and the answer are committed together or not at all.
        assert fields == (["category", "price_tier", "currency"] if applied else ["category", "price_tier"])
        if [m.text for m in replies] == [UNAVAILABLE]:
            told_unavailable += 1
        else:
            assert applied, seller.transcript()  # a seller who was answered has the answer stored

    await outage.proxy.restore()
    for seller in sellers:  # each one simply goes on, on the same running bot
        if [f for f, _ in await outage.answers(seller.id)][-1] != "currency":
            await press(seller, "CNY")
        replies = await seller.says("/checkup")
        assert UNAVAILABLE not in [m.text for m in replies], seller.transcript()
        assert [f for f, current in await outage.answers(seller.id) if current] == ["category", "price_tier", "currency"]
    assert told_unavailable >= 1  # (the cut did hit someone)


@pytest.mark.postgres
async def test_a_database_restart_while_the_bot_is_idle_goes_unnoticed(outage: Outage) -> None:
    """The pooled connections died with the old server: each is checked before use
    (pool_pre_ping), so the seller's next answer does not fail on a dead connection."""
    seller = outage.harness.seller(4002)
    await start_checkup(seller)
    await outage.proxy.cut()
    await outage.proxy.restore()
    update_id, replies = await press(seller, "CNY")
    assert UNAVAILABLE not in [m.text for m in replies], seller.transcript()
    assert await outage.handled(update_id)


async def test_sqlite_locked_by_another_process_tells_the_seller_and_carries_on(
    api: FakeBotApi, tmp_path
) -> None:
    """SQLite: another process holds the write lock longer than the bot waits for it."""
    path = tmp_path / "locked.db"
    await asyncio.to_thread(upgrade_database, f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite+aiosqlite:///{path}", sqlite_busy_ms=200)
    try:
        async with ChatHarness(api, CheckedStore(session_factory(engine))) as harness:
            seller = harness.seller(4003)
            await start_checkup(seller)
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("BEGIN EXCLUSIVE")
            try:
                update_id, replies = await press(seller, "CNY")
                assert [m.text for m in replies] == [UNAVAILABLE]
            finally:
                other.execute("ROLLBACK")
                other.close()
            update_id, replies = await press(seller, "CNY")
            assert UNAVAILABLE not in [m.text for m in replies], seller.transcript()
            (checkup,) = (await snapshot_of(harness.store, seller.id)).in_progress
            assert list(checkup.answers) == ["category", "price_tier", "currency"]
    finally:
        await engine.dispose()
