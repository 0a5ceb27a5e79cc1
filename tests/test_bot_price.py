"""/price in a chat: a seller's line in, the margin out, in English and Chinese; anything
else gets a friendly reason and an example, never a traceback (offline, real database)."""

from __future__ import annotations

import pytest

from bot.app import register_commands
from tests.support.harness import ChatHarness, Seller
from tests.test_bot_checkup import ENGLISH_ANSWERS, answer_all

EXAMPLE_EN = "/price 120 cost 50 ship 8 fee 5% agent 10% goal 5000 target 30%"
EXAMPLE_ZH = "/price 售价120 成本50 运费8 手续费5% 代理折扣10% 目标5000 目标利润率30%"


async def test_a_bakers_cake_in_english(harness: ChatHarness) -> None:
    [reply] = await harness.seller(1001, "en").says(EXAMPLE_EN)
    # 120 - 12 (agent 10%) - 6 (fee 5%) - 50 - 8 = 44, 36.7% of 120
    assert reply.text is not None and reply.text.splitlines() == [
        "What one order leaves you",
        "Price: ¥120",
        "- agent discount 10%: -¥12",
        "- fees 5%: -¥6",
        "- unit cost: -¥50",
        "- shipping: -¥8",
        "Margin: ¥44 an order, 36.7% of the price",
        "",
        # 5000 / 44 = 113.6 orders a month, / (52/12) = 26.2 a week
        "To make ¥5,000 a month: at least 27 orders a week.",
        # 58 / (1 - 10% - 5% - 30%) = 105.4545...
        "For a 30% margin: a price of ¥105.46 or more.",
    ]
    assert any(e["type"] == "bold" for e in reply.entities)


async def test_the_same_cake_in_chinese(harness: ChatHarness) -> None:
    [reply] = await harness.seller(1002, "zh-hans").says(EXAMPLE_ZH)
    assert reply.text is not None
    assert "每单利润：¥44，占售价 36.7%" in reply.text
    assert "每月赚 ¥5,000：每周至少 27 单。" in reply.text
    assert "要有 30% 的利润率：售价至少 ¥105.46。" in reply.text


async def test_agents_eating_the_margin_are_warned_about(harness: ChatHarness) -> None:
    en, zh = harness.seller(1003, "en"), harness.seller(1004, "zh")
    # gross 100 - 40 = 60; agents take 35 (58%), leaving 25
    [warned] = await en.says("/price 100 cost 40 agent 35%")
    assert "Margin: ¥25 an order" in (warned.text or "")
    assert "agent discount takes 58.3% of what an order earns" in (warned.text or "")
    # 60 - 45 - 8 - 10 = -3: a loss
    [loss] = await zh.says("/price 售价60 成本45 运费8 手续费10 目标3000")
    assert "每单利润：-¥3" in (loss.text or "") and "每单都在亏钱" in (loss.text or "")


async def test_price_alone_says_how_in_the_sellers_language(harness: ChatHarness) -> None:
    [en] = await harness.seller(1005, "en").says("/price")
    [zh] = await harness.seller(1006, "zh").says("/price")
    assert "Margin calculator" in (en.text or "") and EXAMPLE_EN in (en.text or "")
    assert "利润计算器" in (zh.text or "") and EXAMPLE_ZH in (zh.text or "")


BAD_INPUT = [
    ("/price abc", "I don't know the word “abc” here.", "我不认识这里的“abc”。"),
    ("/price 0", "“0” doesn't work as the price.", "“0”不能作为售价。"),
    ("/price 1e99", "I couldn't read “1e99” as the price.", "“1e99”不能当作售价来读。"),
    ("/price 🎂", "I don't know the word “🎂” here.", "我不认识这里的“🎂”。"),
    ("/price 120 cost 50 🎂🎂", "I don't know the word “🎂🎂” here.", "我不认识这里的“🎂🎂”。"),
    ("/price 120", "I need the unit cost too", "还需要成本"),
    ("/price cost 50", "I need the price", "需要售价"),
    ("/price 120 cost 50%", "give an amount of money, not a percentage", "是金额，不是百分比"),
    ("/price 120 cost 50 agent 100%", "doesn't work as the agent discount", "不能作为代理折扣"),
    ("/price <b>5</b> cost <i>", "“<b>5</b>”", "“<b>5</b>”"),
    ("/price " + "9" * 400, "too long", "太长了"),
]


@pytest.mark.parametrize(("typed", "en", "zh"), BAD_INPUT, ids=[t for t, _, _ in BAD_INPUT])
async def test_bad_input_gets_a_reason_and_an_example(
    harness: ChatHarness, typed: str, en: str, zh: str
) -> None:
    for seller, said, example in (
        (harness.seller(1007, "en"), en, "Write it like this: " + EXAMPLE_EN),
        (harness.seller(1008, "zh"), zh, "这样写：" + EXAMPLE_ZH),
    ):
        [reply] = await seller.says(typed)
        assert reply.text is not None and said in reply.text, reply.text
        assert example in reply.text
        assert not any(e["type"] in ("italic", "bold") for e in reply.entities)


async def test_price_during_a_check_up_leaves_it_where_it_was(harness: ChatHarness) -> None:
    seller: Seller = harness.seller(1009, "en")
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS[:7])  # up to the number of people a week
    asked = seller.last().text
    [reply] = await seller.says("/price 180 cost 90")
    assert "Margin: ¥90 an order, 50% of the price" in (reply.text or "")
    after = await seller.says("20")  # the check-up goes on with the answer
    assert any("✓ 20" in (m.text or "") for m in after) and after[-1].text != asked


async def test_help_and_the_command_menu_offer_price(harness: ChatHarness) -> None:
    [en] = await harness.seller(1010, "en").says("/help")
    [zh] = await harness.seller(1011, "zh").says("/help")
    assert "/price - margin calculator" in (en.text or "")
    assert "/price - 利润计算器" in (zh.text or "")
    await register_commands(harness.application)
    menu = {c["command"]: c["description"] for c in harness.api.commands()}
    menu_zh = {c["command"]: c["description"] for c in harness.api.commands("zh")}
    assert menu["price"] == "Margin calculator: what one order leaves you"
    assert menu_zh["price"] == "利润计算器：每单能赚多少"
