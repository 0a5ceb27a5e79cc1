"""The levers, measured, as a seller meets them in chat: with enough in the ledger, the
advice and the check-ins take its weekly orders, order value and repeat rate and say so,
and a check-in asks the orders with the ledger's figures prefilled; in English and Chinese."""

from __future__ import annotations

from datetime import UTC

from tests.support.harness import ChatHarness, Seller
from tests.test_bot_checkup import CHINESE_ANSWERS, ENGLISH_ANSWERS, answer_all
from tests.test_bot_sales import logged
from tests.test_checkins import (
    Clock,
    accept_weekly_wednesday_9_in_utc_plus_8,
    dispatcher_for,
    settings_of,
)
from tests.test_seller_texts import assert_no_raw_angle_brackets, labels

# Ten sales over the last 20 days, every other day at ¥260: Zhou once, Lena and Wang again and again.
BUYERS = ["Zhou"] + ["Lena", "Wang"] * 4 + ["Lena"]


async def with_a_ledger(harness: ChatHarness, seller: Seller) -> None:
    await seller.says("/sold 260 @Lena")  # one today, in chat (the seller's first message)
    for n, customer in enumerate(BUYERS):  # and ten before: 11 orders in 20 days
        await logged(harness.store, seller, "260", days_ago=20 - 2 * n, customer=customer)


async def test_the_advice_takes_the_ledgers_figures_and_says_which(harness: ChatHarness) -> None:
    seller = harness.seller(1001, "en")
    await with_a_ledger(harness, seller)
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS)  # says 2 orders a week at ¥180, 10% coming back
    advice = seller.last().text
    assert "about 3.85 orders a week x ¥260 x 4.33 weeks" in advice
    assert (
        "Measured from your ledger over the last 20 days: weekly orders, order value, repeat rate; "
        "the rest are your estimates."
    ) in advice
    [again] = await seller.says("/advice")  # rendered again from what was stored
    assert "Measured from your ledger over the last 20 days" in again.text


async def test_without_a_ledger_the_advice_is_the_sellers_estimates(harness: ChatHarness) -> None:
    seller = harness.seller(1001, "en")
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS)
    advice = seller.last().text
    assert "about 2 orders a week x ¥180" in advice and "ledger" not in advice


async def test_in_chinese(harness: ChatHarness) -> None:
    seller = harness.seller(1002, "zh-CN")
    await with_a_ledger(harness, seller)
    await seller.says("/checkup")
    await answer_all(seller, CHINESE_ANSWERS)
    assert "按你账本最近 20 天的记录实测：每周订单、客单价、复购率；其余是你的估计。" in seller.last().text
    assert_no_raw_angle_brackets(seller)


async def started_check_in(harness: ChatHarness, seller: Seller, *, chinese: bool = False) -> None:
    """A check-up with the ledger, weekly check-ins, and the first one started."""
    await with_a_ledger(harness, seller)
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS)
    await accept_weekly_wednesday_9_in_utc_plus_8(seller)
    if chinese:
        await seller.says("/language")
        await seller.presses("中文")
    due = (await settings_of(harness.store, seller.id)).checkin_next_due_at.replace(tzinfo=UTC)
    assert await dispatcher_for(harness, Clock(due)).pass_once() == 1
    await seller.presses("开始复查" if chinese else "Start the check-in")


async def test_a_check_in_asks_the_orders_with_the_ledgers_figures(harness: ChatHarness) -> None:
    seller = harness.seller(1001, "en")
    await started_check_in(harness, seller)
    [orders] = await seller.presses("Same as last time")  # new people: as in the check-up
    # The last 7 days hold the sales of 6, 4 and 2 days ago and today's: 4 at ¥260.
    assert "How many orders did you get in the last 7 days?" in orders.text
    assert "From your ledger: 4 orders, ¥1,040 in the last 7 days. Right?" in orders.text
    assert labels(orders)[0] == "✓ Right, as in my ledger"
    [repeat] = await seller.presses("Right, as in my ledger", orders)
    assert "Check-in 4/4" in repeat.text  # orders and revenue both taken: repeat orders next
    await seller.says("2")
    result = await seller.presses("Not yet")
    text = result[-1].text
    assert "Measured from your ledger over the last 20 days: weekly orders, order value, repeat rate" in text
    assert "Repeat purchases: kept" not in text
    assert_no_raw_angle_brackets(seller)


async def test_a_figure_typed_instead_is_taken_as_before(harness: ChatHarness) -> None:
    seller = harness.seller(1001, "en")
    await started_check_in(harness, seller)
    await seller.presses("Same as last time")
    [revenue] = await seller.says("6")  # the seller sold more than they logged
    assert "What did those orders bring in" in revenue.text
    await seller.says("1200")
    await seller.says("2")
    result = await seller.presses("Not yet")
    text = result[-1].text
    assert "Orders a week: 3.85 -> 6 " in text  # the seller's figures stand...
    assert "Measured from your ledger over the last 20 days: repeat rate; the rest are your estimates." in text


async def test_a_check_in_in_chinese_asks_with_the_ledgers_figures(harness: ChatHarness) -> None:
    seller = harness.seller(1001, "en")
    await started_check_in(harness, seller, chinese=True)
    [orders] = await seller.presses("和上次一样")
    assert "账本记录：过去7 天共 4 单，¥1,040。对吗？不对就直接输入你的数字。" in orders.text
    await seller.presses("对，按账本", orders)
    await seller.says("2")
    result = await seller.presses("还没有")
    assert "按你账本最近 20 天的记录实测：每周订单、客单价、复购率；其余是你的估计。" in result[-1].text
    assert_no_raw_angle_brackets(seller)
