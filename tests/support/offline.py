"""Offline Telegram: the bot's requests answered in-process by the fake Bot API.

No socket is opened: ``InProcessRequest`` hands each request straight to
:meth:`FakeBotApi.handle_http`, so handler tests see Telegram's validation (HTML, button
data, message length) without any network.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import httpx
from telegram.request import BaseRequest, RequestData

from tests.support.fake_bot_api import FakeBotApi


class InProcessRequest(BaseRequest):
    """A python-telegram-bot request class that never touches the network."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = None,
        write_timeout: object = None,
        connect_timeout: object = None,
        pool_timeout: object = None,
    ) -> tuple[int, bytes]:
        files = (
            request_data.multipart_data if request_data and request_data.contains_files else None
        )
        data = request_data.json_parameters if request_data else {}
        body_request = httpx.Request("POST", url, data=data, files=files)
        body = body_request.read()
        parts = urlsplit(url)
        status, payload = await asyncio.to_thread(
            self.api.handle_http,
            parts.path,
            parts.query,
            body_request.headers.get("content-type", ""),
            body,
        )
        return status, json.dumps(payload).encode()
