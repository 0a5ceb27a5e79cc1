"""Telegram handlers: each turns an update into an event of the conversation core, applies
it once (:func:`bot.updates.run_update`) and sends what it decided.

The update's writes and its id are committed together before anything is sent, one update
of a user after another, so an answer is stored once and never lost, whichever process
handles the update.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.constants import ChatAction, ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import ContextTypes

from bot import sender
from bot.charts import progress_chart, weeks_chart
from bot.core.events import Command, Edited, Event, NotText, Pressed, Typed
from bot.replies import Reply, WeeksChart, language_for, text
from bot.storage.database import DATABASE_ERRORS
from bot.storage.models import utcnow
from bot.storage.repository import Store
from bot.updates import run_update

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]


def store_of(context: Context) -> Store:
    return context.application.bot_data["store"]


def responding(event_of: Callable[[Update, Context], Event], *, typing: bool = False) -> Handler:
    """A handler that applies the update's event once, then sends what was decided."""

    async def handle(update: Update, context: Context) -> None:
        tg_user, chat_ = update.effective_user, update.effective_chat
        if tg_user is None or chat_ is None:
            return
        if typing:
            await _typing(context, chat_.id)
        lang = language_for(tg_user.language_code)
        try:
            decision = await run_update(
                store_of(context),
                update_id=update.update_id,
                user_id=tg_user.id,
                language=lang,
                event=event_of(update, context),
                admin=tg_user.id in context.application.bot_data["settings"].admin_ids,
            )
        except DATABASE_ERRORS as exc:
            # No traceback: its SQL parameters can hold what the seller typed.
            log.error(
                "database unavailable while handling update %s (%s)",
                update.update_id,
                describe_error(exc),
            )
            await _answer_query(update, None)
            await sender.send_text(context.bot, chat_.id, text("db_unavailable", lang))
            return
        if decision is None:  # delivered before and already handled
            log.info("update %s already handled", update.update_id)
            await _answer_query(update, None)
            return
        try:
            await send_replies(update, context, chat_.id, await drawn(decision.replies))
        except NetworkError as exc:
            # Retried already where that was safe (bot.retrying_request). What is left may
            # have reached the seller (a timed-out send), so no apology is sent on top: the
            # step is committed, and the seller's next message carries on from it.
            log.warning(
                "reply to update %s not confirmed by Telegram (%s)",
                update.update_id,
                describe_error(exc),
            )

    return handle


async def drawn(replies: list[Reply]) -> list[Reply]:
    """The replies with their charts drawn: a tenth of a second of CPU each, off the event
    loop, so other chats go on."""
    for reply in replies:
        chart = reply.chart
        if chart is None or reply.photo is not None:
            continue
        if isinstance(chart, WeeksChart):
            weeks = list(chart.weeks)
            reply.photo = await asyncio.to_thread(weeks_chart, weeks, chart.currency, chart.lang)
        else:
            reply.photo = await asyncio.to_thread(progress_chart, list(chart.points), chart.lang)
    return replies


def describe_error(exc: BaseException) -> str:
    """The error's class and the first line of its message, for the log: a database
    driver's, or Telegram's reason ("BadRequest: Message is too long").

    Never the SQL parameters (what the seller typed): the engine hides them from the
    statement, and the driver's own first line names the failure, not the values.
    Telegram's reasons hold no secret either (the log filter redacts the token anyway)."""
    original = getattr(exc, "orig", None) or exc
    first_line = (str(original).strip().splitlines() or [""])[0][:200]
    return f"{type(original).__name__}: {first_line}" if first_line else type(original).__name__


async def send_replies(
    update: Update, context: Context, chat_id: int, replies: list[Reply]
) -> None:
    """Send or edit the replies (bot.sender) in one round trip where the seller cannot tell:
    the press answered, the answered question edited and the first new message go out
    together; new messages follow one another in order. The message of a new question is
    remembered once it is sent."""
    user = update.effective_user

    async def send(reply: Reply) -> None:
        message_id = await sender.send(context.bot, chat_id, reply)
        if reply.question_of is not None and message_id is not None and user is not None:
            checkup, field = reply.question_of
            store_of(context).remember_question_message(user.id, checkup, message_id, field)

    async def one_after_another(in_order: list[Reply]) -> None:
        for reply in in_order:
            await send(reply)

    beside, in_order = sender.arrange(replies)
    calls = [send(reply) for reply in beside]
    if in_order:
        calls.append(one_after_another(in_order))
    if update.callback_query is not None:
        calls.insert(0, _answer_query(update, next((r.toast for r in replies if r.toast), None)))
    if calls:
        await sender.together(*calls)


async def _answer_query(update: Update, toast: str | None) -> None:
    query = update.callback_query
    if query is None:
        return
    try:
        await sender.answer_query(update.get_bot(), query.id, toast)
    except BadRequest:  # too old to answer: nothing to do
        pass


async def _typing(context: Context, chat_id: int) -> None:
    try:
        await sender.chat_action(context.bot, chat_id, ChatAction.TYPING)
    except TelegramError:
        pass


# --- events ------------------------------------------------------------------------------
def _command(name: str, *, typing: bool = False) -> Handler:
    def event_of(update: Update, context: Context) -> Event:
        user = update.effective_user
        first_name = user.first_name if user is not None else ""
        return Command(name, " ".join(context.args or []), first_name)

    return responding(event_of, typing=typing)


def _typed(update: Update, context: Context) -> Event:
    message = update.effective_message
    return Typed(message.text if message is not None and message.text else "")


def _not_text(update: Update, context: Context) -> Event:
    message = update.effective_message
    if message is not None and message.sticker:
        return NotText("sticker")
    if message is not None and message.photo:
        return NotText("photo")
    if message is not None and (message.voice or message.audio):
        return NotText("voice")
    return NotText("other")


def _pressed(update: Update, context: Context) -> Event:
    query = update.callback_query
    if query is None:
        return Pressed(None)
    return Pressed(query.data, query.message.message_id if query.message else None)


# --- outside private chats ---------------------------------------------------------------
async def group_notice(update: Update, context: Context) -> None:
    """In groups and channels the bot only says, once per command, that it works in private."""
    message = update.effective_message
    if message is None or update.effective_chat is None:
        return
    lang = language_for(update.effective_user.language_code if update.effective_user else None)
    try:
        await sender.send_text(
            context.bot, message.chat_id, text("group_chat", lang), reply_to=message.message_id
        )
    except (BadRequest, Forbidden):
        pass


async def bot_blocked_or_unblocked(update: Update, context: Context) -> None:
    """A seller blocked the bot (Telegram says so at once): check-ins stop now, instead of
    at the next send's Forbidden. Unblocking changes nothing: check-ins come back only when
    the seller sets them up again. Nothing is stored for someone who never used the bot."""
    member = update.my_chat_member
    if member is None or member.chat.type != ChatType.PRIVATE:
        return
    if member.new_chat_member.status != ChatMemberStatus.BANNED:
        return
    try:
        async with store_of(context).unit() as uow:
            await uow.switch_off_checkins([member.from_user.id], utcnow())
    except DATABASE_ERRORS as exc:  # the next check-in's Forbidden switches them off then
        log.warning("could not switch off check-ins of a blocking user (%s)", describe_error(exc))
        return
    log.info("user %s blocked the bot: check-ins off, data kept", member.from_user.id)


async def slow_down(update: Update) -> None:
    """The one notice a flooding user gets. It reads nothing from the database: the update
    was dropped before reaching it, so the language comes from Telegram."""
    chat_ = update.effective_chat
    if chat_ is None or chat_.type != ChatType.PRIVATE:
        return  # in groups and channels a flood is simply ignored
    lang = language_for(update.effective_user.language_code if update.effective_user else None)
    try:
        await _answer_query(update, text("slow_down", lang))
        await sender.send_text(update.get_bot(), chat_.id, text("slow_down", lang))
    except TelegramError:
        log.info("could not send the slow-down notice")


async def on_error(update: object, context: Context) -> None:
    """Log the error and tell the user, without ever showing a traceback."""
    log.error("error while handling an update", exc_info=context.error)
    if (
        isinstance(update, Update)
        and update.effective_chat
        and update.effective_chat.type == ChatType.PRIVATE
    ):
        lang = language_for(update.effective_user.language_code if update.effective_user else None)
        try:
            await _answer_query(update, None)
            await sender.send_text(
                context.bot, update.effective_chat.id, text("internal_error", lang)
            )
        except TelegramError:
            log.warning("could not tell the user about the error")


start = _command("start")
help_ = _command("help")
privacy = _command("privacy")
language = _command("language")
checkup = _command("checkup")  # asks one question at once: no "typing" needed
cancel = _command("cancel")
advice = _command("advice", typing=True)
why = _command("why", typing=True)
whatif = _command("whatif", typing=True)
progress = _command("progress", typing=True)
price = _command("price")
export = _command("export", typing=True)
delete = _command("delete")
checkin = _command("checkin")
stats = _command("stats")
sold = _command("sold")
sales = _command("sales", typing=True)
customers = _command("customers", typing=True)
unknown_command = responding(lambda update, context: Command(""))
text_message = responding(_typed)
other_message = responding(_not_text)
edited_message = responding(lambda update, context: Edited())
button = responding(_pressed)
