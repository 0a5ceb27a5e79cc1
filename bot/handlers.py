"""Telegram handlers: small functions that map an update to a conversation step.

Each handler runs inside :func:`unit_of_work`: the update's writes and its id are committed
together before anything is sent, one update of a user after another, so an answer is
stored once and never lost, whichever process handles the update (see Store.update_unit).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram import Update
from telegram.constants import ChatAction, ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import ContextTypes

from bot import callbacks as cb
from bot import conversation as chat
from bot import seller_data, sender
from bot.checkins import chat as checkins
from bot.checkins import settings as checkin_settings
from bot.replies import Reply, language_for, text, unknown_button
from bot.storage.models import CheckupKind, User, utcnow
from bot.storage.repository import Contended, Store, Unit

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
Step = Callable[[Unit, User, Update, Context], Awaitable[list[Reply]]]
DATABASE_ERRORS = (OperationalError, DBAPIError, PoolTimeout, OSError)


def store_of(context: Context) -> Store:
    return context.application.bot_data["store"]


def unit_of_work(
    step: Step, *, typing: bool = False
) -> Callable[[Update, Context], Awaitable[None]]:
    """Run ``step`` in one transaction for the update, then send what it returned."""

    @wraps(step)
    async def handle(update: Update, context: Context) -> None:
        tg_user, chat_ = update.effective_user, update.effective_chat
        if tg_user is None or chat_ is None:
            return
        if typing:
            await _typing(context, chat_.id)
        lang = language_for(tg_user.language_code)
        try:
            for optimistic in (True, False):  # see Store.update_unit
                try:
                    async with store_of(context).update_unit(
                        update.update_id, tg_user.id, lang, optimistic=optimistic
                    ) as handled:
                        if handled is None:  # delivered before and already handled
                            log.info("update %s already handled", update.update_id)
                            await _answer_query(update, None)
                            return
                        uow, user = handled
                        lang = user.language
                        replies = await step(uow, user, update, context)
                    break
                except Contended:  # another update of this user came first: nothing was written
                    continue
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
        try:
            await send_replies(update, context, chat_.id, replies)
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


# --- commands ----------------------------------------------------------------------------
async def _start(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    first_name = update.effective_user.first_name if update.effective_user else ""
    return chat.welcome(user, first_name)


async def _help(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    return chat.help_reply(user.language)


async def _privacy(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    return chat.privacy_reply(user.language)


async def _language(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    return chat.language_menu(user.language)


async def _checkup(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    return await chat.begin_checkup(uow, user)


async def _cancel(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    if await uow.active_checkup(user.id) is None:
        checkin = await uow.active_checkup(user.id, CheckupKind.CHECKIN)
        if checkin is not None:
            return await checkins.cancel_checkin(uow, user, checkin)
    return await chat.cancel_checkup(uow, user)


async def _advice(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    return await chat.show_advice(uow, user)


async def _why(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    return await chat.show_advice(uow, user, view="why")


async def _whatif(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    return await chat.whatif(uow, user, args=" ".join(context.args or []) or None)


async def _progress(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    return await chat.show_progress(uow, user)


async def _export(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    return await seller_data.export_data(uow, user)


async def _delete(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    return seller_data.delete_prompt(user.language)


async def _checkin(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    return await checkin_settings.settings_menu(uow, user)


async def _stats(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    """Figures for the operators in ADMIN_IDS; to anyone else the command does not exist."""
    if user.id not in context.application.bot_data["settings"].admin_ids:
        return await _unknown_command(uow, user, update, context)
    return seller_data.stats_reply(await uow.stats(), user.language)


async def _unknown_command(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    active = await uow.active_checkup(user.id)
    if active is not None:
        return [
            Reply(text("command_during_checkup", user.language)),
            *await chat.ask_current(uow, user, active),
        ]
    return [Reply(text("unknown_command", user.language))]


# --- messages ----------------------------------------------------------------------------
async def _text(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    message = update.effective_message
    typed = message.text if message and message.text else ""
    active = await uow.active_checkup(user.id)
    if active is not None:
        return await chat.answer_text(uow, user, active, typed)
    checkin = await uow.active_checkup(user.id, CheckupKind.CHECKIN)
    if checkin is not None:
        return await checkins.answer_text(uow, user, checkin, typed)
    prompt = checkin_settings.awaiting(await uow.settings(user.id), utcnow())
    if prompt == "hour":
        return await checkin_settings.typed_hour(uow, user, typed)
    if prompt == "time_zone":
        return await checkin_settings.typed_zone(uow, user, typed)
    return await chat.idle_text(uow, user)


async def _not_text(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    message = update.effective_message
    kind = "kind_other"
    if message is not None:
        if message.sticker:
            kind = "kind_sticker"
        elif message.photo:
            kind = "kind_photo"
        elif message.voice or message.audio:
            kind = "kind_voice"
    lang = user.language
    replies = [Reply(text("only_text", lang, kind=text(kind, lang)))]
    active = await uow.active_checkup(user.id)
    if active is not None:
        replies += await chat.current_question(uow, user, active)
    return replies


async def _edited(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    if await uow.active_checkup(user.id) is None:
        return []
    return [Reply(text("edited_ignored", user.language))]


# --- buttons -----------------------------------------------------------------------------
# A button's step: (unit, user, the button pressed, the id of the message it is on).
ButtonStep = Callable[[Unit, User, Any, int | None], Awaitable[list[Reply]]]


async def _button(uow: Unit, user: User, update: Update, context: Context) -> list[Reply]:
    """Any button press: its kind's step (BUTTONS), or the unknown-button reply for data
    the bot would not have sent."""
    query = update.callback_query
    button = cb.parse(query.data if query else None)
    if query is None or button is None:
        return [unknown_button(user.language)]
    return await BUTTONS[type(button)](
        uow, user, button, query.message.message_id if query.message else None
    )


async def _resume_pressed(
    uow: Unit, user: User, button: cb.CheckupResume, pressed: int | None
) -> list[Reply]:
    return await (
        chat.continue_checkup(uow, user)
        if button.choice == "go"
        else chat.restart_checkup(uow, user)
    )


async def _menu_pressed(uow: Unit, user: User, button: cb.Menu, pressed: int | None) -> list[Reply]:
    if button.item == "checkup":
        return await chat.begin_checkup(uow, user)
    if button.item == "checkin":
        return await checkin_settings.settings_menu(uow, user)
    return (
        chat.language_menu(user.language)
        if button.item == "language"
        else chat.help_reply(user.language)
    )


async def _advice_pressed(
    uow: Unit, user: User, button: cb.AdviceView, pressed: int | None
) -> list[Reply]:
    return await chat.show_advice(uow, user, view=button.view, report_id=button.report)


async def _whatif_pressed(
    uow: Unit, user: User, button: cb.WhatIf, pressed: int | None
) -> list[Reply]:
    return await chat.whatif(uow, user, lever=button.lever)  # "ask": which lever?


async def _language_pressed(
    uow: Unit, user: User, button: cb.Language, pressed: int | None
) -> list[Reply]:
    return await chat.set_language(uow, user, button.language)


BUTTONS: dict[type[cb.CallbackData], ButtonStep] = {
    cb.Choose: chat.choose,
    cb.Toggle: chat.toggle,
    cb.MultiDone: chat.multi_done,
    cb.Back: chat.back,
    cb.Skip: chat.skip,
    cb.DontKnow: chat.dont_know,
    cb.CheckupResume: _resume_pressed,
    cb.Menu: _menu_pressed,
    cb.AdviceView: _advice_pressed,
    cb.WhatIf: _whatif_pressed,
    cb.Language: _language_pressed,
    cb.Delete: seller_data.delete_pressed,
    cb.CheckinOffer: checkins.answer_offer,
    cb.RoundAction: checkins.round_action,
    cb.SameAsLastTime: checkins.same_as_last_time,
    cb.FollowUp: checkins.follow_up,
    cb.CheckinSettings: checkin_settings.settings_button,
    cb.Cadence: checkin_settings.choose_cadence,
    cb.Day: checkin_settings.choose_day,
    cb.Hour: checkin_settings.choose_hour,
    cb.Zone: checkin_settings.choose_zone,
}


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


start = unit_of_work(_start)
help_ = unit_of_work(_help)
privacy = unit_of_work(_privacy)
language = unit_of_work(_language)
checkup = unit_of_work(_checkup)  # asks one question at once: no "typing" needed
cancel = unit_of_work(_cancel)
advice = unit_of_work(_advice, typing=True)
why = unit_of_work(_why, typing=True)
whatif = unit_of_work(_whatif, typing=True)
progress = unit_of_work(_progress, typing=True)
export = unit_of_work(_export, typing=True)
delete = unit_of_work(_delete)
checkin = unit_of_work(_checkin)
stats = unit_of_work(_stats)
unknown_command = unit_of_work(_unknown_command)
text_message = unit_of_work(_text)
other_message = unit_of_work(_not_text)
edited_message = unit_of_work(_edited)
button = unit_of_work(_button)
