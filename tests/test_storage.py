"""Storage: an update read as a snapshot and its writes applied whole or not at all, once,
only on the version read; answers kept with their history; what a step loads; the user's
rights to export and delete, on SQLite and PostgreSQL (schema built by Alembic)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from advice.questionnaire import Answer, AnswerStatus
from bot.background import write_noted_questions
from bot.core import snapshot as need
from bot.core.events import Command, Typed
from bot.core.snapshot import Snapshot
from bot.core.values import CheckupKind, CheckupStatus, ReportView, RoundView, SettingsView
from bot.core.writes import (
    AddCustomer,
    CloseCheckup,
    DeleteUser,
    RecordSale,
    SaveAnswer,
    SaveReport,
    SetRound,
    SetSettings,
    SetUser,
    StartCheckup,
    WithdrawAnswer,
    Write,
)
from bot.storage import changes, driver, loads, protocol, updates
from bot.storage.database import create_engine, session_factory
from bot.storage.models import AnswerRow, Base, CheckinRound, utcnow
from bot.storage.repository import USER_TABLES, Applied, Stats, Store
from bot.updates import run_update
from tests.support.stored import new_id, write

ANNA, BORIS = 1001, 2002  # two Telegram users
APPLIED, CONFLICT, DUPLICATE = Applied.APPLIED, Applied.CONFLICT, Applied.DUPLICATE


async def read(store: Store, update_id: int, user_id: int = ANNA, language: str = "en") -> Snapshot:
    snapshot = await store.read(update_id=update_id, user_id=user_id, language=language, now=utcnow())
    assert snapshot is not None
    return snapshot


async def loaded(store: Store, snapshot: Snapshot, wanted: need.Need) -> Any:
    return (await store.load(snapshot, wanted)).get(wanted)


async def update(store: Store, update_id: int, *writes: Write, user_id: int = ANNA) -> Applied:
    """An update of ``user_id`` making ``writes`` (read, then applied)."""
    return await store.apply(await read(store, update_id, user_id), update_id=update_id, writes=writes)


async def start(store: Store, update_id: int, user_id: int = ANNA, kind: str = "checkup") -> int:
    """A new check-up (or check-in) of the user's; its id."""
    snapshot = await read(store, update_id, user_id)
    checkup_id = await loaded(store, snapshot, need.NewId("checkups"))
    start = StartCheckup(checkup_id, user_id, kind, snapshot.user.language, snapshot.now)
    assert await store.apply(snapshot, update_id=update_id, writes=[start]) is APPLIED
    return checkup_id


async def answer(store: Store, update_id: int, checkup_id: int, field: str, given: Answer, user_id: int = ANNA) -> Applied:
    """An update answering ``field`` (replacing the current answer if there is one)."""
    snapshot = await read(store, update_id, user_id)
    (checkup,) = [c for c in snapshot.in_progress if c.id == checkup_id]
    save = SaveAnswer(checkup_id, user_id, field, given, field in checkup.answers, snapshot.now)
    return await store.apply(snapshot, update_id=update_id, writes=[save])


def report_of(report_id: int, user_id: int, checkup_id: int | None, at: datetime) -> SaveReport:
    return SaveReport(
        id=report_id, user_id=user_id, checkup_id=checkup_id, created_at=at, language="en",
        profile={"category": "bakery", "price_level": "mid"}, result={"bottleneck": "traffic", "score": 0.4},
        rule_ids=("traffic.low_reach",), bottleneck="traffic", monthly_sales=1250.0,
        rendered_html="<b>Traffic</b> is your bottleneck.",
    )  # fmt: skip


async def finish(store: Store, update_id: int, checkup_id: int, user_id: int = ANNA) -> int:
    """An update finishing the check-up with its report; the report's id."""
    snapshot = await read(store, update_id, user_id)
    report_id = await loaded(store, snapshot, need.NewId("advice_reports"))
    writes = [report_of(report_id, user_id, checkup_id, snapshot.now), CloseCheckup(checkup_id, "finished", snapshot.now)]
    assert await store.apply(snapshot, update_id=update_id, writes=writes) is APPLIED
    return report_id


async def seed(store: Store, user_id: int, first_update: int) -> int:
    """A user with settings, a finished check-up (one answer changed once), a report and a
    check-in round; its check-up's id. Uses update ids ``first_update`` on."""
    ids = iter(range(first_update, first_update + 10))
    assert await update(store, next(ids), SetSettings(user_id, {"checkin_cadence": "weekly"}), user_id=user_id) is APPLIED
    checkup_id = await start(store, next(ids), user_id)
    assert await answer(store, next(ids), checkup_id, "monthly_orders", Answer(40), user_id) is APPLIED
    assert await answer(store, next(ids), checkup_id, "monthly_orders", Answer(45), user_id) is APPLIED
    assert await answer(store, next(ids), checkup_id, "channels", Answer(("wechat", "instagram")), user_id) is APPLIED
    await finish(store, next(ids), checkup_id, user_id)
    async with store.unit() as unit:
        unit.session.add(CheckinRound(user_id=user_id, due_at=utcnow(), status="sent", checkup_id=checkup_id))
    customer_id, sale_id = await new_id(store, user_id, "customers"), await new_id(store, user_id, "sales")
    await write(
        store, user_id,
        AddCustomer(customer_id, user_id, "Lena", utcnow()),
        RecordSale(sale_id, user_id, utcnow(), Decimal("180.50"), "CNY", 2, "cakes", customer_id, "groups"),
    )  # fmt: skip
    return checkup_id


SEEDED = {
    "users": 1, "settings": 1, "checkups": 1, "answers": 3, "advice_reports": 1, "checkin_rounds": 1,
    "customers": 1, "sales": 1,
}  # fmt: skip


async def count(engine: AsyncEngine, sql: str, **params: object) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar_one()


async def rows(engine: AsyncEngine, sql: str, **params: object) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(sql), params)]


# --- users -------------------------------------------------------------------------------
async def test_a_users_first_update_creates_the_row_and_every_update_bumps_it(store: Store, engine: AsyncEngine) -> None:
    first = await read(store, 1, language="zh")
    assert (first.user.id, first.user.language, first.user.version, first.in_progress) == (ANNA, "zh", None, ())
    assert await store.apply(first, update_id=1, writes=[]) is APPLIED
    again = await read(store, 2, language="en")  # the language of first contact stays
    assert (again.user.language, again.user.language_chosen, again.user.time_zone) == ("zh", False, "UTC")
    assert again.user.version is not None
    assert await store.apply(again, update_id=2, writes=[SetUser(ANNA, {"language": "ru", "language_chosen": True})]) is APPLIED
    third = await read(store, 3)
    assert (third.user.language, third.user.language_chosen, third.user.version) == ("ru", True, again.user.version + 1)
    assert await count(engine, "SELECT count(*) FROM users") == 1
    assert await count(engine, "SELECT count(*) FROM processed_updates") == 2


async def test_a_first_contact_applied_concurrently_twice_creates_one_row(store: Store, engine: AsyncEngine) -> None:
    snapshot = await read(store, 1)
    other = await read(store, 2)
    results = await asyncio.gather(
        store.apply(snapshot, update_id=1, writes=[SetUser(ANNA, {"time_zone": "Asia/Shanghai"})]),
        store.apply(other, update_id=2, writes=[SetUser(ANNA, {"time_zone": "Europe/Moscow"})]),
    )
    assert sorted(r.value for r in results) == ["applied", "conflict"]
    assert await count(engine, "SELECT count(*) FROM users") == 1
    assert await count(engine, "SELECT count(*) FROM processed_updates") == 1


# --- answers -------------------------------------------------------------------------------
GIVEN = {
    "monthly_orders": Answer(None, AnswerStatus.DONT_KNOW),
    "average_order": Answer(30, low=20.0, high=40.0),
    "conversion": Answer(1.0),
    "weekly_orders": Answer(3),
    "repeat_rate": Answer(-0.0),
    "has_reviews": Answer(True),
    "channels": Answer(("wechat", "telegram")),
    "shop_name": Answer('Lao Wang "<b>男装</b>" 👔'),
}


@pytest.mark.parametrize("together", [False, True], ids=["one-update-each", "one-update"])
async def test_the_next_update_reads_the_answers_exactly_as_they_were_stored(store: Store, together: bool) -> None:
    checkup_id = await start(store, 1)
    if together:
        snapshot = await read(store, 2)
        writes = [SaveAnswer(checkup_id, ANNA, f, a, False, snapshot.now) for f, a in GIVEN.items()]
        assert await store.apply(snapshot, update_id=2, writes=writes) is APPLIED
    else:
        for n, (field_name, given) in enumerate(GIVEN.items()):
            assert await answer(store, 10 + n, checkup_id, field_name, given) is APPLIED
    (checkup,) = (await read(store, 100)).in_progress
    assert list(checkup.answers) == list(GIVEN)  # in the order given
    assert checkup.answers == GIVEN
    if store.engine.dialect.name == "postgresql":
        # Types too (1.0 is not 1). SQLite gives a whole float back as an int: its JSON
        # column has numeric affinity, so the text "1.0" is stored as the integer 1.
        assert [repr(a) for a in checkup.answers.values()] == [repr(a) for a in GIVEN.values()]


async def test_answers_survive_a_restart(store: Store, engine: AsyncEngine, database_url: str) -> None:
    checkup_id = await start(store, 1)
    assert await answer(store, 2, checkup_id, "average_order", Answer(30, low=20.0, high=40.0)) is APPLIED
    await engine.dispose()  # the bot stops...
    restarted = create_engine(database_url)  # ...and starts again
    try:
        (checkup,) = (await read(Store(session_factory(restarted)), 3)).in_progress
        assert (checkup.id, dict(checkup.answers)) == (checkup_id, {"average_order": Answer(30, AnswerStatus.GIVEN, 20.0, 40.0)})
    finally:
        await restarted.dispose()


async def test_a_number_that_is_not_finite_is_never_stored(store: Store, engine: AsyncEngine) -> None:
    checkup_id = await start(store, 1)
    for n, bad in enumerate((float("nan"), float("inf"))):
        with pytest.raises(ValueError, match="finite"):
            await answer(store, 2 + n, checkup_id, "conversion", Answer(bad))
    assert await count(engine, "SELECT count(*) FROM answers") == 0
    assert await count(engine, "SELECT count(*) FROM processed_updates") == 1


async def test_a_changed_answer_keeps_the_old_one_as_history(store: Store, engine: AsyncEngine) -> None:
    checkup_id = await start(store, 1)
    assert await answer(store, 2, checkup_id, "monthly_orders", Answer(40)) is APPLIED
    assert await answer(store, 3, checkup_id, "monthly_orders", Answer(55)) is APPLIED
    (checkup,) = (await read(store, 4)).in_progress
    assert checkup.answers == {"monthly_orders": Answer(55)}
    async with store.unit() as unit:
        history = (await unit.session.execute(select(AnswerRow).order_by(AnswerRow.id))).scalars().all()
    assert [(row.value, row.superseded_at is None) for row in history] == [(40, False), (55, True)]
    assert history[0].superseded_at >= history[0].created_at


async def test_withdrawing_an_answer_back_keeps_it_as_history(store: Store) -> None:
    checkup_id = await start(store, 1)
    assert await answer(store, 2, checkup_id, "monthly_orders", Answer(40)) is APPLIED
    assert await answer(store, 3, checkup_id, "channels", Answer(("wechat",))) is APPLIED
    back = WithdrawAnswer(checkup_id, "channels", utcnow())
    assert await update(store, 4, back, back) is APPLIED  # twice is harmless
    (checkup,) = (await read(store, 5)).in_progress
    assert checkup.answers == {"monthly_orders": Answer(40)}
    assert await answer(store, 6, checkup_id, "channels", Answer(("telegram",))) is APPLIED
    (checkup,) = (await read(store, 7)).in_progress
    assert checkup.answers["channels"] == Answer(("telegram",))
    async with store.unit() as unit:
        query = select(AnswerRow.value).where(AnswerRow.field == "channels").order_by(AnswerRow.id)
        assert (await unit.session.execute(query)).scalars().all() == [["wechat"], ["telegram"]]


async def test_the_database_refuses_two_current_answers_to_one_question(store: Store, engine: AsyncEngine) -> None:
    checkup_id = await start(store, 1)
    assert await answer(store, 2, checkup_id, "monthly_orders", Answer(40)) is APPLIED

    def row(value: int, superseded: bool = False) -> AnswerRow:
        return AnswerRow(
            checkup_id=checkup_id, user_id=ANNA, field="monthly_orders", value=value, status="given",
            superseded_at=utcnow() if superseded else None,
        )  # fmt: skip

    with pytest.raises(IntegrityError, match="(?i)unique"):
        async with store.unit() as unit:  # behind storage's back
            unit.session.add(row(41))
            await unit.session.flush()
    async with store.unit() as unit:  # history rows are not "current": any number is fine
        unit.session.add_all([row(38, superseded=True), row(39, superseded=True)])
    # A step that says "no answer to replace" when there is one: a conflict, nothing written.
    snapshot = await read(store, 3)
    stale = SaveAnswer(checkup_id, ANNA, "monthly_orders", Answer(42), False, snapshot.now)
    assert await store.apply(snapshot, update_id=3, writes=[stale]) is CONFLICT
    (checkup,) = (await read(store, 3)).in_progress
    assert checkup.answers == {"monthly_orders": Answer(40)}


# --- each update once, on the version read ----------------------------------------------------
async def test_an_update_applied_twice_is_applied_once(store: Store, engine: AsyncEngine) -> None:
    snapshot = await read(store, 500)
    checkup_id = await loaded(store, snapshot, need.NewId("checkups"))
    writes = [StartCheckup(checkup_id, ANNA, "checkup", "en", snapshot.now)]
    assert await store.apply(snapshot, update_id=500, writes=writes) is APPLIED
    assert await store.read(update_id=500, user_id=ANNA, language="en", now=utcnow()) is None
    again = await read(store, 501)  # the same update, on a snapshot that is current
    assert await store.apply(again, update_id=500, writes=writes) is DUPLICATE
    assert await update(store, 501) is APPLIED
    assert await count(engine, "SELECT count(*) FROM checkups") == 1
    assert await count(engine, "SELECT count(*) FROM processed_updates") == 2


async def test_of_two_updates_on_the_same_snapshot_one_applies_and_the_other_writes_nothing(
    store: Store, engine: AsyncEngine
) -> None:
    checkup_id = await start(store, 1)
    snapshot = await read(store, 2)
    assert snapshot.user == (await read(store, 3)).user
    first = [SaveAnswer(checkup_id, ANNA, "category", Answer("menswear"), False, snapshot.now)]
    second = [SaveAnswer(checkup_id, ANNA, "category", Answer("bakery"), False, snapshot.now), CloseCheckup(checkup_id, "cancelled", snapshot.now)]
    results = await asyncio.gather(
        store.apply(snapshot, update_id=2, writes=first), store.apply(snapshot, update_id=3, writes=second)
    )
    assert sorted(r.value for r in results) == ["applied", "conflict"]
    loser = 3 if results[0] is APPLIED else 2
    assert await count(engine, "SELECT count(*) FROM answers") == 1
    assert await count(engine, "SELECT count(*) FROM processed_updates WHERE update_id = :u", u=loser) == 0
    # The loser reads again and is applied on what the winner left.
    assert await answer(store, loser, checkup_id, "category", Answer("shoes")) is APPLIED


async def test_an_update_whose_write_fails_leaves_nothing_behind_so_a_retry_succeeds(store: Store, engine: AsyncEngine) -> None:
    snapshot = await read(store, 600)
    checkup_id = await loaded(store, snapshot, need.NewId("checkups"))
    writes: list[Write] = [
        StartCheckup(checkup_id, ANNA, "checkup", "en", snapshot.now),
        SaveAnswer(checkup_id, ANNA, "monthly_orders", Answer(40), False, snapshot.now),
        SaveAnswer(checkup_id, ANNA, "shop_name", Answer("x" * 100_000), False, snapshot.now),
    ]
    with pytest.raises(ValueError, match="longer"):
        await store.apply(snapshot, update_id=600, writes=writes)
    for table in ("processed_updates", "users", "checkups", "answers"):
        assert await count(engine, f"SELECT count(*) FROM {table}") == 0, table
    assert await store.apply(await read(store, 600), update_id=600, writes=writes[:2]) is APPLIED
    assert await count(engine, "SELECT count(*) FROM answers") == 1


@pytest.mark.postgres
async def test_the_same_update_delivered_concurrently_is_applied_once(postgres_store: Store) -> None:
    store = postgres_store
    await update(store, 1)

    async def handle(checkup_id: int) -> Applied:
        while True:
            snapshot = await store.read(update_id=777, user_id=ANNA, language="en", now=utcnow())
            if snapshot is None:
                return DUPLICATE
            writes = [StartCheckup(checkup_id, ANNA, "checkup", "en", snapshot.now)]
            applied = await store.apply(snapshot, update_id=777, writes=writes)
            if applied is not CONFLICT:
                return applied

    results = await asyncio.gather(*(handle(100 + worker) for worker in range(5)))
    assert sorted(r.value for r in results) == ["applied"] + ["duplicate"] * 4
    async with store.unit() as unit:
        assert await unit.count_user_rows(ANNA) == {
            "answers": 0, "advice_reports": 0, "checkups": 1, "settings": 0, "users": 1, "checkin_rounds": 0,
            "customers": 0, "sales": 0,
        }  # fmt: skip
    assert await count(store.engine, "SELECT count(*) FROM processed_updates") == 2


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["one statement", "one statement, finishing", "transaction"])
async def test_an_update_waits_for_another_holding_the_sellers_row_and_then_writes_nothing(
    postgres_store: Store, path: str
) -> None:
    """Across processes, the seller's row orders their updates: an apply waits for the
    transaction that holds it, and finds it changed."""
    store = postgres_store
    checkup_id = await start(store, 1)
    snapshot = await read(store, 2)
    writes: list[Write] = [SaveAnswer(checkup_id, ANNA, "category", Answer("menswear"), False, snapshot.now)]
    if path == "transaction":
        writes.append(WithdrawAnswer(checkup_id, "price_tier", snapshot.now))
    if path == "one statement, finishing":
        report_id = await loaded(store, snapshot, need.NewId("advice_reports"))
        writes += [report_of(report_id, ANNA, checkup_id, snapshot.now), CloseCheckup(checkup_id, "finished", snapshot.now)]
    async with store.engine.connect() as other, other.begin():  # another process's update
        await other.execute(text("UPDATE users SET version = version + 1 WHERE id = :u"), {"u": ANNA})
        applying = asyncio.create_task(store.apply(snapshot, update_id=2, writes=writes))
        await asyncio.sleep(0.3)
        assert not applying.done()  # waiting for the row
    assert await applying is CONFLICT
    assert await count(store.engine, "SELECT count(*) FROM answers") == 0
    assert await count(store.engine, "SELECT count(*) FROM advice_reports") == 0
    assert await count(store.engine, "SELECT count(*) FROM checkups WHERE status = 'in_progress'") == 1
    assert await answer(store, 2, checkup_id, "category", Answer("menswear")) is APPLIED


# --- PostgreSQL: one statement, or one transaction, the same rows -------------------------------
async def answers_and_finish(store: Store, user_id: int, first_update: int) -> None:
    checkup_id = await start(store, first_update, user_id)
    assert await answer(store, first_update + 1, checkup_id, "category", Answer("menswear"), user_id) is APPLIED
    assert await answer(store, first_update + 2, checkup_id, "channels", Answer(("wechat", "moments")), user_id) is APPLIED
    store.remember_question_message(user_id, checkup_id, 90, "weekly_orders")
    snapshot = await read(store, first_update + 3, user_id)
    report_id = await loaded(store, snapshot, need.NewId("advice_reports"))
    writes = [
        SaveAnswer(checkup_id, user_id, "weekly_orders", Answer(12, low=10.0, high=14.0), False, snapshot.now),
        report_of(report_id, user_id, checkup_id, snapshot.now),
        CloseCheckup(checkup_id, "finished", snapshot.now),
    ]
    assert await store.apply(snapshot, update_id=first_update + 3, writes=writes) is APPLIED


async def rows_of_user(store: Store, user_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """The user's rows, ids and times left out (they differ by construction)."""
    queries = {
        "users": "SELECT language, version FROM users WHERE id = :u",
        "checkups": "SELECT kind, status, language, question_message_id, question_field, finished_at IS NOT NULL FROM checkups WHERE user_id = :u ORDER BY id",
        "answers": "SELECT field, CAST(value AS text), status, low, high, superseded_at IS NULL FROM answers WHERE user_id = :u ORDER BY id",
        "advice_reports": "SELECT language, CAST(profile AS text), CAST(result AS text), CAST(rule_ids AS text), bottleneck, monthly_sales, rendered_html FROM advice_reports WHERE user_id = :u",
    }
    return {table: await rows(store.engine, sql, u=user_id) for table, sql in queries.items()}


def count_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement run on asyncpg from now on (the list grows as they run)."""
    statements: list[str] = []
    fetch = asyncpg.Connection.fetch

    async def counted(self: asyncpg.Connection, sql: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(sql)
        return await fetch(self, sql, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "fetch", counted)
    return statements


@pytest.mark.postgres
async def test_one_statement_and_one_transaction_write_the_same_rows(postgres_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store = postgres_store
    statements = count_statements(monkeypatch)
    await answers_and_finish(store, ANNA, 10)
    one_statement = len(statements)
    monkeypatch.setattr(updates, "one_statement", lambda writes: None)
    statements.clear()
    await answers_and_finish(store, BORIS, 20)
    assert len(statements) > one_statement  # the transaction path: more statements
    anna, boris = await rows_of_user(store, ANNA), await rows_of_user(store, BORIS)
    assert anna == boris
    assert anna["checkups"] == [("checkup", "finished", "en", 90, "weekly_orders", True)]
    assert [row[0] for row in anna["answers"]] == ["category", "channels", "weekly_orders"]


@pytest.mark.postgres
async def test_the_common_update_is_one_statement_after_the_read(postgres_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(postgres_store.sessions)  # statements counted: no checking reads
    checkup_id = await start(store, 1)
    statements = count_statements(monkeypatch)
    assert await answer(store, 2, checkup_id, "category", Answer("menswear")) is APPLIED
    assert len(statements) == 2  # the read, and the write
    assert not any(sql.startswith(("BEGIN", "COMMIT")) for sql in statements)


@pytest.mark.postgres
async def test_a_sellers_next_update_is_one_statement_without_a_read(postgres_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(postgres_store.sessions)  # statements counted: no checking reads
    first = await run_update(store, update_id=1, user_id=ANNA, language="en", event=Command("checkup"))
    assert first is not None
    statements = count_statements(monkeypatch)
    second = await run_update(store, update_id=2, user_id=ANNA, language="en", event=Typed("1"))
    assert second is not None and any(isinstance(w, SaveAnswer) for w in second.writes)
    assert len(statements) == 1  # the snapshot the first left, and one statement applying


# --- the message that asks a question (written behind) -------------------------------------
async def asking_message(engine: AsyncEngine, checkup_id: int) -> tuple[int | None, str | None]:
    (row,) = await rows(engine, "SELECT question_message_id, question_field FROM checkups WHERE id = :c", c=checkup_id)
    return row[0], row[1]


async def test_a_noted_question_message_is_shown_and_written_by_the_users_next_update(store: Store, engine: AsyncEngine) -> None:
    checkup_id = await start(store, 700)
    store.remember_question_message(ANNA, checkup_id, 41, "category")
    assert await asking_message(engine, checkup_id) == (None, None)  # noted, not yet written
    snapshot = await read(store, 701)
    (checkup,) = snapshot.in_progress
    assert (checkup.question_message_id, checkup.question_field) == (41, "category")
    assert await asking_message(engine, checkup_id) == (None, None)  # read, not yet written
    assert await store.apply(snapshot, update_id=701, writes=[]) is APPLIED
    assert await asking_message(engine, checkup_id) == (41, "category")
    assert store.notes.take(ANNA) == {}


async def test_noted_question_messages_are_written_together_and_an_older_one_never_wins(store: Store, engine: AsyncEngine) -> None:
    checkup_id = await start(store, 710)
    store.remember_question_message(ANNA, checkup_id, 50, "price_tier")
    assert await store.write_noted_questions() == 1
    assert await store.write_noted_questions() == 0  # written once
    store.remember_question_message(ANNA, checkup_id, 49, "category")  # late, from another process
    await store.write_noted_questions()
    assert await asking_message(engine, checkup_id) == (50, "price_tier")
    store.remember_question_message(ANNA, checkup_id, 49, "category")
    snapshot = await read(store, 711)  # nor shown, nor written, in the next update
    assert (snapshot.in_progress[0].question_message_id, snapshot.in_progress[0].question_field) == (50, "price_tier")
    assert await store.apply(snapshot, update_id=711, writes=[]) is APPLIED
    assert await asking_message(engine, checkup_id) == (50, "price_tier")


async def test_notes_of_an_update_not_applied_are_given_back(store: Store, engine: AsyncEngine) -> None:
    checkup_id = await start(store, 720)
    store.remember_question_message(ANNA, checkup_id, 60, "category")
    snapshot = await read(store, 721)
    assert await update(store, 722) is APPLIED  # another update came first (it wrote note 60)
    store.remember_question_message(ANNA, checkup_id, 61, "price_tier")
    assert await store.apply(snapshot, update_id=721, writes=[]) is CONFLICT
    assert store.notes.peek(ANNA) == {checkup_id: (61, "price_tier")}  # given back
    assert await store.apply(await read(store, 723), update_id=722, writes=[]) is DUPLICATE
    assert store.notes.peek(ANNA) == {checkup_id: (61, "price_tier")}
    with pytest.raises(ValueError):
        bad = SaveAnswer(checkup_id, ANNA, "x", Answer(float("nan")), False, utcnow())
        await store.apply(await read(store, 724), update_id=724, writes=[bad])
    assert store.notes.peek(ANNA) == {checkup_id: (61, "price_tier")}
    assert await asking_message(engine, checkup_id) == (60, "category")
    assert await update(store, 725) is APPLIED
    assert await asking_message(engine, checkup_id) == (61, "price_tier")
    assert await store.write_noted_questions() == 0


async def test_the_bot_writes_noted_question_messages_on_start_then_every_so_often_and_when_it_stops(
    store: Store, engine: AsyncEngine
) -> None:
    checkup_id = await start(store, 730)
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
async def test_writing_notes_skips_a_check_up_someone_has_locked_and_writes_it_later(postgres_store: Store) -> None:
    """The writer never waits for an update's locks (so never deadlocks with one)."""
    store = postgres_store
    checkup_id = await start(store, 740)
    store.remember_question_message(ANNA, checkup_id, 81, "price_tier")
    async with store.engine.connect() as other, other.begin():  # an update's transaction, meanwhile
        await other.execute(text("SELECT id FROM checkups WHERE id = :c FOR UPDATE"), {"c": checkup_id})
        assert await asyncio.wait_for(store.write_noted_questions(), timeout=5) == 0
    assert await store.write_noted_questions() == 1
    assert await asking_message(store.engine, checkup_id) == (81, "price_tier")


# --- what a step loads ---------------------------------------------------------------------
async def test_each_need_loads_the_sellers_own_rows(store: Store) -> None:
    anna_checkup = await seed(store, ANNA, 1)
    boris_checkup = await seed(store, BORIS, 20)
    anna, boris = await read(store, 100, ANNA), await read(store, 101, BORIS)
    latest = await loaded(store, anna, need.LatestReport())
    assert isinstance(latest, ReportView) and (latest.user_id, latest.checkup_id) == (ANNA, anna_checkup)
    assert latest.profile == {"category": "bakery", "price_level": "mid"} and latest.created_at.tzinfo is not None
    assert await loaded(store, anna, need.Reports()) == (latest,)
    assert await loaded(store, anna, need.Report(latest.id)) == latest
    assert await loaded(store, boris, need.Report(latest.id)) is None  # buttons can be forged
    assert await loaded(store, anna, need.Report(999_999)) is None
    settings = await loaded(store, anna, need.Settings())
    assert isinstance(settings, SettingsView) and (settings.user_id, settings.checkin_cadence) == (ANNA, "weekly")
    assert await loaded(store, await read(store, 102, 31337), need.Settings()) == SettingsView(31337)
    round_ = await loaded(store, anna, need.RoundOfCheckup(anna_checkup))
    assert isinstance(round_, RoundView) and (round_.user_id, round_.status, round_.checkup_id) == (ANNA, "sent", anna_checkup)
    assert await loaded(store, anna, need.Round(round_.id)) == round_
    assert await loaded(store, boris, need.Round(round_.id)) is None
    assert await loaded(store, anna, need.RoundOfCheckup(boris_checkup)) is None
    assert await loaded(store, anna, need.FinishedCount("checkup")) == 1
    assert await loaded(store, anna, need.FinishedCount("checkin")) == 0
    stats = await loaded(store, anna, need.Stats())
    assert stats == Stats(users=2, checkups_done=2, active_checkins=2, top_bottleneck="traffic")
    export = await loaded(store, anna, need.Export())
    assert export["user"]["id"] == ANNA


async def test_new_ids_are_the_ones_the_rows_get(store: Store, engine: AsyncEngine) -> None:
    snapshot = await read(store, 1)
    first = await loaded(store, snapshot, need.NewId("checkups", 0))
    snapshot = await store.load(snapshot, need.NewId("checkups", 0))
    second = await loaded(store, snapshot, need.NewId("checkups", 1))
    assert second > first
    writes = [StartCheckup(i, ANNA, "checkup", "en", snapshot.now) for i in (first, second)]
    assert await store.apply(snapshot, update_id=1, writes=writes) is APPLIED
    assert await rows(engine, "SELECT id FROM checkups ORDER BY id") == [(first,), (second,)]
    clash = await read(store, 2)  # a new row's id taken meanwhile: a conflict
    again = [StartCheckup(first, ANNA, "checkup", "en", clash.now)]
    assert await store.apply(clash, update_id=2, writes=again) is CONFLICT
    assert await count(engine, "SELECT count(*) FROM processed_updates") == 1


async def test_check_ins_are_offered_under_the_first_check_ups_advice_only(store: Store) -> None:
    async def offered(first_update: int) -> bool:
        checkup_id = await start(store, first_update)
        await finish(store, first_update + 1, checkup_id)
        return await loaded(store, await read(store, first_update + 2), need.OffersCheckins(checkup_id))

    assert await offered(860) is True
    assert await offered(870) is False  # a second check-up
    async with store.unit() as unit:
        await unit.session.execute(text("DELETE FROM advice_reports"))
        await unit.session.execute(text("DELETE FROM checkups"))
    assert await update(store, 879, SetSettings(ANNA, {"checkin_cadence": "weekly"})) is APPLIED
    assert await offered(880) is False  # check-ins already on


async def test_the_check_ins_of_a_window_are_read_newest_first(store: Store) -> None:
    """What repeat purchases over 90 days add up: finished check-ins since a moment, this
    one and check-ups aside, each with its own answers."""
    now = utcnow()
    made = []
    days_ago_kind_orders = [
        (100, CheckupKind.CHECKIN, 1),  # before the window
        (20, CheckupKind.CHECKIN, 2),
        (3, CheckupKind.CHECKUP, 3),  # a check-up, not a check-in
        (2, CheckupKind.CHECKIN, 4),
    ]
    for n, (days_ago, kind, orders) in enumerate(days_ago_kind_orders):
        checkup_id = await start(store, 10 * n + 1, kind=kind.value)
        assert await answer(store, 10 * n + 2, checkup_id, "orders", Answer(orders)) is APPLIED
        assert await update(store, 10 * n + 3, CloseCheckup(checkup_id, "finished", now - timedelta(days=days_ago))) is APPLIED
        made.append(checkup_id)
    unfinished = await start(store, 100, kind="checkin")
    assert await answer(store, 101, unfinished, "orders", Answer(5)) is APPLIED
    boris = await start(store, 102, BORIS, kind="checkin")
    assert await answer(store, 103, boris, "orders", Answer(6), BORIS) is APPLIED
    assert await update(store, 104, CloseCheckup(boris, "finished", now), user_id=BORIS) is APPLIED
    snapshot = await read(store, 200)
    window = await loaded(store, snapshot, need.CheckinHistory(now - timedelta(days=90), unfinished))
    assert window == ({"orders": Answer(4)}, {"orders": Answer(2)})
    assert await loaded(store, snapshot, need.CheckinHistory(now - timedelta(days=90), made[3])) == ({"orders": Answer(2)},)


async def test_settings_and_rounds_change_only_the_columns_named(store: Store, engine: AsyncEngine) -> None:
    await seed(store, ANNA, 1)
    await seed(store, BORIS, 20)
    assert await update(store, 40, SetSettings(ANNA, {"checkin_hour": 9})) is APPLIED
    settings = await loaded(store, await read(store, 41), need.Settings())
    assert (settings.checkin_cadence, settings.checkin_hour) == ("weekly", 9)
    boris_round = await loaded(store, await read(store, 42, BORIS), need.RoundOfCheckup(await count(engine, "SELECT min(id) FROM checkups WHERE user_id = :u", u=BORIS)))
    assert await update(store, 43, SetRound(boris_round.id, {"status": "skipped"})) is APPLIED  # not Anna's
    assert await loaded(store, await read(store, 44, BORIS), need.Round(boris_round.id)) == boris_round
    (anna_round,) = await rows(engine, "SELECT id FROM checkin_rounds WHERE user_id = :u", u=ANNA)
    assert await update(store, 45, SetRound(anna_round[0], {"status": "started"})) is APPLIED
    changed = await loaded(store, await read(store, 46), need.Round(anna_round[0]))
    assert (changed.status, changed.checkup_id) == ("started", await count(engine, "SELECT min(id) FROM checkups WHERE user_id = :u", u=ANNA))


# --- the user's rights -------------------------------------------------------------------
async def test_export_holds_that_users_rows_only(store: Store) -> None:
    await seed(store, ANNA, 1)
    await seed(store, BORIS, 20)
    data = await loaded(store, await read(store, 40), need.Export())
    assert await loaded(store, await read(store, 41, 31337), need.Export()) == {"user": None}
    json.dumps(data)  # JSON-ready as it is
    assert data["user"]["id"] == ANNA
    assert {key: len(found) for key, found in data.items() if key != "user"} == {
        key: n for key, n in SEEDED.items() if key != "users"
    }
    for key, found in data.items():
        if key != "user":
            assert {row["user_id"] for row in found} == {ANNA}, key
    assert [a["value"] for a in data["answers"]] == [40, 45, ["wechat", "instagram"]]


async def test_delete_user_removes_every_row_of_that_user_and_no_one_elses(store: Store, engine: AsyncEngine) -> None:
    await seed(store, ANNA, 1)
    await seed(store, BORIS, 20)

    # Every table that holds a user's data, found from the schema itself, not from
    # storage: a new table with a user_id column must be covered by DeleteUser too.
    owned = {
        t.name: ("id" if t.name == "users" else "user_id")
        for t in Base.metadata.sorted_tables
        if "user_id" in t.c or t.name == "users"
    }
    assert set(owned) == {model.__tablename__ for model in USER_TABLES}
    assert {t.name for t in Base.metadata.sorted_tables} - set(owned) == {"processed_updates", "send_slots"}  # no personal data

    async def rows_of(user_id: int) -> dict[str, int]:
        return {
            table: await count(engine, f"SELECT count(*) FROM {table} WHERE {column} = :user_id", user_id=user_id)
            for table, column in owned.items()
        }

    assert await rows_of(ANNA) == await rows_of(BORIS) == SEEDED
    assert await update(store, 40, DeleteUser(ANNA)) is APPLIED
    async with store.unit() as unit:
        assert set((await unit.count_user_rows(ANNA)).values()) == {0}
        assert await unit.count_user_rows(BORIS) == SEEDED
        assert await unit.export(ANNA) == {"user": None}
    assert await rows_of(ANNA) == dict.fromkeys(owned, 0)
    assert await rows_of(BORIS) == SEEDED
    after = await read(store, 41)  # a seller deleted is new again
    assert (after.user.version, after.in_progress) == (None, ())
    assert await store.apply(after, update_id=41, writes=[]) is APPLIED


async def test_deleting_the_user_row_cascades_to_everything_it_owns(store: Store, engine: AsyncEngine) -> None:
    """The foreign keys say ON DELETE CASCADE (and SQLite enforces them: the pragma is on)."""
    await seed(store, ANNA, 1)
    await seed(store, BORIS, 20)
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": ANNA})
    async with store.unit() as unit:
        assert set((await unit.count_user_rows(ANNA)).values()) == {0}
        assert await unit.count_user_rows(BORIS) == SEEDED


# --- PostgreSQL: connections ----------------------------------------------------------------
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
        await asyncio.gather(*(update(store, next(update_ids), user_id=1000 + n) for n in range(20)))

    await burst()
    await burst()
    assert len(opened) <= 20


@pytest.mark.postgres
@pytest.mark.parametrize("failing", ["read", "apply"])
async def test_a_connection_the_driver_lost_track_of_is_a_database_error_and_never_lent_again(
    postgres_store: Store, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """What asyncpg raised for a statement on a connection the server had just terminated
    (a CI run caught it escaping as an unknown error)."""
    store = postgres_store
    await update(store, 900)
    invalidated: list[object] = []
    event.listen(store.engine.sync_engine, "invalidate", lambda *args: invalidated.append(args[0]))
    fetch = asyncpg.Connection.fetch
    snapshot = await read(store, 901)

    async def lost(*args: object, **kwargs: object) -> object:
        raise asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in progress")

    monkeypatch.setattr(asyncpg.Connection, "fetch", lost)
    with pytest.raises(DBAPIError):
        if failing == "read":
            await read(store, 901)
        else:
            await store.apply(snapshot, update_id=901, writes=[])
    assert len(invalidated) == 1
    monkeypatch.setattr(asyncpg.Connection, "fetch", fetch)
    assert await update(store, 901) is APPLIED


@pytest.mark.postgres
async def test_a_connection_lost_inside_an_update_is_a_database_error_and_the_next_update_works(
    postgres_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An update's statements run on asyncpg itself: its errors must reach the bot as the
    database errors it tells sellers about, and the pool must not hand out the dead link."""
    store = postgres_store
    await update(store, 1)
    snapshot = await read(store, 2)
    checkup_id = await loaded(store, snapshot, need.NewId("checkups"))
    fetch = asyncpg.Connection.fetch
    killed: list[int] = []

    async def killing(self: asyncpg.Connection, sql: str, *args: Any, **kwargs: Any) -> Any:
        if sql.startswith("INSERT INTO answers") and not killed:  # mid-transaction
            killed.append(await self.fetchval("SELECT pg_backend_pid()"))
            async with store.engine.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed[0]})
        return await fetch(self, sql, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "fetch", killing)
    writes = [
        StartCheckup(checkup_id, ANNA, "checkup", "en", snapshot.now),
        SaveAnswer(checkup_id, ANNA, "category", Answer("menswear"), False, snapshot.now),
    ]
    with pytest.raises(DBAPIError):
        await store.apply(snapshot, update_id=2, writes=writes)
    assert await update(store, 3) is APPLIED
    assert (await read(store, 4)).in_progress == ()  # update 2 left nothing behind
    assert await rows(store.engine, "SELECT update_id FROM processed_updates ORDER BY 1") == [(1,), (3,)]


# --- statements run on asyncpg -----------------------------------------------------------
NOW = utcnow()
NOTED = {"noted_checkups": [3, 4], "noted_messages": [9, 10], "noted_fields": ["category", "price_tier"]}
ANSWER_ROW = changes.answer_row(SaveAnswer(3, ANNA, "channels", Answer(("wechat", "moments")), False, NOW))
REPORT_ROW = changes.report_row(report_of(7, ANNA, 3, NOW))
DRIVER_STATEMENTS = {
    "an update's read": (protocol.read_snapshot, {"update": 1, "user": ANNA}),
    "an update's writes, noting and answering": (
        partial(protocol.apply_unchanged, noting=True, answering=True),
        {"user": ANNA, "seen": 12, "now": NOW, "update": 1, **NOTED, **{f"answer_{k}": v for k, v in ANSWER_ROW.items()}},
    ),
    "an update's writes, finishing a check-up": (
        partial(protocol.apply_unchanged, finishing=True),
        {"user": ANNA, "seen": 12, "now": NOW, "update": 1, "closed_checkup": 3, "closed_at": NOW, **{f"report_{k}": v for k, v in REPORT_ROW.items()}},
    ),
    "an answer": (changes._insert_answer, ANSWER_ROW),
    "a report": (changes._insert_report, REPORT_ROW),
    "closing a check-up": (changes._close_checkup, {"of_checkup": 3, "of_user": ANNA, "to": "finished", "at": NOW}),
    "settings": (
        partial(changes._set_settings, columns=("checkin_hour",)),
        {"user_id": ANNA, "checkin_hour": 9, "checkin_cadence": "off", "updated_at": NOW, "checkin_weekday": None, "checkin_paused": False,
         "checkin_next_due_at": None, "checkin_ignored_in_row": 0, "checkin_streak": 0, "checkin_cadence_asked": False, "awaiting": None,
         "digest_on": False, "digest_weekday": None, "digest_hour": None, "digest_next_due_at": None, "sale_pending": None, "sale_flow": 0},
    ),
    "a new seller": (
        updates._insert_user, {"update": 1, "user": ANNA, "lang": "en", "now": NOW, "language_chosen": False, "time_zone": "UTC", "version": 0},
    ),
    "whether check-ins are offered": (loads._offer_query, {"user": ANNA, "of_checkup": 3}),
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


def test_every_write_is_made_by_a_statement(store: Store) -> None:
    """Each write kind has its statements (a new kind without them is a TypeError)."""
    writes: list[Write] = [
        SetUser(ANNA, {"time_zone": "UTC"}), StartCheckup(1, ANNA, "checkup", "en", NOW), CloseCheckup(1, "cancelled", NOW),
        SaveAnswer(1, ANNA, "x", Answer(1), True, NOW), WithdrawAnswer(1, "x", NOW), report_of(1, ANNA, 1, NOW),
        SetSettings(ANNA, {}), SetRound(1, {"status": "started"}), DeleteUser(ANNA),
    ]  # fmt: skip
    made = [changes.statements(write, user_id=ANNA) for write in writes]
    assert all(made)
    assert len(made[3]) == 2  # a replaced answer: withdrawn first
    assert len(made[-1]) == len(USER_TABLES)
    assert CheckupStatus.FINISHED.value == "finished"
