"""The Bot API failing: 429, 5xx, timeouts, refused connections. What Telegram did not take is
retried with backoff; what it may have taken is not sent again (bot/retrying_request.py says
why, per method). The bot talks to the fake Bot API over real HTTP here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.retrying_request import RetryingRequest
from bot.storage.models import AnswerRow
from bot.storage.repository import Store
from tests.support.fake_bot_api import FakeBotApi
from tests.support.harness import TOKEN, ChatHarness
from tests.test_bot_checkup import count

FIRST_QUESTION = "What do you mainly sell?"
READ_TIMEOUT = 0.5


@pytest.fixture
async def online(api: FakeBotApi, chat_store: Store) -> AsyncIterator[ChatHarness]:
    """The application with its production request class over HTTP; short timeouts and
    backoff so the test is quick (the policy is the same)."""
    harness = ChatHarness(api, chat_store, offline=False)
    retrying = harness.application.bot.request
    assert isinstance(retrying, RetryingRequest)
    retrying.inner = HTTPXRequest(connection_pool_size=8, read_timeout=READ_TIMEOUT)
    retrying.backoff = 0.05
    async with harness:
        yield harness


def sent(api: FakeBotApi, chat_id: int, since: int = 0) -> list[str]:
    return [e.message.text or "" for e in api.events(chat_id, since=since) if e.kind == "sent" and e.message]


@pytest.mark.parametrize(("status", "times"), [(429, 1), (502, 3), (503, 2)])
async def test_a_send_telegram_refused_is_retried_and_arrives_once(
    online: ChatHarness, status: int, times: int
) -> None:
    seller = online.seller()
    online.api.fail_next("sendMessage", status=status, retry_after=1, times=times)
    await seller.says("/checkup")
    messages = sent(online.api, seller.id)
    assert len(messages) == 1 and FIRST_QUESTION in messages[0], online.api.transcript(seller.id)
    assert [c.status for c in online.api.calls("sendMessage")] == [status] * times + [200]


async def test_a_429_waits_as_long_as_telegram_asks(online: ChatHarness) -> None:
    seller = online.seller()
    online.api.fail_next("sendMessage", status=429, retry_after=1)
    await seller.says("/checkup")
    first, second = online.api.calls("sendMessage")
    assert second.timestamp - first.timestamp >= 0.95


async def test_a_send_that_timed_out_after_telegram_took_it_is_not_sent_again(online: ChatHarness) -> None:
    seller = online.seller()
    online.api.delay_next("sendMessage", READ_TIMEOUT * 3)  # delivered, but after the bot stopped waiting
    replies = await seller.says("/checkup")
    assert replies == []  # nothing confirmed, and no apology on top of a message that arrives
    await asyncio.to_thread(online.api.wait_for_message, seller.id, since=0, timeout=10)
    await asyncio.sleep(READ_TIMEOUT)  # time for a (wrong) second attempt to show up
    assert len(online.api.calls("sendMessage")) == 1
    assert len(sent(online.api, seller.id)) == 1
    # The step was committed before the send: the seller simply answers and carries on.
    replies = await seller.presses("Menswear")
    assert await count(online, AnswerRow) == 1
    assert any("price" in m.text.lower() for m in replies), online.api.transcript(seller.id)


async def test_a_send_answered_500_is_not_retried_as_it_may_have_been_delivered(online: ChatHarness) -> None:
    seller = online.seller()
    online.api.fail_next("sendMessage", status=500)
    assert await seller.says("/checkup") == []
    assert [c.status for c in online.api.calls("sendMessage")] == [500]
    # Asking again shows where the check-up stands.
    replies = await seller.says("/checkup")
    assert FIRST_QUESTION in replies[-1].text


async def test_an_edit_answered_500_is_retried_as_editing_twice_changes_nothing(online: ChatHarness) -> None:
    seller = online.seller()
    await seller.says("/checkup")
    online.api.fail_next("editMessageText", status=500, times=2)
    await seller.presses("Menswear")
    question = online.api.messages(seller.id)[0]
    assert "✓" in (question.text or "") and question.edits == 1, online.api.transcript(seller.id)
    assert [c.status for c in online.api.calls("editMessageText")] == [500, 500, 200]


async def test_a_send_to_an_api_that_refuses_connections_arrives_once_it_is_back() -> None:
    with FakeBotApi(token=TOKEN) as first:
        port = first.port
        bot = Bot(TOKEN, base_url=first.base_url, request=RetryingRequest(HTTPXRequest(), backoff=0.2))
        await bot.initialize()
    second = FakeBotApi(token=TOKEN, port=port)  # Telegram back on the same address, later
    user = second.user(5005)
    second.send_text(user, "/start")  # (the chat is known to Telegram)
    try:
        sending = asyncio.create_task(bot.send_message(user.id, "hello"))
        await asyncio.sleep(0.05)  # the first attempt is refused: nothing listens
        assert not sending.done()
        second.start()
        message = await asyncio.wait_for(sending, timeout=10)
        assert [m.text for m in second.messages(user.id)] == ["hello"]
        assert message.message_id == second.messages(user.id)[0].message_id
    finally:
        second.stop()
        await bot.shutdown()
