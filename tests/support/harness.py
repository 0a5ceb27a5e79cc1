"""A seller chatting with the real application, offline: updates in, what the bot sent out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Bot, Update
from telegram.ext import Application

from bot.app import build_application, handle_update
from bot.config import Settings
from bot.storage.repository import Store
from tests.support.fake_bot_api import BotMessage, FakeBotApi, FakeUser
from tests.support.offline import InProcessRequest

TOKEN = "123456:TEST-token"


@dataclass
class Seller:
    """One simulated seller in a private chat with the bot."""

    harness: ChatHarness
    user: FakeUser

    @property
    def id(self) -> int:
        return self.user.id

    async def says(self, text: str) -> list[BotMessage]:
        """Send ``text``; return the messages the bot sent or edited in reply."""
        return await self.harness.deliver(self.user.id, self.harness.api.send_text(self.user, text))

    async def presses(self, label: str, message: BotMessage | None = None) -> list[BotMessage]:
        """Press the button whose label contains ``label`` on ``message`` (default: the last one with buttons)."""
        target = message or self.last_with_buttons()
        return await self.harness.deliver(
            self.user.id, self.harness.api.press_button_labelled(self.user, target, label)
        )

    async def presses_data(self, data: str, message: BotMessage | None = None) -> list[BotMessage]:
        """Press a button on ``message`` but send ``data`` instead of its own (a forgery,
        or a button from a keyboard that is out of date)."""
        target = message or self.last_with_buttons()
        update = self.harness.api.press_button(self.user, target, target.buttons[0][0][1])
        update["callback_query"]["data"] = data
        return await self.harness.deliver(self.user.id, update)

    async def sends(self, update: dict[str, Any]) -> list[BotMessage]:
        return await self.harness.deliver(self.user.id, self.harness.api.send_update(update))

    def messages(self) -> list[BotMessage]:
        return self.harness.api.messages(self.user.id)

    def last(self) -> BotMessage:
        return self.messages()[-1]

    def last_with_buttons(self) -> BotMessage:
        for message in reversed(self.messages()):
            if message.buttons and not message.deleted:
                return message
        raise AssertionError("no message with buttons:\n" + self.transcript())

    def transcript(self) -> str:
        return self.harness.api.transcript(self.user.id)


class ChatHarness:
    """The application wired to an offline Bot API and a real database."""

    def __init__(
        self,
        api: FakeBotApi,
        store: Store,
        admin_ids: frozenset[int] = frozenset(),
        *,
        offline: bool = True,
        flood_burst: int = Settings.flood_burst,
    ) -> None:
        """``offline=False`` keeps the bot the application builds (HTTP to ``api``, with
        the production retry policy), for tests of timeouts and transport faults.
        ``flood_burst=0`` turns flood control off, for scripts faster than any seller."""
        self.api = api
        settings = Settings(
            telegram_bot_token=TOKEN,
            telegram_api_url=api.base_url,
            admin_ids=admin_ids,
            flood_burst=flood_burst,
        )
        self.application: Application = build_application(settings, store=store)
        self.store = store
        if not offline:
            return
        # Offline: the same application, but its bot talks to the fake in-process.
        self.application.bot = Bot(
            TOKEN,
            base_url=api.base_url,
            request=InProcessRequest(api),
            get_updates_request=InProcessRequest(api),
        )

    async def __aenter__(self) -> ChatHarness:
        await self.application.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.application.shutdown()

    def seller(
        self, user_id: int = 1001, language_code: str = "en", first_name: str = "Li"
    ) -> Seller:
        return Seller(
            self, self.api.user(user_id, first_name=first_name, language_code=language_code)
        )

    async def deliver(self, chat_id: int, raw: dict[str, Any]) -> list[BotMessage]:
        """Handle one raw update through the real update path; return what changed in the chat."""
        mark = self.api.mark(chat_id)
        await handle_update(self.application, Update.de_json(raw, self.application.bot))
        return [e.message for e in self.api.events(chat_id, since=mark) if e.message is not None]
