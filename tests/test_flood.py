"""Per-user flood control: a flooding user gets one "slow down", the excess is dropped before
the database, and nobody else waits for it."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select

from bot.config import Settings
from bot.flood import FloodGate, Verdict
from bot.replies import text
from bot.storage.models import AnswerRow, ProcessedUpdate
from tests.support.harness import ChatHarness


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_gate_lets_a_burst_through_then_its_rate_and_warns_once() -> None:
    clock = Clock()
    gate = FloodGate(burst=5, rate=2.0, clock=clock)
    verdicts = [gate.admit(1) for _ in range(8)]
    assert verdicts == [Verdict.PASS] * 5 + [Verdict.WARN, Verdict.DROP, Verdict.DROP]
    assert gate.admit(2) is Verdict.PASS  # someone else is not affected
    clock.now += 0.5  # one token back
    assert [gate.admit(1) for _ in range(2)] == [Verdict.PASS, Verdict.DROP]  # still flooding: no second warning
    clock.now += 10  # quiet long enough to be full again: forgotten, and warned afresh if needed
    assert [gate.admit(1) for _ in range(7)] == [Verdict.PASS] * 5 + [Verdict.WARN, Verdict.DROP]


def test_the_gate_forgets_idle_users_so_memory_stays_flat() -> None:
    clock = Clock()
    gate = FloodGate(burst=3, rate=1.0, clock=clock)
    for user in range(10_000):
        gate.admit(user)
        clock.now += 0.001
    assert len(gate) <= 3 / 1.0 / 0.001 + 1
    clock.now += 5
    gate.admit(1)
    assert len(gate) == 1


def test_burst_zero_turns_the_gate_off() -> None:
    gate = FloodGate(burst=0)
    assert {gate.admit(1) for _ in range(1000)} == {Verdict.PASS}


def test_flood_settings_are_read_and_checked() -> None:
    settings = Settings.from_env({"FLOOD_BURST": "12", "FLOOD_RATE": "0.5"}, env_file=None)
    assert (settings.flood_burst, settings.flood_rate) == (12, 0.5)
    assert Settings.from_env({}, env_file=None).flood_burst == 40
    for bad in ({"FLOOD_BURST": "-1"}, {"FLOOD_RATE": "0"}, {"FLOOD_RATE": "fast"}, {"FLOOD_RATE": "nan"}):
        try:
            Settings.from_env(bad, env_file=None)
        except ValueError:
            continue
        raise AssertionError(f"{bad} accepted")


async def test_a_flooding_user_is_told_once_and_bounded_while_another_user_is_served(harness: ChatHarness) -> None:
    settings: Settings = harness.application.bot_data["settings"]
    flooder, seller = harness.seller(66), harness.seller(77)
    await flooder.says("/checkup")  # a check-up in progress: each flooded "5" is a valid answer
    flood_ids: list[int] = []
    latencies: list[float] = []

    async def flood() -> None:
        started = time.monotonic()
        sends = []
        for i in range(100):  # 50 a second, for two seconds
            update = harness.api.send_text(flooder.user, "5")
            flood_ids.append(update["update_id"])
            sends.append(asyncio.create_task(harness.deliver(flooder.id, update)))
            await asyncio.sleep(max(0.0, started + (i + 1) / 50 - time.monotonic()))
        await asyncio.gather(*sends)

    async def converse() -> None:
        await asyncio.sleep(0.2)  # the flood is on
        for say in ("/checkup", "5", "2", "1", "1", "about 10"):
            began = time.monotonic()
            replies = await seller.says(say)
            latencies.append(time.monotonic() - began)
            assert replies, f"{say!r} got no answer:\n{seller.transcript()}"
            await asyncio.sleep(0.05)

    began = time.monotonic()
    await asyncio.gather(flood(), converse())
    elapsed = time.monotonic() - began

    notices = [m for m in flooder.messages() if m.text == text("slow_down", "en")]
    assert len(notices) == 1, flooder.transcript()
    async with harness.store.sessions() as session:
        handled = (await session.execute(
            select(func.count()).select_from(ProcessedUpdate).where(ProcessedUpdate.update_id.in_(flood_ids))
        )).scalar_one()  # fmt: skip
        answers = (await session.execute(
            select(func.count()).select_from(AnswerRow).where(AnswerRow.user_id == flooder.id)
        )).scalar_one()  # fmt: skip
    allowed = settings.flood_burst - 1 + settings.flood_rate * elapsed + 1  # (/checkup took one)
    assert handled <= allowed < len(flood_ids) / 2, (handled, allowed)
    assert answers <= handled
    # The other seller went through the whole exchange, each reply without queueing behind the flood.
    assert len(latencies) == 6 and max(latencies) < 3.0, latencies
    assert not [m for m in seller.messages() if m.text == text("slow_down", "en")]
    async with harness.store.sessions() as session:
        stored = (await session.execute(select(AnswerRow.field).where(AnswerRow.user_id == seller.id))).scalars().all()
    assert len(stored) == 5, seller.transcript()
