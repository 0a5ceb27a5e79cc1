"""The 429 hold, shared by every bot process.

Telegram answers 429 Too Many Requests with how long to wait, and that wait is the bot's,
not one request's: whichever process met it, every process must hold back. So:

* Each process keeps the hold in memory, as a deadline on its monotonic clock, and
  :class:`bot.retrying_request.RetryingRequest` checks it before every request: a reply
  costs a comparison, never a database round trip.
* The process that meets a 429 holds itself at once and records the end of the hold
  (seconds since the epoch) in the ``send_slots`` row. On PostgreSQL the same transaction
  notifies a channel that every process listens on (:meth:`SendHold.listen`, one
  connection each), so the others hold back within milliseconds. Check-in send slots are
  never booked before a recorded hold ends (Unit.reserve_send_slots).
* A process that starts, or gets its listening connection back, reads the recorded hold.

On SQLite there is one process: the hold in memory is the whole of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.stopping import pause
from bot.storage.database import DATABASE_ERRORS
from bot.storage.repository import Store

log = logging.getLogger(__name__)

SLOT = "telegram"  # the send_slots row of this bot
CHANNEL = "coach_send_hold"
RECONNECT_AFTER = 5.0


class SendHold:
    """Until when this process sends nothing, kept in step with every other process."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        reconnect_after: float = RECONNECT_AFTER,
    ) -> None:
        self.store = store
        self.reconnect_after = reconnect_after
        self.clock, self.wall = clock, wall
        self.until = 0.0  # on ``clock``; nothing is sent before it
        self.listening = asyncio.Event()  # set while the other processes' holds are heard
        self._recording: set[asyncio.Task[None]] = set()

    def remaining(self) -> float:
        return max(0.0, self.until - self.clock())

    async def wait(self) -> None:
        """Return once no hold is on (at once when none is)."""
        # A loop, not one sleep: another 429 may move the end while this one sleeps.
        while (left := self.until - self.clock()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(left)

    def report(self, seconds: float) -> asyncio.Task[None] | None:
        """Telegram answered 429 asking for ``seconds``: hold this process now, and every
        other one as soon as the record (the task returned, if any) is written."""
        self._extend(self.clock() + seconds)
        if self.store is None:
            return None
        task = asyncio.get_running_loop().create_task(self._record(self.wall() + seconds))
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)
        return task

    def heard(self, until: float) -> None:
        """Another process (or the record) says: nothing before ``until`` (epoch seconds)."""
        self._extend(self.clock() + until - self.wall())

    def _extend(self, until: float) -> None:
        if until > self.until:
            self.until = until

    async def _record(self, until: float) -> None:
        assert self.store is not None
        try:
            async with self.store.unit() as uow:
                await uow.hold_sending(SLOT, until, CHANNEL)
        except DATABASE_ERRORS as exc:  # this process still holds; the others meet their own 429
            log.warning(
                "could not share a 429 hold with the other processes (%s)", type(exc).__name__
            )

    async def listen(self, stop: asyncio.Event) -> None:
        """Keep this process's hold in step with the others' until ``stop`` is set.

        Reads the recorded hold; on PostgreSQL then listens for new ones on a connection of
        its own, reconnecting (and reading again) when that connection is lost."""
        if self.store is None:
            return
        while not stop.is_set():
            try:
                if self.store.engine.dialect.name != "postgresql":
                    await self._read_recorded()
                    self.listening.set()  # one process: nobody else to hear
                    return
                await self._listen_once(stop)
            except Exception as exc:  # a database down or restarting: try again later, never die
                log.warning(
                    "not listening for 429 holds of other processes (%s); retrying",
                    type(exc).__name__,
                )
            await pause(stop, self.reconnect_after)

    async def _read_recorded(self) -> None:
        assert self.store is not None
        async with self.store.unit() as uow:
            self.heard(await uow.send_hold(SLOT))

    async def _listen_once(self, stop: asyncio.Event) -> None:
        assert self.store is not None
        async with self.store.engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection  # asyncpg's
            assert driver is not None  # None only once the connection is closed
            lost = asyncio.Event()

            def on_notification(
                _connection: object, _pid: int, _channel: str, payload: str
            ) -> None:
                try:
                    self.heard(float(payload))
                except ValueError:
                    log.warning("a 429 hold notification that is not a time was ignored")

            def on_lost(_connection: object) -> None:
                lost.set()

            await driver.add_listener(CHANNEL, on_notification)
            driver.add_termination_listener(on_lost)
            try:
                await self._read_recorded()  # after LISTEN: a hold recorded meanwhile is not missed
                self.listening.set()
                waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for waiting in waits:
                        waiting.cancel()
            finally:
                self.listening.clear()
                driver.remove_termination_listener(on_lost)
                if not driver.is_closed():
                    await driver.remove_listener(CHANNEL, on_notification)
        if lost.is_set() and not stop.is_set():
            raise ConnectionError("the listening connection was lost")
