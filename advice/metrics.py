"""The sales funnel: sales = traffic x conversion x order value x purchases per customer.

From a profile we derive each factor, score it against the benchmark for the seller's
category and price tier, name the lowest-scored lever (the bottleneck: the weakest factor
caps the product) and project the monthly sales with each lever lifted to its benchmark.

Definitions (all per week unless said otherwise):

- purchases per customer ``p = 1 + repeat_rate`` (a returning buyer buys about once more in
  the 90-day window the question asks about);
- new buyers ``= weekly_orders / p``;
- conversion ``= new buyers / weekly_reach`` (reach is raised to the number of new buyers
  when the seller reports more buyers than people reached, so conversion never exceeds 1);
- monthly sales ``= weeks_per_month x reach x conversion x average_order_value x p``,
  which equals the seller's own ``weekly_orders x average_order_value x weeks_per_month``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from advice.data import LEVERS, Benchmarks, load_benchmarks
from advice.profile import Profile

# A score is the seller's figure as a percentage of the benchmark, capped for display so one
# outstanding lever does not dwarf the chart.
SCORE_CAP = 200


@dataclass(frozen=True, slots=True)
class LeverScore:
    """One lever: the seller's figure, the benchmark, and the ratio between them."""

    lever: str
    value: float
    benchmark: float
    ratio: float

    @property
    def score(self) -> int:
        return round(min(self.ratio, SCORE_CAP / 100) * 100)

    @property
    def at_benchmark(self) -> bool:
        return self.ratio >= 1.0


@dataclass(frozen=True, slots=True)
class Projection:
    """Monthly sales now and with one lever lifted to its benchmark."""

    lever: str
    current: float
    projected: float

    @property
    def gain(self) -> float:
        return self.projected - self.current

    @property
    def change_pct(self) -> float | None:
        if self.current <= 0:
            return None
        change = (self.projected / self.current - 1) * 100
        return change if math.isfinite(change) else None  # today's sales round to nothing


@dataclass(frozen=True, slots=True)
class Metrics:
    """The funnel computed from a profile."""

    weekly_reach: float  # effective reach (never below the number of new buyers)
    new_buyers: float  # per week
    conversion: float
    average_order_value: float  # in the seller's currency
    purchases_per_customer: float
    monthly_sales: float  # in the seller's currency
    reach_raised: bool  # the seller reported more new buyers than people reached
    levers: dict[str, LeverScore]
    projections: dict[str, Projection]
    bottleneck: str
    benchmark_aov: float  # in the seller's currency

    @property
    def levers_at_benchmark(self) -> int:
        return sum(1 for s in self.levers.values() if s.at_benchmark)


def monthly_sales(
    weeks_per_month: float, reach: float, conversion: float, aov: float, purchases: float
) -> float:
    """The article's formula, per month."""
    return weeks_per_month * reach * conversion * aov * purchases


def compute_metrics(profile: Profile, benchmarks: Benchmarks | None = None) -> Metrics:
    """Score the four levers of ``profile`` and project the effect of fixing each."""
    bm = benchmarks or load_benchmarks()
    category = bm.category[profile.category]
    tier = bm.price_tier[profile.price_tier]
    rate = bm.cny_per_unit[profile.currency]

    bench_reach = category.weekly_reach * tier.reach_factor
    bench_conversion = min(1.0, category.conversion * tier.conversion_factor)
    bench_aov = category.average_order_value[profile.price_tier] / rate
    bench_repeat = category.repeat_rate

    purchases = 1.0 + profile.repeat_rate
    new_buyers = profile.weekly_orders / purchases
    reach = max(float(profile.weekly_reach), new_buyers)
    conversion = new_buyers / reach if reach > 0 else 0.0
    aov = profile.average_order_value

    levers = {
        "traffic": _score("traffic", profile.weekly_reach, bench_reach),
        "conversion": _score("conversion", conversion, bench_conversion),
        "order_value": _score("order_value", aov, bench_aov),
        "repeat": _score("repeat", profile.repeat_rate, bench_repeat),
    }
    # Ties go to the earliest lever in the funnel: without people, nothing else matters.
    bottleneck = min(LEVERS, key=lambda lever: (levers[lever].ratio, LEVERS.index(lever)))

    weeks = bm.weeks_per_month
    current = monthly_sales(weeks, reach, conversion, aov, purchases)
    factors = {
        "traffic": (max(reach, bench_reach), conversion, aov, purchases),
        "conversion": (reach, max(conversion, bench_conversion), aov, purchases),
        "order_value": (reach, conversion, max(aov, bench_aov), purchases),
        "repeat": (reach, conversion, aov, max(purchases, 1.0 + bench_repeat)),
    }
    projections = {
        lever: Projection(lever, current, max(current, monthly_sales(weeks, *f)))
        for lever, f in factors.items()
    }
    return Metrics(
        weekly_reach=reach,
        new_buyers=new_buyers,
        conversion=conversion,
        average_order_value=aov,
        purchases_per_customer=purchases,
        monthly_sales=current,
        reach_raised=reach > profile.weekly_reach,
        levers=levers,
        projections=projections,
        bottleneck=bottleneck,
        benchmark_aov=bench_aov,
    )


def _score(lever: str, value: float, benchmark: float) -> LeverScore:
    ratio = value / benchmark if benchmark > 0 else 1.0
    return LeverScore(lever, float(value), float(benchmark), ratio)
