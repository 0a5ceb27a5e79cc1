"""Re-run each surviving mutmut mutant of advice/ in a fresh process.

mutmut forks every mutant from one process that has already imported advice/, so a mutant in
code that runs at import time (a table built when the module loads, a closure made once) is
never switched on and "survives" without being tested. This script runs each survivor again
in a new interpreter with the mutant switched on from the start (``MUTANT_UNDER_TEST``), on
the same fast tests mutmut uses, and says which survive for real.

    python -m mutmut run --max-children 1          # first, from the repository root
    python benchmarks/mutation_survivors.py          # then this, from the same place
    python benchmarks/mutation_survivors.py --module advice.expr --budget 600
    python benchmarks/mutation_survivors.py --reuse earlier-output.txt   # go on where it stopped

Exit status: 0 when every survivor was re-run, 1 when the time budget cut the re-runs short,
2 when the tests fail in mutants/ with no mutant switched on.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mutmut_statuses(python: str) -> dict[str, str]:
    """Every mutant mutmut has a result for, with that result (killed ones included)."""
    out = subprocess.run(
        [python, "-m", "mutmut", "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    statuses: dict[str, str] = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("advice."):
            statuses[name] = status
    return statuses


def test_command(python: str) -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
    return [
        python,
        "-m",
        "pytest",
        "-q",
        *config.get("pytest_add_cli_args", []),
        *config["pytest_add_cli_args_test_selection"],
    ]


def rerun(name: str, command: list[str], timeout: float) -> str:
    """``killed`` or ``survived`` (or ``timeout``) for ``name`` in a fresh interpreter."""
    env = {**os.environ, "MUTANT_UNDER_TEST": name, "PYTHONPATH": str(ROOT / "mutants")}
    try:
        done = subprocess.run(
            command, cwd=ROOT / "mutants", env=env, capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if done.returncode == 0 else "killed"


def module_of(name: str) -> str:
    return name.split(".x", 1)[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", help="only mutants of this module")
    parser.add_argument("--budget", type=float, default=1800, help="seconds for all re-runs")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for one re-run")
    parser.add_argument(
        "--reuse", type=Path, help="the output of an earlier run: its re-runs are not repeated"
    )
    args = parser.parse_args()
    python = sys.executable
    if not (ROOT / "mutants").is_dir():
        parser.error("no mutants/ folder: run `python -m mutmut run --max-children 1` first")

    statuses = mutmut_statuses(python)
    if args.module:
        statuses = {n: s for n, s in statuses.items() if module_of(n) in args.module}
    survivors = sorted(n for n, s in statuses.items() if s == "survived")
    command = test_command(python)
    if rerun("", command, args.timeout) != "survived":  # no mutant switched on: must pass
        print("the tests fail in mutants/ with no mutant switched on: fix that first")
        return 2
    deadline = time.monotonic() + args.budget
    again: dict[str, str] = {}
    if args.reuse:
        for line in args.reuse.read_text(encoding="utf-8").splitlines():
            result, _, name = line.partition(" ")
            if result in ("killed", "survived", "timeout") and name.strip() in survivors:
                again[name.strip()] = result
                print(f"{result:9} {name.strip()}", flush=True)
    for name in survivors:
        if name in again:
            continue
        if time.monotonic() > deadline:
            break
        again[name] = rerun(name, command, args.timeout)
        print(f"{again[name]:9} {name}", flush=True)

    final = {**statuses, **{n: ("killed" if r == "timeout" else r) for n, r in again.items()}}
    print("\nmodule                 mutants  killed  survived  other  killed %")
    modules = sorted({module_of(n) for n in final})
    for module in [*modules, "total"]:
        counts = Counter(s for n, s in final.items() if module in ("total", module_of(n)))
        total = sum(counts.values())
        killed = counts["killed"] + counts["timeout"]
        other = total - killed - counts["survived"]
        pct = 100 * killed / total if total else 0.0
        print(f"{module:22} {total:8} {killed:7} {counts['survived']:9} {other:6} {pct:8.1f}")
    print(f"\nfresh-process re-runs: {len(again)} of {len(survivors)} survivors; "
          f"{sum(r != 'survived' for r in again.values())} killed there")  # fmt: skip
    for name in sorted(n for n, r in again.items() if r == "survived"):
        print(f"  survived {name}")
    return 0 if len(again) == len(survivors) else 1


if __name__ == "__main__":
    sys.exit(main())
