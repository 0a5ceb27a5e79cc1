"""Anything a seller (or a modified client) can send, in every state of the conversation.

Property: through the real update path (the application fed real Update objects), every
input gets a clear reply or a deliberate silence, nothing reaches the error handler or is
logged at ERROR, and the answers table afterwards is exactly what it was plus the answers
the questionnaire accepts (its parser is the oracle for what a typed answer means).

Each example is a new seller brought to the state (answers seeded through the store, then
/checkup and Continue through the bot), so examples do not disturb each other. The examples
are derandomized (the same on every run); to hunt for new ones, set BAD_INPUT_EXAMPLES, e.g.
``BAD_INPUT_EXAMPLES=300 pytest tests/test_bad_input.py`` (random, 300 per state).
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from advice.questionnaire import Answer
from bot.callbacks import Delete, Language, QuestionButton, parse
from bot.core.checkup import QUESTION_INDEX, QUESTIONNAIRE
from bot.core.writes import SaveAnswer, StartCheckup
from bot.replies import text as bot_text
from bot.storage.models import AnswerRow, utcnow
from bot.storage.repository import Store
from tests.support.fake_bot_api import BotMessage, FakeBotApi
from tests.support.harness import ChatHarness, Seller
from tests.support.stored import new_id, snapshot_of, write
from tests.test_bot_checkup import ENGLISH_ANSWERS, answer_all

SETTINGS = settings(
    max_examples=int(os.environ.get("BAD_INPUT_EXAMPLES", 25)),
    deadline=None,
    derandomize="BAD_INPUT_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_user_ids = itertools.count(100_000)
GROUP_ID = -4242

# --- the inputs ------------------------------------------------------------------------------
SPECIAL_TEXTS = [
    "1e309", "-1e309", "-0", "NaN", "nan", "inf", "9999999999999", "", " ", "\n\t",
    "\u200b", "\u200b5\u200b", "\u202e05\u202c", "\u200f\u05e9\u05dc\u05d5\u05dd 7", "٣٠", "1٫5",
    "9" * 4096, "é" * 4096, "🔥" * 2048, "<b>x</b>", "{{7*7}}", "</code>", "&amp;", "0x1F",
    "1_000", "1,2,3", "\x00", "shop\x00name", "\ufffe", "\U0010ffff", "don't know", "?", "不知道", "100-", "-5", "5%%", "1.2万万",
]  # fmt: skip
NUMBERISH = st.builds(
    "{}{}{}".format,
    st.sampled_from(["", " ", "~", "about ", "约", "\u200b"]),
    st.sampled_from(["5", "10%", "1.2k", "1.2万", "100-200", "0", "3", "¥180", "2单"]),
    st.sampled_from(["", " ", "!", "\u200b", " people"]),
)
TEXTS = st.one_of(st.text(max_size=80), st.sampled_from(SPECIAL_TEXTS), NUMBERISH)
COMMANDS = [
    "/start", "/help", "/privacy", "/checkup", "/cancel", "/advice", "/why", "/whatif", "/language",
    "/export", "/delete", "/stats", "/dance", "/", "/start extra words", "/CHECKUP", "/price",
    "/sold", "/sold 180 2 cakes @Lena #groups", "/sold -50 @Lena", "/sold 1e99", "/sales",
    "/customers",
]  # fmt: skip


@dataclass(frozen=True)
class Input:
    """One thing sent to the bot; ``kind`` says how (see :func:`send`)."""

    kind: str
    text: str = ""
    data: str = ""

    def __repr__(self) -> str:  # short, for hypothesis' falsifying example
        shown = self.text if len(self.text) < 40 else f"{self.text[:20]}...({len(self.text)} chars)"
        return f"Input({self.kind!r}, {shown!r}, {self.data!r})"


INPUTS = st.one_of(
    st.builds(Input, st.just("text"), TEXTS),
    st.builds(Input, st.just("command"), st.sampled_from(COMMANDS)),
    st.builds(Input, st.just("command"), st.builds("/whatif {}".format, TEXTS)),
    st.builds(Input, st.just("command"), st.builds("/price {}".format, TEXTS)),
    st.builds(Input, st.just("command"), st.builds("/price 120 cost {}".format, TEXTS)),
    st.builds(Input, st.just("command"), st.builds(
        "/whatif {} {}".format, st.sampled_from(["traffic", "conversion", "order_value", "repeat", "客单价", "复购", "<b>x</b>"]),
        st.one_of(st.sampled_from(SPECIAL_TEXTS[:12]), NUMBERISH))),
    st.builds(Input, st.sampled_from(["sticker", "photo", "voice"]), TEXTS),
    st.builds(Input, st.sampled_from(["edited", "forwarded"]), TEXTS.filter(bool)),  # Telegram has no empty text
    st.builds(Input, st.just("forged_button"), data=st.one_of(st.text(max_size=70), st.sampled_from([
        "a:1:0:0" + "0" * 60, "x" * 65, "é" * 40, "a:-1:0:0", "a:1:0", "m:1:3:" + "9" * 7,
        "adv:why:99999999999999", "wi:happiness", "lang:fr", "menu:", ":", "a::::",
        "su:1", "su:2200000000", "cf:sent:1", "cf:no:999999999999", "sf:csv", "sf:xls",
        "adv:why:2200000000", "ci:go:2200000000",
    ]))),  # fmt: skip
    st.builds(Input, st.just("stale_button"), st.sampled_from(["a", "m", "md", "bk", "sk", "dk"]),
              st.sampled_from(["current", "foreign", "missing"])),
    st.builds(Input, st.just("old_button"), data=st.integers(0, 50).map(str)),
    st.builds(Input, st.sampled_from(["group_text", "group_command", "channel_post"]),
              st.one_of(TEXTS, st.sampled_from(COMMANDS))),
)  # fmt: skip


# --- observing the bot ---------------------------------------------------------------------
class ErrorSpy(logging.Handler):
    """Everything logged at ERROR or above, and every call of the error handlers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.errors: list[BaseException | None] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    async def on_error(self, update: object, context: Any) -> None:
        self.errors.append(context.error)

    def clear(self) -> None:
        self.records.clear()
        self.errors.clear()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_store(request: pytest.FixtureRequest) -> Store:
    """SQLite or PostgreSQL (JSON, text and locks differ)."""
    return request.getfixturevalue("chat_store" if request.param == "sqlite" else "postgres_store")


@pytest.fixture
async def chat(any_store: Store, api: FakeBotApi) -> AsyncIterator[ChatHarness]:
    async with ChatHarness(api, any_store) as running:
        yield running


@pytest.fixture
def spy(chat: ChatHarness) -> Iterator[ErrorSpy]:
    found = ErrorSpy()
    logging.getLogger().addHandler(found)
    chat.application.add_error_handler(found.on_error)
    yield found
    logging.getLogger().removeHandler(found)


Row = tuple[int, int, str, Any, str, bool]


async def answer_rows(store: Store, user_id: int) -> list[Row]:
    async with store.sessions() as session:
        rows = (await session.execute(select(AnswerRow).where(AnswerRow.user_id == user_id).order_by(AnswerRow.id))).scalars()
        return [(r.id, r.checkup_id, r.field, r.value, r.status, r.superseded_at is None) for r in rows]


async def where_now(store: Store, user_id: int) -> tuple[int | None, int | None, Any]:
    checkups = [c for c in (await snapshot_of(store, user_id)).in_progress if c.kind == "checkup"]
    if not checkups:
        return None, None, None
    active = max(checkups, key=lambda c: c.id)
    question = QUESTIONNAIRE.next_question(active.answers)
    return active.id, (QUESTION_INDEX[question.field] if question else None), question


def typed_answer(question: Any, typed: str) -> Answer | None:
    """What the questionnaire makes of ``typed`` for ``question`` (None: nothing stored)."""
    if question is None or typed.startswith("/") or not typed:
        return None
    if question.type == "multi" and not typed.strip():
        return None
    result = QUESTIONNAIRE.parse(question, typed, "en")
    return result if isinstance(result, Answer) else None


# --- sending -------------------------------------------------------------------------------
def _message(seller: Seller, text: str, chat: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": 900_000 + next(_user_ids), "date": int(time.time()),
        "chat": chat or seller.user.chat_dict(), "from": seller.user.to_dict(), "text": text, **extra,
    }  # fmt: skip
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return message


async def send(harness: ChatHarness, seller: Seller, item: Input, foreign_checkup: int, checkup_id: int | None,
               question_index: int | None) -> tuple[int, list[BotMessage]]:
    """Send ``item``; return the chat it should be answered in and what the bot sent there."""
    api = harness.api
    kind = item.kind
    if kind in ("text", "command"):
        return seller.id, await seller.says(item.text)
    if kind == "sticker":
        return seller.id, await harness.deliver(seller.id, api.send_sticker(seller.user))
    if kind == "photo":
        return seller.id, await harness.deliver(seller.id, api.send_photo(seller.user, caption=item.text or None))
    if kind == "voice":
        return seller.id, await harness.deliver(seller.id, api.send_voice(seller.user))
    if kind == "edited":
        edited = _message(seller, item.text, edit_date=int(time.time()))
        return seller.id, await seller.sends({"edited_message": edited})
    if kind == "forwarded":
        origin = {"type": "user", "date": 0, "sender_user": {"id": 777, "is_bot": False, "first_name": "Someone"}}
        return seller.id, await seller.sends({"message": _message(seller, item.text, forward_origin=origin)})
    if kind == "forged_button":
        return seller.id, await press(harness, seller, _any_message(seller), item.data)
    if kind == "stale_button":
        cid = {"current": checkup_id or foreign_checkup, "foreign": foreign_checkup, "missing": 987_654_321}[item.data]
        qi = 99 if question_index is None else (question_index + 1) % 25 or 1
        if item.text == "bk" and question_index is not None:
            qi = question_index - 1 if question_index > 0 else 99  # never the current question
        data = {"a": f"a:{cid}:{qi}:0", "m": f"m:{cid}:{qi}:1", "md": f"md:{cid}:{qi}:1"}.get(item.text, f"{item.text}:{cid}:{qi}")
        return seller.id, await press(harness, seller, _any_message(seller), data)
    if kind == "old_button":
        pressable = [(m, d) for m in seller.messages() for row in m.buttons for _, d in row if d and _is_old(d, checkup_id, question_index)]
        if not pressable:
            return seller.id, await press(harness, seller, _any_message(seller), "cu:go")
        message, data = pressable[int(item.data or 0) % len(pressable)]
        return seller.id, await press(harness, seller, message, data)
    group = {"id": GROUP_ID, "type": "supergroup", "title": "Sellers"}
    if kind in ("group_text", "group_command"):
        text = item.text if kind == "group_text" else "/" + item.text.lstrip("/")
        return GROUP_ID, await harness.deliver(GROUP_ID, api.send_update({"message": _message(seller, text, chat=group)}))
    channel = {"id": GROUP_ID - 1, "type": "channel", "title": "News"}
    post = {"message_id": next(_user_ids), "date": int(time.time()), "chat": channel, "text": item.text or "x"}
    return channel["id"], await harness.deliver(channel["id"], api.send_update({"channel_post": post}))


async def press(harness: ChatHarness, seller: Seller, message: BotMessage, data: str) -> list[BotMessage]:
    """A button press on ``message`` carrying ``data``, whatever buttons it shows (if any)."""
    return await harness.deliver(seller.id, harness.api.press_button(seller.user, message, data))


def _is_old(data: str, checkup_id: int | None, question_index: int | None) -> bool:
    """Whether a shown button is out of date: not the current question's, and not a request
    the seller would mean (delete, change language)."""
    button = parse(data)
    if button is None or isinstance(button, Delete | Language):
        return False
    if isinstance(button, QuestionButton):
        return (button.checkup, button.question) != (checkup_id, question_index)
    return True


def _any_message(seller: Seller) -> BotMessage:
    """A message to attach a press to (any will do: the data is what matters)."""
    with_buttons = [m for m in seller.messages() if m.buttons]
    return with_buttons[-1] if with_buttons else seller.messages()[-1]


def expects_reply(item: Input, was_active: bool) -> bool:
    """Whether the bot must answer (else it must stay silent)."""
    if item.kind == "channel_post":
        return False
    if item.kind in ("group_text", "group_command"):  # a command is told to go private
        return item.kind == "group_command" or item.text.startswith("/")
    if item.kind == "edited":
        return was_active  # outside a check-up an edit changes nothing and needs no answer
    return True


# --- the states ----------------------------------------------------------------------------
_template: list[tuple[str, Answer]] = []


async def template_answers(harness: ChatHarness) -> list[tuple[str, Answer]]:
    """A full check-up's answers in the order asked, made once through the bot itself."""
    if not _template:
        seller = harness.seller(99_999)
        await seller.says("/checkup")
        await answer_all(seller, ENGLISH_ANSWERS[:-1])
        await seller.says("Lao Wang Menswear")
        current = (AnswerRow.user_id == seller.id) & AnswerRow.superseded_at.is_(None)
        async with harness.store.sessions() as session:
            rows = (await session.execute(select(AnswerRow).where(current).order_by(AnswerRow.id))).scalars()
            _template.extend((r.field, Answer.stored(r.value, r.status, r.low, r.high)) for r in rows)
        assert len(_template) == 19
    return _template


async def seed(harness: ChatHarness, user_id: int, answered: int) -> None:
    """The seller's check-up with its first ``answered`` answers already stored."""
    answers = (await template_answers(harness))[:answered]
    checkup, now = await new_id(harness.store, user_id, "checkups"), utcnow()
    started = StartCheckup(checkup, user_id, "checkup", "en", now)
    saved = [SaveAnswer(checkup, user_id, field, answer, False, now) for field, answer in answers]
    await write(harness.store, user_id, started, *saved)


async def reach(harness: ChatHarness, state: str) -> tuple[Seller, int]:
    """A new seller in ``state``; also the id of a check-up of someone else."""
    other = harness.seller(next(_user_ids))
    await other.says("/checkup")
    _, foreign, _ = await where_now(harness.store, other.id)
    seller = harness.seller(next(_user_ids))
    answered = {"choice": 0, "multi": 3, "number": 4, "text": 18, "advice": 19, "delete": 19}.get(state)
    if answered is None:  # idle
        await seller.says("/start")
        return seller, foreign
    await seed(harness, seller.id, answered)
    await seller.says("/checkup")
    if answered:
        await seller.presses("Continue")
    expected_type = {"choice": "choice", "multi": "multi", "number": "number", "text": "text"}.get(state)
    _, _, question = await where_now(harness.store, seller.id)
    assert (question.type if question else None) == expected_type, seller.transcript()
    if state == "delete":
        await seller.says("/delete")
    return seller, foreign


STATES = ["idle", "choice", "multi", "number", "text", "advice", "delete"]


@pytest.mark.parametrize("state", STATES)
@SETTINGS
@given(inputs=st.lists(INPUTS, min_size=1, max_size=4))
async def test_any_input_in_any_state_is_answered_or_ignored_and_stores_only_valid_answers(
    chat: ChatHarness, spy: ErrorSpy, state: str, inputs: list[Input]
) -> None:
    harness = chat
    seller, foreign = await reach(harness, state)
    spy.clear()
    for item in inputs:
        checkup_id, question_index, question = await where_now(harness.store, seller.id)
        expected = typed_answer(question, item.text) if item.kind in ("text", "forwarded") else None
        before = await answer_rows(harness.store, seller.id)

        chat_id, replies = await send(harness, seller, item, foreign, checkup_id, question_index)

        context = f"{item!r} in state {state}\n{harness.api.transcript(chat_id)[-3000:]}"
        assert not spy.errors and not spy.records, f"{context}\n{spy.errors} {[r.getMessage() for r in spy.records]}"
        if expects_reply(item, checkup_id is not None):
            assert replies, f"no reply to {context}"
        else:
            assert replies == [], f"expected silence: {context}"
        for reply in replies:
            assert bot_text("internal_error", "en") not in (reply.text or ""), context
        after = await answer_rows(harness.store, seller.id)
        assert after[: len(before)] == before, f"stored answers changed: {context}"
        added = [(field, value, status) for _, _, field, value, status, _ in after[len(before):]]
        if expected is None:
            assert added == [], f"stored {added} for {context}"
        else:
            value = list(expected.value) if isinstance(expected.value, tuple) else expected.value
            assert added == [(question.field, value, expected.status.value)], context


def test_the_states_cover_every_question_type() -> None:
    asked = {q.type for q in QUESTIONNAIRE.questions}
    assert asked == {"choice", "multi", "number", "text"}
    assert asked <= set(STATES)

