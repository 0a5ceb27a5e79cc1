"""The one sender: every message the bot sends or edits goes out through here.

Replies, edits, photos with captions, documents, check-ins and notices all go through
:func:`send`, so Telegram's limits are kept in one place:

* **Size.** A text over 4,096 characters or a caption over 1,024 (as Telegram counts them,
  after the HTML is parsed) is cut into several messages by :mod:`bot.splitting`, at the
  last blank line, line break or space that fits. The buttons go on the last part, whose
  id is the one returned: an answer to a question edits the message with its buttons. A
  photo or document whose caption is too long carries the first part, the rest follow as
  texts; an edit too long becomes the first part, the rest follow as new messages.
* **Rate.** Each request passes :class:`bot.retrying_request.RetryingRequest`, which holds
  every send back while a 429 lasts, in this process and, through the shared hold
  (:mod:`bot.send_hold`), in every other. Messages the bot starts itself (check-ins) also
  take a turn of the 30-a-second budget shared through the database (``pace``).
* **Order.** The replies to one update go out with one round trip where the seller cannot
  tell the difference (:func:`arrange` and :func:`together`): answering the press, editing
  the answered question and sending the first new message do not depend on each other, so
  they are in flight at once. New messages, and the parts of one, are sent one after the
  other: the seller reads them in that order.

Requests go through python-telegram-bot's public ``Bot.do_api_request`` with the JSON
parameters, and the raw JSON result comes back: the bot needs only a message id, and
building a full Message costs more than the rest of sending it. Method names are written in
lower case: the Bot API takes them in any case, and python-telegram-bot then does not warn
that a method of its own exists for them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Bot, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.replies import Reply
from bot.splitting import CAPTION_LIMIT, TEXT_LIMIT, fits, split_html

log = logging.getLogger(__name__)

Pace = Callable[[], Awaitable[None]]
"""Waits for this process's turn to send one message (the shared 30-a-second budget)."""


async def send(bot: Bot, chat_id: int, reply: Reply, *, pace: Pace | None = None) -> int | None:
    """Send or edit one reply, in as many messages as its length needs.

    Returns the id of the message that carries the reply's buttons (the last one sent, or
    the message edited), or None when Telegram refused an edit (the message is gone or
    already shows this text: the next message carries on). Raises telegram.error.*."""
    markup = keyboard(reply)
    if reply.edit_message_id is not None:
        return await _edit(bot, chat_id, reply.edit_message_id, reply.html, markup, pace)
    if reply.photo is not None:
        return await _with_file(
            bot,
            chat_id,
            "sendphoto",
            "photo",
            InputFile(reply.photo, filename="progress.png"),
            reply.html,
            markup,
            pace,
        )
    if reply.document is not None:
        name, payload = reply.document
        return await _with_file(
            bot,
            chat_id,
            "senddocument",
            "document",
            InputFile(payload, filename=name),
            reply.html,
            markup,
            pace,
        )
    return await _texts(bot, chat_id, split_html(reply.html, TEXT_LIMIT), markup, pace)


def arrange(replies: Sequence[Reply]) -> tuple[list[Reply], list[Reply]]:
    """The replies that may go out at once, and those to send one after another, in order.

    An edit of an earlier message that fits in one message is seen in place, wherever the
    new messages are: it goes out beside them. New messages, an edit too long for one
    message (its rest follows as new messages) and the edits of a message edited twice
    (the older text could win) keep their order: the seller reads them one after the other."""
    edited = [reply.edit_message_id for reply in replies if reply.edit_message_id is not None]
    beside: list[Reply] = []
    in_order: list[Reply] = []
    for reply in replies:
        alone = reply.edit_message_id is not None and edited.count(reply.edit_message_id) == 1
        if alone and fits(reply.html, TEXT_LIMIT):
            beside.append(reply)
        else:
            in_order.append(reply)
    return beside, in_order


async def together(*calls: Awaitable[Any]) -> None:
    """Await calls that do not depend on each other at once: one round trip for all.

    Each runs to its end whatever the others meet (an edit refused does not stop the next
    question). Then the first failure, in the order the calls were given, is raised for the
    caller to handle as it would a single call's; any later one is logged here."""
    if len(calls) == 1:  # nothing to overlap: no task to make
        await calls[0]
        return
    results = await asyncio.gather(*calls, return_exceptions=True)
    failures = [result for result in results if isinstance(result, BaseException)]
    if not failures:
        return
    for later in failures[1:]:
        if isinstance(later, TelegramError):
            log.warning("a reply sent beside another failed too (%s)", later.message)
        else:
            log.error("a reply sent beside another failed too", exc_info=later)
    raise failures[0]


async def send_text(bot: Bot, chat_id: int, html: str, *, reply_to: int | None = None) -> int:
    """A notice in HTML, without buttons (quoting message ``reply_to``, if given)."""
    return await _texts(bot, chat_id, split_html(html, TEXT_LIMIT), None, None, reply_to)


async def answer_query(bot: Bot, query_id: str, toast: str | None) -> None:
    """Answer a button press (``toast``: the small pop-up, if any)."""
    await call(bot, "answercallbackquery", callback_query_id=query_id, text=toast)


async def chat_action(bot: Bot, chat_id: int, action: str) -> None:
    await call(bot, "sendchataction", chat_id=chat_id, action=action)


async def call(bot: Bot, method: str, **parameters: Any) -> Any:
    """One Bot API method (named in lower case) with JSON parameters; its raw JSON result.

    Through the bot's own request object, so the retries and the 429 hold of
    bot.retrying_request apply and Telegram's errors are raised as telegram.error.*."""
    return await bot.do_api_request(method, api_kwargs=parameters)  # None values are left out


def keyboard(reply: Reply) -> str | None:
    """The reply's buttons as Telegram's inline keyboard markup, JSON-encoded (as the Bot
    API takes it: python-telegram-bot then passes it on as it is, which costs a fifth of
    a send less than having it walk and encode the dict)."""
    if not reply.buttons:
        return None
    rows = [[{"text": b.label, "callback_data": b.data} for b in row] for row in reply.buttons]
    return json.dumps({"inline_keyboard": rows}, ensure_ascii=False, separators=(",", ":"))


async def _texts(
    bot: Bot, chat_id: int, parts: list[str], markup: str | None, pace: Pace | None,
    reply_to: int | None = None,
) -> int:  # fmt: skip
    message_id = 0
    for number, part in enumerate(parts, start=1):
        if pace is not None:
            await pace()
        quote = (
            {"message_id": reply_to, "allow_sending_without_reply": True}
            if reply_to and number == 1
            else None
        )
        sent = await call(
            bot, "sendmessage", chat_id=chat_id, text=part, parse_mode=ParseMode.HTML,
            reply_markup=markup if number == len(parts) else None, reply_parameters=quote,
        )  # fmt: skip
        message_id = sent["message_id"]
    return message_id


async def _edit(
    bot: Bot, chat_id: int, message_id: int, html: str, markup: str | None, pace: Pace | None
) -> int | None:
    first, *rest = split_html(html, TEXT_LIMIT)
    try:
        await call(
            bot, "editmessagetext", chat_id=chat_id, message_id=message_id, text=first,
            parse_mode=ParseMode.HTML, reply_markup=None if rest else markup,
        )  # fmt: skip
    except BadRequest as exc:  # gone or unchanged: the next message carries on
        log.info("edit skipped: %s", exc.message)
        return None
    return await _texts(bot, chat_id, rest, markup, pace) if rest else message_id


async def _with_file(
    bot: Bot, chat_id: int, method: str, field: str, file: InputFile, html: str,
    markup: str | None, pace: Pace | None,
) -> int:  # fmt: skip
    """A photo or document with ``html`` as its caption; a caption too long is the first
    part of the text, whose other parts follow as messages (the buttons on the last)."""
    caption: str | None = None
    rest: list[str] = []
    if html:
        caption, *rest = split_html(html, TEXT_LIMIT, first_limit=CAPTION_LIMIT)
    if pace is not None:
        await pace()
    sent = await call(
        bot, method, chat_id=chat_id, **{field: file}, caption=caption,
        parse_mode=ParseMode.HTML if caption else None, reply_markup=None if rest else markup,
    )  # fmt: skip
    return await _texts(bot, chat_id, rest, markup, pace) if rest else sent["message_id"]
