"""How long does progress take? compare(), the check-in result, the /progress table and chart.

    .venv/bin/python benchmarks/progress_bench.py [--pairs 2000] [--seed 7] [--repeat 5]

Uses the seeded random profiles of ``advice_bench`` (the same on every run). A check-in is a
profile with its period numbers moved by up to +-50%. Each figure is the best of ``--repeat``
runs (least disturbed by the rest of the machine). The chart is the costly part: it is drawn
in a worker thread by /progress, serialised by a lock, so one process draws about 1/time charts
a second; the table and the check-in text are sub-millisecond.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from advice_bench import make_profile  # noqa: E402

from advice.profile import Profile  # noqa: E402
from advice.progress import Point, compare  # noqa: E402
from advice.render import render_checkin_result, render_progress  # noqa: E402
from bot.charts import chart_language, progress_chart  # noqa: E402


def checkin(rng: random.Random, profile: Profile) -> Profile:
    """The profile a period later: reach, orders and order value moved by up to +-50%."""

    def moved(value: float) -> float:
        return value * rng.uniform(0.5, 1.5)

    return dataclasses.replace(
        profile,
        weekly_reach=min(10_000_000, round(moved(profile.weekly_reach))),
        weekly_orders=min(1_000_000.0, moved(profile.weekly_orders)),
        average_order_value=max(0.01, moved(profile.average_order_value)),
    )


def best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    firsts = [make_profile(rng) for _ in range(args.pairs)]
    pairs = [(p, checkin(rng, p)) for p in firsts]
    print(
        f"Python {platform.python_version()}, {args.pairs:,} profile pairs (seed {args.seed}), best of {args.repeat}"
    )

    t = best(args.repeat, lambda: [compare(a, b) for a, b in pairs])
    print(f"compare():                        {t / len(pairs) * 1e6:8.1f} µs per pair")
    for fmt in ("html", "json"):
        t = best(
            args.repeat,
            lambda fmt=fmt: [render_checkin_result(a, b, a, "en", fmt) for a, b in pairs],
        )
        print(
            f"render_checkin_result({fmt}):{' ' * (11 - len(fmt))}{t / len(pairs) * 1e3:8.3f} ms per check-in"
        )

    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    history = [firsts[0]]
    for _ in range(51):
        history.append(checkin(rng, history[-1]))
    points = [Point(start + timedelta(weeks=i), p) for i, p in enumerate(history)]
    t = best(args.repeat, lambda: [render_progress(points[:n], "en") for n in (1, 8, 52)])
    print(f"render_progress (1, 8, 52 points): {t / 3 * 1e3:8.3f} ms per table")
    print(f"chart labels for zh: {chart_language('zh')} (English when no CJK font is installed)")
    progress_chart(points[:2], "en")  # the first chart loads fonts: not counted
    for n in (1, 10, 52):
        t = best(args.repeat, lambda n=n: progress_chart(points[:n], "en"))
        size = len(progress_chart(points[:n], "en"))
        print(
            f"progress_chart, {n:2d} points:        {t * 1e3:8.1f} ms, {size / 1024:5.1f} KiB PNG"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
