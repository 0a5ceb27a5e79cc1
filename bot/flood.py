"""Per-user flood control: a token bucket per user, checked when an update arrives.

The check runs in the update processor before the update waits for its user's turn, so an
update over the limit is dropped before it touches the database or holds a processing slot,
and one user's flood never delays anyone else. The state lives in this process only; that
is enough, because across processes the per-user row lock in the database already
serialises one user's updates, so each process's gate bounds what a flood can write.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    PASS = "pass"
    WARN = "warn"  # the first update dropped in a flood: say "slow down", once
    DROP = "drop"  # dropped silently


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class FloodGate:
    """Lets ``burst`` updates of a user through at once, then ``rate`` a second.

    A user whose bucket has filled up again is forgotten, so memory follows only the users
    active in the last ``burst / rate`` seconds. ``burst`` 0 turns the gate off.
    """

    def __init__(
        self, burst: int = 40, rate: float = 4.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.rate = rate
        self.clock = clock
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()  # least recently seen first

    def __len__(self) -> int:
        return len(self._buckets)

    def admit(self, user_key: int) -> Verdict:
        if self.burst <= 0:
            return Verdict.PASS
        now = self.clock()
        self._forget_idle(now)
        bucket = self._buckets.pop(user_key, None) or _Bucket(float(self.burst), now)
        self._buckets[user_key] = bucket  # now the most recently seen
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Verdict.PASS
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN

    def _forget_idle(self, now: float) -> None:
        """Drop users whose bucket is full again: they start afresh (and may be warned again)."""
        while self._buckets:
            key, oldest = next(iter(self._buckets.items()))
            if oldest.tokens + (now - oldest.stamp) * self.rate < self.burst:
                return
            del self._buckets[key]
