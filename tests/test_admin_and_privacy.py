"""What only the operator may see, what a seller sees of their own text, and what leaves the
database on /export and /delete."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text

from advice.questionnaire import MAX_TEXT_LENGTH, Answer, load_questionnaire
from bot.app import register_commands
from bot.core.writes import SaveAnswer, SetSettings, StartCheckup
from bot.storage.models import Base, CheckinRound, UserSettings, utcnow
from bot.storage.repository import Store
from tests.support.fake_bot_api import FakeBotApi
from tests.support.harness import ChatHarness, Seller
from tests.support.stored import new_id, snapshot_of, write
from tests.test_bot_checkup import ENGLISH_ANSWERS, answer_all

ADMIN = 7


async def finish_checkup(seller: Seller, shop_name: str = "Lao Wang Menswear") -> None:
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS[:-1])
    await seller.says(shop_name)


# --- /stats ----------------------------------------------------------------------------
@pytest.fixture
async def admin_harness(api: FakeBotApi, chat_store: Store):
    async with ChatHarness(api, chat_store, admin_ids=frozenset({ADMIN})) as running:
        yield running


async def test_stats_answers_an_admin_with_the_figures(admin_harness: ChatHarness) -> None:
    admin = admin_harness.seller(ADMIN)
    await admin.says("/start")  # the figures are as stored before the update that asks
    [empty] = await admin.says("/stats")
    assert "Users: 1" in empty.text and "Check-ups done: 0" in empty.text
    assert "Most common bottleneck: none yet" in empty.text

    await finish_checkup(admin_harness.seller(1))
    await finish_checkup(admin_harness.seller(2))
    await admin_harness.seller(3).says("/checkup")  # started, not done
    # one seller asked for check-ins, one has settings with check-ins off
    await write(admin_harness.store, 1, SetSettings(1, {"checkin_cadence": "weekly"}))
    await write(admin_harness.store, 2, SetSettings(2, {}))

    [stats] = await admin.says("/stats")
    assert stats.text.splitlines()[1:] == [
        "Users: 4", "Check-ups done: 2", "Active check-ins: 1", "Most common bottleneck: traffic",
    ]  # fmt: skip
    assert "Seller Coach in numbers" in stats.text


@pytest.mark.parametrize("mid_checkup", [False, True], ids=["idle", "mid-checkup"])
async def test_stats_is_an_unknown_command_to_everyone_else(admin_harness: ChatHarness, mid_checkup: bool) -> None:
    seller = admin_harness.seller(8)
    if mid_checkup:
        await seller.says("/checkup")
    unknown = [m.text for m in await seller.says("/dance")]
    stats = [m.text for m in await seller.says("/stats")]
    assert stats == unknown
    assert not any("Users:" in t for t in stats)


async def test_stats_is_not_in_the_command_menu(admin_harness: ChatHarness) -> None:
    await register_commands(admin_harness.application)
    for language in (None, "zh"):
        names = [c["command"] for c in admin_harness.api.commands(language)]
        assert "checkup" in names and "stats" not in names


async def test_without_admin_ids_nobody_gets_stats(harness: ChatHarness) -> None:
    [reply] = await harness.seller(ADMIN).says("/stats")
    assert "I don't know that command" in reply.text


# --- a seller's text is shown as typed, never as markup ---------------------------------
MARKUP = ["<b>x</b>", "{{7*7}}", "</code>", "<a href='https://evil.example'>win</a>", "&lt;i&gt;"]


@pytest.mark.parametrize("typed", MARKUP)
async def test_a_shop_name_with_markup_appears_literally(harness: ChatHarness, typed: str) -> None:
    seller = harness.seller()
    await finish_checkup(seller, typed)
    advice = seller.last()
    assert typed in advice.text, advice.html
    assert not any(e["type"] in ("bold", "text_link", "italic") and advice.text[e["offset"]:e["offset"] + e["length"]] in typed
                   for e in advice.entities)  # fmt: skip
    answered = next(m for m in seller.messages() if "what is your shop called" in (m.text or ""))
    assert f"✓ {typed}" in answered.text, answered.html


async def test_a_whatif_argument_with_markup_is_never_rendered(harness: ChatHarness) -> None:
    seller = harness.seller()
    await finish_checkup(seller)
    for command in (f"/whatif {typed}" for typed in MARKUP):
        [reply] = await seller.says(command)
        assert "couldn't read that" in reply.text, reply.html
    for command in (f"/whatif traffic {typed}" for typed in MARKUP):
        [reply] = await seller.says(command)
        assert "couldn't read that" in reply.text, reply.html
        assert "49" not in reply.text and "win" not in reply.text


# --- /export and /delete: exactly the requester's rows ----------------------------------
USER_TABLES = {t.name: ("id" if t.name == "users" else "user_id") for t in Base.metadata.sorted_tables
               if t.name == "users" or "user_id" in t.c}  # fmt: skip


async def rows_per_table(store: Store, user_id: int) -> dict[str, int]:
    """Rows of the user in every table that has them, found from the schema."""
    async with store.sessions() as session:
        return {
            table: (await session.execute(
                select(func.count()).select_from(text(table)).where(text(f"{column} = :u")), {"u": user_id}
            )).scalar_one()
            for table, column in USER_TABLES.items()
        }  # fmt: skip


async def two_sellers_with_data(harness: ChatHarness) -> tuple[Seller, Seller]:
    one, two = harness.seller(1), harness.seller(2)
    for seller in (one, two):
        await finish_checkup(seller)
        await seller.says("/checkup")
        await seller.presses("Food")  # a second check-up in progress
        await seller.says("/sold 180 2 cakes @Lena")  # the ledger and the customer book
    async with harness.store.sessions() as session, session.begin():
        for seller in (one, two):
            session.add(UserSettings(user_id=seller.id))
            session.add(CheckinRound(user_id=seller.id, due_at=utcnow(), status="sent"))
    for seller in (one, two):
        rows = await rows_per_table(harness.store, seller.id)
        assert all(rows.values()), f"every table holds rows of both: {rows}"
    return one, two


async def test_export_holds_every_row_of_the_requester_and_nobody_elses(harness: ChatHarness) -> None:
    one, two = await two_sellers_with_data(harness)
    [document] = await one.says("/export")
    data = json.loads(document.file_bytes)
    assert data["user"]["id"] == one.id
    stored = await rows_per_table(harness.store, one.id)
    for table, column in USER_TABLES.items():
        rows = [data["user"]] if table == "users" else data[table]
        assert len(rows) == stored[table], table
        assert {row[column] for row in rows} == {one.id}, table
    assert str(two.id) not in {str(a.get("user_id")) for a in data["answers"]}


async def test_delete_through_the_bot_removes_every_row_of_the_user_only(harness: ChatHarness) -> None:
    one, two = await two_sellers_with_data(harness)
    others = await rows_per_table(harness.store, two.id)
    await one.says("/delete")
    [done] = await one.presses("Yes, delete")
    assert "deleted" in done.text
    assert await rows_per_table(harness.store, one.id) == dict.fromkeys(USER_TABLES, 0)
    assert await rows_per_table(harness.store, two.id) == others


# --- no unbounded text is stored ---------------------------------------------------------
async def test_a_shop_name_longer_than_its_limit_is_refused_and_nothing_stored(harness: ChatHarness) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS[:-1])
    before = await rows_per_table(harness.store, seller.id)
    for typed in ("x" * 65, "店" * 4096, "🔥" * 65, "a\u200b" * 64 + "b" * 2):
        [reply] = await seller.says(typed)
        assert "Up to 64 characters" in reply.text, reply.text
    assert await rows_per_table(harness.store, seller.id) == before
    await seller.says("\u200b" + "y" * 64 + "\u200b ")  # invisible marks and spaces do not count
    async with harness.store.sessions() as session:
        stored = (await session.execute(text("SELECT value FROM answers WHERE field = 'shop_name'"))).scalar_one()
    assert json.loads(stored) == "y" * 64


async def test_the_repository_refuses_an_overlong_text_whatever_the_caller(chat_store: Store) -> None:
    checkup, now = await new_id(chat_store, 1, "checkups"), utcnow()
    longest = Answer("z" * MAX_TEXT_LENGTH)
    await write(
        chat_store, 1,
        StartCheckup(checkup, 1, "checkup", "en", now),
        SaveAnswer(checkup, 1, "shop_name", longest, False, now),
    )  # fmt: skip
    for field, answer in (
        ("shop_name", Answer("z" * (MAX_TEXT_LENGTH + 1))),
        ("channels", Answer(("feed", "z" * 10_000))),
    ):
        with pytest.raises(ValueError, match="longer than"):
            await write(chat_store, 1, SaveAnswer(checkup, 1, field, answer, True, now))
    (stored,) = (await snapshot_of(chat_store, 1)).in_progress
    assert stored.answers["shop_name"] == longest


def test_every_text_question_has_a_bounded_length() -> None:
    texts = [q for q in load_questionnaire().questions if q.type == "text"]
    assert texts and all(q.max_length and q.max_length <= MAX_TEXT_LENGTH for q in texts)


# --- no message the user did not ask for -------------------------------------------------
async def test_blocking_or_unblocking_the_bot_gets_no_message_and_stores_nothing(harness: ChatHarness) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    before = await rows_per_table(harness.store, seller.id)
    sent = len(harness.api.calls("sendMessage"))
    member = {"user": {"id": 123456, "is_bot": True, "first_name": "Seller Coach Test"}, "until_date": 0}
    for old, new in (("member", "kicked"), ("kicked", "member")):
        update = {"my_chat_member": {
            "chat": seller.user.chat_dict(), "from": seller.user.to_dict(), "date": 0,
            "old_chat_member": member | {"status": old}, "new_chat_member": member | {"status": new},
        }}  # fmt: skip
        assert await seller.sends(update) == []
    assert len(harness.api.calls("sendMessage")) == sent
    assert await rows_per_table(harness.store, seller.id) == before
