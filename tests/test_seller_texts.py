"""What a seller reads, walked through every feature as chat transcripts (offline, real
database): what-ifs by the names the advice shows, Back, the question count, typed text
outside a question, /language mid-check-up, and valid Telegram HTML throughout."""

from __future__ import annotations

import re

import pytest

from tests.support.fake_bot_api import BotMessage
from tests.support.harness import ChatHarness, Seller
from tests.test_bot_checkup import CHINESE_ANSWERS, ENGLISH_ANSWERS, answer_all

TAG = re.compile(r"</?(b|i|u|s|code|pre|a|blockquote)( [^<>]*)?>")


def labels(message: BotMessage) -> list[str]:
    return [label for row in message.buttons for label, _ in row]


def assert_no_raw_angle_brackets(seller: Seller) -> None:
    """Every message sent as HTML writes ``<`` and ``>`` outside its tags as entities."""
    for message in seller.messages():
        if message.html is not None:
            bare = TAG.sub("", message.html)
            assert "<" not in bare and ">" not in bare, message.html


@pytest.fixture
async def advised(harness: ChatHarness) -> Seller:
    """The WeChat menswear reseller, after a whole check-up in English."""
    seller = harness.seller(1001, "en")
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS)
    return seller


@pytest.fixture
async def advised_zh(harness: ChatHarness) -> Seller:
    seller = harness.seller(1002, "zh-CN")
    await seller.says("/checkup")
    await answer_all(seller, CHINESE_ANSWERS)
    return seller


# --- /whatif ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("/whatif order value ¥200", "What if order value were ¥200?"),
        ("/whatif Order value to 200", "What if order value were ¥200?"),
        ("/whatif order_value 200", "What if order value were ¥200?"),
        ("/whatif price 200", "What if order value were ¥200?"),
        ("/whatif repeat purchases 30%", "What if repeat purchases were 30%?"),
        ("/whatif reach 50", "What if traffic were 50?"),
        ("/whatif conversion rate 30%", "What if conversion were 30%?"),
        ("/whatif 客单价 ¥200", "What if order value were ¥200?"),
    ],
)
async def test_whatif_takes_the_levers_by_the_names_the_advice_shows(
    advised: Seller, typed: str, said: str
) -> None:
    [result] = await advised.says(typed)
    assert said in result.text
    assert "Monthly sales: ¥1,559 -> " in result.text
    assert_no_raw_angle_brackets(advised)


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("/whatif 客单价 ¥200", "如果客单价是 ¥200？"),
        ("/whatif 转化率3%", "如果转化率是 3%？"),
        ("/whatif 复购率 30%", "如果复购是 30%？"),
        ("/whatif order value 200", "如果客单价是 ¥200？"),
    ],
)
async def test_whatif_in_chinese_takes_the_chinese_names(
    advised_zh: Seller, typed: str, said: str
) -> None:
    [result] = await advised_zh.says(typed)
    assert said in result.text
    assert "月销售额：¥1,559 -> " in result.text


async def test_whatif_says_when_it_used_less_than_was_asked(advised: Seller) -> None:
    [result] = await advised.says("/whatif conversion 300%")
    assert "What if conversion were 100%?" in result.text
    assert "300% is beyond what I can work out, so I used 100%." in result.text
    [result] = await advised.says("/whatif traffic 99,999,999,999")
    assert "99,999,999,999 is beyond what I can work out, so I used 10,000,000." in result.text
    [result] = await advised.says("/whatif traffic 300")
    assert "beyond" not in result.text


async def test_whatif_reads_a_bare_conversion_figure_as_a_percentage_and_says_so(
    advised: Seller,
) -> None:
    [result] = await advised.says("/whatif conversion 0.5")
    assert "What if conversion were 0.5%?" in result.text
    assert "I read 0.5 as 0.5%: conversion and repeat purchases are percentages." in result.text
    [result] = await advised.says("/whatif conversion 0.5%")
    assert "I read" not in result.text


async def test_a_whatif_it_cannot_read_offers_the_levers_as_buttons(advised: Seller) -> None:
    [bad] = await advised.says("/whatif happiness 100")
    assert "couldn't read that" in bad.text and "/whatif order value 250" in bad.text
    assert labels(bad) == ["Traffic", "Conversion", "Order value", "Repeat purchases"]


async def test_the_advice_has_a_whatif_button(advised: Seller) -> None:
    advice = advised.last_with_buttons()
    assert "What if…?" in labels(advice)
    [menu] = await advised.presses("What if…?", advice)
    assert "Which lever?" in menu.text
    [result] = await advised.presses("Traffic", menu)
    assert "What if traffic were 120?" in result.text
    again = await advised.says("/advice")
    assert "What if…?" in labels(again[-1])


async def test_every_message_of_a_whole_check_up_and_its_views_is_valid_html(
    advised: Seller,
) -> None:
    advice = advised.last_with_buttons()
    await advised.presses("Why?", advice)
    await advised.presses("More", advice)
    await advised.says("/whatif traffic 200")
    await advised.says("/progress")
    assert_no_raw_angle_brackets(advised)


# --- the check-up: Back, /cancel, the count of questions ------------------------------------------


async def test_after_back_the_question_left_still_reads_as_its_question(
    harness: ChatHarness,
) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    [_, price] = await seller.presses("Menswear")
    assert "Compared with similar products" in price.text
    left, again = await seller.presses("Back", price)
    assert left.message_id == price.message_id and not left.buttons
    assert "Compared with similar products" in left.text
    assert "You went back to the previous question." in left.text
    assert "✓" not in left.text
    assert "What do you mainly sell?" in again.text and again.buttons


async def test_cancel_leaves_the_question_readable(harness: ChatHarness) -> None:
    seller = harness.seller()
    [question] = await seller.says("/checkup")
    left, stopped = await seller.says("/cancel")
    assert left.message_id == question.message_id and not left.buttons
    assert "What do you mainly sell?" in left.text and "Check-up stopped here." in left.text
    assert "Check-up stopped" in stopped.text


async def test_the_welcome_promises_the_count_the_questions_then_show_and_it_never_grows(
    harness: ChatHarness,
) -> None:
    seller = harness.seller()
    [welcome] = await seller.says("/start")
    promised = int(re.search(r"at most (\d+) short questions", welcome.text).group(1))  # type: ignore[union-attr]
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS)
    counters = [
        (int(m.group(1)), int(m.group(2)))
        for message in seller.messages()
        if (m := re.search(r" - (\d+)/(\d+)\n", message.text or ""))
    ]
    totals = [total for _, total in counters]
    assert totals[0] == promised
    assert totals == sorted(totals, reverse=True), totals
    assert max(index for index, _ in counters) == totals[-1]  # the last question is n/n


# --- typed text outside a question ------------------------------------------------------------------


async def asked_for_the_hour(seller: Seller) -> BotMessage:
    await seller.says("/checkin")
    await seller.presses("Every day" if seller.user.language_code == "en" else "每天")
    return seller.last()


@pytest.mark.parametrize(
    ("typed", "hour"),
    [("9", "09:00"), ("9am", "09:00"), ("9 pm", "21:00"), ("21:00", "21:00"), ("12am", "00:00"),
     ("9点", "09:00"), ("晚上9点", "21:00"), ("下午三点", "15:00")],
)  # fmt: skip
async def test_an_hour_typed_at_the_hour_step_is_taken(
    advised: Seller, typed: str, hour: str
) -> None:
    prompt = await asked_for_the_hour(advised)
    assert "At what time" in prompt.text
    [zones] = await advised.says(typed)
    assert "Which time zone are you in?" in zones.text
    [*_, status] = await advised.presses("Keep")
    assert f"Every day at {hour}" in status.text


async def test_a_typed_hour_it_cannot_read_gets_the_hours_again(advised: Seller) -> None:
    await asked_for_the_hour(advised)
    refused, again = await advised.says("9:30")
    assert "Check-ins go out on the hour" in refused.text
    assert "At what time" in again.text and "09:00" in labels(again)
    [zones] = await advised.says("10")
    assert "Which time zone" in zones.text


async def test_text_after_the_advice_gets_the_sellers_options_not_a_check_up_invitation(
    advised: Seller,
) -> None:
    [reply] = await advised.says("hello")
    assert "To get advice, start a check-up" not in reply.text
    for command in ("/advice", "/whatif", "/progress", "/checkup"):
        assert command in reply.text
    assert labels(reply) == ["Why?", "More", "What if…?"]
    [why] = await advised.presses("Why?", reply)
    assert "Why this advice" in why.text


async def test_text_before_any_advice_still_invites_a_check_up(harness: ChatHarness) -> None:
    [reply] = await harness.seller().says("hello")
    assert "To get advice, start a check-up" in reply.text


# --- /language during a check-up ------------------------------------------------------------------


async def test_language_during_a_check_up_goes_on_with_the_question_in_the_new_language(
    harness: ChatHarness,
) -> None:
    seller = harness.seller()
    await seller.says("/checkup")
    await seller.presses("Menswear")
    [menu] = await seller.says("/language")
    said, question = await seller.presses("中文", menu)
    assert "/checkup" not in said.text and "诊断接着进行" in said.text
    assert "和同类产品相比，你的价格处在什么位置？" in question.text
    assert "中等" in labels(question)
    await seller.presses("中等", question)
    assert "你用什么货币收款？" in seller.last().text


async def test_language_without_a_check_up_says_how_to_start_one(harness: ChatHarness) -> None:
    seller = harness.seller()
    [menu] = await seller.says("/language")
    [said] = await seller.presses("中文", menu)
    assert "发送 /checkup 开始诊断" in said.text


# --- Chinese chats ---------------------------------------------------------------------------------


async def test_time_zone_buttons_are_named_in_the_chats_language(advised_zh: Seller) -> None:
    await asked_for_the_hour(advised_zh)
    [zones] = await advised_zh.presses("20:00")
    assert labels(zones)[:4] == ["上海", "香港", "新加坡", "吉隆坡"]
    assert "保持 UTC" in labels(zones)[-1]
    [*_, status] = await advised_zh.presses("吉隆坡")
    assert "每天 20:00（吉隆坡）" in status.text


async def test_a_chinese_seller_reads_chinese_punctuation_throughout(advised_zh: Seller) -> None:
    """Every message of a Chinese chat: check-up, a refused answer, the advice and its views,
    a what-if, check-in settings (weekly, on Friday)."""
    from tests.test_texts import typography_faults

    advice = advised_zh.last_with_buttons()
    await advised_zh.presses("为什么？", advice)
    await advised_zh.presses("更多", advice)
    await advised_zh.says("/whatif 转化率 0.5")
    await advised_zh.says("/checkin")
    await advised_zh.presses("每周")
    await advised_zh.presses("周五")
    await advised_zh.says("晚上9点")
    [*_, status] = await advised_zh.presses("上海")
    assert "每周，周五 21:00（上海）" in status.text
    await advised_zh.says("/checkup")
    await advised_zh.presses("男装")
    await advised_zh.presses("中等")
    await advised_zh.presses("人民币")
    await advised_zh.presses("朋友圈")
    await advised_zh.presses("完成")
    [refused] = await advised_zh.says("很多")
    assert "我没看出这是一个数字。大概" in refused.text
    faults = [
        (m.text, fault) for m in advised_zh.messages() for fault in typography_faults(m.text or "")
    ]
    assert faults == []


# --- check-ins ------------------------------------------------------------------------------------


async def test_a_check_in_goes_on_in_the_new_language_and_its_result_has_a_whatif_button(
    harness: ChatHarness,
) -> None:
    from tests.test_checkins import in_a_check_in

    seller = harness.seller(1001, "en")
    await in_a_check_in(harness, seller)
    assert "Check-in 1/" in seller.last().text
    [menu] = await seller.says("/language")
    said, question = await seller.presses("中文", menu)
    assert "复查接着进行" in said.text and "/checkup" not in said.text
    assert "复查 1/" in question.text
    while any("和上次一样" in label for label in labels(seller.last())):
        await seller.presses("和上次一样")
    result = await seller.presses("还没有")
    assert "如果……会怎样？" in labels(result[-1])
    assert_no_raw_angle_brackets(seller)
