"""The fake Bot API, proven with python-telegram-bot itself as the client.

Why PTB: the bot talks to Telegram through PTB, so the fake is only useful if PTB's requests
(form data, multipart uploads, JSON-encoded keyboards) are understood and its answers parse
into the same objects and exceptions production produces.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dtm
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonCommands,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.support.fake_bot_api import FakeBotApi, FakeUser
from tests.support.telegram_html import parse_html

TOKEN = "123456:TEST-token"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
YES_NO = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Yes", callback_data="yes"),
            InlineKeyboardButton("No", callback_data="no"),
        ]
    ]
)


@pytest.fixture
def user(api: FakeBotApi) -> FakeUser:
    """A user who has written to the bot, so the bot may message them."""
    user = api.user(1001, first_name="Li", language_code="zh-hans")
    api.send_text(user, "/start")
    return user


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url) as client:
        yield client


@pytest.fixture
def http(api: FakeBotApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{api.port}") as client:
        yield client


async def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_get_me_wrong_token_and_unknown_method(api: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "seller_coach_test_bot", True)
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy")
    with pytest.raises(InvalidToken):
        async with Bot("123456:wrong-token", base_url=api.base_url):
            pass


# -- a real Application, polling ------------------------------------------------------------


async def greet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_html(f"<b>Hello</b>, {update.effective_user.first_name}!")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(f"echo: {update.message.text}", reply_markup=YES_NO)


async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer("Saved")
    await query.edit_message_text(f"You chose {query.data}")


async def test_application_polls_echoes_and_edits_on_button_press(api: FakeBotApi) -> None:
    user = api.user(1001, first_name="Li", language_code="zh-hans")
    app = ApplicationBuilder().token(TOKEN).base_url(api.base_url).build()
    app.add_handler(CommandHandler("start", greet))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(choose))
    async with app:
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        try:
            mark = api.mark(user)
            api.send_text(user, "/start")
            hello = await asyncio.to_thread(api.wait_for_message, user, since=mark, timeout=5)
            assert (hello.text, hello.html) == ("Hello, Li!", "<b>Hello</b>, Li!")

            mark = api.mark(user)
            api.send_text(user, "how are sales?")
            reply = await asyncio.to_thread(api.wait_for_message, user, since=mark, timeout=5)
            assert reply.text == "echo: how are sales?"
            assert reply.buttons == [[("Yes", "yes"), ("No", "no")]]

            mark = api.mark(user)
            api.press_button_labelled(user, reply, "Yes")
            edited = await asyncio.to_thread(
                api.wait_for_message, user, lambda m: m.edits == 1, 5, mark
            )
            assert (edited.message_id, edited.text, edited.buttons) == (
                reply.message_id,
                "You chose yes",
                [],
            )
        finally:
            await app.updater.stop()
            await app.stop()
    assert api.pending_updates() == 0, "PTB's last getUpdates confirms what it fetched"
    assert api.transcript(user).splitlines() == [
        "> /start",
        "< Hello, Li!",
        "> how are sales?",
        "< echo: how are sales? [Yes | No]",
        "> [pressed 'Yes' (yes)]",
        "[callback answer: Saved]",
        "~ edited: You chose yes",
    ]


# -- getUpdates ---------------------------------------------------------------------------


async def test_get_updates_long_polls_and_confirms_below_offset(api: FakeBotApi, bot: Bot) -> None:
    user = api.user(1001)
    threading.Timer(0.2, api.send_text, args=(user, "late")).start()
    started = time.monotonic()
    updates = await bot.get_updates(timeout=3)
    assert 0.15 < time.monotonic() - started < 2
    assert [u.message.text for u in updates] == ["late"]
    assert api.pending_updates() == 1, "fetching alone does not confirm"
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
    assert api.pending_updates() == 0

    started = time.monotonic()
    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.3)) == ()
    assert time.monotonic() - started >= 0.25


async def test_a_second_poller_terminates_the_first_with_conflict(
    api: FakeBotApi, bot: Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    async with Bot(TOKEN, base_url=api.base_url) as other_instance:
        assert await other_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await first


async def test_allowed_updates_filter_new_updates(api: FakeBotApi, bot: Bot) -> None:
    user = api.user(1001)
    await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    api.send_text(user, "dropped: messages are not wanted")
    assert api.pending_updates() == 0
    await bot.get_updates(timeout=0, allowed_updates=[])
    api.send_text(user, "kept")
    assert api.pending_updates() == 1


async def test_raw_and_media_updates_parse_in_ptb(
    api: FakeBotApi, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    user = api.user(1001)
    api.send_sticker(user, emoji="🔥")
    api.send_photo(user, caption="my shop")
    api.send_voice(user, duration=4)
    edited = {"message_id": 1, "date": 0, "edit_date": 1, "text": "fixed"}
    api.send_update({"edited_message": edited | {"chat": user.chat_dict(), "from": user.to_dict()}})
    channel = {"id": -100500, "type": "channel", "title": "Shop news", "username": "shopnews"}
    api.send_update({"channel_post": {"message_id": 7, "date": 0, "chat": channel, "text": "hi"}})
    api.send_update({"update_id": 999, "unknown_kind": {"x": 1}})
    updates = await bot.get_updates(timeout=0)
    assert updates[0].message.sticker.emoji == "🔥"
    assert updates[1].message.caption == "my shop"
    assert len(updates[1].message.photo) == 3
    assert updates[2].message.voice.duration == dtm.timedelta(seconds=4)
    assert updates[3].edited_message.text == "fixed"
    assert updates[4].channel_post.chat.title == "Shop news"
    assert updates[5].update_id == 999
    resent = await bot.send_photo(user.id, updates[1].message.photo[-1].file_id)
    assert resent.photo[-1].file_id == updates[1].message.photo[-1].file_id
    assert "> [edited_message] fixed" in api.transcript(user)
    sent = await bot.send_message("@shopnews", "to the channel")
    assert (sent.chat.id, sent.message_id) == (-100500, 8)


# -- validation, like Telegram's ------------------------------------------------------------


async def test_html_is_parsed_and_both_forms_are_stored(
    api: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    html = '<b>Hi</b> &amp; <a href="https://shop.example/?a=1&b=2">bye</a> &#128512;'
    sent = await bot.send_message(user.id, html, parse_mode="HTML")
    assert sent.text == "Hi & bye 😀"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 2),
        ("text_link", 5, 3),
    ]
    stored = api.messages(user)[-1]
    assert (stored.text, stored.html, stored.parse_mode) == (sent.text, html, "HTML")


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("a < b", 'unsupported start tag "" at byte offset 2'),
        ("line<br>break", 'unsupported start tag "br" at byte offset 4'),
        ("<b>bold</i>", 'unmatched end tag at byte offset 7, expected "</b>", found "</i>"'),
        ("<b>never closed", "can't find end tag corresponding to start tag b"),
        ("Tom & Jerry", 'character "&" must be escaped as "&amp;" at byte offset 4'),
        ("caf&eacute;", 'character "&" must be escaped as "&amp;" at byte offset 3'),
        ("¥55 -> ¥17", 'character ">" must be escaped as "&gt;" at byte offset 6'),
        ("<span>x</span>", 'tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("</b>", "unexpected end tag at byte offset 0"),
    ],
)
async def test_invalid_html_is_rejected(bot: Bot, user: FakeUser, html: str, reason: str) -> None:
    with pytest.raises(BadRequest) as error:
        await bot.send_message(user.id, html, parse_mode="HTML")
    assert error.value.message.lower() == f"can't parse entities: {reason}".lower()


def test_html_parser_accepts_what_telegram_accepts() -> None:
    assert parse_html("a &gt; b &lt c &#x41;") == ("a > b < c A", [])
    text, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert text == "x = 1"
    assert entities == [{"offset": 0, "length": 5, "type": "pre", "language": "python"}]
    assert parse_html("<blockquote expandable>q</blockquote>")[1][0]["type"] == (
        "expandable_blockquote"
    )
    assert parse_html('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>')[0] == "st"
    assert parse_html("😀<i>x</i>")[1] == [{"offset": 2, "length": 1, "type": "italic"}]


async def test_text_and_caption_limits(bot: Bot, user: FakeUser) -> None:
    assert len((await bot.send_message(user.id, "x" * 4096)).text) == 4096
    await bot.send_message(user.id, f"<b>{'x' * 4096}</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(user.id, "x" * 4097)
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(user.id, "  \n ")
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(user.id, "<b></b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message caption is too long"):
        await bot.send_document(user.id, b"data", filename="a.txt", caption="c" * 1025)


@pytest.mark.parametrize(
    ("shown", "fits"),
    [
        ("&amp;" * 4096, True),  # a character reference is one character
        ("&amp;" * 4097, False),
        ("<i>x</i>" * 4096, True),  # tags count nothing
        ("好" * 4096, True),  # one UTF-16 unit each
        ("好" * 4097, False),
        ("😀" * 2048, True),  # outside the basic plane: two UTF-16 units each, as Telegram counts
        ("😀" * 2048 + "x", False),
        (" " * 10 + "x" * 4096 + "\n" * 10, True),  # the blank edges are trimmed first
    ],
)
async def test_the_text_limit_counts_what_is_shown_after_parsing(
    bot: Bot, user: FakeUser, shown: str, fits: bool
) -> None:
    if fits:
        await bot.send_message(user.id, shown, parse_mode="HTML")
        return
    with pytest.raises(BadRequest, match="^Message is too long$"):
        await bot.send_message(user.id, shown, parse_mode="HTML")


async def test_the_caption_limit_counts_what_is_shown_after_parsing(
    bot: Bot, user: FakeUser
) -> None:
    await bot.send_document(
        user.id,
        b"data",
        filename="a.txt",
        caption="<b>" + "&lt;" * 1024 + "</b>",
        parse_mode="HTML",
    )
    with pytest.raises(BadRequest, match="^Message caption is too long$"):
        await bot.send_document(
            user.id, b"data", filename="a.txt", caption="😀" * 513, parse_mode="HTML"
        )


async def test_an_edit_is_held_to_the_text_limit(bot: Bot, user: FakeUser) -> None:
    sent = await bot.send_message(user.id, "short")
    with pytest.raises(BadRequest, match="^Message is too long$"):
        await bot.edit_message_text("x" * 4097, user.id, sent.message_id)


@pytest.mark.parametrize(
    ("button", "reason"),
    [
        (InlineKeyboardButton("x", callback_data="d" * 65), "button_data_invalid"),
        (InlineKeyboardButton("x", callback_data="é" * 33), "button_data_invalid"),
        (InlineKeyboardButton("x"), "text buttons are unallowed in the inline keyboard"),
        (InlineKeyboardButton(" ", callback_data="d"), "button_text_invalid"),
    ],
)
async def test_invalid_inline_buttons_are_rejected(
    bot: Bot, user: FakeUser, button: InlineKeyboardButton, reason: str
) -> None:
    with pytest.raises(BadRequest) as error:
        await bot.send_message(user.id, "pick", reply_markup=InlineKeyboardMarkup([[button]]))
    assert reason in error.value.message.lower()


async def test_callback_data_of_exactly_64_bytes_is_fine(
    api: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    data = "é" * 32
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data=data)]])
    await bot.send_message(user.id, "pick", reply_markup=markup)
    assert api.messages(user)[-1].buttons == [[("ok", data)]]


async def test_only_chats_someone_wrote_from_are_reachable(api: FakeBotApi, bot: Bot) -> None:
    silent = api.user(2002)
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(silent.id, "hello?")
    api.send_text(silent, "hi")
    assert (await bot.send_message(silent.id, "hello!")).chat.id == silent.id


async def test_edit_rules(api: FakeBotApi, bot: Bot, user: FakeUser) -> None:
    sent = await bot.send_message(user.id, "Pick one", reply_markup=YES_NO)
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Pick one", user.id, sent.message_id, reply_markup=YES_NO)
    await bot.edit_message_text("<i>Pick one</i>", user.id, sent.message_id, parse_mode="HTML")
    current = api.messages(user)[-1]
    assert (current.text, current.edits, current.buttons) == ("Pick one", 1, []), (
        "a text edit without reply_markup removes the keyboard, as on Telegram"
    )
    await bot.edit_message_reply_markup(user.id, sent.message_id, reply_markup=YES_NO)
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_reply_markup(user.id, sent.message_id, reply_markup=YES_NO)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", user.id, 999)
    assert await bot.delete_message(user.id, sent.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("gone", user.id, sent.message_id)
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)
    assert api.messages(user)[-1].deleted


async def test_callback_queries_are_answered_once(
    api: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    sent = await bot.send_message(user.id, "Pick one", reply_markup=YES_NO)
    api.press_button(user, sent.message_id, "no")
    query = (await bot.get_updates(timeout=0))[-1].callback_query
    assert (query.data, query.message.message_id) == ("no", sent.message_id)
    assert await query.answer("Noted", show_alert=True)
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await query.answer()
    with pytest.raises(BadRequest, match="(?i)query id is invalid"):
        await bot.answer_callback_query("123")
    assert "[callback answer: Noted] (alert)" in api.transcript(user)


def test_pressing_buttons_by_label_and_by_forged_data(
    api: FakeBotApi, http: httpx.Client, user: FakeUser
) -> None:
    rows = [[{"text": "Yes", "callback_data": "y"}], [{"text": "Docs", "url": "https://x.y"}]]
    request = {"chat_id": user.id, "text": "?", "reply_markup": {"inline_keyboard": rows}}
    sent = http.post(f"/bot{TOKEN}/sendMessage", json=request).json()
    message_id = sent["result"]["message_id"]
    with pytest.raises(AssertionError, match=r"labels: \['Yes', 'Docs'\]"):
        api.press_button_labelled(user, message_id, "Maybe")
    with pytest.raises(AssertionError, match="has no callback_data"):
        api.press_button_labelled(user, message_id, "Docs")
    api.press_button(user, message_id, "forged-data")
    assert api.transcript(user).endswith("> [pressed forged (forged-data)]")
    events = api.events(user, since=api.mark(user) - 2)
    assert [(e.kind, e.message is not None) for e in events] == [("sent", True), ("user", False)]
    with pytest.raises(AssertionError, match="no bot message #999"):
        api.press_button(user, 999, "y")


# -- files, commands, menu -------------------------------------------------------------------


async def test_document_and_photo_uploads_are_stored(
    api: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    content = b"report\r\n--boundary-lookalike\x00\xff\r\n"
    doc = await bot.send_document(
        user.id, content, filename="report.csv", caption="<b>Q3</b>", parse_mode="HTML"
    )
    assert (doc.document.file_name, doc.document.file_size, doc.caption) == (
        "report.csv",
        len(content),
        "Q3",
    )
    photo = await bot.send_photo(user.id, PNG_1X1, caption="chart")
    assert (photo.photo[-1].width, photo.photo[-1].height) == (1, 1)
    again = await bot.send_document(user.id, doc.document.file_id)
    stored = api.messages(user)
    assert [(m.kind, m.file_bytes, m.caption) for m in stored] == [
        ("document", content, "Q3"),
        ("photo", PNG_1X1, "chart"),
        ("document", content, None),
    ]
    assert again.document.file_id == doc.document.file_id
    assert stored[0].html == "<b>Q3</b>"
    with pytest.raises(BadRequest, match="(?i)image_process_failed"):
        await bot.send_photo(user.id, b"not an image")
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await bot.send_document(user.id, "no-such-file-id")


async def test_commands_are_stored_per_scope_and_language(api: FakeBotApi, bot: Bot) -> None:
    english = [BotCommand("start", "Start over"), BotCommand("report", "Weekly report")]
    chinese = [BotCommand("start", "重新开始")]
    private = BotCommandScopeAllPrivateChats()
    assert await bot.set_my_commands(english)
    assert await bot.set_my_commands(chinese, scope=private, language_code="zh")
    assert api.commands() == [c.to_dict() for c in english]
    assert api.commands("zh", {"type": "all_private_chats"}) == [c.to_dict() for c in chinese]
    assert api.commands("zh") == []
    assert await bot.get_my_commands(scope=private, language_code="zh") == tuple(chinese)
    with pytest.raises(BadRequest, match="(?i)invalid language code"):
        await bot.set_my_commands(chinese, language_code="zh-hans")
    with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "uppercase is not allowed")])
    assert await bot.delete_my_commands()
    assert api.commands() == []
    assert await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
    assert api.menu_button() == {"type": "commands"}


async def test_descriptions_are_stored_per_language_within_telegrams_limits(
    api: FakeBotApi, bot: Bot
) -> None:
    assert await bot.set_my_description("I coach sellers.")
    assert await bot.set_my_short_description("Коуч продавцов", language_code="ru")
    assert api.description() == "I coach sellers."
    assert api.description("ru", short=True) == "Коуч продавцов"
    assert api.description("ru") == ""  # Telegram shows the one for all languages
    assert (await bot.get_my_short_description(language_code="ru")).short_description == (
        "Коуч продавцов"
    )
    with pytest.raises(BadRequest, match="(?i)short_description_invalid"):
        await bot.set_my_short_description("x" * 121)
    with pytest.raises(BadRequest, match="(?i)description_invalid"):
        await bot.set_my_description("x" * 513, language_code="es")
    with pytest.raises(BadRequest, match="(?i)invalid language code"):
        await bot.set_my_description("Olá", language_code="pt-BR")
    assert await bot.set_my_short_description("", language_code="ru")
    assert api.description("ru", short=True) == ""


# -- faults -------------------------------------------------------------------------------


async def test_flood_control_and_server_errors(
    api: FakeBotApi, bot: Bot, user: FakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    api.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(user.id, "too fast")
    assert flood.value.retry_after == dtm.timedelta(seconds=3)
    await bot.send_message(user.id, "fine now")

    api.fail_next(None, status=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.get_me()
    api.fail_next("sendmessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(user.id, "retry me")
    await bot.send_message(user.id, "third time lucky")
    assert [c.status for c in api.calls("sendMessage")] == [429, 200, 500, 500, 200]
    assert [m.text for m in api.messages(user)] == ["fine now", "third time lucky"]


async def test_a_delayed_call_times_out_client_side_but_still_lands(
    api: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    mark = api.mark(user)
    api.delay_next("sendMessage", 0.3)
    with pytest.raises(TimedOut):
        await bot.send_message(user.id, "slow", read_timeout=0.1)
    landed = await asyncio.to_thread(api.wait_for_message, user, None, 3, mark)
    assert landed.text == "slow"


async def test_held_calls_are_received_and_answered_only_when_released(
    api: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    api.hold_calls()
    try:
        sending = asyncio.gather(
            bot.send_message(user.id, "1"), bot.send_chat_action(user.id, "typing")
        )
        held = await asyncio.to_thread(api.wait_until_held, 2)
        assert sorted(held) == ["sendChatAction", "sendMessage"]
        assert api.messages(user) == []  # received, not acted on yet
    finally:
        api.release_calls()
    await sending
    assert [m.text for m in api.messages(user)] == ["1"]
    with pytest.raises(AssertionError, match="never 1 calls in flight at once"):
        api.wait_until_held(1, timeout=0.05)


async def test_a_user_who_blocked_the_bot_is_forbidden(
    api: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    sent = await bot.send_message(user.id, "before")
    api.block(user.id)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(user.id, "after")
    with pytest.raises(Forbidden):
        await bot.edit_message_text("edit", user.id, sent.message_id)
    with pytest.raises(Forbidden):
        await bot.send_chat_action(user.id, "typing")
    member = (await bot.get_updates(timeout=0))[-1].my_chat_member
    assert member.new_chat_member.status == "kicked"
    api.unblock(user.id)
    await bot.send_message(user.id, "welcome back")


async def test_rate_accounting(api: FakeBotApi, bot: Bot, user: FakeUser) -> None:
    other = api.user(1002)
    api.send_text(other, "hi")
    for chat_id in (user.id, user.id, other.id):
        await bot.send_message(chat_id, "burst")
    assert api.peak_rate() == 3
    assert api.peak_rate(user) == 2
    assert api.peak_rate(other) == 1
    assert api.peak_rate(window=1e-9) == 1


# -- webhook mode ---------------------------------------------------------------------------


class WebhookReceiver:
    """A local endpoint answering scripted statuses (then 200) and recording each POST."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[str | None, dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                secret = self.headers.get("X-Telegram-Bot-Api-Secret-Token")
                receiver.received.append((secret, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/telegram"
        serve = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        serve.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_webhook_delivers_in_order_with_secret_and_retries_after_500(
    api: FakeBotApi, bot: Bot
) -> None:
    user = api.user(1001)
    receiver = WebhookReceiver(statuses=[500])
    try:
        assert await bot.set_webhook(receiver.url, secret_token="s3cret-token")
        first = api.send_text(user, "one")["update_id"]
        second = api.send_text(user, "two")["update_id"]
        await eventually(lambda: len(api.webhook_deliveries()) == 3)
        assert api.webhook_deliveries() == [(first, 500), (first, 200), (second, 200)]
        assert [(secret, body["update_id"]) for secret, body in receiver.received] == [
            ("s3cret-token", first),
            ("s3cret-token", first),
            ("s3cret-token", second),
        ]
        assert receiver.received[-1][1]["message"]["text"] == "two"
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == (receiver.url, 0)
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)
        assert await bot.delete_webhook()
        api.send_text(user, "polling again")
        assert [u.message.text for u in await bot.get_updates(timeout=0)] == ["polling again"]
    finally:
        receiver.close()


async def test_invalid_webhook_settings_are_rejected(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)https url must be provided"):
        await bot.set_webhook("ftp://example.com/hook")
    with pytest.raises(BadRequest, match="(?i)secret token contains unallowed characters"):
        await bot.set_webhook("https://example.com/hook", secret_token="no spaces")


# -- raw HTTP and the control side ----------------------------------------------------------


def test_raw_http_answers_and_encodings(api: FakeBotApi, http: httpx.Client) -> None:
    assert http.post("/bot123456:wrong/getMe").json() == {
        "ok": False,
        "error_code": 401,
        "description": "Unauthorized",
    }
    assert http.get("/botnot-a-token/getMe").status_code == 404
    assert http.post(f"/bot{TOKEN}/sendTelepathy").json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found",
    }
    assert http.get(f"/bot{TOKEN}/GETME").json()["result"]["username"] == "seller_coach_test_bot"
    user = api.user(5)
    api.send_text(user, "hi")
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    request = {"chat_id": 5, "text": "<i>json</i>", "parse_mode": "HTML", "reply_markup": markup}
    as_json = http.post(f"/bot{TOKEN}/sendMessage", json=request).json()
    assert (as_json["result"]["text"], as_json["result"]["reply_markup"]) == ("json", markup)
    as_query = http.get(f"/bot{TOKEN}/sendMessage", params={"chat_id": "5", "text": "query"})
    assert as_query.json()["result"]["chat"] == {"id": 5, "type": "private", "first_name": "Test"}
    form = {"chat_id": "5", "text": "x", "reply_markup": "{oops"}
    broken = http.post(f"/bot{TOKEN}/sendMessage", data=form)
    assert broken.json()["description"] == (
        "Bad Request: can't parse reply keyboard markup JSON object"
    )
    assert api.calls("sendmessage")[0].params["reply_markup"] == markup
    assert api.calls("sendMessage")[1].params["chat_id"] == 5


def test_wait_for_message_times_out_with_the_transcript(api: FakeBotApi, user: FakeUser) -> None:
    with pytest.raises(AssertionError, match="(?s)no bot message in chat 1001.*> /start"):
        api.wait_for_message(user, timeout=0.1)


def test_standalone_server_with_control_endpoints() -> None:
    command = [sys.executable, "-m", "tests.support.fake_bot_api", "--port", "0", "--token", "1:a"]
    with subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True) as process:
        try:
            base_url = process.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/bot")
            with httpx.Client(base_url=base_url.removesuffix("/bot")) as client:
                queued = client.post("/_control/send_text", json={"user_id": 7, "text": "/start"})
                assert queued.json()["result"]["message"]["text"] == "/start"
                updates = client.post("/bot1:a/getUpdates").json()["result"]
                assert updates[0]["message"]["entities"][0]["type"] == "bot_command"
                client.post("/bot1:a/sendMessage", data={"chat_id": "7", "text": "hello"})
                messages = client.get("/_control/messages", params={"chat_id": 7}).json()
                assert [m["text"] for m in messages["result"]] == ["hello"]
        finally:
            process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0, "Ctrl-C stops the server cleanly"
