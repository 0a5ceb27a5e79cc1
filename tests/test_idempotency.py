"""Idempotency: an update delivered twice is applied once, however it arrives twice (a
webhook retry, or two bot processes behind one load balancer), and the record of handled
update ids does not grow for ever."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from bot.background import prune_processed_updates
from bot.storage.database import create_engine, session_factory
from bot.storage.models import ProcessedUpdate, utcnow
from bot.storage.repository import Store
from bot.webhook import SECRET_HEADER, webhook_app
from tests.db_fixtures import migrated_engine
from tests.support.fake_bot_api import FakeBotApi
from tests.support.harness import ChatHarness
from tests.support.stored import CheckedStore

SECRET = "webhook-secret-1"


@pytest.fixture
async def two_instances(api: FakeBotApi, postgres_database: str) -> AsyncIterator[list[ChatHarness]]:
    """Two applications, each with its own engine (its own connection pool), on one
    PostgreSQL database: two bot processes as far as the database can tell."""
    first_engine = await migrated_engine(postgres_database)
    second_engine = create_engine(postgres_database)
    engines = (first_engine, second_engine)
    instances = [ChatHarness(api, CheckedStore(session_factory(engine))) for engine in engines]
    for instance in instances:
        await instance.__aenter__()
    yield instances
    for instance in instances:
        await instance.__aexit__(None, None, None)
    for engine in engines:
        await engine.dispose()


async def post(instance: ChatHarness, update: dict) -> int:
    transport = httpx.ASGITransport(app=webhook_app(instance.application, SECRET))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        response = await client.post("/telegram", json=update, headers={SECRET_HEADER: SECRET})
        return response.status_code


@pytest.mark.postgres
async def test_one_update_posted_to_two_instances_at_once_is_applied_and_answered_once(
    two_instances: list[ChatHarness],
) -> None:
    first, second = two_instances
    seller = first.seller(3001)
    await seller.says("/checkup")
    for step, label in enumerate(("Menswear", "Mid-range", "CNY")):
        update = first.api.press_button_labelled(seller.user, seller.last_with_buttons(), label)
        mark = first.api.mark(seller.id)
        # Each instance also gets it a second time, as a webhook retry would deliver it.
        statuses = await asyncio.gather(post(first, update), post(second, update), post(first, update), post(second, update))
        assert statuses == [200, 200, 200, 200]
        sent = [e for e in first.api.events(seller.id, since=mark) if e.kind == "sent"]
        assert len(sent) == 1, first.api.transcript(seller.id)  # the next question, once
        async with first.store.sessions() as session:
            answers = (await session.execute(text("SELECT field FROM answers ORDER BY id"))).scalars().all()
        assert len(answers) == step + 1 and len(set(answers)) == step + 1, answers
    async with second.store.sessions() as session:
        superseded = await session.execute(text("SELECT count(*) FROM answers WHERE superseded_at IS NOT NULL"))
        assert superseded.scalar_one() == 0


async def _add_processed(store: Store, ages: dict[int, timedelta]) -> None:
    async with store.sessions() as session, session.begin():
        session.add_all(ProcessedUpdate(update_id=u, handled_at=utcnow() - age) for u, age in ages.items())


async def _processed_ids(store: Store) -> list[int]:
    async with store.sessions() as session:
        rows = await session.execute(text("SELECT update_id FROM processed_updates ORDER BY update_id"))
        return list(rows.scalars())


async def _until_processed_ids_are(store: Store, expected: list[int]) -> None:
    for _ in range(500):  # 10 s
        if await _processed_ids(store) == expected:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"processed_updates still holds {await _processed_ids(store)}")


async def test_update_ids_older_than_the_redelivery_window_are_forgotten_in_batches(store: Store) -> None:
    old = {u: timedelta(hours=49) for u in range(1, 26)}
    recent = {100: timedelta(hours=23), 101: timedelta(0)}
    await _add_processed(store, old | recent)
    removed = await store.forget_processed_updates(timedelta(hours=48), batch=10)
    assert removed == 25
    assert await _processed_ids(store) == [100, 101]


async def test_the_bot_prunes_processed_updates_on_start_and_keeps_pruning(store: Store) -> None:
    await _add_processed(store, {1: timedelta(days=3), 2: timedelta(minutes=1)})
    stop = asyncio.Event()
    pruning = asyncio.create_task(prune_processed_updates(store, stop, every=0.05))
    try:
        await _until_processed_ids_are(store, [2])  # pruned on start
        await _add_processed(store, {3: timedelta(days=2, minutes=1)})
        await _until_processed_ids_are(store, [2])  # and again later
    finally:
        stop.set()
        await pruning

