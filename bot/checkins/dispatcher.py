"""The dispatcher: sends due check-ins, and the weekly reminders of due customers, exactly
once, politely.

A loop started by ``coach run`` beside polling or the webhook. Each pass:

1. gives up rounds left ``sending`` by a process that died (marked unknown, never resent:
   Telegram cannot say whether that message arrived, and a check-in goes out at most once);
2. claims a small batch of due check-ins in one transaction (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL), which writes each round as ``sending`` and moves the schedule on, BEFORE
   any message is sent;
3. sends them through the one sender (bot.sender), each message in a send slot reserved in
   the database so that all processes together stay under Telegram's overall limit; a 429
   holds every process back for its retry_after (bot.send_hold; the production request
   class reports and waits it out itself, and a RetryAfter that still comes through is
   waited out here) and the send is tried again; Forbidden (the user blocked the bot)
   switches check-ins off;
4. records what became of each round (sent and its message id, blocked, failed).

A reminder of due customers is a round of its own kind, claimed the same way; once claimed,
the seller's customers are loaded (theirs alone) and the reminder made by the pure
:func:`bot.core.customers.reminder`. Nobody due: nothing is sent, the round is ``skipped``.

Per chat, Telegram allows about one message a second; a chat gets at most one check-in per
due time and due times are hours apart, so that limit cannot be reached from here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot import sender
from bot.core.checkins import checkin_message
from bot.core.customers import reminder
from bot.core.snapshot import Snapshot
from bot.core.turn import Turn
from bot.core.values import UserView
from bot.replies import Reply
from bot.retrying_request import retry_after_seconds
from bot.send_hold import SLOT, SendHold
from bot.stopping import pause
from bot.storage.models import RoundStatus, utcnow
from bot.storage.repository import Claim, DigestClaim, SendOutcome, Store
from bot.updates import run_loading

log = logging.getLogger(__name__)

TELEGRAM_RATE = 30.0  # messages per second, for all bot processes together
STALE_AFTER = timedelta(minutes=10)
RECOVERY_EVERY = timedelta(minutes=1)  # looking for stale rounds is a write: not every pass
MAX_RETRIES = 5
MAX_LATE_SLOTS = 20

Sender = Callable[[int, Reply, sender.Pace | None], Awaitable[int | None]]
"""Sends one reply to a chat, each of its messages after ``pace``; returns the id of the
last message; raises telegram.error.*"""


def telegram_sender(bot: Bot) -> Sender:
    """Check-ins go out through the one sender (bot.sender), like every other message."""

    async def send(chat_id: int, reply: Reply, pace: sender.Pace | None = None) -> int | None:
        return await sender.send(bot, chat_id, reply, pace=pace)

    return send


class SendLimiter:
    """Telegram's overall rate, shared through one database row by every process."""

    def __init__(
        self,
        store: Store,
        rate: float = TELEGRAM_RATE,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store, self.step, self.clock, self.sleep = store, 1.0 / rate, clock, sleep
        # One reservation at a time per process: a batch waiting for its turns then needs
        # one database connection, not one each.
        self._reserving = asyncio.Lock()

    async def wait_turn(self) -> None:
        """Reserve the next free slot and sleep until it starts.

        Waking up late (a busy event loop) would bunch this send up with the next slot's,
        so a slot missed by more than half a step is given up and a new one reserved: the
        messages that do go out stay a step apart, whatever the delays.
        """
        for _ in range(MAX_LATE_SLOTS):
            async with self._reserving, self.store.unit() as uow:
                start = await uow.reserve_send_slots(SLOT, 1, self.step, self.clock())
            delay = start - self.clock()
            if delay > 0:
                await self.sleep(delay)
            if self.clock() - start <= self.step / 2:
                return
        log.info("send slots missed %d times in a row; sending anyway", MAX_LATE_SLOTS)


@dataclass
class Dispatcher:
    """Claims, renders and sends due check-ins; ``now`` is injectable for tests."""

    store: Store
    send: Sender
    limiter: SendLimiter | None = None
    hold: SendHold | None = None
    now: Callable[[], datetime] = utcnow
    batch: int = 50
    idle_seconds: float = 1.0
    stale_after: timedelta = STALE_AFTER
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _last_recovery: datetime | None = field(default=None, init=False)

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until ``stop`` is set; a failing database is retried, never fatal."""
        log.info("check-in dispatcher started")
        while not stop.is_set():
            try:
                handled = await self.pass_once()
            except Exception:  # keep the bot's own loop alive whatever happens here
                log.exception("check-in dispatch failed; retrying")
                handled = 0
            if handled < self.batch:
                await pause(stop, self.idle_seconds)

    async def pass_once(self) -> int:
        """One claim-send-record pass; returns how many check-ins and reminders it handled."""
        now = self.now()
        if self._last_recovery is None or now - self._last_recovery >= RECOVERY_EVERY:
            self._last_recovery = now
            async with self.store.unit() as uow:
                given_up = await uow.give_up_stale_sends(now, self.stale_after)
            if given_up:
                log.warning("%d check-ins left sending by a stopped process: not resent", given_up)
        async with self.store.unit() as uow:
            claims: list[Claim | DigestClaim] = []
            claims += await uow.claim_due_checkins(now, self.batch)
            claims += await uow.claim_due_digests(now, self.batch)
        if not claims:
            return 0
        outcomes = await asyncio.gather(*(self._deliver(claim) for claim in claims))
        async with self.store.unit() as uow:
            await uow.record_sends(list(outcomes), self.now())
        return len(claims)

    async def _deliver(self, claim: Claim | DigestClaim) -> SendOutcome:
        if isinstance(claim, Claim):
            replies = [checkin_message(claim)]
        else:
            try:
                replies = await self._reminder(claim)
            except Exception:  # the customers could not be read: this round is not sent
                log.exception("reminder %s not made", claim.round_id)
                return SendOutcome(claim.round_id, claim.user_id, RoundStatus.FAILED)
            if not replies:  # nobody due: never an empty reminder
                return SendOutcome(claim.round_id, claim.user_id, RoundStatus.SKIPPED)
        for reply in replies:
            outcome = await self._send(claim, reply)
            if outcome.status is not RoundStatus.SENT:
                return outcome
        return outcome

    async def _reminder(self, claim: DigestClaim) -> list[Reply]:
        """The reminder of the seller's customers due now (none: nobody is due)."""
        user = UserView(claim.user_id, claim.language, time_zone=claim.time_zone)
        snapshot = Snapshot(user, now=self.now())
        _, replies = await run_loading(self.store, snapshot, lambda s: reminder(Turn(s)))
        return replies

    async def _send(self, claim: Claim | DigestClaim, reply: Reply) -> SendOutcome:
        """One message of a round, in a send slot; a 429 is waited out and tried again."""
        pace = self.limiter.wait_turn if self.limiter is not None else None
        for _attempt in range(MAX_RETRIES):
            try:
                message_id = await self.send(claim.user_id, reply, pace)
            except RetryAfter as exc:
                seconds = retry_after_seconds(exc)
                log.info("Telegram asked to wait %.1fs; waiting", seconds)
                if self.hold is not None:
                    recording = self.hold.report(seconds)  # every process holds back
                    if recording is not None:
                        await recording
                await self.sleep(seconds)
                continue
            except Forbidden:
                log.info("user %s blocked the bot: reminders off, data kept", claim.user_id)
                return SendOutcome(claim.round_id, claim.user_id, RoundStatus.BLOCKED)
            except BadRequest as exc:
                log.warning("round %s refused: %s", claim.round_id, exc.message)
                return SendOutcome(claim.round_id, claim.user_id, RoundStatus.FAILED)
            except TelegramError as exc:
                # A timeout may still have delivered it: never send it again.
                log.warning("round %s outcome unknown: %s", claim.round_id, type(exc).__name__)
                return SendOutcome(claim.round_id, claim.user_id, RoundStatus.UNKNOWN)
            return SendOutcome(claim.round_id, claim.user_id, RoundStatus.SENT, message_id)
        log.warning("round %s still rate limited after %d tries", claim.round_id, MAX_RETRIES)
        return SendOutcome(claim.round_id, claim.user_id, RoundStatus.FAILED)
