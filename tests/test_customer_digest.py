"""The weekly reminder of due customers: set up from /customers (English and Chinese), sent
by the check-in dispatcher exactly once at the seller's local hour, never empty, off for a
seller who blocked the bot, and its buttons work like those of /customers.

The dispatcher runs with a controlled clock against a real database (SQLite and PostgreSQL
where the fixture allows) and the fake Bot API; three dispatchers share one PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from bot.checkins.dispatcher import Dispatcher
from bot.storage.models import CheckinRound, Customer, Sale, User, UserSettings
from bot.storage.repository import Store
from tests.support.harness import ChatHarness, Seller
from tests.test_bot_checkup import ENGLISH_ANSWERS, answer_all
from tests.test_bot_sales import logged
from tests.test_checkins import (
    Clock,
    RecordingSender,
    _still_due,
    dispatcher_for,
    settings_of,
    three_dispatchers,
)

T0 = datetime(2026, 5, 8, 1, tzinfo=UTC)  # a Friday, 09:00 at UTC+8


async def rounds_of(store: Store, user_id: int) -> list[CheckinRound]:
    async with store.sessions() as session:
        query = select(CheckinRound).where(CheckinRound.user_id == user_id).order_by(CheckinRound.id)
        return list((await session.execute(query)).scalars())


async def seed(store: Store, user_ids: list[int], due: datetime, *, bought_days_ago: int = 100, language: str = "en") -> None:
    """Sellers whose reminder (Fridays at 09:00, UTC+8) falls due at ``due``, each with one
    customer who bought once ``bought_days_ago`` before it (due after 100 days, not after 1)."""
    async with store.sessions() as session, session.begin():
        await session.execute(insert(User), [{"id": u, "language": language, "time_zone": "UTC+08:00"} for u in user_ids])
        await session.execute(
            insert(UserSettings),
            [{"user_id": u, "digest_on": True, "digest_weekday": 4, "digest_hour": 9, "digest_next_due_at": due} for u in user_ids],
        )
        customers = await session.execute(
            insert(Customer).returning(Customer.id, Customer.user_id),
            [{"user_id": u, "nickname": "Lena", "nickname_key": "lena"} for u in user_ids],
        )
        await session.execute(
            insert(Sale),
            [
                {"user_id": user_id, "customer_id": customer_id, "at": due - timedelta(days=bought_days_ago), "amount_minor": 18000, "currency": "CNY", "items": "cakes"}
                for customer_id, user_id in customers.all()
            ],
        )


# --- the dispatcher on its own, on SQLite and PostgreSQL ------------------------------------
async def test_a_due_reminder_is_sent_once_and_moves_on_a_week(store: Store) -> None:
    await seed(store, [1, 2], T0)
    sender, clock = RecordingSender(), Clock(T0 - timedelta(minutes=1))
    dispatcher = Dispatcher(store, sender, now=clock)
    assert await dispatcher.pass_once() == 0  # not yet
    clock.now = T0
    assert await dispatcher.pass_once() == 2
    assert await dispatcher.pass_once() == 0  # never twice
    assert sorted(chat for chat, _ in sender.sent) == [1, 1, 2, 2]
    heading, due = [reply for chat, reply in sender.sent if chat == 1]
    assert "Your weekly reminder" in heading.html and "1 customer due" in heading.html
    assert due.html.startswith("<b>Due:</b> Lena · 1 order")
    assert [b.label for row in due.buttons for b in row] == ["Sent", "Later", "Not a regular"]
    (round_,) = await rounds_of(store, 1)
    assert (round_.kind, round_.status) == ("digest", "sent") and round_.message_id is not None
    next_due = (await settings_of(store, 1)).digest_next_due_at.replace(tzinfo=UTC)
    assert next_due == T0 + timedelta(days=7)


async def test_nobody_due_sends_nothing_and_the_round_is_skipped(store: Store) -> None:
    await seed(store, [1], T0, bought_days_ago=1)
    sender = RecordingSender()
    assert await Dispatcher(store, sender, now=Clock(T0)).pass_once() == 1
    assert sender.sent == []
    (round_,) = await rounds_of(store, 1)
    assert round_.status == "skipped"
    assert (await settings_of(store, 1)).digest_next_due_at.replace(tzinfo=UTC) == T0 + timedelta(days=7)


async def test_after_downtime_a_missed_reminder_is_sent_once(store: Store) -> None:
    await seed(store, [1], T0)
    sender = RecordingSender()
    dispatcher = Dispatcher(store, sender, now=Clock(T0 + timedelta(days=20)))
    assert await dispatcher.pass_once() == 1
    assert await dispatcher.pass_once() == 0
    assert len(sender.sent) == 2  # the heading and the one customer due
    assert (await settings_of(store, 1)).digest_next_due_at.replace(tzinfo=UTC) == T0 + timedelta(days=21)


async def test_a_reminder_and_a_check_in_due_at_the_same_time_are_both_sent(store: Store) -> None:
    await seed(store, [1], T0)
    async with store.sessions() as session, session.begin():
        settings = await session.get(UserSettings, 1)
        settings.checkin_cadence, settings.checkin_hour, settings.checkin_next_due_at = "daily", 9, T0
    sender = RecordingSender()
    assert await Dispatcher(store, sender, now=Clock(T0)).pass_once() == 2
    assert sorted((r.kind, r.status) for r in await rounds_of(store, 1)) == [("checkin", "sent"), ("digest", "sent")]


# --- exactly once with three dispatchers on one PostgreSQL -------------------------------
@pytest.mark.postgres
async def test_three_dispatchers_send_each_reminder_exactly_once(postgres_store: Store) -> None:
    due_users, nobody_due = list(range(20_000, 20_060)), list(range(21_000, 21_010))
    await seed(postgres_store, due_users, T0)
    await seed(postgres_store, nobody_due, T0, bought_days_ago=1)
    still_due = lambda: _still_due(postgres_store, UserSettings.digest_next_due_at, T0)  # noqa: E731
    handled, sent = await three_dispatchers(postgres_store, due_users + nobody_due, still_due, batch=5, now=T0)
    assert sum(handled) == 70
    assert all(handled), handled  # the three shared the work
    assert set(sent) == set(due_users) and set(sent.values()) == {2}  # the heading and one customer
    async with postgres_store.sessions() as session:
        rows = (await session.execute(select(CheckinRound.user_id, CheckinRound.kind, CheckinRound.status))).all()
    assert Counter((kind, status) for _, kind, status in rows) == {("digest", "sent"): 60, ("digest", "skipped"): 10}
    assert len({user for user, _, _ in rows}) == 70


# --- the seller's side, through the real application -------------------------------------
async def with_a_due_customer(harness: ChatHarness, seller: Seller) -> None:
    await logged(harness.store, seller, "180", days_ago=100, customer="Lena", items="cakes")


async def set_up_fridays_at_9_in_utc_plus_8(seller: Seller) -> None:
    heading, _due = await seller.says("/customers")
    assert [label for row in heading.buttons for label, _ in row] == ["🔔 Remind me weekly"]
    [days] = await seller.presses("Remind me weekly", heading)
    assert "On which day?" in days.text
    [hours] = await seller.presses("Fri", days)
    assert "At what time" in hours.text
    [zones] = await seller.presses("09:00", hours)
    assert "Which time zone" in zones.text
    done, status = await seller.says("UTC+8")
    assert done.text.startswith("✅ Reminders are on")
    assert "every Fri at 09:00 (UTC+08:00)" in status.text
    assert [label for row in status.buttons for label, _ in row] == ["Change day or hour", "Stop reminders"]


async def due_at(harness: ChatHarness, seller: Seller) -> datetime:
    return (await settings_of(harness.store, seller.id)).digest_next_due_at.replace(tzinfo=UTC)


async def test_set_up_from_customers_sent_at_the_local_hour_and_its_buttons_work(harness: ChatHarness) -> None:
    seller = harness.seller(1101, "en")
    await with_a_due_customer(harness, seller)
    await set_up_fridays_at_9_in_utc_plus_8(seller)
    due = await due_at(harness, seller)
    assert (due + timedelta(hours=8)).weekday() == 4 and due.hour == 1  # Friday 09:00 at UTC+8
    assert await dispatcher_for(harness, Clock(due - timedelta(minutes=1))).pass_once() == 0
    mark = len(seller.messages())
    assert await dispatcher_for(harness, Clock(due)).pass_once() == 1
    assert await dispatcher_for(harness, Clock(due + timedelta(minutes=5))).pass_once() == 0
    heading, reminder = seller.messages()[mark:]
    assert "1 customer due for a follow-up" in heading.text
    assert reminder.text.startswith("Due: Lena · 1 order · ¥180")
    [noted] = await seller.presses("Sent", reminder)
    assert noted.text.startswith("Noted: followed up")
    heading, _others = await seller.says("/customers")
    assert heading.text.startswith("Your customers: just one so far, 0 due")
    assert [label for row in heading.buttons for label, _ in row] == ["🔔 Weekly reminder"]


async def test_turned_off_nothing_is_sent(harness: ChatHarness) -> None:
    seller = harness.seller(1102, "en")
    await with_a_due_customer(harness, seller)
    await set_up_fridays_at_9_in_utc_plus_8(seller)
    due = await due_at(harness, seller)
    [off] = await seller.presses("Stop reminders")
    assert "Reminders are off" in off.text
    settings = await settings_of(harness.store, seller.id)
    assert not settings.digest_on and settings.digest_next_due_at is None
    assert await dispatcher_for(harness, Clock(due + timedelta(days=30))).pass_once() == 0
    heading, _due = await seller.says("/customers")
    assert [label for row in heading.buttons for label, _ in row] == ["🔔 Remind me weekly"]


async def test_a_seller_who_blocked_the_bot_has_reminders_switched_off(harness: ChatHarness) -> None:
    seller = harness.seller(1103, "en")
    await with_a_due_customer(harness, seller)
    await set_up_fridays_at_9_in_utc_plus_8(seller)
    due = await due_at(harness, seller)
    harness.api.block(seller.id)
    assert await dispatcher_for(harness, Clock(due)).pass_once() == 1
    settings = await settings_of(harness.store, seller.id)
    assert not settings.digest_on and settings.digest_next_due_at is None
    (round_,) = await rounds_of(harness.store, seller.id)
    assert (round_.kind, round_.status) == ("digest", "blocked")
    assert await dispatcher_for(harness, Clock(due + timedelta(days=30))).pass_once() == 0


async def test_in_chinese_with_a_typed_hour_and_city(harness: ChatHarness) -> None:
    seller = harness.seller(1104, "zh-hans")
    await seller.says("/help")  # the seller's row, in their language, before the ledger
    await with_a_due_customer(harness, seller)
    heading, _due = await seller.says("/customers")
    [days] = await seller.presses("提醒我", heading)
    assert days.text == "每周提醒你该回访的客户。哪一天提醒？"
    [hours] = await seller.presses("周三", days)
    assert "几点" in hours.text
    unread, again = await seller.says("随便")
    assert "没看出是几点" in unread.text and "几点" in again.text
    [zones] = await seller.says("晚上9点")
    assert "时区" in zones.text
    done, status = await seller.says("上海")
    assert done.text == "✅ 提醒已开启。只有在有客户该回访时才发。"
    assert "每周三 21:00（上海）" in status.text
    due = await due_at(harness, seller)
    assert (due + timedelta(hours=8)).weekday() == 2 and due.hour == 13  # Wednesday 21:00 in Shanghai
    mark = len(seller.messages())
    assert await dispatcher_for(harness, Clock(due)).pass_once() == 1
    heading, reminder = seller.messages()[mark:]
    assert heading.text == "🔔 每周提醒：1 位客户该回访了。"
    assert [label for row in reminder.buttons for label, _ in row] == ["已发送", "稍后", "不是常客"]
    [later] = await seller.presses("稍后", reminder)
    assert later.text == "已记下：一周后再提醒你。"


async def test_a_forged_digest_round_is_no_check_in(harness: ChatHarness) -> None:
    seller = harness.seller(1105, "en")
    await with_a_due_customer(harness, seller)
    await set_up_fridays_at_9_in_utc_plus_8(seller)
    assert await dispatcher_for(harness, Clock(await due_at(harness, seller))).pass_once() == 1
    (round_,) = await rounds_of(harness.store, seller.id)
    [reply] = await seller.presses_data(f"ci:go:{round_.id}")
    assert reply.text.startswith("That button belongs to an earlier question")
    assert [r.status for r in await rounds_of(harness.store, seller.id)] == ["sent"]  # no check-in started


async def test_a_time_zone_changed_in_the_check_in_settings_moves_the_reminder(harness: ChatHarness) -> None:
    seller = harness.seller(1106, "en")
    await with_a_due_customer(harness, seller)
    await set_up_fridays_at_9_in_utc_plus_8(seller)
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS)
    await seller.says("/checkin")
    await seller.presses("Every day")
    await seller.presses("20:00")
    await seller.says("UTC-5")
    due = await due_at(harness, seller)
    assert (due - timedelta(hours=5)).weekday() == 4 and due.hour == 14  # still Friday 09:00, now at UTC-5
