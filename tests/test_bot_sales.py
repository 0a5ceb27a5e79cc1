"""/sold as a seller meets it through Telegram: a chat transcript in, what the bot sent and
what the ledger holds out, in English and Chinese; bad lines store nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from advice.ledger import customer_key
from bot.core import snapshot as need
from bot.core.writes import AddCustomer, RecordSale
from bot.storage.models import utcnow
from bot.storage.repository import Store
from tests.support.harness import ChatHarness, Seller
from tests.support.stored import new_id, snapshot_of, write
from tests.test_charts import png_size


async def ledger(store: Store, seller: Seller) -> list[tuple[Decimal, int | None, str | None, str | None]]:
    since = need.SalesSince(utcnow() - timedelta(days=1))
    snapshot = await snapshot_of(store, seller.id, since, need.Customers())
    names = {c.id: c.nickname for c in snapshot.get(need.Customers())}
    return [
        (s.amount, s.quantity, s.items, names.get(s.customer_id) if s.customer_id else None)
        for s in snapshot.get(since)
    ]


async def test_a_sale_in_one_line_is_confirmed_with_undo(harness: ChatHarness) -> None:
    seller = harness.seller()
    [reply] = await seller.says("/sold 180 2 cakes @Lena #groups")
    assert reply.text == "Recorded: ¥180 · 2 x cakes · Lena · Group chats"
    assert [label for row in reply.buttons for label, _ in row] == ["Undo"]
    assert await ledger(harness.store, seller) == [(Decimal(180), 2, "cakes", "Lena")]


async def test_the_same_customer_in_another_case_is_one_customer(harness: ChatHarness) -> None:
    seller = harness.seller()
    await seller.says("/sold 180 @Lena")
    await seller.says("/sold 99 to LENA")
    customers = (await snapshot_of(harness.store, seller.id, need.Customers())).get(need.Customers())
    assert [(c.nickname, c.orders, c.total) for c in customers] == [("Lena", 2, Decimal(279))]


async def test_undo_takes_the_sale_back_once(harness: ChatHarness) -> None:
    seller = harness.seller()
    [recorded] = await seller.says("/sold 85")
    [[(_, undo)]] = recorded.buttons
    [undone] = await seller.presses("Undo", recorded)
    assert undone.text == "Taken out of your ledger: ¥85"
    assert await ledger(harness.store, seller) == []
    [again] = await seller.presses_data(undo or "", recorded)
    assert again.text == "That sale is no longer in your ledger."


async def test_a_bare_sold_asks_for_the_amount_and_reads_a_whole_line_as_well(harness: ChatHarness) -> None:
    seller = harness.seller()
    [how] = await seller.says("/sold")
    assert how.text.startswith("How much was the sale?") and not how.buttons
    [reply] = await seller.says("1.2k 3 jackets to Wang")
    assert reply.text == "Recorded: ¥1,200 · 3 x jackets · Wang"
    [idle] = await seller.says("hello")  # the prompt is answered: back to the usual reply
    assert "Recorded" not in idle.text


async def test_a_refund_needs_purchases_to_refund(harness: ChatHarness) -> None:
    seller = harness.seller()
    [refused] = await seller.says("/sold -180 @Lena")
    assert "a refund to Lena can be at most what they bought (¥0)" in refused.text
    await seller.says("/sold 200 @Lena")
    [refund] = await seller.says("/sold -180 @lena")
    assert refund.text == "Refund recorded: -¥180 · lena"
    assert [amount for amount, *_ in await ledger(harness.store, seller)] == [Decimal(200), Decimal(-180)]


async def test_in_chinese(harness: ChatHarness) -> None:
    seller = harness.seller(language_code="zh-hans")
    [reply] = await seller.says("/sold 85元 给 小李 #朋友圈")
    assert reply.text.startswith("已记账：¥85")
    assert "小李" in reply.text
    assert await ledger(harness.store, seller) == [(Decimal(85), None, None, "小李")]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("/sold cakes @Lena", "couldn't find the amount"),
        ("/sold 0", "An amount of 0 isn't a sale"),
        ("/sold 99999999999", "more than 10,000,000 for one sale"),
        ("/sold 1e99", "couldn't find the amount"),
        ("/sold 180 #nosuchplace", "I don't know the tag #nosuchplace"),
        ("/sold 180 @" + "x" * 41, "at most 40 characters"),
        ("/sold 180 @<b>Lena</b>", "can't contain < or >"),
        ("/sold -50", "A negative amount is a refund: say whose"),
        ("/sold 🎂🎂🎂", "couldn't find the amount"),
    ],
)
async def test_a_bad_line_gets_a_clear_reply_and_stores_nothing(harness: ChatHarness, line: str, says: str) -> None:
    seller = harness.seller()
    [reply] = await seller.says(line)
    assert reply.text.startswith("Nothing recorded: ") and says in reply.text
    assert await ledger(harness.store, seller) == []


# --- /sales and /customers ---------------------------------------------------------------
async def logged(store: Store, seller: Seller, amount: str, *, days_ago: float, customer: str | None = None, items: str | None = None) -> None:
    """A sale logged ``days_ago`` (as /sold would have stored it then)."""
    customer_id = None
    if customer is not None:
        found = (await snapshot_of(store, seller.id, need.CustomerNamed(customer_key(customer)))).get(need.CustomerNamed(customer_key(customer)))
        customer_id = found.id if found else await new_id(store, seller.id, "customers")
        if found is None:
            await write(store, seller.id, AddCustomer(customer_id, seller.id, customer, utcnow()))
    at = utcnow() - timedelta(days=days_ago)
    sale_id = await new_id(store, seller.id, "sales")
    await write(store, seller.id, RecordSale(sale_id, seller.id, at, Decimal(amount), "CNY", items=items, customer_id=customer_id))


async def test_sales_sums_up_the_weeks_newest_first(harness: ChatHarness) -> None:
    seller = harness.seller()
    await seller.says("/sold 180 @Lena")
    await seller.says("/sold 120 @Wang")
    overview, chart = await seller.says("/sales")
    lines = overview.text.splitlines()
    assert lines[0].startswith("Your sales, week by week")
    assert ": 2 orders · ¥300 · ¥150 · 2 new / 0 returning" in lines[1]
    assert len(lines) == 1 + 5 + 1  # the heading, five weeks, the repeat share
    assert lines[-1] == "Repeat customers over the last 90 days: 0 of 2 (0%)"
    assert [label for row in overview.buttons for label, _ in row] == ["Ledger as a CSV file"]
    assert chart.kind == "photo" and chart.file_bytes and png_size(chart.file_bytes) == (600, 300)
    assert chart.caption and chart.caption.startswith("Revenue by week: ")
    assert chart.caption.endswith(" ¥300.")  # this week's revenue, the last bar
    assert chart.caption.count("¥0") == 4  # the four weeks before


async def test_the_sales_chart_in_chinese_holds_the_weeks(harness: ChatHarness) -> None:
    seller = harness.seller(language_code="zh-hans")
    await seller.says("/sold 85元 给 小李")  # first: the seller's row, in Chinese
    await logged(harness.store, seller, "120", days_ago=8, customer="小李")
    overview, chart = await seller.says("/sales")
    assert overview.text.startswith("每周成交")
    assert chart.kind == "photo" and chart.file_bytes and chart.file_bytes.startswith(b"\x89PNG")
    assert chart.caption and chart.caption.startswith("每周成交额：") and chart.caption.endswith("¥85。")
    assert "¥120" in chart.caption


async def test_a_customer_who_bought_before_is_returning(harness: ChatHarness) -> None:
    seller = harness.seller()
    await logged(harness.store, seller, "180", days_ago=60, customer="Lena")
    await seller.says("/sold 90 @lena")
    overview, _ = await seller.says("/sales")
    assert ": 1 order · ¥90 · ¥90 · 0 new / 1 returning" in overview.text.splitlines()[1]
    assert "1 of 1 (100%)" in overview.text


async def test_the_ledger_comes_as_a_csv_file(harness: ChatHarness) -> None:
    seller = harness.seller()
    await seller.says("/sold 180 2 cakes @Lena #groups")
    overview, _ = await seller.says("/sales")
    [document] = await seller.presses("Ledger as a CSV file", overview)
    assert document.file_name == "sales.csv"
    rows = document.file_bytes.decode("utf-8-sig").splitlines() if document.file_bytes else []
    assert rows[0] == "date,amount,currency,quantity,items,customer,channel"
    assert rows[1].endswith(",180.00,CNY,2,cakes,Lena,groups")


async def test_an_empty_ledger_says_how_to_start(harness: ChatHarness) -> None:
    seller = harness.seller()
    [sales] = await seller.says("/sales")
    [customers] = await seller.says("/customers")
    assert "/sold" in sales.text and "/sold" in customers.text


async def test_customers_shows_who_is_due_with_a_message_to_send(harness: ChatHarness) -> None:
    seller = harness.seller()
    # Lena buys every 10 days, last 20 days ago: due (after 12). Wang bought 3 days ago.
    for days_ago in (40, 30, 20):
        await logged(harness.store, seller, "60", days_ago=days_ago, customer="Lena", items="cookies")
    await logged(harness.store, seller, "99", days_ago=3, customer="Wang")
    heading, due, others = await seller.says("/customers")
    assert heading.text == "Your customers: 2, 1 due for a follow-up."
    assert due.text.startswith("Due: Lena · 3 orders · ¥180 · last ")
    assert "cookies" in due.text
    assert [label for row in due.buttons for label, _ in row] == ["Sent", "Later", "Not a regular"]
    assert others.text.startswith("Wang · 1 order · ¥99")
    [noted] = await seller.presses("Sent", due)
    assert noted.text.startswith("Noted: followed up")
    heading, others = await seller.says("/customers")
    assert heading.text == "Your customers: 2, 0 due for a follow-up."


async def test_later_and_not_a_regular_take_a_customer_off_the_due(harness: ChatHarness) -> None:
    seller = harness.seller()
    for name in ("Lena", "Mei"):
        await logged(harness.store, seller, "60", days_ago=100, customer=name)
    _, first, second = await seller.says("/customers")
    await seller.presses("Later", first)
    await seller.presses("Not a regular", second)
    heading, _ = await seller.says("/customers")
    assert heading.text == "Your customers: 2, 0 due for a follow-up."
