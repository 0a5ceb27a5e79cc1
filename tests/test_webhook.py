"""The webhook server (the real ASGI app of bot.webhook): who may post, and what a bad post gets."""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bot.main import GC_THRESHOLDS, settle_heap
from bot.storage.models import ProcessedUpdate
from bot.webhook import SECRET_HEADER, webhook_app
from tests.support.harness import ChatHarness
from tests.test_bot_checkup import count

SECRET = "s3cret-Token_for-tests"


@pytest.fixture
async def client(harness: ChatHarness) -> AsyncIterator[httpx.AsyncClient]:
    app = webhook_app(harness.application, SECRET)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://bot") as running:
        yield running


async def post(client: httpx.AsyncClient, body: bytes | str, secret: str | None = SECRET) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    return await client.post("/telegram", content=body, headers=headers)


async def test_a_real_update_is_handled_and_answered_200(client: httpx.AsyncClient, harness: ChatHarness) -> None:
    seller = harness.seller()
    update = harness.api.send_text(seller.user, "/start")
    response = await client.post("/telegram", json=update, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 200
    assert "I'm Seller Coach" in seller.last().text


async def test_a_missing_secret_token_is_401_and_nothing_is_handled(client: httpx.AsyncClient, harness: ChatHarness) -> None:
    seller = harness.seller()
    update = harness.api.send_text(seller.user, "/start")
    response = await client.post("/telegram", json=update)
    assert response.status_code == 401
    response = await client.post("/telegram", json=update, headers={SECRET_HEADER: ""})
    assert response.status_code == 401
    assert seller.messages() == []
    assert await count(harness, ProcessedUpdate) == 0


@pytest.mark.parametrize("wrong", [SECRET[:-1], SECRET + "x", SECRET.upper(), "a" * 256, "é"])
async def test_a_wrong_secret_token_is_403_and_nothing_is_handled(
    client: httpx.AsyncClient, harness: ChatHarness, wrong: str
) -> None:
    seller = harness.seller()
    update = harness.api.send_text(seller.user, "/start")
    headers = {SECRET_HEADER: wrong.encode()}  # bytes: a header need not be ASCII
    response = await client.post("/telegram", json=update, headers=headers)
    assert response.status_code == 403
    assert seller.messages() == []
    assert await count(harness, ProcessedUpdate) == 0


MALFORMED: dict[str, bytes] = {
    "not json": b"update_id=1&message=hi",
    "broken json": b'{"update_id": 1, "message": {',
    "not utf-8": b'{"update_id": 1, "x": "\xff\xfe"}',
    "empty body": b"",
    "json array": b"[1, 2, 3]",
    "json array of updates": b'[{"update_id": 1}]',
    "json string": b'"update"',
    "json null": b"null",
    "json number": b"42",
    "no update_id": b'{"message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "hi"}}',
    "update_id a string": b'{"update_id": "7", "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "hi"}}',
    "update_id a bool": b'{"update_id": true}',
    "message without date": b'{"update_id": 8, "message": {"message_id": 1, "text": "hi"}}',
    "chat a string": b'{"update_id": 9, "message": {"message_id": 1, "date": 0, "chat": "x", "text": "hi"}}',
    "oversized": b'{"update_id": 14, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "' + b"hi" * 600_000 + b'"}}',
    "callback without chat_instance": b'{"update_id": 10, "callback_query": {"id": "1", "from": {"id": 1, "is_bot": false, "first_name": "A"}}}',
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_update_is_refused_with_400_and_logged_once(
    client: httpx.AsyncClient, harness: ChatHarness, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    caplog.set_level(logging.INFO)
    response = await post(client, body)
    assert response.status_code == 400
    notes = [r for r in caplog.records if r.name == "bot.webhook"]
    assert len(notes) == 1 and notes[0].levelno == logging.WARNING, caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert '"hi"' not in caplog.text and "hi" not in notes[0].getMessage()  # no user text logged
    assert await count(harness, ProcessedUpdate) == 0


UNKNOWN: dict[str, bytes] = {
    "only an update_id": b'{"update_id": 11}',
    "a type from the future": b'{"update_id": 12, "holographic_message": {"id": 1}}',
}


@pytest.mark.parametrize("body", UNKNOWN.values(), ids=UNKNOWN.keys())
async def test_an_update_of_an_unknown_type_is_accepted_silently_and_logged_once(
    client: httpx.AsyncClient, harness: ChatHarness, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    caplog.set_level(logging.INFO)
    response = await post(client, body)
    assert response.status_code == 200  # so Telegram does not redeliver it forever
    notes = [r for r in caplog.records if r.name == "bot.webhook"]
    assert len(notes) == 1 and "unknown type" in notes[0].getMessage(), caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert await count(harness, ProcessedUpdate) == 0


async def test_a_well_formed_update_the_bot_does_not_handle_is_200_without_error(
    client: httpx.AsyncClient, harness: ChatHarness, caplog: pytest.LogCaptureFixture
) -> None:
    post_in_channel = {"message_id": 1, "date": 0, "chat": {"id": -100, "type": "channel", "title": "News"}, "text": "hi"}
    response = await post(client, json.dumps({"update_id": 13, "channel_post": post_in_channel}))
    assert response.status_code == 200
    assert harness.api.messages(-100) == []  # deliberately silent
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture
def collector_as_it_was() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_before_serving_the_loaded_bot_is_left_out_of_garbage_collection(collector_as_it_was: None) -> None:
    gc.unfreeze()
    loaded = ["what the bot holds for as long as it runs"]
    assert any(o is loaded for o in gc.get_objects())
    settle_heap()
    assert not any(o is loaded for o in gc.get_objects())  # left out of every round
    made_later = ["what an update makes"]
    assert any(o is made_later for o in gc.get_objects())
    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] > 700  # young rounds less often than Python's default
