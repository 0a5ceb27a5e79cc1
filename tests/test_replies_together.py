"""A seller waits for one Bot API round trip, not three: the replies to an update that do not
depend on each other (answering the press, editing the answered question, sending the next)
go out together; the new messages, which the seller reads one after another, keep their order.

The fake Bot API holds every call unanswered while a test looks at what the bot has in
flight at once, so these tests show the overlap itself, not a timing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

import pytest

from bot import sender
from bot.replies import Reply
from bot.splitting import TEXT_LIMIT
from tests.support.fake_bot_api import FakeBotApi
from tests.support.harness import ChatHarness, Seller
from tests.test_bot_checkup import ENGLISH_ANSWERS

FIRST_QUESTION = "What do you mainly sell?"


async def in_flight_at_once(api: FakeBotApi, count: int, action: Awaitable[object]) -> list[str]:
    """The methods of ``count`` calls the bot has waiting on Telegram at the same time while
    it handles ``action`` (an AssertionError if it never has that many)."""
    api.hold_calls()
    handling = asyncio.ensure_future(action)
    try:
        return await asyncio.to_thread(api.wait_until_held, count)
    finally:
        api.release_calls()
        await handling


async def answer_until_typed(seller: Seller) -> None:
    """Answer the check-up's button questions up to the first one answered by typing."""
    await seller.says("/checkup")
    for action, value in ENGLISH_ANSWERS:
        if action == "say":
            return
        await seller.presses(value)


async def test_a_pressed_answer_is_acknowledged_shown_and_followed_by_the_next_question_at_once(
    harness: ChatHarness,
) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    held = await in_flight_at_once(harness.api, 3, seller.presses("Menswear"))
    assert sorted(held) == ["answerCallbackQuery", "editMessageText", "sendMessage"]
    answered, question = seller.messages()
    assert "Menswear" in answered.text and not answered.buttons
    assert question.buttons and "price" in question.text.lower(), seller.transcript()


async def test_a_typed_answer_is_shown_and_followed_by_the_next_question_at_once(
    harness: ChatHarness,
) -> None:
    seller = harness.seller()
    await answer_until_typed(seller)
    held = await in_flight_at_once(harness.api, 2, seller.says("about 10"))
    assert sorted(held) == ["editMessageText", "sendMessage"]
    assert "10" in seller.messages()[-2].text, seller.transcript()


async def test_an_edit_that_fails_does_not_keep_the_next_question_from_the_seller(
    harness: ChatHarness, caplog: pytest.LogCaptureFixture
) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    harness.api.fail_next("editMessageText", status=500)
    with caplog.at_level(logging.WARNING, logger="bot.handlers"):
        replies = await seller.presses("Menswear")
    assert [m.text for m in replies if "price" in (m.text or "").lower()], seller.transcript()
    assert "not confirmed by Telegram (NetworkError" in caplog.text  # logged as before


async def test_when_several_replies_fail_the_first_is_handled_as_before_and_the_others_logged(
    harness: ChatHarness, caplog: pytest.LogCaptureFixture
) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    harness.api.fail_next("editMessageText", status=500)
    harness.api.fail_next("sendMessage", status=500)
    with caplog.at_level(logging.WARNING, logger="bot"):
        assert await seller.presses("Menswear") == []
    assert "not confirmed by Telegram (NetworkError: Internal Server Error)" in caplog.text
    assert "a reply sent beside another failed too (Internal Server Error)" in caplog.text


async def test_new_messages_keep_their_order_when_telegram_is_slow_to_take_the_first(
    harness: ChatHarness,
) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    harness.api.delay_next("sendMessage", 0.3)
    notice, question = await seller.says("/nonsense")
    assert "check-up" in notice.text.lower(), seller.transcript()
    assert FIRST_QUESTION in question.text, seller.transcript()
    assert notice.message_id < question.message_id


def test_only_an_edit_that_fits_and_is_its_message_s_only_one_goes_out_beside() -> None:
    shown = Reply("✓ Menswear", edit_message_id=7)
    long_edit = Reply("word " * TEXT_LIMIT, edit_message_id=8)  # its rest follows as new messages
    twice = [Reply("first", edit_message_id=9), Reply("second", edit_message_id=9)]
    notice, question = Reply("Paused"), Reply("What do you mainly sell?")
    beside, in_order = sender.arrange([shown, long_edit, *twice, notice, question])
    assert beside == [shown]
    assert in_order == [long_edit, *twice, notice, question]
