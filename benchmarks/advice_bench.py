"""How fast is the advice? Rules alone, and rules plus rendering, on one core.

    .venv/bin/python benchmarks/advice_bench.py [--count 10000] [--seed 7] [--repeat 5]
                                                [--lang en] [--profile]

Generates ``--count`` valid seller profiles with a seeded :mod:`random` (the same profiles on
every run), then times, over all of them:

* rules alone: ``default_rulebook().assess(profile)`` (funnel metrics + every rule condition);
* full advice: ``assess`` + ``render(..., "html")``, the Telegram report the bot sends.

Each measurement is repeated ``--repeat`` times and the best run is reported (the least
disturbed by the rest of the machine), together with the median. Targets: rules under
200 µs per profile, full advice under 1 ms. ``--profile`` prints where the time goes
(cProfile, top functions by cumulative and by own time) for the full advice.

Profiles are drawn from the field definitions in ``advice/profile.py``: choices uniformly,
numbers log-uniformly over realistic small-seller ranges (plus some zeros and unanswered
optional questions), so a typical profile fires several rules, as real sellers do.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import math
import os
import platform
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from advice.data import load_benchmarks  # noqa: E402
from advice.engine import default_rulebook  # noqa: E402
from advice.profile import (  # noqa: E402
    BOOL_FIELDS,
    CHOICE_FIELDS,
    LIST_FIELDS,
    NUMBER_FIELDS,
    REQUIRED,
    Profile,
)
from advice.render import render  # noqa: E402

RULES_TARGET_US = 200.0
FULL_TARGET_US = 1000.0

# Realistic upper ends for a one-person shop (the profile allows much more).
REALISTIC_HIGH = {
    "weekly_reach": 5_000,
    "weekly_orders": 300,
    "average_order_value": 5_000,
    "response_hours": 72,
    "unsold_stock_weeks": 52,
    "posts_per_week": 100,
}


def _number(rng: random.Random, name: str) -> float | int:
    bounds = NUMBER_FIELDS[name]
    if name == "repeat_rate":
        return round(rng.uniform(0, 0.8), 3)
    if rng.random() < 0.05 and bounds.low_inclusive:
        return 0 if bounds.integer else 0.0
    value = math.exp(rng.uniform(0, math.log(REALISTIC_HIGH[name])))
    return round(value) if bounds.integer else round(value, 2)


def make_profile(rng: random.Random) -> Profile:
    """One valid profile; every optional field is sometimes left out."""
    data: dict[str, Any] = {}
    for name in NUMBER_FIELDS:
        if name in REQUIRED or rng.random() < 0.7:
            data[name] = _number(rng, name)
    for name, allowed in CHOICE_FIELDS.items():
        if name in REQUIRED or rng.random() < 0.8:
            data[name] = rng.choice(allowed)
    for name, allowed in LIST_FIELDS.items():
        data[name] = rng.sample(allowed, rng.randint(0, min(4, len(allowed))))
    for name in BOOL_FIELDS:
        if rng.random() < 0.8:
            data[name] = rng.random() < (0.1 if name == "recruits_agents" else 0.5)
    if rng.random() < 0.3:
        data["currency"] = rng.choice(sorted(load_benchmarks().cny_per_unit))
    if rng.random() < 0.5:
        data["shop_name"] = rng.choice(["Lao Wang's <b>Menswear</b>", "小李烘焙", "Gems & Co", "{{7*7}}"])
    if rng.random() < 0.15:
        data["assumed"] = rng.sample(["weekly_reach", "repeat_rate"], rng.randint(1, 2))
    return Profile.from_dict(data)


def make_profiles(count: int, seed: int) -> list[Profile]:
    rng = random.Random(seed)
    return [make_profile(rng) for _ in range(count)]


def pin_to_one_core() -> str:
    """Run on a single CPU when the OS allows it; say which."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity on this OS)"


def measure(work: Callable[[Profile], object], profiles: list[Profile], repeat: int) -> list[float]:
    """Seconds per full pass over the profiles, for each of ``repeat`` passes."""
    for profile in profiles[:200]:  # warm caches (compiled templates, loaded data)
        work(profile)
    runs = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        for profile in profiles:
            work(profile)
        runs.append(time.perf_counter() - start)
    return runs


def report(label: str, runs: list[float], count: int, target_us: float) -> float:
    best = min(runs)
    per_us = best / count * 1e6
    median_us = statistics.median(runs) / count * 1e6
    verdict = "OK" if per_us < target_us else "MISSED"
    print(
        f"{label:<24} {count / best:>10,.0f} profiles/s  {per_us:>8.1f} µs/profile "
        f"(median {median_us:.1f})  target < {target_us:,.0f} µs: {verdict}"
    )
    return per_us


def profile_full_advice(profiles: list[Profile], lang: str) -> None:
    rulebook = default_rulebook()
    profiler = cProfile.Profile()
    profiler.enable()
    for profile in profiles:
        render(rulebook.assess(profile), lang, "html")
    profiler.disable()
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(18)
        print(f"\n--- cProfile, full advice, by {order} ---")
        print(out.getvalue().split("\n", 6)[-1].rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--lang", choices=("en", "zh"), default="en")
    parser.add_argument("--profile", action="store_true", help="show where the time goes")
    args = parser.parse_args(argv)

    pinned = pin_to_one_core()
    print(f"Python {platform.python_version()} ({platform.python_implementation()}) "
          f"on {platform.system()} {platform.machine()}, {pinned}")  # fmt: skip
    start = time.perf_counter()
    profiles = make_profiles(args.count, args.seed)
    made = time.perf_counter() - start
    rulebook = default_rulebook()
    findings = [len(rulebook.assess(p).findings) for p in profiles]
    print(f"{args.count:,} valid profiles (seed {args.seed}) made in {made:.2f} s; "
          f"findings per profile: mean {statistics.mean(findings):.1f}, max {max(findings)}; "
          f"{len(rulebook.rules)} rules; best of {args.repeat} runs")  # fmt: skip

    rules_us = report(
        "rules alone", measure(rulebook.assess, profiles, args.repeat), args.count, RULES_TARGET_US
    )
    full_us = report(
        f"rules + html ({args.lang})",
        measure(lambda p: render(rulebook.assess(p), args.lang, "html"), profiles, args.repeat),
        args.count,
        FULL_TARGET_US,
    )
    if args.profile or rules_us >= RULES_TARGET_US or full_us >= FULL_TARGET_US:
        profile_full_advice(profiles[:2000], args.lang)
    return 0


if __name__ == "__main__":
    sys.exit(main())
