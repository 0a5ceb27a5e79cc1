"""The bare /sold flow as a seller meets it through Telegram: /sold, the amount, then who
bought it (a recent customer, a new one, or none) with buttons; a chat transcript in, what
the bot sent and what the ledger holds out, in English and Chinese. The sale waits in the
database: another process carries on; stale, forged and redelivered presses record nothing
more."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import count

from sqlalchemy.ext.asyncio import AsyncEngine

from advice.ledger import customer_key
from bot.core import snapshot as need
from bot.core.events import Command, Event, Pressed, Typed
from bot.core.values import SettingsView
from bot.core.writes import SetSettings
from bot.replies import Reply
from bot.storage.database import session_factory
from bot.storage.models import utcnow
from bot.storage.repository import Store
from bot.updates import run_update
from tests.support.fake_bot_api import BotMessage
from tests.support.harness import ChatHarness, Seller
from tests.support.stored import snapshot_of, write
from tests.test_bot_sales import ledger, logged
from tests.test_sales_storage import ANNA, BORIS, customer, sale


def labels(message: BotMessage) -> list[str]:
    return [label for row in message.buttons for label, _ in row]


def data_of(message: BotMessage, label: str) -> str:
    [data] = [d for row in message.buttons for text, d in row if text == label and d]
    return data


async def settings_of(store: Store, seller: Seller) -> SettingsView:
    return (await snapshot_of(store, seller.id, need.Settings())).get(need.Settings())


async def asked_who(seller: Seller, amount: str = "180 2 cakes #groups") -> BotMessage:
    """/sold, then an amount without a customer: the message asking who bought it."""
    await seller.says("/sold")
    [who] = await seller.says(amount)
    return who


async def test_an_amount_without_a_customer_asks_who_with_the_latest_customers(
    harness: ChatHarness,
) -> None:
    seller = harness.seller()
    names = ["Olga", "Lena", "Wang", "Mei", "Aunt May", "Bo", "Sofia Alexandra Konstantinopolskaya"]
    for days_ago, name in enumerate(names):  # Olga bought last, Sofia first
        await logged(harness.store, seller, "50", days_ago=days_ago + 1, customer=name)
    await logged(
        harness.store, seller, "-20", days_ago=0, customer="Sofia Alexandra Konstantinopolskaya"
    )  # a refund is no purchase
    [how] = await seller.says("/sold")
    assert how.text.startswith("How much was the sale?")
    [who] = await seller.says("180 2 cakes #groups")
    assert (
        who.text
        == "¥180 · 2 x cakes · Group chats\nWho bought it? Tap a customer, or type a new one's nickname."
    )
    assert [len(row) for row in who.buttons] == [2, 2, 2, 2]
    assert labels(who) == [
        "Olga",
        "Lena",
        "Wang",
        "Mei",
        "Aunt May",
        "Bo",
        "New customer",
        "No customer",
    ]
    assert await ledger(harness.store, seller) == [
        (Decimal(-20), None, None, "Sofia Alexandra Konstantinopolskaya")
    ]
    [recorded] = await seller.presses("Aunt May", who)
    assert (
        recorded.message_id == who.message_id and recorded.edits == 1
    )  # the buttons become the answer
    assert recorded.text == "Recorded: ¥180 · 2 x cakes · Aunt May · Group chats"
    assert labels(recorded) == ["Undo"]
    assert (Decimal(180), 2, "cakes", "Aunt May") in await ledger(harness.store, seller)
    settings = await settings_of(harness.store, seller)
    assert (settings.awaiting, settings.sale_pending) == (None, None)
    [idle] = await seller.says("Lena")  # the flow is over: back to the usual reply
    assert "Recorded" not in idle.text


async def test_a_long_nickname_is_cut_on_its_button(harness: ChatHarness) -> None:
    seller = harness.seller()
    long_name = "Sofia Alexandra Konstantinopolskaya"
    await seller.says(f"/sold 50 to {long_name}")
    who = await asked_who(seller, "75")
    assert labels(who) == ["Sofia Alexandra Konstan…", "New customer", "No customer"]
    [recorded] = await seller.presses("Sofia", who)
    assert recorded.text == f"Recorded: ¥75 · {long_name}"


async def test_no_customer_records_the_sale_without_one_and_undo_takes_it_back(
    harness: ChatHarness,
) -> None:
    seller = harness.seller()
    who = await asked_who(seller, "85")
    assert labels(who) == ["New customer", "No customer"]  # nobody bought yet
    [recorded] = await seller.presses("No customer", who)
    assert recorded.text == "Recorded: ¥85"
    assert await ledger(harness.store, seller) == [(Decimal(85), None, None, None)]
    [undone] = await seller.presses("Undo", recorded)
    assert undone.text == "Taken out of your ledger: ¥85"
    assert await ledger(harness.store, seller) == []


async def test_a_new_customer_is_asked_for_and_checked_as_sold_checks_a_nickname(
    harness: ChatHarness,
) -> None:
    seller = harness.seller()
    who = await asked_who(seller)
    [asked] = await seller.presses("New customer", who)
    assert asked.message_id == who.message_id and not asked.buttons
    assert (
        asked.text == "¥180 · 2 x cakes · Group chats\nType the new customer's nickname, e.g. Lena."
    )
    [refused] = await seller.says("<b>Lena</b>")
    assert (
        refused.text
        == "That nickname won't do: A customer's name can't contain < or >. Type another, or send /sold to start again."
    )
    [refused] = await seller.says("x" * 41)
    assert "at most 40 characters" in refused.text
    assert await ledger(harness.store, seller) == []
    [recorded] = await seller.says("@Aunt  May")
    assert recorded.text == "Recorded: ¥180 · 2 x cakes · Aunt May · Group chats"
    assert labels(recorded) == ["Undo"]
    assert await ledger(harness.store, seller) == [(Decimal(180), 2, "cakes", "Aunt May")]


async def test_a_nickname_typed_instead_of_a_press_is_the_customer_and_an_existing_one_is_found(
    harness: ChatHarness,
) -> None:
    seller = harness.seller()
    await seller.says("/sold 50 @Lena")
    await asked_who(seller, "99")
    [recorded] = await seller.says("lena")
    assert recorded.text == "Recorded: ¥99 · lena"
    customers = (await snapshot_of(harness.store, seller.id, need.Customers())).get(
        need.Customers()
    )
    assert [(c.nickname, c.orders) for c in customers] == [("Lena", 2)]


async def test_a_whole_line_or_a_bad_one_after_a_bare_sold_is_taken_as_sold_takes_it(
    harness: ChatHarness,
) -> None:
    seller = harness.seller()
    await seller.says("/sold")
    [recorded] = await seller.says("180 2 cakes @Lena #groups")
    assert recorded.text == "Recorded: ¥180 · 2 x cakes · Lena · Group chats"
    await seller.says("/sold")
    [refused] = await seller.says("cakes")
    assert refused.text.startswith("Nothing recorded: ") and not refused.buttons
    assert len(await ledger(harness.store, seller)) == 1


async def test_the_waiting_sale_is_in_the_database_and_another_process_carries_on(
    harness: ChatHarness, api, chat_store
) -> None:
    seller = harness.seller()
    who = await asked_who(seller)
    settings = await settings_of(harness.store, seller)
    assert (settings.awaiting, settings.sale_pending) == ("sale_customer", "180 2 cakes #groups")
    # Another process: its own application and store over the same database.
    other_store = Store(session_factory(chat_store.engine))
    async with ChatHarness(api, other_store) as other:
        [recorded] = await other.deliver(
            seller.id, api.press_button_labelled(seller.user, who, "No customer")
        )
    assert recorded.text == "Recorded: ¥180 · 2 x cakes · Group chats"
    assert await ledger(harness.store, seller) == [(Decimal(180), 2, "cakes", None)]


async def test_a_press_after_the_sale_was_recorded_records_nothing(harness: ChatHarness) -> None:
    seller = harness.seller()
    who = await asked_who(seller, "85")
    no_customer = data_of(who, "No customer")
    [recorded] = await seller.presses("No customer", who)
    [stale] = await seller.presses_data(no_customer, recorded)
    assert stale.text.startswith("That button is out of date") and "/sold" in stale.text
    assert await ledger(harness.store, seller) == [(Decimal(85), None, None, None)]


async def test_a_press_after_the_flow_timed_out_records_nothing(harness: ChatHarness) -> None:
    seller = harness.seller()
    who = await asked_who(seller, "85")
    await write(
        harness.store,
        seller.id,
        SetSettings(seller.id, {"updated_at": utcnow() - timedelta(minutes=31)}),
    )
    [stale] = await seller.presses("No customer", who)
    assert stale.text.startswith("That button is out of date")
    assert await ledger(harness.store, seller) == []
    [idle] = await seller.says("Lena")  # nor is a nickname typed now taken for the sale
    assert "Recorded" not in idle.text and await ledger(harness.store, seller) == []


async def test_a_button_of_an_earlier_flow_records_nothing_while_a_later_sale_waits(
    harness: ChatHarness,
) -> None:
    seller = harness.seller()
    first = await asked_who(seller, "85")
    second = await asked_who(seller, "120")
    [stale] = await seller.presses("No customer", first)
    assert stale.text.startswith("That button is out of date")
    assert await ledger(harness.store, seller) == []
    [recorded] = await seller.presses("No customer", second)
    assert recorded.text == "Recorded: ¥120"


async def test_a_forged_customer_records_nothing_and_the_sale_still_waits(
    harness: ChatHarness,
) -> None:
    other = harness.seller(2002)
    await other.says("/sold 50 @Boris")
    boris = (
        await snapshot_of(harness.store, other.id, need.CustomerNamed(customer_key("Boris")))
    ).get(need.CustomerNamed(customer_key("Boris")))
    assert boris is not None
    seller = harness.seller()
    who = await asked_who(seller, "85")
    flow = data_of(who, "No customer").split(":")[1]
    for forged in (f"sc:{flow}:{boris.id}", f"sc:{flow}:999999"):  # another seller's; nobody's
        [refused] = await seller.presses_data(forged, who)
        assert refused.text.startswith("I can't find that customer. Nothing recorded yet")
    [stale] = await seller.presses_data(f"sc:{int(flow) + 1}:none", who)  # a flow not shown
    assert stale.text.startswith("That button is out of date")
    [unknown] = await seller.presses_data(f"sc:{flow}:none:100000", who)  # an amount rides along
    assert unknown.text.startswith("I don't know that button")
    assert await ledger(harness.store, seller) == []
    assert await ledger(harness.store, other) == [(Decimal(50), None, None, "Boris")]
    [recorded] = await seller.presses("No customer", who)
    assert recorded.text == "Recorded: ¥85"


async def test_a_press_delivered_twice_records_one_sale(harness: ChatHarness, api) -> None:
    seller = harness.seller()
    await seller.says("/sold 50 @Lena")
    who = await asked_who(seller, "85")
    press = api.press_button_labelled(seller.user, who, "Lena")
    [recorded] = await harness.deliver(seller.id, press)
    assert recorded.text == "Recorded: ¥85 · Lena"
    await harness.deliver(seller.id, press)
    assert await ledger(harness.store, seller) == [
        (Decimal(50), None, None, "Lena"),
        (Decimal(85), None, None, "Lena"),
    ]


async def test_in_chinese(harness: ChatHarness) -> None:
    seller = harness.seller(language_code="zh-hans")
    await seller.says("/sold 50 给 小李")
    [how] = await seller.says("/sold")
    assert how.text.startswith("这笔成交多少钱？")
    [who] = await seller.says("85元 两个蛋糕")
    assert who.text == "¥85 · 2 x 蛋糕\n是谁买的？点选客户，或输入新客户的称呼。"
    assert labels(who) == ["小李", "新客户", "不记客户"]
    [asked] = await seller.presses("新客户", who)
    assert asked.text == "¥85 · 2 x 蛋糕\n输入新客户的称呼，例如 小李。"
    [refused] = await seller.says("<王姐>")
    assert refused.text.startswith("这个称呼不行：")
    [recorded] = await seller.says("王姐")
    assert recorded.text == "已记账：¥85 · 2 x 蛋糕 · 王姐" and labels(recorded) == ["撤销"]
    who = await asked_who(seller, "30")
    assert labels(who) == ["王姐", "小李", "新客户", "不记客户"]
    no_customer = data_of(who, "不记客户")
    [recorded] = await seller.presses("不记客户", who)
    assert recorded.text == "已记账：¥30"
    [stale] = await seller.presses_data(no_customer, recorded)
    assert stale.text.startswith("这个按钮已过期")


# --- what the flow reads, on SQLite and PostgreSQL ------------------------------------------
async def test_the_latest_customers_are_read_by_their_latest_purchase(store: Store) -> None:
    lena, wang, mei = [await customer(store, ANNA, name) for name in ("Lena", "Wang", "Mei")]
    await customer(store, ANNA, "Nobody")  # never bought: no button
    others = await customer(store, BORIS, "Olga")
    await sale(store, ANNA, "50", days=1, customer_id=lena)
    await sale(store, ANNA, "50", days=3, customer_id=wang)
    await sale(store, ANNA, "50", days=2, customer_id=mei)
    await sale(store, ANNA, "-10", days=9, customer_id=lena)  # a refund is no purchase
    await sale(store, ANNA, "50", days=8)  # nobody named
    await sale(store, BORIS, "50", days=9, customer_id=others)
    for most, names in ((6, ["Wang", "Mei", "Lena"]), (2, ["Wang", "Mei"])):
        recent = (await snapshot_of(store, ANNA, need.RecentCustomers(most))).get(
            need.RecentCustomers(most)
        )
        assert [c.nickname for c in recent] == names
    assert [c.id for c in recent] == [wang, mei]
    found = (await snapshot_of(store, ANNA, need.CustomerOfId(lena))).get(need.CustomerOfId(lena))
    assert (found.id, found.nickname) == (lena, "Lena")
    for not_hers in (others, 999_999):
        assert (await snapshot_of(store, ANNA, need.CustomerOfId(not_hers))).get(
            need.CustomerOfId(not_hers)
        ) is None


UPDATES = count(1)


async def step(store: Store, event: Event) -> list[Reply]:
    """One update of Anna's, applied once; its replies."""
    decision = await run_update(
        store, update_id=next(UPDATES), user_id=ANNA, language="en", event=event
    )
    assert decision is not None
    return decision.replies


async def test_the_flow_goes_on_in_another_process_on_either_database(engine: AsyncEngine) -> None:
    """Two processes (a store each) take turns with one flow: each step reads what the
    other stored, and a press once the sale is recorded records nothing more."""
    one, other = Store(session_factory(engine)), Store(session_factory(engine))
    await step(one, Command("sold", "50 @Lena"))
    await step(one, Command("sold"))
    [who] = await step(other, Typed("180 2 cakes #groups"))
    data = {button.label: button.data for row in who.buttons for button in row}
    assert list(data) == ["Lena", "New customer", "No customer"]
    [asked] = await step(one, Pressed(data["New customer"], message_id=7))
    assert asked.edit_message_id == 7 and "Type the new customer's nickname" in asked.html
    [recorded] = await step(other, Typed("Aunt May"))
    assert recorded.html == "Recorded: ¥180 · 2 x cakes · Aunt May · Group chats"
    [stale] = await step(one, Pressed(data["Lena"], message_id=7))
    assert stale.html.startswith("That button is out of date")
    since = need.SalesSince(utcnow() - timedelta(days=1))
    sales = (await snapshot_of(one, ANNA, since)).get(since)
    assert [(s.amount, s.items, s.customer) for s in sales] == [
        (Decimal(50), None, "Lena"),
        (Decimal(180), "cakes", "Aunt May"),
    ]
