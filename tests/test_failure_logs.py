"""What the log says when Telegram refuses a send: its reason, not only the error's class.

Telegram's reasons ("Message is too long", "Chat not found") hold no secret and are what an
operator needs; the log filter still redacts the token from every line (tests/test_secrets.py).
"""

from __future__ import annotations

import logging

import pytest

from tests.support.harness import TOKEN, ChatHarness


async def test_a_reply_telegram_refuses_is_logged_with_telegrams_reason(
    harness: ChatHarness, caplog: pytest.LogCaptureFixture
) -> None:
    seller = harness.seller()
    harness.api.fail_next("sendMessage", status=400, description="Bad Request: message is too long")

    with caplog.at_level(logging.INFO):
        await seller.says("/checkup")

    refused = [r.getMessage() for r in caplog.records if "Message is too long" in r.getMessage()]
    assert refused, caplog.text
    assert all("BadRequest" in line for line in refused)
    assert TOKEN not in caplog.text
