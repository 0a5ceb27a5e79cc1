"""The repository: one transaction per update, answers kept with their history, the user's
rights to export and delete, on SQLite and PostgreSQL (schema built by Alembic)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from functools import partial

import asyncpg
import pytest
from sqlalchemy import delete, event, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from advice.questionnaire import Answer, AnswerStatus
from bot.background import write_noted_questions
from bot.storage import checkups, driver, protocol, reports, settings
from bot.storage.database import create_engine, session_factory
from bot.storage.models import (
    AdviceReport,
    AnswerRow,
    Base,
    CheckinRound,
    Checkup,
    CheckupKind,
    CheckupStatus,
    User,
    utcnow,
)
from bot.storage.repository import USER_TABLES, Contended, Store, Unit

ANNA, BORIS = 1001, 2002  # two Telegram users


def make_report(user_id: int, checkup_id: int | None) -> AdviceReport:
    return AdviceReport(
        user_id=user_id,
        checkup_id=checkup_id,
        language="en",
        profile={"category": "bakery", "price_level": "mid"},
        result={"bottleneck": "traffic", "score": 0.4},
        rule_ids=["traffic.low_reach"],
        bottleneck="traffic",
        monthly_sales=1250.0,
        rendered_html="<b>Traffic</b> is your bottleneck.",
    )


async def seed(store: Store, user_id: int, update_id: int | None = None) -> int:
    """A user with settings, a finished check-up (one answer changed once) and a report."""
    async with AsyncExitStack() as stack:
        if update_id is None:
            unit = await stack.enter_async_context(store.unit())
            user = await unit.user(user_id, "en")
        else:
            handled = await stack.enter_async_context(store.update_unit(update_id, user_id, "en"))
            assert handled is not None
            unit, user = handled
        await unit.settings(user_id)
        checkup = await unit.start_checkup(user)
        await unit.save_answer(checkup, "monthly_orders", Answer(40))
        await unit.save_answer(checkup, "monthly_orders", Answer(45))
        await unit.save_answer(checkup, "channels", Answer(("wechat", "instagram")))
        await unit.close_checkup(checkup, CheckupStatus.FINISHED)
        await unit.save_report(make_report(user_id, checkup.id))
        unit.session.add(
            CheckinRound(user_id=user_id, due_at=utcnow(), status="sent", checkup_id=checkup.id)
        )
        return checkup.id


SEEDED = {
    "users": 1, "settings": 1, "checkups": 1, "answers": 3, "advice_reports": 1, "checkin_rounds": 1,
}


async def count(engine: AsyncEngine, sql: str, **params: object) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar_one()


# --- users and answers -------------------------------------------------------------------
async def test_a_user_is_created_once(store: Store, engine: AsyncEngine) -> None:
    async with store.unit() as unit:
        first = await unit.user(ANNA, "zh")
        await unit.set_language(first, "zh")
    async with store.unit() as unit:
        again = await unit.user(ANNA, "en")  # the language of first contact stays
        assert (again.id, again.language, again.language_chosen) == (ANNA, "zh", True)
        assert again.time_zone == "UTC"
    assert await count(engine, "SELECT count(*) FROM users") == 1


async def test_an_answer_is_committed_when_the_unit_ends_and_survives_a_restart(
    store: Store, engine: AsyncEngine, database_url: str
) -> None:
    async with store.update_unit(1, ANNA, "en") as handled:
        assert handled is not None
        unit, user = handled
        checkup = await unit.start_checkup(user)
        await unit.save_answer(checkup, "monthly_orders", Answer(None, AnswerStatus.DONT_KNOW))
        await unit.save_answer(checkup, "average_order", Answer(30, low=20.0, high=40.0))
        await unit.save_answer(checkup, "channels", Answer(("wechat", "telegram")))
    await engine.dispose()  # the bot stops...

    restarted = create_engine(database_url)  # ...and starts again
    try:
        async with Store(session_factory(restarted)).unit() as unit:
            assert (await unit.active_checkup(ANNA)).id == checkup.id
            assert await unit.answers(checkup.id) == {
                "monthly_orders": Answer(None, AnswerStatus.DONT_KNOW),
                "average_order": Answer(30, AnswerStatus.GIVEN, 20.0, 40.0),
                "channels": Answer(("wechat", "telegram")),
            }
    finally:
        await restarted.dispose()


@pytest.mark.parametrize("optimistic", [False, True], ids=["locking", "optimistic"])
async def test_the_next_update_reads_the_answers_exactly_as_they_were_stored(store: Store, optimistic: bool) -> None:
    given = {
        "monthly_orders": Answer(None, AnswerStatus.DONT_KNOW),
        "average_order": Answer(30, low=20.0, high=40.0),
        "conversion": Answer(1.0),
        "weekly_orders": Answer(3),
        "repeat_rate": Answer(-0.0),
        "has_reviews": Answer(True),
        "channels": Answer(("wechat", "telegram")),
        "shop_name": Answer('Lao Wang "<b>男装</b>" 👔'),
    }
    async with store.update_unit(1, ANNA, "en") as handled:
        assert handled is not None
        unit, user = handled
        checkup = await unit.start_checkup(user)
        for field_name, answer in given.items():
            await unit.save_answer(checkup, field_name, answer)
    async with store.update_unit(2, ANNA, "en", optimistic=optimistic) as handled:
        assert handled is not None
        unit, _ = handled
        read = await unit.answers((await unit.active_checkup(ANNA)).id)
    assert list(read) == list(given)  # in the order given
    assert read == given
    if store.engine.dialect.name == "postgresql":
        # Types too (1.0 is not 1). SQLite gives a whole float back as an int: its JSON
        # column has numeric affinity, so the text "1.0" is stored as the integer 1.
        assert [repr(a) for a in read.values()] == [repr(a) for a in given.values()]


async def test_a_changed_answer_keeps_the_old_one_as_history(store: Store) -> None:
    async with store.unit() as unit:
        checkup = await unit.start_checkup(await unit.user(ANNA, "en"))
        await unit.save_answer(checkup, "monthly_orders", Answer(40))
    async with store.unit() as unit:
        checkup = await unit.checkup(checkup.id, ANNA)
        await unit.save_answer(checkup, "monthly_orders", Answer(55))
    async with store.unit() as unit:
        assert await unit.answers(checkup.id) == {"monthly_orders": Answer(55)}
        rows = (
            (await unit.session.execute(select(AnswerRow).order_by(AnswerRow.id))).scalars().all()
        )
    assert [(row.value, row.superseded_at is None) for row in rows] == [(40, False), (55, True)]
    assert rows[0].superseded_at >= rows[0].created_at


async def test_withdrawing_an_answer_back_keeps_it_as_history(store: Store) -> None:
    async with store.unit() as unit:
        checkup = await unit.start_checkup(await unit.user(ANNA, "en"))
        await unit.save_answer(checkup, "monthly_orders", Answer(40))
        await unit.save_answer(checkup, "channels", Answer(("wechat",)))
    async with store.unit() as unit:
        await unit.withdraw_answer(checkup, "channels")  # the seller pressed Back
        assert await unit.answers(checkup.id) == {"monthly_orders": Answer(40)}
        await unit.withdraw_answer(checkup, "channels")  # twice is harmless
    async with store.unit() as unit:
        await unit.save_answer(checkup, "channels", Answer(("telegram",)))
        assert (await unit.answers(checkup.id))["channels"] == Answer(("telegram",))
        history = (
            (
                await unit.session.execute(
                    select(AnswerRow.value)
                    .where(AnswerRow.field == "channels")
                    .order_by(AnswerRow.id)
                )
            )
            .scalars()
            .all()
        )
    assert history == [["wechat"], ["telegram"]]


async def test_the_database_refuses_two_current_answers_to_one_question(store: Store) -> None:
    async with store.unit() as unit:
        checkup = await unit.start_checkup(await unit.user(ANNA, "en"))
        await unit.save_answer(checkup, "monthly_orders", Answer(40))

    def row(value: int, superseded: bool = False) -> AnswerRow:
        return AnswerRow(
            checkup_id=checkup.id, user_id=ANNA, field="monthly_orders", value=value, status="given",
            superseded_at=checkup.started_at if superseded else None,
        )  # fmt: skip

    with pytest.raises(IntegrityError, match="(?i)unique"):
        async with store.unit() as unit:  # behind the repository's back
            unit.session.add(row(41))
            await unit.session.flush()
    async with store.unit() as unit:  # history rows are not "current": any number is fine
        unit.session.add_all([row(38, superseded=True), row(39, superseded=True)])
        await unit.session.flush()
        assert await unit.answers(checkup.id) == {"monthly_orders": Answer(40)}


# --- one transaction per update ----------------------------------------------------------
async def test_an_update_handled_twice_is_applied_once(store: Store, engine: AsyncEngine) -> None:
    async with store.update_unit(500, ANNA, "en") as handled:
        assert handled is not None
        unit, user = handled
        await unit.start_checkup(user)
    async with store.update_unit(500, ANNA, "en") as handled:
        assert handled is None  # redelivered: the handler does nothing
    async with store.update_unit(501, ANNA, "en") as handled:
        assert handled is not None
    assert await count(engine, "SELECT count(*) FROM checkups") == 1
    assert await count(engine, "SELECT count(*) FROM processed_updates") == 2


async def test_a_unit_that_fails_leaves_nothing_behind_so_a_retry_succeeds(
    store: Store, engine: AsyncEngine
) -> None:
    with pytest.raises(RuntimeError, match="Telegram is down"):
        async with store.update_unit(600, ANNA, "en") as handled:
            assert handled is not None
            unit, user = handled
            checkup = await unit.start_checkup(user)
            await unit.save_answer(checkup, "monthly_orders", Answer(40))
            raise RuntimeError("Telegram is down")
    for table in ("processed_updates", "users", "checkups", "answers"):
        assert await count(engine, f"SELECT count(*) FROM {table}") == 0, table

    async with store.update_unit(600, ANNA, "en") as handled:  # the redelivered update
        assert handled is not None
        unit, user = handled
        checkup = await unit.start_checkup(user)
        await unit.save_answer(checkup, "monthly_orders", Answer(40))
    assert await count(engine, "SELECT count(*) FROM answers") == 1


# --- the message that asks a question (written behind) -------------------------------------
async def asking_message(engine: AsyncEngine, checkup_id: int) -> tuple[int | None, str | None]:
    async with engine.connect() as connection:
        row = (await connection.execute(
            text("SELECT question_message_id, question_field FROM checkups WHERE id = :c"), {"c": checkup_id}
        )).one()
    return row[0], row[1]


async def started_checkup(store: Store, update_id: int) -> int:
    async with store.update_unit(update_id, ANNA, "en") as handled:
        assert handled is not None
        unit, user = handled
        return (await unit.start_checkup(user)).id


async def test_a_noted_question_message_is_written_by_the_users_next_update(store: Store, engine: AsyncEngine) -> None:
    checkup_id = await started_checkup(store, 700)
    store.remember_question_message(ANNA, checkup_id, 41, "category")
    assert await asking_message(engine, checkup_id) == (None, None)  # noted, not yet written
    async with store.update_unit(701, ANNA, "en") as handled:
        assert handled is not None
        unit, _ = handled
        active = await unit.active_checkup(ANNA)
        assert (active.question_message_id, active.question_field) == (41, "category")
    assert await asking_message(engine, checkup_id) == (41, "category")


async def test_noted_question_messages_are_written_together_and_an_older_one_never_wins(
    store: Store, engine: AsyncEngine
) -> None:
    checkup_id = await started_checkup(store, 710)
    store.remember_question_message(ANNA, checkup_id, 50, "price_tier")
    assert await store.write_noted_questions() == 1
    assert await store.write_noted_questions() == 0  # written once
    store.remember_question_message(ANNA, checkup_id, 49, "category")  # late, from another process
    await store.write_noted_questions()
    assert await asking_message(engine, checkup_id) == (50, "price_tier")
    store.remember_question_message(ANNA, checkup_id, 49, "category")
    async with store.update_unit(711, ANNA, "en") as handled:  # nor in the next update
        assert handled is not None
    assert await asking_message(engine, checkup_id) == (50, "price_tier")


async def test_notes_taken_by_an_update_that_fails_are_written_by_the_next(store: Store, engine: AsyncEngine) -> None:
    checkup_id = await started_checkup(store, 720)
    store.remember_question_message(ANNA, checkup_id, 60, "category")
    with pytest.raises(RuntimeError):
        async with store.update_unit(721, ANNA, "en") as handled:
            assert handled is not None
            raise RuntimeError("Telegram is down")
    async with store.update_unit(721, ANNA, "en") as handled:  # delivered again: writes the note
        assert handled is not None
    assert await asking_message(engine, checkup_id) == (60, "category")
    store.remember_question_message(ANNA, checkup_id, 61, "price_tier")
    async with store.update_unit(721, ANNA, "en") as handled:  # a duplicate now: keeps the note
        assert handled is None
    assert await store.write_noted_questions() == 1
    assert await asking_message(engine, checkup_id) == (61, "price_tier")


async def test_the_bot_writes_noted_question_messages_on_start_then_every_so_often_and_when_it_stops(
    store: Store, engine: AsyncEngine
) -> None:
    checkup_id = await started_checkup(store, 730)
    store.remember_question_message(ANNA, checkup_id, 70, "category")
    stop = asyncio.Event()
    writing = asyncio.create_task(write_noted_questions(store, stop, every=3600))
    try:
        for _ in range(500):
            if await asking_message(engine, checkup_id) == (70, "category"):
                break
            await asyncio.sleep(0.01)
        assert await asking_message(engine, checkup_id) == (70, "category")
        store.remember_question_message(ANNA, checkup_id, 71, "price_tier")  # the next is an hour away...
    finally:
        stop.set()
        await writing
    assert await asking_message(engine, checkup_id) == (71, "price_tier")  # ...but it stops first


@pytest.mark.postgres
async def test_writing_notes_skips_a_check_up_an_update_is_handling_and_writes_it_later(postgres_store: Store) -> None:
    """The writer never waits for an update's locks (so never deadlocks with one)."""
    store = postgres_store
    checkup_id = await started_checkup(store, 740)
    store.remember_question_message(ANNA, checkup_id, 80, "category")
    async with store.update_unit(741, ANNA, "en") as handled:  # writes note 80, holds the row
        assert handled is not None
        store.remember_question_message(ANNA, checkup_id, 81, "price_tier")
        assert await asyncio.wait_for(store.write_noted_questions(), timeout=5) == 0
    assert await store.write_noted_questions() == 1
    assert await asking_message(store.engine, checkup_id) == (81, "price_tier")


async def test_an_updates_orm_work_commits_or_rolls_back_with_its_other_statements(store: Store, engine: AsyncEngine) -> None:
    """The ORM session (settings) and the Core statements (check-ups) are one transaction."""
    with pytest.raises(RuntimeError):
        async with store.update_unit(750, ANNA, "en") as handled:
            assert handled is not None
            unit, user = handled
            (await unit.settings(ANNA)).checkin_cadence = "weekly"
            await unit.start_checkup(user)
            raise RuntimeError("Telegram is down")
    assert await count(engine, "SELECT count(*) FROM settings") == 0
    assert await count(engine, "SELECT count(*) FROM checkups") == 0
    async with store.update_unit(750, ANNA, "en") as handled:
        assert handled is not None
        unit, user = handled
        await unit.start_checkup(user)
        (await unit.settings(ANNA)).checkin_cadence = "weekly"
        assert await unit.active_checkup(ANNA) is not None  # read after the ORM's change
    assert await count(engine, "SELECT count(*) FROM settings WHERE checkin_cadence = 'weekly'") == 1
    assert await count(engine, "SELECT count(*) FROM checkups") == 1


async def test_another_users_ids_are_not_found(store: Store) -> None:
    """Callback buttons carry ids, and buttons can be forged."""
    anna_checkup = await seed(store, ANNA)
    await seed(store, BORIS)
    async with store.unit() as unit:
        assert await unit.checkup(anna_checkup, BORIS) is None
        assert (await unit.checkup(anna_checkup, ANNA)).user_id == ANNA
        assert await unit.checkup(999_999, ANNA) is None
        report = await unit.latest_report(ANNA)
        assert await unit.report(report.id, BORIS) is None
        assert (await unit.report(report.id, ANNA)).id == report.id


# --- the user's rights -------------------------------------------------------------------
async def test_export_holds_that_users_rows_only(store: Store) -> None:
    await seed(store, ANNA)
    await seed(store, BORIS)
    async with store.unit() as unit:
        data = await unit.export(ANNA)
        assert await unit.export(31337) == {"user": None}
    json.dumps(data)  # JSON-ready as it is
    assert data["user"]["id"] == ANNA
    assert {key: len(rows) for key, rows in data.items() if key != "user"} == {
        key: n for key, n in SEEDED.items() if key != "users"
    }
    for key, rows in data.items():
        if key != "user":
            assert {row["user_id"] for row in rows} == {ANNA}, key
    assert [a["value"] for a in data["answers"]] == [40, 45, ["wechat", "instagram"]]


async def test_delete_user_removes_every_row_of_that_user_and_no_one_elses(
    store: Store, engine: AsyncEngine
) -> None:
    await seed(store, ANNA, update_id=1)
    await seed(store, BORIS, update_id=2)

    # Every table that holds a user's data, found from the schema itself, not from the
    # repository: a new table with a user_id column must be covered by delete_user too.
    owned = {
        t.name: ("id" if t.name == "users" else "user_id")
        for t in Base.metadata.sorted_tables
        if "user_id" in t.c or t.name == "users"
    }
    assert set(owned) == {model.__tablename__ for model in USER_TABLES}
    assert {t.name for t in Base.metadata.sorted_tables} - set(owned) == {
        "processed_updates", "send_slots"
    }  # no personal data

    async def rows_of(user_id: int) -> dict[str, int]:
        return {
            table: await count(
                engine, f"SELECT count(*) FROM {table} WHERE {column} = :user_id", user_id=user_id
            )
            for table, column in owned.items()
        }

    assert await rows_of(ANNA) == await rows_of(BORIS) == SEEDED
    async with store.unit() as unit:
        assert await unit.delete_user(ANNA) == SEEDED
    async with store.unit() as unit:
        assert set((await unit.count_user_rows(ANNA)).values()) == {0}
        assert await unit.count_user_rows(BORIS) == SEEDED
        assert await unit.export(ANNA) == {"user": None}
    assert await rows_of(ANNA) == dict.fromkeys(owned, 0)
    assert await rows_of(BORIS) == SEEDED
    assert await count(engine, "SELECT count(*) FROM processed_updates") == 2


async def test_deleting_the_user_row_cascades_to_everything_it_owns(
    store: Store, engine: AsyncEngine
) -> None:
    """The foreign keys say ON DELETE CASCADE (and SQLite enforces them: the pragma is on)."""
    await seed(store, ANNA)
    await seed(store, BORIS)
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": ANNA})
    async with store.unit() as unit:
        assert set((await unit.count_user_rows(ANNA)).values()) == {0}
        assert await unit.count_user_rows(BORIS) == SEEDED


# --- PostgreSQL: concurrent units --------------------------------------------------------
async def test_units_for_one_user_wait_for_each_other(postgres_store: Store) -> None:
    """The user's row lock serialises one user's updates; other users are not held up."""
    store = postgres_store
    async with store.unit() as unit:
        await unit.user(ANNA, "en")
    loop = asyncio.get_running_loop()
    locked = asyncio.Event()
    times: dict[str, float] = {}
    waiting: dict[str, int] = {}

    async def lock_waits() -> int:
        """Backends of this database blocked on a lock right now, seen from outside."""
        async with store.sessions() as session:
            query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            return (await session.execute(text(query))).scalar_one()

    async def first() -> None:
        async with store.update_unit(1, ANNA, "en") as handled:
            assert handled is not None
            unit, user = handled
            checkup = await unit.start_checkup(user)
            await unit.save_answer(checkup, "monthly_orders", Answer(40))
            locked.set()
            await asyncio.sleep(0.3)
            waiting["on a lock"] = await lock_waits()
            await asyncio.sleep(0.2)
            times["first commits"] = loop.time()

    async def second() -> None:
        await locked.wait()
        times["second asks"] = loop.time()
        async with store.update_unit(2, ANNA, "en") as handled:
            assert handled is not None
            unit, _ = handled
            times["second has the lock"] = loop.time()
            # It waited for the commit, so it sees the check-up the first unit started (its
            # first statement began before that: what it read then is read again).
            active = await unit.active_checkup(ANNA)
            assert active is not None
            assert await unit.answers(active.id) == {"monthly_orders": Answer(40)}

    async def someone_else() -> None:
        await locked.wait()
        async with store.update_unit(3, BORIS, "en") as handled:
            assert handled is not None
        times["someone else done"] = loop.time()

    await asyncio.gather(first(), second(), someone_else())
    assert times["second has the lock"] >= times["first commits"]
    assert times["second has the lock"] - times["second asks"] >= 0.3
    assert times["someone else done"] < times["first commits"]
    assert waiting == {"on a lock": 1}  # the second unit, and nobody else


@pytest.mark.postgres
async def test_connections_are_kept_open_between_busy_moments(postgres_store: Store) -> None:
    """Two bursts of 20 updates at once: the second reuses the first's connections (a pool
    that closes what it lent beyond its size opens ten more for the second burst)."""
    store = postgres_store
    await store.engine.dispose()
    opened: list[object] = []
    event.listen(store.engine.sync_engine, "connect", lambda *args: opened.append(args[0]))
    update_ids = iter(range(900, 1000))

    async def burst() -> None:
        everyone_in = asyncio.Barrier(20)

        async def update(user_id: int) -> None:
            async with store.update_unit(next(update_ids), user_id, "en") as handled:
                assert handled is not None
                await everyone_in.wait()  # all 20 hold a connection at once

        await asyncio.gather(*(update(1000 + n) for n in range(20)))

    await burst()
    await burst()
    assert len(opened) == 20


# --- updates handled optimistically (PostgreSQL) --------------------------------------------
async def answered_checkup(store: Store, update_id: int) -> int:
    async with store.update_unit(update_id, ANNA, "en") as handled:
        assert handled is not None
        unit, user = handled
        checkup = await unit.start_checkup(user)
        await unit.save_answer(checkup, "category", Answer("menswear"), replaces=False)
        return checkup.id


async def rows_of(store: Store, update_id: int) -> tuple[int, int]:
    """(answers stored, whether ``update_id`` is recorded)."""
    return (
        await count(store.engine, "SELECT count(*) FROM answers"),
        await count(store.engine, "SELECT count(*) FROM processed_updates WHERE update_id = :u", u=update_id),
    )


@asynccontextmanager
async def answering(store: Store, update_id: int) -> AsyncIterator[tuple[Unit, User, Checkup]]:
    """An optimistic update of Anna's that has answered the price tier (not yet written)."""
    async with store.update_unit(update_id, ANNA, "en", optimistic=True) as handled:
        assert handled is not None
        unit, user = handled
        checkup = await unit.active_checkup(ANNA)
        await unit.save_answer(checkup, "price_tier", Answer("mid"), replaces=False)
        yield unit, user, checkup


@pytest.mark.postgres
async def test_an_optimistic_answer_is_stored_with_its_update_id_and_read_back_at_once(postgres_store: Store) -> None:
    store = postgres_store
    checkup_id = await answered_checkup(store, 800)
    async with answering(store, 801) as (unit, _, _):
        assert await unit.answers(checkup_id) == {"category": Answer("menswear"), "price_tier": Answer("mid")}
        assert await rows_of(store, 801) == (1, 0)  # not yet: written when the update ends
    assert await rows_of(store, 801) == (2, 1)
    async with store.update_unit(801, ANNA, "en", optimistic=True) as handled:
        assert handled is None  # redelivered


@pytest.mark.postgres
async def test_an_optimistic_update_overtaken_by_another_of_the_same_user_writes_nothing(postgres_store: Store) -> None:
    store = postgres_store
    await answered_checkup(store, 810)
    store.remember_question_message(ANNA, 1, 99, "price_tier")
    with pytest.raises(Contended):
        async with answering(store, 811):
            async with store.update_unit(812, ANNA, "en") as other:  # another process, meanwhile
                assert other is not None
    assert await rows_of(store, 811) == (1, 0)
    assert store.notes.take(ANNA) == {1: (99, "price_tier")}  # kept for the update's retry


@pytest.mark.postgres
async def test_an_optimistic_update_opens_its_transaction_for_a_write_that_cannot_wait(postgres_store: Store) -> None:
    store = postgres_store
    first = await answered_checkup(store, 820)
    async with answering(store, 821) as (unit, user, checkup):
        await unit.close_checkup(checkup, CheckupStatus.CANCELLED)  # cannot wait: checked and locked now
        assert await rows_of(store, 821) == (1, 0)  # in the transaction, not yet committed
        second = await unit.start_checkup(user)
    assert await rows_of(store, 821) == (2, 1)
    async with store.unit() as unit:
        assert (await unit.active_checkup(ANNA)).id == second.id != first


@pytest.mark.postgres
async def test_an_optimistic_update_overtaken_before_a_write_that_cannot_wait_writes_nothing(postgres_store: Store) -> None:
    store = postgres_store
    await answered_checkup(store, 830)
    with pytest.raises(Contended):
        async with answering(store, 831) as (unit, _, checkup):
            async with store.update_unit(832, ANNA, "en") as other:
                assert other is not None
            await unit.close_checkup(checkup, CheckupStatus.CANCELLED)
    assert await rows_of(store, 831) == (1, 0)
    async with store.unit() as unit:
        assert (await unit.active_checkup(ANNA)) is not None  # not cancelled


async def reports_and_status(store: Store, checkup_id: int) -> tuple[list[int], str]:
    """(the ids of the check-up's reports, its status)."""
    async with store.unit() as unit:
        reports = [r.id for r in await unit.reports(ANNA) if r.checkup_id == checkup_id]
        status = await count(store.engine, "SELECT count(*) FROM checkups WHERE id = :c AND status = 'finished'", c=checkup_id)
    return reports, "finished" if status else "in progress"


@pytest.mark.postgres
async def test_an_optimistic_update_finishing_a_check_up_writes_its_report_with_its_other_writes(postgres_store: Store) -> None:
    store = postgres_store
    checkup_id = await answered_checkup(store, 840)
    async with answering(store, 841) as (unit, _, checkup):
        report = await unit.finish_checkup(checkup, make_report(ANNA, checkup_id))
        assert report.id is not None  # for the advice's buttons, before anything is written
        assert not unit.driver.is_in_transaction()  # nothing written yet: no lock held
        assert await unit.active_checkup(ANNA) is None
        assert await rows_of(store, 841) == (1, 0)
        assert await reports_and_status(store, checkup_id) == ([], "in progress")
    assert await rows_of(store, 841) == (2, 1)
    assert await reports_and_status(store, checkup_id) == ([report.id], "finished")


@pytest.mark.postgres
async def test_an_optimistic_update_finishing_a_check_up_overtaken_writes_neither_report_nor_answer(postgres_store: Store) -> None:
    store = postgres_store
    checkup_id = await answered_checkup(store, 850)
    with pytest.raises(Contended):
        async with answering(store, 851) as (unit, _, checkup):
            await unit.finish_checkup(checkup, make_report(ANNA, checkup_id))
            async with store.update_unit(852, ANNA, "en") as other:
                assert other is not None
    assert await rows_of(store, 851) == (1, 0)
    assert await reports_and_status(store, checkup_id) == ([], "in progress")


@pytest.mark.parametrize("optimistic", [False, True], ids=["locking", "optimistic"])
async def test_check_ins_are_offered_under_the_first_check_ups_advice_only(store: Store, optimistic: bool) -> None:
    async def finish(update_id: int) -> bool:
        async with store.update_unit(update_id, ANNA, "en") as handled:
            assert handled is not None
            unit, user = handled
            checkup = await unit.start_checkup(user)
            await unit.save_answer(checkup, "category", Answer("menswear"), replaces=False)
        async with store.update_unit(update_id + 1, ANNA, "en", optimistic=optimistic) as handled:
            assert handled is not None
            unit, user = handled
            checkup = await unit.active_checkup(ANNA)
            await unit.finish_checkup(checkup, make_report(ANNA, checkup.id))
            return await unit.offers_checkins(ANNA, checkup.id)

    assert await finish(860) is True
    assert await finish(870) is False  # a second check-up
    async with store.unit() as unit:
        await unit.session.execute(delete(AdviceReport))
        await unit.session.execute(delete(Checkup))
        (await unit.settings(ANNA)).checkin_cadence = "weekly"
    assert await finish(880) is False  # check-ins already on


@pytest.mark.postgres
@pytest.mark.parametrize("optimistic", [True, False])
async def test_a_connection_the_driver_lost_track_of_is_a_database_error_and_never_lent_again(
    postgres_store: Store, monkeypatch: pytest.MonkeyPatch, optimistic: bool
) -> None:
    """What asyncpg raised for a statement on a connection the server had just terminated
    (a CI run caught it escaping as an unknown error)."""
    store = postgres_store
    await answered_checkup(store, 900)
    invalidated: list[object] = []
    event.listen(store.engine.sync_engine, "invalidate", lambda *args: invalidated.append(args[0]))
    fetch = asyncpg.Connection.fetch

    async def lost(*args: object, **kwargs: object) -> object:
        raise asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in progress")

    monkeypatch.setattr(asyncpg.Connection, "fetch", lost)
    with pytest.raises(DBAPIError):
        async with store.update_unit(901, ANNA, "en", optimistic=optimistic):
            pass
    assert len(invalidated) == 1
    monkeypatch.setattr(asyncpg.Connection, "fetch", fetch)
    async with store.update_unit(901, ANNA, "en", optimistic=optimistic) as handled:
        assert handled is not None


async def test_the_same_update_delivered_concurrently_is_applied_once(
    postgres_store: Store,
) -> None:
    store = postgres_store
    applied: list[int] = []

    async def handle(worker: int) -> None:
        async with store.update_unit(777, ANNA, "en") as handled:
            if handled is None:
                return
            unit, user = handled
            await unit.start_checkup(user)
            await asyncio.sleep(0.2)  # keep the transaction open while the others arrive
            applied.append(worker)

    await asyncio.gather(*(handle(worker) for worker in range(5)))
    assert len(applied) == 1
    async with store.unit() as unit:
        assert await unit.count_user_rows(ANNA) == {
            "answers": 0, "advice_reports": 0, "checkups": 1, "settings": 0, "users": 1,
            "checkin_rounds": 0,
        }  # fmt: skip
        processed = await unit.session.execute(text("SELECT count(*) FROM processed_updates"))
        assert processed.scalar_one() == 1


@pytest.mark.postgres
async def test_a_connection_lost_inside_an_update_is_a_database_error_and_the_next_update_works(
    postgres_store: Store,
) -> None:
    """An update's statements run on asyncpg itself: its errors must reach the bot as the
    database errors it tells sellers about, and the pool must not hand out the dead link."""
    store = postgres_store
    with pytest.raises(DBAPIError):
        async with store.update_unit(1, ANNA, "en") as handled:
            assert handled is not None
            unit, user = handled
            checkup = await unit.start_checkup(user)
            pid = await unit.driver.fetchval("SELECT pg_backend_pid()")
            async with store.engine.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await unit.save_answer(checkup, "category", Answer("menswear"))
    async with store.update_unit(2, ANNA, "en") as handled:
        assert handled is not None
        unit, user = handled
        assert await unit.active_checkup(user.id) is None  # update 1 left nothing behind
    async with store.engine.connect() as connection:
        handled_ids = (await connection.execute(text("SELECT update_id FROM processed_updates"))).scalars().all()
    assert handled_ids == [2]


# --- statements run on asyncpg -----------------------------------------------------------
DRIVER_STATEMENTS = {
    "an update's first statement, noting": (
        partial(protocol.begin_update, noting=True),
        {"update": 1, "user": ANNA, "lang": "en", "now": utcnow(), "noted_checkups": [3], "noted_messages": [9], "noted_fields": ["category"]},
    ),
    "an optimistic update's read": (protocol.read_for_update, {"update": 1, "user": ANNA}),
    "an optimistic update's writes": (
        partial(protocol.apply_unchanged, noting=True, answering=True),
        {
            "user": ANNA, "seen": "1234", "now": utcnow(), "update": 1,
            "noted_checkups": [3, 4], "noted_messages": [9, 10], "noted_fields": ["category", "price_tier"],
            **{f"answer_{key}": value for key, value in {
                "checkup_id": 3, "user_id": ANNA, "field": "channels", "value": ["wechat", "moments"],
                "status": "given", "low": None, "high": None, "created_at": utcnow(),
            }.items()},
        },
    ),
    "an answer": (
        checkups._insert_answer,
        {"checkup_id": 3, "user_id": ANNA, "field": "weekly_orders", "value": 12, "status": "given", "low": 10.0, "high": 14.0, "created_at": utcnow()},
    ),
    "the check-up in progress": (checkups._active_checkup, {"user": ANNA, "wanted_kind": "checkup"}),
    "closing a check-up": (checkups._close_checkup, {"of_checkup": 3, "to": "finished", "now": utcnow()}),
    "an optimistic update's writes, finishing a check-up": (
        partial(protocol.apply_unchanged, finishing=True),
        {
            "user": ANNA, "seen": "1234", "now": utcnow(), "update": 1,
            **{f"report_{key}": value for key, value in reports._report_values(make_report(ANNA, 3)).items()},
            "report_id": 7, "report_created_at": utcnow(),
        },
    ),
    "whether check-ins are offered": (settings._checkin_offer, {"user": ANNA, "of_checkup": 3}),
}


@pytest.mark.parametrize("name", DRIVER_STATEMENTS)
def test_statements_run_on_asyncpg_get_the_values_sqlalchemy_would_give_them(name: str) -> None:
    build, parameters = DRIVER_STATEMENTS[name]
    statement = build(postgresql.insert)
    dialect = postgresql.asyncpg.dialect()
    compiled = statement.compile(dialect=dialect, column_keys=list(parameters))
    values = compiled.construct_params(parameters)
    expected = []
    for place in compiled.positiontup:
        convert = compiled.binds[place].type.dialect_impl(dialect).bind_processor(dialect)
        expected.append(values[place] if convert is None else convert(values[place]))
    assert driver.driver_arguments(statement, parameters) == (str(compiled), expected)


async def test_the_check_ins_of_a_window_are_read_newest_first(store: Store) -> None:
    """What repeat purchases over 90 days add up: finished check-ins since a moment, this
    one and check-ups aside, each with its own answers."""
    now = utcnow()
    async with store.unit() as unit:
        anna = await unit.user(ANNA, "en")
        made = []
        days_ago_kind_orders = [
            (100, CheckupKind.CHECKIN, 1),  # before the window
            (20, CheckupKind.CHECKIN, 2),
            (3, CheckupKind.CHECKUP, 3),  # a check-up, not a check-in
            (2, CheckupKind.CHECKIN, 4),
        ]
        for days_ago, kind, orders in days_ago_kind_orders:
            checkup = await unit.start_checkup(anna, kind)
            await unit.save_answer(checkup, "orders", Answer(orders), replaces=False)
            await unit.close_checkup(checkup, CheckupStatus.FINISHED)
            made.append((checkup.id, now - timedelta(days=days_ago)))
        unfinished = await unit.start_checkup(anna, CheckupKind.CHECKIN)
        await unit.save_answer(unfinished, "orders", Answer(5), replaces=False)
        boris = await unit.start_checkup(await unit.user(BORIS, "en"), CheckupKind.CHECKIN)
        await unit.save_answer(boris, "orders", Answer(6), replaces=False)
        await unit.close_checkup(boris, CheckupStatus.FINISHED)
    async with store.unit() as unit:
        for checkup_id, finished in made:
            (await unit.session.get(Checkup, checkup_id)).finished_at = finished
    async with store.unit() as unit:
        window = await unit.checkin_answers_since(ANNA, now - timedelta(days=90), unfinished.id)
        assert window == [{"orders": Answer(4)}, {"orders": Answer(2)}]
        latest = made[3][0]
        assert await unit.checkin_answers_since(ANNA, now - timedelta(days=90), latest) == [
            {"orders": Answer(2)}
        ]
