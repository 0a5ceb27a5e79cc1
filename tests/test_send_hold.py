"""A 429 holds every send back, in every process, for as long as Telegram asked.

With the production request class (bot.retrying_request over real HTTP to the local Bot
API server): the process that meets the 429 waits it out and retries, and tells the
others, which hold back too, whether the 429 was met by a reply or by a check-in. A
reply checks the hold in memory: it costs no database round trip of its own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import text

from bot.checkins.dispatcher import Dispatcher, SendLimiter, telegram_sender
from bot.retrying_request import RetryingRequest
from bot.send_hold import SLOT, SendHold
from bot.storage.database import create_engine, session_factory
from bot.storage.models import RoundStatus
from bot.storage.repository import Store
from tests.support.fake_bot_api import ApiCall, FakeBotApi
from tests.support.harness import ChatHarness
from tests.test_checkins import T0, Clock, rounds_of, schedule_users

RETRY_AFTER = 2
LATE = 0.05  # what a clock or a thread switch may shave off


def online(api: FakeBotApi, store: Store) -> ChatHarness:
    """A bot process as `coach run` builds it: the production request class over HTTP."""
    harness = ChatHarness(api, store, offline=False)
    assert isinstance(harness.application.bot.request, RetryingRequest)
    return harness


def hold_of(harness: ChatHarness) -> SendHold:
    return harness.application.bot_data["send_hold"]


def first_429(api: FakeBotApi) -> ApiCall:
    return next(c for c in api.calls() if c.status == 429)


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.01)


async def test_a_429_met_by_one_reply_holds_every_other_send_of_the_process(
    api: FakeBotApi, chat_store: Store
) -> None:
    async with online(api, chat_store) as bot:
        anna, ben = bot.seller(1), bot.seller(2)
        api.fail_next("sendMessage", status=429, retry_after=RETRY_AFTER)
        first = asyncio.create_task(anna.says("/start"))
        await until(lambda: any(c.status == 429 for c in api.calls()))
        await ben.says("/start")  # a reply to someone else, during the hold
        await first
        held = first_429(api)
        later = [c for c in api.calls("sendMessage") if c.timestamp > held.timestamp]
        assert len(later) == 2 and all(c.status == 200 for c in later)
        assert min(c.timestamp for c in later) >= held.timestamp + RETRY_AFTER - LATE
        assert [m.text[:10] for m in anna.messages()] == [
            m.text[:10] for m in ben.messages()
        ]  # both arrived, once


@pytest.fixture
async def two_processes(
    api: FakeBotApi, postgres_store: Store
) -> AsyncIterator[tuple[ChatHarness, ChatHarness]]:
    """Two bot processes on one PostgreSQL database (two applications, two engines), each
    listening for the other's holds as `coach run` does."""
    url = postgres_store.engine.url.render_as_string(hide_password=False)
    other_engine = create_engine(url)
    stop = asyncio.Event()
    try:
        async with (
            online(api, postgres_store) as first,
            online(api, Store(session_factory(other_engine))) as second,
        ):
            listening = [asyncio.create_task(hold_of(h).listen(stop)) for h in (first, second)]
            await asyncio.wait_for(
                asyncio.gather(*(hold_of(h).listening.wait() for h in (first, second))), 10
            )
            yield first, second
            stop.set()
            await asyncio.gather(*listening)
    finally:
        await other_engine.dispose()


async def held_reply(api: FakeBotApi, second: ChatHarness) -> None:
    """Once the first process met the 429: the second's hold is on, and its reply waits."""
    await until(lambda: hold_of(second).remaining() > 0)
    await second.seller(2).says("/start")
    held = first_429(api)
    reply = next(c for c in api.calls("sendMessage") if c.chat_id == 2)
    assert reply.status == 200 and reply.timestamp >= held.timestamp + RETRY_AFTER - LATE


@pytest.mark.postgres
async def test_a_429_met_by_a_reply_in_one_process_holds_the_other_process_back(
    api: FakeBotApi, two_processes: tuple[ChatHarness, ChatHarness]
) -> None:
    first, second = two_processes
    api.fail_next("sendMessage", status=429, retry_after=RETRY_AFTER)
    answering = asyncio.create_task(first.seller(1).says("/start"))
    await held_reply(api, second)
    await answering
    assert len(first.seller(1).messages()) == 1  # retried once the hold was over, sent once
    async with second.store.unit() as uow:  # recorded for processes that start meanwhile
        assert await uow.send_hold(SLOT) >= time.time() - 1


@pytest.mark.postgres
async def test_a_429_met_by_a_check_in_in_one_process_holds_the_other_process_back(
    api: FakeBotApi, two_processes: tuple[ChatHarness, ChatHarness]
) -> None:
    first, second = two_processes
    api.send_text(api.user(7), "/start")  # the check-in's user wrote to the bot before
    await schedule_users(first.store, [7], T0)
    dispatcher = Dispatcher(
        first.store, telegram_sender(first.application.bot), limiter=SendLimiter(first.store),
        hold=hold_of(first), now=Clock(T0),
    )  # fmt: skip
    api.fail_next("sendMessage", status=429, retry_after=RETRY_AFTER)
    dispatching = asyncio.create_task(dispatcher.pass_once())
    await held_reply(api, second)
    assert await dispatching == 1
    (round_,) = await rounds_of(first.store, 7)
    assert round_.status == RoundStatus.SENT and len(api.messages(7)) == 1


@pytest.mark.postgres
async def test_a_process_starting_during_a_hold_reads_it(postgres_store: Store) -> None:
    await SendHold(postgres_store).report(RETRY_AFTER)  # type: ignore[misc]
    later = SendHold(postgres_store)
    stop = asyncio.Event()
    listening = asyncio.create_task(later.listen(stop))
    await asyncio.wait_for(later.listening.wait(), 10)
    assert RETRY_AFTER - 0.5 < later.remaining() <= RETRY_AFTER
    stop.set()
    await listening


@pytest.mark.postgres
async def test_a_process_whose_listening_connection_is_lost_listens_again(
    postgres_store: Store,
) -> None:
    listener = SendHold(postgres_store, reconnect_after=0.1)
    stop = asyncio.Event()
    listening = asyncio.create_task(listener.listen(stop))
    await asyncio.wait_for(listener.listening.wait(), 10)
    async with postgres_store.engine.connect() as admin:  # the server drops that connection
        await admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE query LIKE 'LISTEN%' AND datname = current_database()"
            )
        )
    await until(lambda: not listener.listening.is_set())
    await asyncio.wait_for(listener.listening.wait(), 10)
    await SendHold(postgres_store).report(RETRY_AFTER)  # type: ignore[misc]
    await until(lambda: listener.remaining() > 0)  # heard on the new connection
    stop.set()
    await listening


async def test_check_in_slots_start_after_a_recorded_hold(store: Store) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    await SendHold(store, wall=lambda: 1000.0).report(3)  # type: ignore[misc]
    await SendLimiter(store, 30, clock=lambda: 1000.0, sleep=sleep).wait_turn()
    assert slept == [pytest.approx(3.0)]
