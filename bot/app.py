"""Wiring: ``build_application(settings)`` puts the handlers, storage and processing together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from advice.checkin import load_checkin
from advice.data import load_benchmarks, load_sales_data, load_strings
from advice.engine import default_rulebook
from advice.pricing import keywords as pricing_keywords
from advice.questionnaire import load_questionnaire
from bot import handlers
from bot.config import Settings
from bot.flood import FloodGate, Verdict
from bot.replies import TEXTS_PATH
from bot.retrying_request import RetryingRequest
from bot.send_hold import SendHold
from bot.storage.database import create_engine, session_factory
from bot.storage.repository import Store

log = logging.getLogger(__name__)

COMMANDS = (
    "start", "checkup", "advice", "why", "whatif", "progress", "price", "checkin", "sold",
    "sales", "customers", "cancel", "language", "export", "delete", "privacy", "help",
)  # fmt: skip
UPDATES_AT_ONCE = 256  # of different users (PerUserUpdateProcessor)
# An update's replies have up to three Bot API calls in flight together (the press answered,
# the answered question edited, the next message sent: bot.handlers.send_replies), so the
# connection pool holds that many for each update, and none waits for a free connection.
CONNECTIONS = UPDATES_AT_ONCE * 3
COMMAND_DESCRIPTIONS = {
    "en": {
        "start": "Welcome and what I do",
        "checkup": "Check-up of your four levers of sales",
        "advice": "Your latest advice",
        "why": "Why that advice",
        "whatif": "What if one lever changed",
        "progress": "Your levers and estimate over time",
        "price": "Margin calculator: what one order leaves you",
        "checkin": "Regular check-ins: how often, when",
        "sold": "Log a sale: /sold 180 2 cakes @Lena",
        "sales": "This week's and the last four weeks' sales",
        "customers": "Your customers, who is due for a follow-up",
        "cancel": "Stop the check-up in progress",
        "language": "English / 中文",
        "export": "All your data as a file",
        "delete": "Delete all your data",
        "privacy": "What I store and why",
        "help": "Everything I can do",
    },
    "zh": {
        "start": "欢迎和功能介绍",
        "checkup": "诊断你的四个销售杠杆",
        "advice": "最近一次的建议",
        "why": "为什么这样建议",
        "whatif": "如果某个杠杆变了会怎样",
        "progress": "杠杆和估算随时间的变化",
        "price": "利润计算器：每单能赚多少",
        "checkin": "定期复查：频率和时间",
        "sold": "记一笔成交：/sold 180 2 蛋糕 @小李",
        "sales": "本周和前四周的成交",
        "customers": "客户名单，该回访谁",
        "cancel": "停止当前诊断",
        "language": "English / 中文",
        "export": "导出全部数据",
        "delete": "删除全部数据",
        "privacy": "我保存什么、为什么",
        "help": "全部功能",
    },
}


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Different users concurrently; one user's updates one at a time, in arrival order.

    A user over the flood limit has the update dropped on arrival (see bot.flood), before
    it waits for its turn; ``on_flood`` tells them, once, to slow down.
    """

    def __init__(
        self,
        max_concurrent_updates: int = UPDATES_AT_ONCE,
        flood_gate: FloodGate | None = None,
        on_flood: Callable[[Update], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._holders: dict[int, int] = {}
        self.flood_gate = flood_gate if flood_gate is not None else FloodGate(burst=0)
        self.on_flood = on_flood

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _user_key(update)
        if key is None:
            await coroutine
            return
        verdict = self.flood_gate.admit(key)
        if verdict is not Verdict.PASS:
            coroutine.close()  # type: ignore[attr-defined]  # never started: nothing stored
            if verdict is Verdict.WARN and self.on_flood is not None and isinstance(update, Update):
                await self.on_flood(update)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._holders[key] = self._holders.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._holders[key] -= 1
            if not self._holders[key]:  # forget idle users so memory stays flat
                del self._holders[key], self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _user_key(update: object) -> int | None:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None


async def handle_update(application: Application, update: Update) -> None:
    """Process one update through the per-user ordering; returns once it is handled."""
    await application.update_processor.process_update(update, application.process_update(update))


def build_application(settings: Settings, store: Store | None = None) -> Application:
    """The bot: handlers, storage and per-user ordering, configured from ``settings``."""
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    engine = None
    if store is None:
        engine = create_engine(settings.database_url)
        store = Store(session_factory(engine))
    hold = SendHold(store)  # a 429 met by any request holds every process back
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_api_url.replace("/bot", "/file/bot"))
        .request(RetryingRequest(HTTPXRequest(connection_pool_size=CONNECTIONS), hold=hold))
        .concurrent_updates(
            PerUserUpdateProcessor(
                flood_gate=FloodGate(settings.flood_burst, settings.flood_rate),
                on_flood=handlers.slow_down,
            )
        )
        .updater(None)  # updates arrive through handle_update: bot.polling or bot.webhook
        .build()
    )
    if engine is not None:
        application.bot_data["engine"] = engine
    application.bot_data["store"] = store
    application.bot_data["send_hold"] = hold
    application.bot_data["settings"] = settings
    add_handlers(application)
    load_data_files()
    return application


def load_data_files() -> None:
    """Read every data file (questions, rules, benchmarks, texts) now, not when the first
    seller needs one: a broken file stops the bot before it serves anyone."""
    load_strings()
    load_strings(TEXTS_PATH)
    load_benchmarks()
    load_questionnaire()
    load_checkin()
    load_sales_data()
    default_rulebook()
    pricing_keywords()


def add_handlers(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    # Button presses first: most updates during a check-up are, and no other handler takes one.
    application.add_handler(CallbackQueryHandler(handlers.button))
    command_handlers = {
        "start": handlers.start,
        "checkup": handlers.checkup,
        "advice": handlers.advice,
        "why": handlers.why,
        "whatif": handlers.whatif,
        "progress": handlers.progress,
        "price": handlers.price,
        "checkin": handlers.checkin,
        "sold": handlers.sold,
        "sales": handlers.sales,
        "customers": handlers.customers,
        "cancel": handlers.cancel,
        "language": handlers.language,
        "export": handlers.export,
        "delete": handlers.delete,
        "privacy": handlers.privacy,
        "help": handlers.help_,
        "stats": handlers.stats,  # operators only, and not in the command menu (COMMANDS)
    }
    for name, callback in command_handlers.items():
        application.add_handler(
            CommandHandler(name, callback, filters=private & filters.UpdateType.MESSAGE)
        )
    application.add_handler(
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, handlers.edited_message)
    )
    application.add_handler(
        MessageHandler(
            private & filters.COMMAND & filters.UpdateType.MESSAGE,
            handlers.unknown_command,
        )
    )
    application.add_handler(
        MessageHandler(private & filters.TEXT & filters.UpdateType.MESSAGE, handlers.text_message)
    )
    application.add_handler(
        MessageHandler(private & filters.UpdateType.MESSAGE, handlers.other_message)
    )
    application.add_handler(
        MessageHandler(
            ~private & filters.COMMAND & filters.UpdateType.MESSAGE, handlers.group_notice
        )
    )
    application.add_handler(
        ChatMemberHandler(handlers.bot_blocked_or_unblocked, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    # Anything else (channel posts, other member updates, unknown update types) matches no handler
    # and is deliberately left unanswered.
    application.add_error_handler(handlers.on_error)


async def register_commands(application: Application) -> None:
    """The command menu in English (default) and Chinese."""
    for lang, language_code in (("en", None), ("zh", "zh")):
        commands = [BotCommand(c, COMMAND_DESCRIPTIONS[lang][c]) for c in COMMANDS]
        await application.bot.set_my_commands(commands, language_code=language_code)


async def dispose(application: Application) -> None:
    engine = application.bot_data.get("engine")
    if engine is not None:
        await engine.dispose()
