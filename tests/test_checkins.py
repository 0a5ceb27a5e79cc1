"""Check-ins: offered, set up, sent exactly once by the dispatcher, answered, compared.

The dispatcher runs with a controlled clock against a real database and the fake Bot API
(offline through the harness, or over HTTP); three dispatchers share one PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from telegram import Bot

from bot.checkins.dispatcher import Dispatcher, SendLimiter, telegram_sender
from bot.core.checkins import CHECKIN
from bot.replies import Reply
from bot.send_hold import SendHold
from bot.sender import Pace
from bot.storage.database import create_engine, session_factory
from bot.storage.migrate import upgrade_database
from bot.storage.models import (
    AdviceReport,
    CheckinRound,
    Checkup,
    RoundStatus,
    User,
    UserSettings,
)
from bot.storage.repository import SendOutcome, Store
from tests.support.fake_bot_api import FakeBotApi
from tests.support.harness import TOKEN, ChatHarness, Seller
from tests.test_bot_checkup import CHINESE_ANSWERS, ENGLISH_ANSWERS, answer_all

T0 = datetime(2026, 5, 4, 9, tzinfo=UTC)  # a Monday


class Clock:
    """A controlled now() for the dispatcher."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def settings_of(store: Store, user_id: int) -> UserSettings:
    async with store.sessions() as session:
        return await session.get(UserSettings, user_id)


async def time_zone_of(store: Store, user_id: int) -> str:
    async with store.sessions() as session:
        return (await session.get(User, user_id)).time_zone


async def rounds_of(store: Store, user_id: int) -> list[CheckinRound]:
    async with store.sessions() as session:
        rows = await session.execute(select(CheckinRound).where(CheckinRound.user_id == user_id).order_by(CheckinRound.id))
        return list(rows.scalars())


async def schedule_users(store: Store, user_ids: list[int], due: datetime, cadence: str = "daily") -> None:
    """Users whose check-in (at 09:00 UTC) is due at ``due``, inserted in bulk."""
    async with store.sessions() as session, session.begin():
        await session.execute(insert(User), [{"id": u, "language": "en", "time_zone": "UTC"} for u in user_ids])
        await session.execute(
            insert(UserSettings),
            [
                {"user_id": u, "checkin_cadence": cadence, "checkin_weekday": 0, "checkin_hour": 9, "checkin_next_due_at": due}
                for u in user_ids
            ],
        )


class RecordingSender:
    """A sender that only counts (the dispatcher's own work, without Telegram)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, Reply]] = []

    async def __call__(self, chat_id: int, reply: Reply, pace: Pace | None = None) -> int:
        if pace is not None:
            await pace()
        self.sent.append((chat_id, reply))
        return len(self.sent)


# --- the dispatcher on its own -----------------------------------------------------------
async def test_a_due_check_in_is_sent_once_and_the_schedule_moves_on(store: Store) -> None:
    await schedule_users(store, [1, 2], T0)
    await schedule_users(store, [3], T0 + timedelta(hours=1))
    sender, clock = RecordingSender(), Clock(T0 + timedelta(minutes=1))
    dispatcher = Dispatcher(store, sender, now=clock)

    assert await dispatcher.pass_once() == 2
    assert await dispatcher.pass_once() == 0  # nothing due twice
    assert sorted(chat for chat, _ in sender.sent) == [1, 2]
    labels = [b.label for row in sender.sent[0][1].buttons for b in row]
    assert labels == ["▶ Start the check-in", "⏰ Later today", "Skip this time", "⏸ Pause"]
    (round_,) = await rounds_of(store, 1)
    assert round_.status == RoundStatus.SENT and round_.message_id is not None
    assert (await settings_of(store, 1)).checkin_next_due_at.replace(tzinfo=UTC) == T0 + timedelta(days=1)


async def test_after_downtime_a_missed_check_in_is_sent_once_not_once_per_period(store: Store) -> None:
    await schedule_users(store, [1], T0)
    sender = RecordingSender()
    dispatcher = Dispatcher(store, sender, now=Clock(T0 + timedelta(days=20, hours=3)))
    assert await dispatcher.pass_once() == 1
    assert await dispatcher.pass_once() == 0
    assert len(sender.sent) == 1
    next_due = (await settings_of(store, 1)).checkin_next_due_at.replace(tzinfo=UTC)
    assert next_due == T0 + timedelta(days=21)  # tomorrow 09:00, not the 20 days slept through


async def test_a_round_left_sending_by_a_dead_process_is_never_resent(store: Store) -> None:
    await schedule_users(store, [1], T0 + timedelta(days=1))
    async with store.sessions() as session, session.begin():
        session.add(CheckinRound(user_id=1, due_at=T0, status="sending", claimed_at=T0))
    sender = RecordingSender()
    dispatcher = Dispatcher(store, sender, now=Clock(T0 + timedelta(minutes=30)))
    assert await dispatcher.pass_once() == 0
    assert sender.sent == []
    (round_,) = await rounds_of(store, 1)
    assert round_.status == RoundStatus.UNKNOWN


async def test_two_ignored_check_ins_make_the_bot_quieter_and_ask_once_about_the_cadence(store: Store) -> None:
    await schedule_users(store, [1], T0)
    sender, clock = RecordingSender(), Clock(T0)
    dispatcher = Dispatcher(store, sender, now=clock)
    dues = []
    for _ in range(5):
        settings = await settings_of(store, 1)
        clock.now = settings.checkin_next_due_at.replace(tzinfo=UTC)
        dues.append(clock.now)
        assert await dispatcher.pass_once() == 1
    asks = ["Change how often" in " ".join(b.label for row in r.buttons for b in row) for _, r in sender.sent]
    assert asks == [False, False, True, False, False]  # asked once, after two were ignored
    gaps = [(b - a).days for a, b in zip(dues, dues[1:], strict=False)]
    assert gaps == [1, 1, 2, 2]  # daily, then every other day while ignored
    statuses = [r.status for r in await rounds_of(store, 1)]
    assert statuses == ["ignored"] * 4 + ["sent"]


async def test_the_send_rate_is_shared_by_every_process(store: Store) -> None:
    """Three limiters (as if in three processes) reserve slots from one row: 1/30 s apart."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    limiters = [SendLimiter(store, 30, clock=lambda: 1000.0, sleep=sleep) for _ in range(3)]
    await asyncio.gather(*(limiter.wait_turn() for limiter in limiters for _ in range(20)))
    assert sorted(round(s * 30) for s in slept) == list(range(1, 60))  # the first has no wait
    await SendHold(store, wall=lambda: 1000.0).report(5)  # a 429 holds every process back
    await limiters[1].wait_turn()
    assert slept[-1] == pytest.approx(5.0)


# --- exactly once with three dispatchers on one PostgreSQL -------------------------------
@pytest.mark.postgres
async def test_three_dispatchers_send_each_of_1000_check_ins_exactly_once(postgres_store: Store) -> None:
    users = list(range(10_000, 11_000))
    await schedule_users(postgres_store, users, T0)
    handled, sent = await three_dispatchers(postgres_store, users, lambda: _still_due(postgres_store, UserSettings.checkin_next_due_at))
    assert sum(handled) == 1000
    assert all(handled), handled  # the three shared the work
    assert set(sent) == set(users) and set(sent.values()) == {1}
    async with postgres_store.sessions() as session:
        statuses = Counter((await session.execute(select(CheckinRound.status))).scalars())
    assert statuses == {"sent": 1000}


async def three_dispatchers(store: Store, users: list[int], still_due: Callable[[], Awaitable[bool]], batch: int = 25, now: datetime = T0) -> tuple[list[int], Counter[int]]:
    """Three dispatchers, each with its own engine and Bot (as three processes), drain what
    is due at ``now`` together; how many rounds each handled, and the messages sent per chat."""
    url = store.engine.url.render_as_string(hide_password=False)
    with FakeBotApi(token=TOKEN) as api:
        for user_id in users:  # the bot may only write to people who wrote first
            api.send_text(api.user(user_id), "/start")
        engines = [create_engine(url) for _ in range(3)]
        bots = [Bot(TOKEN, base_url=api.base_url) for _ in range(3)]
        try:
            dispatchers = [
                Dispatcher(Store(session_factory(engine)), telegram_sender(bot), now=Clock(now), batch=batch)
                for engine, bot in zip(engines, bots, strict=True)
            ]
            for bot in bots:
                await bot.initialize()

            async def drain(dispatcher: Dispatcher) -> int:
                handled = 0
                while (claimed := await dispatcher.pass_once()) or await still_due():
                    handled += claimed
                return handled

            handled = await asyncio.gather(*(drain(d) for d in dispatchers))
        finally:
            for bot in bots:
                await bot.shutdown()
            for engine in engines:
                await engine.dispose()
        sent = Counter(call.chat_id for call in api.calls("sendMessage") if call.status == 200)
    return list(handled), sent


async def _still_due(store: Store, due_at: Any, by: datetime = T0) -> bool:
    async with store.sessions() as session:
        query = select(func.count()).select_from(UserSettings).where(due_at <= by)
        return (await session.execute(query)).scalar_one() > 0


# --- the seller's side, through the real application -------------------------------------
async def finish_first_checkup(seller: Seller) -> None:
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS)
    assert "Want me to check in?" in seller.last().text


async def accept_weekly_wednesday_9_in_utc_plus_8(seller: Seller) -> None:
    await seller.presses("Yes, set up check-ins")
    assert "How often should I check in?" in seller.last().text
    await seller.presses("Every week")
    await seller.presses("Wed")
    await seller.presses("09:00")
    assert "Which time zone" in seller.last().text
    replies = await seller.says("UTC+8")
    assert "Check-ins are set" in replies[0].text
    assert "Every week, Wed at 09:00 (UTC+08:00)" in replies[-1].text


async def in_a_check_in(harness: ChatHarness, seller: Seller) -> None:
    """The seller has check-ins set up, the first one came and they started it."""
    await finish_first_checkup(seller)
    await accept_weekly_wednesday_9_in_utc_plus_8(seller)
    due = (await settings_of(harness.store, seller.id)).checkin_next_due_at.replace(tzinfo=UTC)
    assert await dispatcher_for(harness, Clock(due)).pass_once() == 1
    await seller.presses("Start the check-in")


def dispatcher_for(harness: ChatHarness, clock: Clock) -> Dispatcher:
    return Dispatcher(harness.store, telegram_sender(harness.application.bot), now=clock, sleep=_no_wait)


async def _no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


async def test_a_full_check_in_round_trip(harness: ChatHarness) -> None:
    seller = harness.seller(1001, "en")
    await finish_first_checkup(seller)
    far_future = Clock(datetime.now(UTC) + timedelta(days=30))
    assert await dispatcher_for(harness, far_future).pass_once() == 0  # nothing before consent

    await accept_weekly_wednesday_9_in_utc_plus_8(seller)
    due = (await settings_of(harness.store, seller.id)).checkin_next_due_at.replace(tzinfo=UTC)
    assert due.weekday() == 2 and due.hour == 1  # Wednesday 09:00 at UTC+8
    assert await dispatcher_for(harness, Clock(due + timedelta(minutes=1))).pass_once() == 1
    assert "Check-in time!" in seller.last().text

    first = await seller.presses("Start the check-in")
    assert "Check-in 1/4" in first[-1].text and "NEW people" in first[-1].text
    await seller.presses("Same as last time (10)")  # 10 people a week, as in the check-up
    assert "Check-in 2/4" in seller.last().text
    await seller.says("4")  # orders: twice as many as the 2 of the check-up
    await seller.says("about 800")  # revenue: ¥200 an order
    await seller.says("1")  # one of them from a returning buyer
    follow_up = seller.last()
    assert "Last time your top action was" in follow_up.text
    result = await seller.presses("Not yet")

    text = result[-1].text
    assert "Orders a week: 2 -> 4" in text
    assert "1 check-in answered in a row." in text
    async with harness.store.sessions() as session:
        reports = list((await session.execute(select(AdviceReport).order_by(AdviceReport.id))).scalars())
        kinds = list((await session.execute(select(Checkup.kind).order_by(Checkup.id))).scalars())
    assert kinds == ["checkup", "checkin"]
    assert len(reports) == 2
    assert reports[1].profile["weekly_orders"] == 4 and reports[1].profile["average_order_value"] == 200
    # "Not yet" is history the next assessment uses: the rule about untried actions fired.
    assert "action_not_tried" in reports[1].rule_ids and "action_not_tried" not in reports[0].rule_ids
    (round_,) = await rounds_of(harness.store, seller.id)
    assert round_.status == RoundStatus.ANSWERED
    assert (await settings_of(harness.store, seller.id)).checkin_streak == 1
    async with harness.store.unit() as uow:
        exported = await uow.export(seller.id)
    assert [c["kind"] for c in exported["checkups"]] == ["checkup", "checkin"]
    assert [r["status"] for r in exported["checkin_rounds"]] == ["answered"]
    assert len(exported["advice_reports"]) == 2


async def test_snooze_skip_and_pause(harness: ChatHarness) -> None:
    seller = harness.seller(1002, "en")
    await finish_first_checkup(seller)
    await accept_weekly_wednesday_9_in_utc_plus_8(seller)
    # The handlers run on the real clock: let the first check-in fall due right now.
    due = datetime.now(UTC) - timedelta(minutes=1)
    async with harness.store.sessions() as session, session.begin():
        (await session.get(UserSettings, seller.id)).checkin_next_due_at = due
    clock = Clock(due)
    dispatcher = dispatcher_for(harness, clock)
    assert await dispatcher.pass_once() == 1

    await seller.presses("Later today")
    assert "I'll ask again at" in seller.last().text
    snoozed = (await settings_of(harness.store, seller.id)).checkin_next_due_at.replace(tzinfo=UTC)
    assert timedelta(0) < snoozed - datetime.now(UTC) <= timedelta(hours=3, minutes=1)
    clock.now = snoozed
    assert await dispatcher.pass_once() == 1  # the same check-in, later
    after_snooze = (await settings_of(harness.store, seller.id)).checkin_next_due_at.replace(tzinfo=UTC)
    assert after_snooze > snoozed and after_snooze.weekday() == 2  # back to Wednesdays

    await seller.presses("Skip this time")
    assert "Skipped" in seller.messages()[-2].text
    skipped = (await rounds_of(harness.store, seller.id))[-1]
    await seller.presses_data(f"ci:go:{skipped.id}")  # a button of a closed round
    assert "already closed" in seller.last().text

    clock.now = after_snooze
    assert await dispatcher.pass_once() == 1
    await seller.presses("Pause")
    assert "paused" in seller.last().text
    assert (await settings_of(harness.store, seller.id)).checkin_next_due_at is None
    clock.now = after_snooze + timedelta(days=60)
    assert await dispatcher.pass_once() == 0
    statuses = [r.status for r in await rounds_of(harness.store, seller.id)]
    assert statuses == ["snoozed", "skipped", "paused"]

    replies = await seller.says("/checkin")
    assert "paused" in replies[-1].text
    await seller.presses("Resume")
    assert (await settings_of(harness.store, seller.id)).checkin_next_due_at is not None


async def test_a_429_is_waited_out_and_the_check_in_still_goes_once(harness: ChatHarness) -> None:
    seller = harness.seller(1003, "en")
    await finish_first_checkup(seller)
    await accept_weekly_wednesday_9_in_utc_plus_8(seller)
    due = (await settings_of(harness.store, seller.id)).checkin_next_due_at.replace(tzinfo=UTC)
    harness.api.fail_next("sendMessage", status=429, retry_after=1)
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        await asyncio.sleep(seconds)

    limiter = SendLimiter(harness.store, 30)
    dispatcher = Dispatcher(harness.store, telegram_sender(harness.application.bot), limiter=limiter, now=Clock(due), sleep=sleep)
    mark = len(harness.api.calls("sendMessage"))
    assert await dispatcher.pass_once() == 1
    calls = harness.api.calls("sendMessage")[mark:]
    assert [c.status for c in calls] == [429, 200]
    assert waited == [1.0]
    assert calls[1].timestamp - calls[0].timestamp >= 1.0
    (round_,) = await rounds_of(harness.store, seller.id)
    assert round_.status == RoundStatus.SENT


async def test_a_seller_who_blocked_the_bot_has_check_ins_switched_off_and_keeps_the_data(harness: ChatHarness) -> None:
    seller = harness.seller(1004, "en")
    await finish_first_checkup(seller)
    await accept_weekly_wednesday_9_in_utc_plus_8(seller)
    due = (await settings_of(harness.store, seller.id)).checkin_next_due_at.replace(tzinfo=UTC)
    harness.api.block(seller.id)
    dispatcher = dispatcher_for(harness, Clock(due))
    assert await dispatcher.pass_once() == 1
    settings = await settings_of(harness.store, seller.id)
    assert settings.checkin_cadence == "off" and settings.checkin_next_due_at is None
    (round_,) = await rounds_of(harness.store, seller.id)
    assert round_.status == RoundStatus.BLOCKED
    async with harness.store.sessions() as session:
        kept = (await session.execute(select(func.count()).select_from(AdviceReport))).scalar_one()
    assert kept == 1
    dispatcher.now = Clock(due + timedelta(days=30))
    assert await dispatcher.pass_once() == 0


async def asked_for_the_zone_of_daily_check_ins_at_20(seller: Seller) -> None:
    await finish_first_checkup(seller)
    await seller.says("/checkin")
    await seller.presses("Every day")
    await seller.presses("20:00")


async def test_typed_zone_is_validated_and_the_command_menu_lists_checkin(harness: ChatHarness) -> None:
    seller = harness.seller(1005, "en")
    await asked_for_the_zone_of_daily_check_ins_at_20(seller)
    assert "don't know that time zone" in (await seller.says("Atlantis"))[-1].text
    replies = await seller.says("Berlin")
    assert "Every day at 20:00 (Berlin)" in replies[-1].text
    assert await time_zone_of(harness.store, seller.id) == "Europe/Berlin"
    from bot.app import COMMANDS

    assert "checkin" in COMMANDS
    assert "/checkin" in (await seller.says("/help"))[-1].text


async def test_a_time_zone_chosen_by_button_is_stored(harness: ChatHarness) -> None:
    seller = harness.seller(1006, "en")
    await asked_for_the_zone_of_daily_check_ins_at_20(seller)
    await seller.presses_data("csz:1")
    assert await time_zone_of(harness.store, seller.id) == CHECKIN.zone_buttons[1]
    assert "(Hong Kong)" in seller.last().text


async def test_a_button_pressed_before_the_send_is_recorded_keeps_its_status(store: Store) -> None:
    """With the rate limit, a batch is recorded after its last message: a seller may have
    started the check-in from the first message by then."""
    await schedule_users(store, [1], T0)
    async with store.unit() as uow:
        (claim,) = await uow.claim_due_checkins(T0, 10)
    async with store.sessions() as session, session.begin():
        (await session.get(CheckinRound, claim.round_id)).status = RoundStatus.STARTED.value
    async with store.unit() as uow:
        await uow.record_sends([SendOutcome(claim.round_id, 1, RoundStatus.SENT, 77)], T0)
    (round_,) = await rounds_of(store, 1)
    assert round_.status == RoundStatus.STARTED and round_.message_id == 77


def bot_membership(seller: Seller, old: str, new: str) -> dict[str, object]:
    """The my_chat_member update Telegram sends when a seller blocks (``kicked``) or
    unblocks (``member``) the bot."""
    bot_user = {"id": int(TOKEN.split(":")[0]), "is_bot": True, "first_name": "Coach"}
    return {
        "my_chat_member": {
            "chat": seller.user.chat_dict(),
            "from": seller.user.to_dict(),
            "date": int(time.time()),
            "old_chat_member": {"user": bot_user, "status": old, "until_date": 0},
            "new_chat_member": {"user": bot_user, "status": new, "until_date": 0},
        }
    }


async def test_blocking_the_bot_stops_check_ins_at_once_and_unblocking_does_not_resume_them(harness: ChatHarness) -> None:
    seller = harness.seller(1007, "en")
    await finish_first_checkup(seller)
    await accept_weekly_wednesday_9_in_utc_plus_8(seller)
    harness.api.block(seller.id)
    assert await seller.sends(bot_membership(seller, "member", "kicked")) == []
    settings = await settings_of(harness.store, seller.id)
    assert settings.checkin_cadence == "off" and settings.checkin_next_due_at is None
    async with harness.store.sessions() as session:
        reports = (await session.execute(select(func.count()).select_from(AdviceReport))).scalar_one()
    assert reports == 1  # the data stays until the seller deletes it

    harness.api.unblock(seller.id)
    assert await seller.sends(bot_membership(seller, "kicked", "member")) == []
    assert (await settings_of(harness.store, seller.id)).checkin_cadence == "off"  # only the seller turns them on
    assert await dispatcher_for(harness, Clock(datetime.now(UTC) + timedelta(days=30))).pass_once() == 0


async def test_someone_who_never_used_the_bot_blocking_it_leaves_nothing_stored(harness: ChatHarness) -> None:
    stranger = harness.seller(1008, "en")
    assert await stranger.sends(bot_membership(stranger, "member", "kicked")) == []
    async with harness.store.sessions() as session:
        assert await session.get(User, stranger.id) is None


# --- the real `coach run` process ---------------------------------------------------------
async def _seed_due_user(url: str, user_id: int) -> None:
    engine = create_engine(url)
    try:
        await schedule_users(Store(session_factory(engine)), [user_id], datetime.now(UTC) - timedelta(hours=1))
    finally:
        await engine.dispose()


@pytest.mark.e2e
def test_coach_run_sends_a_due_check_in_from_the_database(tmp_path) -> None:
    from tests.db_fixtures import _run
    from tests.test_e2e import BotProcess

    url = f"sqlite+aiosqlite:///{tmp_path / 'coach.db'}"
    upgrade_database(url)
    _run(_seed_due_user(url, 5151))
    with FakeBotApi(token=TOKEN) as api:
        api.send_text(api.user(5151), "/start")  # the bot may write only to people who wrote
        process = BotProcess(api, url, tmp_path / "bot.log")
        process.start()
        try:
            api.wait_for_message(5151, lambda m: "Check-in time!" in m.text, timeout=20, since=0)
            time.sleep(1.5)  # a few more dispatcher passes: nothing is sent again
        finally:
            # SIGTERM, then an update to end the long poll it is waiting in (else ~25 s).
            assert process.process is not None
            process.process.terminate()
            api.send_text(5151, "/help")
            process.stop()
        check_ins = [m for m in api.messages(5151) if "Check-in time!" in m.text]
    assert len(check_ins) == 1
    assert TOKEN not in (tmp_path / "bot.log").read_text()


async def test_a_check_in_in_chinese(harness: ChatHarness) -> None:
    seller = harness.seller(1006, "zh-hans")
    await seller.says("/checkup")
    await answer_all(seller, CHINESE_ANSWERS)
    await seller.presses("好，设置复查")
    await seller.presses("每天")
    await seller.presses("20:00")
    replies = await seller.says("北京")
    assert "每天 20:00（上海）" in replies[-1].text and "下一次：周" in replies[-1].text
    due = datetime.now(UTC) - timedelta(minutes=1)
    async with harness.store.sessions() as session, session.begin():
        (await session.get(UserSettings, seller.id)).checkin_next_due_at = due
    assert await dispatcher_for(harness, Clock(due)).pass_once() == 1
    assert "复查时间到" in seller.last().text and "过去一天" in seller.last().text
    await seller.presses("开始复查")
    assert "复查 1/4" in seller.last().text
    await seller.says("3人")
    await seller.presses("和上次一样")
    await seller.presses("和上次一样")
    await seller.says("0")
    await seller.presses("试过了")
    result = seller.last().text
    assert "与上次相比" in result and "连续完成复查：1 次" in result


async def test_cancel_stops_a_check_in_in_progress(harness: ChatHarness) -> None:
    seller = harness.seller(1007, "en")
    await in_a_check_in(harness, seller)
    await seller.says("12")
    assert "Check-in stopped" in (await seller.says("/cancel"))[-1].text
    assert "/checkup" in (await seller.says("15"))[-1].text  # no longer read as an answer


async def test_a_due_time_that_already_has_a_round_is_not_sent_again(store: Store) -> None:
    """The unique (user, due time) of a round is the last line of defence."""
    await schedule_users(store, [1, 2], T0)
    async with store.sessions() as session, session.begin():
        session.add(CheckinRound(user_id=1, due_at=T0, status="sent", claimed_at=T0))
    sender = RecordingSender()
    assert await Dispatcher(store, sender, now=Clock(T0)).pass_once() == 1
    assert [chat for chat, _ in sender.sent] == [2]
    assert (await settings_of(store, 1)).checkin_next_due_at.replace(tzinfo=UTC) > T0


async def test_an_unanswered_zone_prompt_does_not_swallow_later_messages(harness: ChatHarness) -> None:
    seller = harness.seller(1008, "en")
    await asked_for_the_zone_of_daily_check_ins_at_20(seller)
    async with harness.store.sessions() as session, session.begin():
        settings = await session.get(UserSettings, seller.id)
        settings.updated_at = datetime.now(UTC) - timedelta(hours=1)
    assert "/checkup" in (await seller.says("hello"))[-1].text  # not "unknown time zone"


async def test_a_forged_same_as_last_time_button_is_refused(harness: ChatHarness) -> None:
    seller = harness.seller(1009, "en")
    await in_a_check_in(harness, seller)
    checkup_id = seller.last().buttons[0][0][1].split(":")[1]
    replies = await seller.presses_data(f"cia:{checkup_id}:9")
    assert "Check-in 1/4" in replies[-1].text and "wrong" not in replies[-1].text.lower()


async def test_checkin_before_any_check_up_points_to_the_check_up(harness: ChatHarness) -> None:
    seller = harness.seller(1010, "en")
    replies = await seller.says("/checkin")
    assert "start with one: /checkup" in replies[-1].text and not replies[-1].buttons


async def in_a_daily_check_in(harness: ChatHarness, seller: Seller) -> None:
    """Daily check-ins set up after the check-up (2 orders a week, 10% repeat), one started."""
    await asked_for_the_zone_of_daily_check_ins_at_20(seller)
    await seller.says("UTC+8")
    due = datetime.now(UTC) - timedelta(minutes=1)
    async with harness.store.sessions() as session, session.begin():
        (await session.get(UserSettings, seller.id)).checkin_next_due_at = due
    assert await dispatcher_for(harness, Clock(due)).pass_once() == 1
    await seller.presses("Start the check-in")


async def reports_of(harness: ChatHarness, user_id: int) -> list[AdviceReport]:
    async with harness.store.sessions() as session:
        query = select(AdviceReport).where(AdviceReport.user_id == user_id).order_by(AdviceReport.id)
        return list((await session.execute(query)).scalars())


async def test_a_daily_check_in_keeps_repeat_purchases_from_the_check_up_and_says_so(harness: ChatHarness) -> None:
    """One day's "0 repeat orders out of 1" is no 90-day repeat rate: it is kept, and the
    bottleneck does not move to repeat purchases because of it."""
    seller = harness.seller(1011, "en")
    await in_a_daily_check_in(harness, seller)
    await seller.says("3")
    orders = seller.last()
    assert "orders did you get in the last day" in orders.text
    # 2 orders a week is not "0.3" a day: the button shows the figure as the seller gave it
    assert [label for row in orders.buttons for label, _ in row] == ["↺ Same as last time (2 a week)"]
    await seller.says("1")
    await seller.says("180")
    await seller.says("0")
    result = await seller.presses("Not yet")
    text = result[-1].text
    assert "Repeat purchases: kept from your check-up until 90 days of check-ins exist (1 so far)." in text
    checkup, checkin = await reports_of(harness, seller.id)
    assert checkin.profile["repeat_rate"] == checkup.profile["repeat_rate"] == 0.1
    assert checkin.profile["weekly_orders"] == 7  # one order in a day is seven a week
    assert checkin.bottleneck != "repeat"


async def test_a_check_in_keeps_the_period_it_started_with(harness: ChatHarness) -> None:
    """Changing to weekly check-ins half-way does not turn a day's figures into a week's."""
    seller = harness.seller(1012, "en")
    await in_a_daily_check_in(harness, seller)
    await seller.says("3 a day")  # read as the day's 3
    await seller.says("/checkin")
    await seller.presses("Every week")
    await seller.presses("Wed")
    await seller.presses("09:00")
    await seller.says("UTC+8")
    await seller.says("2")  # orders: the check-in goes on where it was
    assert "bring in, in total" in seller.last().text
    await seller.says("360")
    refused = await seller.says("2 days")
    assert "it needs the number of repeat orders in the whole period" in refused[-1].text
    await seller.says("0")
    await seller.presses("Not yet")
    _, checkin = await reports_of(harness, seller.id)
    assert checkin.profile["weekly_reach"] == 21 and checkin.profile["weekly_orders"] == 14
