"""Progress over time: how the four levers and the estimate moved between data points.

A data point is a profile at a moment (a full check-up, or a periodic check-in that copies the
previous profile with the period's numbers replaced). :func:`compare` says what moved between
two of them; :func:`series` scores a seller's points in time order for the table and the chart.
Money is compared in the later profile's currency, so a seller who switched currency between
two points does not see a jump that is only an exchange rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from advice.data import LEVERS, load_benchmarks
from advice.metrics import Metrics, compute_metrics
from advice.profile import Profile

MONEY_LEVERS = frozenset({"order_value"})


@dataclass(frozen=True)
class Point:
    """A seller's profile as it was at ``when``."""

    when: datetime
    profile: Profile


@dataclass(frozen=True)
class LeverChange:
    """One lever between two data points: its figure and its score (100 = benchmark).

    The figure is the lever's own measure: new people a week (traffic), new buyers per new
    person (conversion), order value in the later point's currency, repeat rate.
    """

    lever: str
    before: float
    after: float
    score_before: int
    score_after: int

    @property
    def change_pct(self) -> float | None:
        """The figure's change in percent; None when it grew from zero (no percentage)."""
        return percent_change(self.before, self.after)

    @property
    def score_change(self) -> int:
        return self.score_after - self.score_before

    @property
    def moved(self) -> bool:
        return not math.isclose(self.before, self.after, abs_tol=1e-12)


@dataclass(frozen=True)
class Movement:
    """What changed from one data point to a later one."""

    levers: dict[str, LeverChange]
    estimate_before: float
    estimate_after: float
    bottleneck_before: str
    bottleneck_after: str

    @property
    def estimate_change_pct(self) -> float | None:
        """The monthly estimate's change in percent; None when it grew from zero."""
        return percent_change(self.estimate_before, self.estimate_after)

    @property
    def bottleneck_changed(self) -> bool:
        return self.bottleneck_before != self.bottleneck_after

    @property
    def moved(self) -> tuple[LeverChange, ...]:
        """The levers whose figure changed, in funnel order."""
        return tuple(self.levers[lever] for lever in LEVERS if self.levers[lever].moved)

    @property
    def biggest_mover(self) -> LeverChange | None:
        """The lever whose score moved most (either way); None if no lever moved.

        Scores are capped at 200, so among equal score moves the larger relative change of
        the figure wins (a lever far above the benchmark can still be the one that moved).
        """
        moved = self.moved
        if not moved:
            return None
        return max(
            moved,
            key=lambda c: (abs(c.score_change), abs(_relative_change(c)), -LEVERS.index(c.lever)),
        )


def percent_change(before: float, after: float) -> float | None:
    """How much ``after`` differs from ``before`` in percent; None when it grew from zero
    (there is no percentage of nothing). Float noise counts as no change."""
    if math.isclose(before, after, abs_tol=1e-12):
        return 0.0
    if before <= 0:
        return None
    change = (after / before - 1) * 100
    return change if math.isfinite(change) else None


def _relative_change(change: LeverChange) -> float:
    pct = change.change_pct
    return math.inf if pct is None else pct


def convert(amount: float, from_currency: str, to_currency: str) -> float:
    """``amount`` in ``from_currency`` expressed in ``to_currency`` (benchmark rates)."""
    if from_currency == to_currency:
        return amount
    rates = load_benchmarks().cny_per_unit
    return amount * rates[from_currency] / rates[to_currency]


def compare(before: Profile, after: Profile) -> Movement:
    """How the levers, the estimate and the bottleneck moved from ``before`` to ``after``."""
    old, new = compute_metrics(before), compute_metrics(after)

    def figure(lever: str, metrics: Metrics, currency: str) -> float:
        value = metrics.levers[lever].value
        return convert(value, currency, after.currency) if lever in MONEY_LEVERS else value

    levers: dict[str, LeverChange] = {
        lever: LeverChange(
            lever=lever,
            before=figure(lever, old, before.currency),
            after=figure(lever, new, after.currency),
            score_before=old.levers[lever].score,
            score_after=new.levers[lever].score,
        )
        for lever in LEVERS
    }
    return Movement(
        levers=levers,
        estimate_before=convert(old.monthly_sales, before.currency, after.currency),
        estimate_after=new.monthly_sales,
        bottleneck_before=old.bottleneck,
        bottleneck_after=new.bottleneck,
    )


def series(points: Sequence[Point]) -> list[tuple[Point, Metrics]]:
    """Each point with its metrics, oldest first (points at the same moment keep their order)."""
    return [
        (point, compute_metrics(point.profile)) for point in sorted(points, key=lambda p: p.when)
    ]
