"""/progress: a seller's check-ups over time as a table and a chart photo (offline, real
database); Unit.reports on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.core import snapshot as need
from bot.core.values import ReportView
from bot.core.writes import SaveReport
from bot.storage.repository import Store
from tests.support.fake_bot_api import FakeBotApi
from tests.support.harness import ChatHarness, Seller
from tests.support.stored import new_id, snapshot_of, write
from tests.test_bot_checkup import CHINESE_ANSWERS, ENGLISH_ANSWERS, answer_all
from tests.test_charts import png_size

# The same reseller a few weeks later: 40 new people a week (was 10) and 5 orders (was 2).
LATER_ANSWERS = list(ENGLISH_ANSWERS)
assert LATER_ANSWERS[6] == ("say", "about 10") and LATER_ANSWERS[8] == ("say", "2")
LATER_ANSWERS[6], LATER_ANSWERS[8] = ("say", "40"), ("say", "5")


@pytest.fixture
async def harness(api: FakeBotApi, chat_store: Store) -> AsyncIterator[ChatHarness]:
    """Two whole check-ups in a second or two: faster than any seller types, so flood
    control (tested on its own in tests/test_flood.py) is off here."""
    async with ChatHarness(api, chat_store, flood_burst=0) as running:
        yield running


async def checkup(seller: Seller, answers: list[tuple[str, str]]) -> None:
    await seller.says("/checkup")
    await answer_all(seller, answers)


def table_rows(html: str) -> list[str]:
    table = re.search(r"<pre>(.*?)</pre>", html, re.DOTALL)
    assert table is not None, html
    return table.group(1).strip("\n").splitlines()[1:]


async def test_a_seller_with_two_checkups_gets_the_table_and_the_chart(
    harness: ChatHarness,
) -> None:
    seller = harness.seller(1001, "en")
    await checkup(seller, ENGLISH_ANSWERS)
    await checkup(seller, LATER_ANSWERS)
    table, chart = await seller.says("/progress")
    assert table.kind == "text" and table.html is not None
    rows = table_rows(table.html)
    assert len(rows) == 2
    # 2 orders a week at ¥180 = ¥1,559 a month; 5 orders = ¥3,897; traffic 10/120 -> 40/120
    assert rows[0].split()[1:3] == ["¥1,559", "8"]
    assert rows[1].split()[1:3] == ["¥3,897", "33"]
    assert (
        "¥1,559 at your first check-up" in table.text
        and "-> ¥3,897 now (+150%), 2 data points." in table.text
    )
    assert "Progress: Lao Wang <b>Menswear</b>" in table.text  # the shop name, literally
    assert chart.kind == "photo" and chart.file_bytes is not None
    assert chart.file_bytes.startswith(b"\x89PNG\r\n\x1a\n")
    assert png_size(chart.file_bytes) == (800, 500)
    assert chart.caption and "monthly estimate" in chart.caption


async def test_progress_after_one_checkup_in_chinese(harness: ChatHarness) -> None:
    seller = harness.seller(1002, "zh-CN")
    await checkup(seller, CHINESE_ANSWERS)
    table, chart = await seller.says("/progress")
    assert "你的进展" in table.text and len(table_rows(table.html or "")) == 1
    assert "目前只有一个数据点" in table.text
    assert chart.kind == "photo" and chart.file_bytes and chart.file_bytes.startswith(b"\x89PNG")


async def test_a_seller_without_a_checkup_is_offered_one(harness: ChatHarness) -> None:
    seller = harness.seller(1003, "en")
    [reply] = await seller.says("/progress")
    assert "No progress to show yet" in reply.text
    assert reply.kind == "text"
    started = await seller.presses("Start a check-up")
    assert "What do you mainly sell?" in started[-1].text
    [zh_reply] = await harness.seller(1004, "zh").says("/progress")
    assert "还没有可显示的进展" in zh_reply.text


async def test_help_mentions_progress(harness: ChatHarness) -> None:
    [en] = await harness.seller(1005, "en").says("/help")
    [zh] = await harness.seller(1006, "zh").says("/help")
    assert "/progress - your four levers and the estimate over time" in en.text
    assert "/progress - 四个杠杆和估算随时间的变化" in zh.text


def report(report_id: int, user_id: int, created_at: datetime) -> SaveReport:
    return SaveReport(
        report_id, user_id, None, created_at, "en", {"category": "bakery", "price_tier": "mid"},
        {"bottleneck": "traffic"}, ("traffic.low_reach",), "traffic", 1250.0, "<b>Traffic</b>",
    )  # fmt: skip


async def reports_of(store: Store, user_id: int) -> tuple[ReportView, ...]:
    return (await snapshot_of(store, user_id, need.Reports())).get(need.Reports())


async def test_reports_are_the_users_own_oldest_first(store: Store) -> None:
    anna, boris = 1001, 2002
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    ids = {}
    for days in (7, 0, 14):  # stored out of time order: the order is by when, not by id
        ids[days] = await new_id(store, anna, "advice_reports")
        await write(store, anna, report(ids[days], anna, now + timedelta(days=days)))
    await write(store, boris, report(await new_id(store, boris, "advice_reports"), boris, now))
    reports = await reports_of(store, anna)
    assert [r.id for r in reports] == [ids[0], ids[7], ids[14]]
    assert all(isinstance(r, ReportView) and r.user_id == anna for r in reports)
    assert [r.created_at for r in reports] == [now + timedelta(days=d) for d in (0, 7, 14)]
    assert len(await reports_of(store, boris)) == 1
    assert await reports_of(store, 3003) == ()
