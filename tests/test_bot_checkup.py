"""A seller's chat transcript in, what the bot sent and stored out (offline, real database)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.storage.models import AdviceReport, AnswerRow, Checkup
from bot.storage.repository import Store
from tests.support.harness import ChatHarness, Seller

# The WeChat menswear reseller from the personas, answering as a seller would.
ENGLISH_ANSWERS: list[tuple[str, str]] = [
    ("press", "Menswear"),
    ("press", "Mid-range"),
    ("press", "CNY"),
    ("press", "My feed"),
    ("press", "Friends"),
    ("press", "Done"),
    ("say", "about 10"),
    ("say", "20"),
    ("say", "2"),
    ("press", "I copy"),
    ("press", "No"),
    ("say", "6"),
    ("say", "¥180"),
    ("press", "Young professionals"),
    ("press", "Another reseller"),
    ("press", "Done"),
    ("say", "10%"),
    ("press", "I accept returns"),
    ("press", "No"),
    ("say", "3"),
    ("say", "Lao Wang <b>Menswear</b>"),
]

CHINESE_ANSWERS: list[tuple[str, str]] = [
    ("press", "男装"),
    ("press", "中等"),
    ("press", "人民币"),
    ("press", "朋友圈"),
    ("press", "亲友熟人"),
    ("press", "完成"),
    ("say", "约10人"),
    ("say", "二十"),
    ("say", "2单"),
    ("press", "复制上家"),
    ("press", "没有"),
    ("say", "6"),
    ("say", "180元"),
    ("press", "年轻上班族"),
    ("press", "其他分销商"),
    ("press", "完成"),
    ("say", "10%"),
    ("press", "可以退换"),
    ("press", "否"),
    ("say", "3"),
    ("press", "跳过"),
]


async def answer_all(seller: Seller, script: list[tuple[str, str]]) -> None:
    for action, value in script:
        if action == "press":
            await seller.presses(value)
        else:
            await seller.says(value)


async def count(harness: ChatHarness, model: type, **where: object) -> int:
    async with harness.store.sessions() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return (await session.execute(query)).scalar_one()


async def test_start_greets_in_the_users_language(harness: ChatHarness) -> None:
    [welcome] = await harness.seller(1, "en").says("/start")
    assert "I'm Seller Coach" in welcome.text
    assert [b for row in welcome.buttons for b, _ in row] == ["🩺 Start a check-up", "❓ Help"]
    [willkommen] = await harness.seller(2, "zh-hans").says("/start")
    assert "我是卖货教练" in willkommen.text


async def test_a_full_checkup_in_english_ends_with_the_advice(harness: ChatHarness) -> None:
    seller = harness.seller(1001, "en")
    first = await seller.says("/checkup")
    assert "Your shop - 1/" in first[-1].text and "What do you mainly sell?" in first[-1].text
    await answer_all(seller, ENGLISH_ANSWERS)
    advice = seller.last()
    assert "Monthly sales estimate: ¥1,559" in advice.text
    assert "Bottleneck: traffic." in advice.text
    assert "monthly sales ¥1,559 -> ¥18,706 (+1,100%)" in advice.text
    assert "Red flags" in advice.text
    assert advice.text.count("\n1. ") == 1 and "\n3. " in advice.text and "\n4. " not in advice.text
    # The first advice also offers check-ins; nothing is scheduled until the seller accepts.
    assert [label for row in advice.buttons for label, _ in row] == [
        "Why?", "More", "What if…?", "✅ Yes, set up check-ins", "No thanks",
    ]  # fmt: skip
    # The shop name the seller typed is shown literally, not as markup.
    assert "Lao Wang <b>Menswear</b>" in advice.text
    assert await count(harness, AnswerRow, user_id=1001) == 19
    assert await count(harness, AdviceReport, user_id=1001) == 1
    why = await seller.presses("Why?")
    assert "You reach about 10 new people a week" in why[-1].text
    more = await seller.presses("More", advice)
    assert "More suggestions" in more[-1].text


async def test_a_full_checkup_in_chinese(harness: ChatHarness) -> None:
    seller = harness.seller(1002, "zh-CN")
    await seller.says("/checkup")
    await answer_all(seller, CHINESE_ANSWERS)
    advice = seller.last()
    assert "月销售额估算：¥1,559" in advice.text
    assert "瓶颈：流量。" in advice.text
    assert "危险信号" in advice.text


async def test_each_button_answer_edits_its_question_to_show_the_choice(harness: ChatHarness) -> None:
    seller = harness.seller()
    [question] = await seller.says("/checkup")
    changed = await seller.presses("Jewellery")
    edited, following = changed[0], changed[-1]
    assert edited.message_id == question.message_id
    assert "✓ Jewellery" in edited.text and not edited.buttons
    assert "Compared with similar products" in following.text


async def test_a_question_message_not_remembered_is_never_overwritten_by_the_next_answer(
    harness: ChatHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot notes a question message's id after sending it and writes it behind; a crash
    before it is written leaves the previous question's id stored. Answers must then not
    edit that older message."""
    seller = harness.seller()
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS[:7])  # ... up to the weekly reach, typed
    reach = seller.last()  # "How many posts...": sent, but its id is remembered
    assert "posts or videos" in reach.text

    def lost(*args: object) -> None:
        """The process died before the note was written."""

    monkeypatch.setattr(Store, "remember_question_message", lost)
    await seller.says("20")  # answered; the next question goes out, its id is lost
    orders = seller.last()
    assert "orders do you get" in orders.text
    monkeypatch.undo()

    await seller.says("2")  # typed: nothing known to edit, so the earlier messages stay
    await seller.presses("I copy")  # pressed: the message the button was on is edited
    texts = {m.message_id: m.text for m in seller.messages()}
    assert "✓ 20" in texts[reach.message_id] and "orders do you get" not in texts[reach.message_id]
    assert "orders do you get" in texts[orders.message_id]
    copied = next(m for m in seller.messages() if "Who writes the words" in (m.text or ""))
    assert "✓ I copy" in copied.text and not copied.buttons
    assert sum("Who writes the words" in (m.text or "") for m in seller.messages()) == 1


async def test_a_word_where_a_number_is_asked_gets_the_hint_and_stores_nothing(harness: ChatHarness) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS[:6])
    before = await count(harness, AnswerRow)
    [reply] = await seller.says("lots of people 🔥")
    assert "I couldn't read a number in that." in reply.text
    assert "A rough whole number is fine" in reply.text
    assert await count(harness, AnswerRow) == before
    [reply] = await seller.says("99999999999")
    assert "outside what I can use" in reply.text


async def stored(harness: ChatHarness, user_id: int, field: str) -> AnswerRow:
    async with harness.store.sessions() as session:
        query = select(AnswerRow).where(
            AnswerRow.user_id == user_id, AnswerRow.field == field, AnswerRow.superseded_at.is_(None)
        )
        return (await session.execute(query)).scalar_one()


async def test_a_unit_of_time_typed_in_chinese_is_converted_to_the_questions_unit(
    harness: ChatHarness,
) -> None:
    """2天 at the reply-time question is 48 hours, not 2; 两天 as the order value is refused."""
    seller = harness.seller(1003, "zh-CN")
    await seller.says("/checkup")
    await answer_all(seller, CHINESE_ANSWERS[:6])
    await seller.says("每天3人")  # new people a week: 3 a day is 21 a week
    await answer_all(seller, CHINESE_ANSWERS[7:11])
    assert "多少小时内回复" in seller.last().text
    await seller.says("2天")
    assert (await stored(harness, 1003, "response_hours")).value == 48
    assert (await stored(harness, 1003, "weekly_reach")).value == 21
    assert "平均每单多少钱" in seller.last().text
    before = await count(harness, AnswerRow, user_id=1003)
    [refused] = await seller.says("两天")
    assert "这一题需要金额" in refused.text
    assert await count(harness, AnswerRow, user_id=1003) == before
    await seller.says("180元")
    assert (await stored(harness, 1003, "average_order_value")).value == 180


async def test_back_reopens_the_previous_question_and_keeps_the_old_answer_as_history(harness: ChatHarness) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    await seller.presses("Menswear")
    replies = await seller.presses("Back")
    assert "What do you mainly sell?" in replies[-1].text
    await seller.presses("Food")
    async with harness.store.sessions() as session:
        rows = (await session.execute(select(AnswerRow).where(AnswerRow.field == "category").order_by(AnswerRow.id))).scalars().all()
    assert [(r.value, r.superseded_at is None) for r in rows] == [("menswear", False), ("food", True)]


async def test_an_old_button_is_refused_politely_and_the_current_question_repeated(harness: ChatHarness) -> None:
    seller = harness.seller()
    [first_question] = await seller.says("/checkup")
    await seller.presses("Menswear", first_question)
    replies = await seller.presses_data("a:1:0:3")  # question 0's button, pressed late
    assert "belongs to an earlier question" in replies[0].text
    assert "Compared with similar products" in replies[-1].text
    assert await count(harness, AnswerRow, field="category") == 1


@pytest.mark.parametrize(
    "data",
    ["a:999:0:0", "zzz", "a:1:0:99", "m:1:3:99999", "del:maybe", "adv:why:424242",
     "a:١:0:0", "a:1:٠:0", "a:01:0:0", "a:1:0:0:0"],  # the current question's, in digits or fields the bot never writes
)  # fmt: skip
async def test_forged_button_data_gets_a_friendly_answer(harness: ChatHarness, data: str) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    replies = await seller.presses_data(data)
    assert replies, "a forged button is never met with silence"
    assert all("Traceback" not in (m.text or "") for m in replies)
    assert await count(harness, AnswerRow) == 0


async def test_a_sticker_during_a_checkup_gets_a_note_and_the_question_again(harness: ChatHarness) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    replies = await harness.deliver(seller.id, harness.api.send_sticker(seller.user))
    assert "not stickers" in replies[0].text
    assert "What do you mainly sell?" in replies[-1].text


async def test_an_unknown_command_mid_checkup_pauses_without_losing_answers(harness: ChatHarness) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    await seller.presses("Menswear")
    replies = await seller.says("/dance")
    assert "paused" in replies[0].text
    assert "Compared with similar products" in replies[-1].text


async def test_the_same_update_delivered_twice_is_applied_once(harness: ChatHarness) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    update = harness.api.press_button_labelled(seller.user, seller.last_with_buttons(), "Menswear")
    await harness.deliver(seller.id, update)
    again = await harness.deliver(seller.id, update)
    assert again == []
    assert await count(harness, AnswerRow) == 1


async def test_checkup_resumes_where_it_stopped(harness: ChatHarness) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    await seller.presses("Menswear")
    [offer] = await seller.says("/checkup")
    assert "in progress (1 question answered)" in offer.text
    replies = await seller.presses("Continue")
    assert "Compared with similar products" in replies[-1].text
    replies = await seller.presses("Start over", offer)
    assert "What do you mainly sell?" in replies[-1].text
    assert await count(harness, Checkup, status="cancelled") == 1


async def test_cancel_stops_the_checkup(harness: ChatHarness) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    replies = await seller.says("/cancel")
    assert "Check-up stopped" in replies[-1].text
    [idle] = await seller.says("hello")
    assert "/checkup" in idle.text


async def test_export_sends_only_the_users_own_data(harness: ChatHarness) -> None:
    one, two = harness.seller(1), harness.seller(2)
    await one.says("/checkup")
    await one.presses("Menswear")
    await two.says("/checkup")
    await two.presses("Food")
    [document] = await one.says("/export")
    data = json.loads(document.file_bytes)
    assert data["user"]["id"] == 1
    assert {a["value"] for a in data["answers"]} == {"menswear"}


async def test_delete_asks_first_then_removes_every_row(harness: ChatHarness) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS)
    [confirm] = await seller.says("/delete")
    assert "cannot be undone" in confirm.text
    await seller.presses("No, keep")
    assert await count(harness, AnswerRow, user_id=seller.id) == 19
    await seller.says("/delete")
    [done] = await seller.presses("Yes, delete")
    assert "deleted" in done.text
    async with harness.store.unit() as uow:
        assert uow is not None
        assert set((await uow.count_user_rows(seller.id)).values()) == {0}


async def test_whatif_compares_a_changed_lever_with_the_current_estimate(harness: ChatHarness) -> None:
    seller = harness.seller()
    [none_yet] = await seller.says("/whatif traffic 100")
    assert "no advice yet" in none_yet.text
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS)
    [result] = await seller.says("/whatif traffic 120")
    assert "What if traffic were 120?" in result.text
    assert "¥1,559 -> ¥18,706 (+1,100%)" in result.text
    [menu] = await seller.says("/whatif")
    [result] = await seller.presses("Repeat", menu)
    assert "What if repeat purchases were 25%?" in result.text
    [bad] = await seller.says("/whatif happiness 100")
    assert "couldn't read that" in bad.text


async def test_language_switch_changes_the_next_replies(harness: ChatHarness) -> None:
    seller = harness.seller()
    await seller.says("/language")
    [done] = await seller.presses("中文")
    assert "语言已设为中文" in done.text
    [helped] = await seller.says("/help")
    assert "我能做什么" in helped.text


async def test_privacy_and_help_answer(harness: ChatHarness) -> None:
    seller = harness.seller()
    [privacy] = await seller.says("/privacy")
    assert "What I store" in privacy.text and "/delete" in privacy.text
    [help_] = await seller.says("/help")
    assert "/checkup" in help_.text and "/export" in help_.text


async def test_a_group_chat_is_told_to_use_a_private_chat(harness: ChatHarness) -> None:
    seller = harness.seller()
    group = {
        "message": {
            "message_id": 5, "date": 0, "chat": {"id": -100, "type": "group", "title": "Sellers"},
            "from": {"id": seller.id, "is_bot": False, "first_name": "Li"},
            "text": "/checkup", "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
        }
    }
    await harness.deliver(-100, harness.api.send_update(group))
    assert "private chat" in harness.api.messages(-100)[-1].text
    chatter = {"message": {**group["message"], "message_id": 6, "text": "hello all", "entities": []}}
    assert await harness.deliver(-100, harness.api.send_update(chatter)) == []
