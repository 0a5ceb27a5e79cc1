"""SIGKILL at random points of scripted conversations, then a restart: no answer lost, none
stored or asked twice, every conversation finishable.

Three sellers (English and Chinese) do their check-ups interleaved against the real
`coach run` process (on SQLite and on PostgreSQL); at 21 seeded-random steps the bot is killed a random few milliseconds
after the seller acted (before the update is fetched, while it is handled, between the
commit and the reply, between the reply and the confirmation...) and started again. Each
seller then carries on as a person would: if the bot's answer never came, they ask where
they are (/checkup, Continue; or /advice after the last answer), and an option ticked on a
multiple-choice question whose tick never showed is tapped again (the ticks live in the
message's keyboard until Done, so a lost edit is visible to the seller). At the end what is
stored equals what three sellers who never saw a crash stored.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.db_fixtures import _run
from tests.support.fake_bot_api import FakeBotApi, FakeUser
from tests.support.harness import TOKEN
from tests.test_bot_checkup import CHINESE_ANSWERS, ENGLISH_ANSWERS
from tests.test_e2e import PROGRESS, BotProcess, _act, _wait_next, _wait_ticked, settle

pytestmark = pytest.mark.e2e
KILL_POINTS = 21
SEED = 20261125
ADVICE = {"en": "Bottleneck: traffic.", "zh-hans": "瓶颈：流量。"}
CONTINUE = {"en": "Continue", "zh-hans": "继续"}
SCRIPTS = {"en": ENGLISH_ANSWERS, "zh-hans": CHINESE_ANSWERS}


@dataclass
class Conversation:
    user: FakeUser
    language: str
    steps: list[tuple[str, str]] = field(default_factory=list)
    done: int = 0

    @classmethod
    def of(cls, api: FakeBotApi, user_id: int, language: str) -> Conversation:
        user = api.user(user_id, first_name=f"Seller{user_id}", language_code=language)
        return cls(user, language, [("say", "/checkup"), *SCRIPTS[language]])



@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def kill_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":  # `coach run` migrates an SQLite database itself
        return f"sqlite+aiosqlite:///{tmp_path / 'kill.db'}"
    return request.getfixturevalue("upgraded_postgres_url")


@pytest.fixture
def bot(api: FakeBotApi, kill_database_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess(api, kill_database_url, tmp_path / "bot.log")
    process.start()
    yield process
    process.stop()
    log = process.log_path.read_text(errors="replace")
    assert TOKEN not in log and "Traceback" not in log, log


def _step(api: FakeBotApi, talk: Conversation, kill_after: float | None, bot: BotProcess) -> None:
    """The seller's next step; with ``kill_after``, SIGKILL the bot that long after it."""
    action, value = talk.steps[talk.done]
    last = talk.done == len(talk.steps) - 1
    mark, new_message = _act(api, talk.user, action, value)
    talk.done += 1
    if kill_after is None:
        if last:
            api.wait_for_message(talk.user.id, lambda m: ADVICE[talk.language] in (m.text or ""), since=mark, timeout=15)
        elif new_message:
            _wait_next(api, talk.user, mark)
        else:
            _wait_ticked(api, talk.user, mark, value)
        return
    time.sleep(kill_after)
    bot.kill()
    bot.start()
    settle(api)
    answered = [e.message for e in api.events(talk.user.id, since=mark) if e.kind == "sent" and e.message]
    if last and not any(ADVICE[talk.language] in (m.text or "") for m in answered):
        mark = api.mark(talk.user.id)  # the answer is in, the advice never came: ask for it
        api.send_text(talk.user, "/advice")
        api.wait_for_message(talk.user.id, lambda m: ADVICE[talk.language] in (m.text or ""), since=mark, timeout=15)
    elif not new_message and not _ticked(api, talk.user, value):
        # A tick lives in the keyboard until Done: its edit was lost, the seller sees the
        # option still unticked and taps it again.
        mark, _ = _act(api, talk.user, action, value)
        _wait_ticked(api, talk.user, mark, value)
    elif new_message and not last and not answered:
        mark = api.mark(talk.user.id)  # no next question: the seller asks where they are
        api.send_text(talk.user, "/checkup")
        reply = _wait_next(api, talk.user, mark)
        if any(CONTINUE[talk.language] in label for row in reply.buttons for label, _ in row):
            mark, _ = _act(api, talk.user, "press", CONTINUE[talk.language])
            _wait_next(api, talk.user, mark)


def _ticked(api: FakeBotApi, user: FakeUser, option: str) -> bool:
    keyboard = next(m for m in reversed(api.messages(user.id)) if m.buttons)
    return any(option in label and label.startswith("✅") for row in keyboard.buttons for label, _ in row)


def _stored(database_url: str, user_id: int) -> list[tuple[str, str, str, bool]]:
    """(field, value, status, is current) of the user's answers in their last check-up."""

    async def read() -> list[tuple[str, str, str, bool]]:
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(database_url)
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT field, CAST(value AS TEXT), status, superseded_at IS NULL FROM answers"
                    " WHERE checkup_id = (SELECT max(id) FROM checkups WHERE user_id = :u) ORDER BY field, id"
                ),
                {"u": user_id},
            )
            found = [(str(f), str(v), str(s), bool(c)) for f, v, s, c in rows.all()]
        await engine.dispose()
        return found

    return _run(read())


def _questions_asked(api: FakeBotApi, user: FakeUser) -> list[str]:
    return [
        m.text.split("\n")[1]
        for m in api.messages(user.id)
        if m.text and "\n" in m.text and PROGRESS.search(m.text.split("\n")[0])
    ]


def test_sigkill_at_21_random_points_loses_and_duplicates_nothing(api: FakeBotApi, bot: BotProcess) -> None:
    rng = random.Random(SEED)
    # Sellers who never see a crash, for the expected stored result.
    calm = [Conversation.of(api, 7000 + n, lang) for n, lang in enumerate(("en", "zh-hans", "en"))]
    with ThreadPoolExecutor(len(calm)) as pool:
        list(pool.map(lambda talk: _calm(api, talk, bot), calm))

    talks = [Conversation.of(api, 8000 + n, lang) for n, lang in enumerate(("en", "zh-hans", "en"))]
    order = [t for t in talks for _ in t.steps]
    rng.shuffle(order)  # the sellers' steps interleaved
    kills = set(rng.sample(range(len(order)), KILL_POINTS))
    for index, talk in enumerate(order):
        _step(api, talk, rng.uniform(0.0, 0.12) if index in kills else None, bot)

    for talk, reference in zip(talks, calm, strict=True):
        chat = api.transcript(talk.user.id)
        assert ADVICE[talk.language] in (api.messages(talk.user.id)[-1].text or ""), chat
        stored, expected = _stored(bot.env["DATABASE_URL"], talk.user.id), _stored(bot.env["DATABASE_URL"], reference.user.id)
        assert len(expected) == 19 and all(current for *_, current in expected)
        assert stored == expected, chat  # nothing lost, nothing stored twice
        asked = _questions_asked(api, talk.user)
        assert len(asked) == len(set(asked)) == 19, chat  # and no question asked twice


def _calm(api: FakeBotApi, talk: Conversation, bot: BotProcess) -> None:
    while talk.done < len(talk.steps):
        _step(api, talk, None, bot)
