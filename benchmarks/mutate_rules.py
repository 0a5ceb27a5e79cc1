"""Mutation testing of the rule files: would the tests notice a nudged threshold or a changed
severity in ``advice/data/rules/*.toml``?

mutmut mutates Python only; the advice's decisions also live in the rule files. This script
makes their mutants and runs the fast rule tests against each, in a fresh process:

- every number compared in a rule's ``when`` (each threshold) nudged down and up: a ratio
  to the benchmark by 10% (``< 0.5`` becomes ``< 0.45`` and ``< 0.55``, ``< 1`` becomes
  ``< 0.9`` and ``< 1.1``), a count or an amount by 1 (``> 4`` becomes ``> 3`` and ``> 5``);
- every rule's severity moved one step up and one step down (critical, high, medium, low,
  info).

Each mutant is written into a scratch copy of advice/ and tests/, the tests run there, and
the copy is put back. A mutant the tests pass on *survived*; every survivor is run a second
time to rule out a flaky result.

    python benchmarks/mutate_rules.py                   # every mutant, at most 30 minutes
    python benchmarks/mutate_rules.py --budget 300 --rule slow_replies

Exit status: 0 when every mutant was run, 1 when the time budget cut the run short,
2 when the tests fail on the rule files as they are.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = Path("advice/data/rules")
SEVERITIES = ("critical", "high", "medium", "low", "info")
TESTS = ("tests/test_rules.py", "tests/test_decisions.py", "tests/test_personas.py")


@dataclass(frozen=True)
class Mutant:
    file: Path  # relative to the repository
    line: int  # 0-based
    text: str  # the line as mutated
    rule: str
    kind: str  # "threshold" or "severity"
    change: str

    def __str__(self) -> str:
        return f"{self.file.name}:{self.line + 1} {self.rule} {self.kind}: {self.change}"


def nudges(value: float, ratio: bool) -> list[str]:
    """``value`` nudged down and up: a ratio by 10%, a whole number by 1, any other by 10%."""
    if isinstance(value, int) and not ratio:
        return [str(value - 1), str(value + 1)]
    return [repr(round(value * 0.9, 6)), repr(round(value * 1.1, 6))]


def threshold_mutants(expression: str) -> list[tuple[str, str]]:
    """(mutated expression, what changed) for every number compared in ``expression``."""
    source = expression.encode()
    found: list[tuple[str, str]] = []
    for compare in ast.walk(ast.parse(expression, mode="eval")):
        if not isinstance(compare, ast.Compare):
            continue
        operands = [compare.left, *compare.comparators]
        names = {n.id for o in operands for n in ast.walk(o) if isinstance(n, ast.Name)}
        ratio = any(name.endswith("_ratio") for name in names)
        for node in operands:
            if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
                continue
            if not isinstance(node.value, int | float):
                continue
            start, end = node.col_offset, node.end_col_offset
            shown = ast.get_source_segment(expression, compare)
            for nudged in nudges(node.value, ratio):
                mutated = (source[:start] + nudged.encode() + source[end:]).decode()
                found.append((mutated, f"{shown} -> {nudged}"))
    return found


def mutants_of(path: Path) -> list[Mutant]:
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines(keepends=True)
    found: list[Mutant] = []
    rule = "?"
    for number, line in enumerate(lines):
        key = line.split("=", 1)[0].strip()
        if key == "id":
            rule = tomllib.loads(line)["id"]
        elif key == "when":
            indent = line[: len(line) - len(line.lstrip())]
            for mutated, change in threshold_mutants(tomllib.loads(line)["when"]):
                text = f"{indent}when = {json.dumps(mutated, ensure_ascii=False)}\n"
                found.append(Mutant(path, number, text, rule, "threshold", change))
        elif key == "severity":
            severity = tomllib.loads(line)["severity"]
            at = SEVERITIES.index(severity)
            for other in (SEVERITIES[i] for i in (at - 1, at + 1) if 0 <= i < len(SEVERITIES)):
                text = line.replace(f'"{severity}"', f'"{other}"')
                found.append(Mutant(path, number, text, rule, "severity", f"{severity} -> {other}"))
    return found


class Scratch:
    """A copy of advice/ and tests/ where one rule file at a time is mutated."""

    def __init__(self, tests: list[str], timeout: float) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="rule-mutants-"))
        for name in ("advice", "tests"):
            shutil.copytree(
                ROOT / name, self.dir / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        shutil.copy(ROOT / "pyproject.toml", self.dir / "pyproject.toml")
        self.tests, self.timeout = tests, timeout
        # The rule tests need no database or Bot API server: skip the conftest that starts them.
        self.command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        "--noconftest", "--hypothesis-seed=0", *tests]  # fmt: skip
        self.env = {**os.environ, "PYTHONPATH": str(self.dir), "PYTHONDONTWRITEBYTECODE": "1"}

    def passes(self) -> bool:
        try:
            done = subprocess.run(
                self.command, cwd=self.dir, env=self.env, capture_output=True, timeout=self.timeout
            )
        except subprocess.TimeoutExpired:
            return False  # a mutant that hangs the tests is noticed
        return done.returncode == 0

    def run(self, mutant: Mutant) -> bool:
        """True when the tests pass with ``mutant`` in place (it survived)."""
        target = self.dir / mutant.file
        original = target.read_text(encoding="utf-8")
        lines = original.splitlines(keepends=True)
        lines[mutant.line] = mutant.text
        target.write_text("".join(lines), encoding="utf-8")
        try:
            return self.passes()
        finally:
            target.write_text(original, encoding="utf-8")

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=1800, help="seconds for all mutants")
    parser.add_argument("--timeout", type=float, default=120, help="seconds for one test run")
    parser.add_argument("--rule", action="append", help="only the mutants of this rule id")
    parser.add_argument("--tests", nargs="+", default=list(TESTS), help="the tests to run")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    args = parser.parse_args()

    mutants = [
        m
        for path in sorted((ROOT / RULES).glob("*.toml"))
        for m in mutants_of(path.relative_to(ROOT))
    ]
    if args.rule:
        mutants = [m for m in mutants if m.rule in args.rule]
    if args.list:
        for mutant in mutants:
            print(mutant)
        print(Counter(m.kind for m in mutants))
        return 0

    scratch = Scratch(args.tests, args.timeout)
    try:
        started = time.monotonic()
        if not scratch.passes():
            print("the tests fail on the rule files as they are: fix that first")
            return 2
        results: dict[Mutant, str] = {}
        for mutant in mutants:
            if time.monotonic() - started > args.budget:
                break
            survived = scratch.run(mutant) and scratch.run(mutant)  # a survivor, run twice
            results[mutant] = "survived" if survived else "killed"
            print(f"{results[mutant]:9} {mutant}", flush=True)
        elapsed = time.monotonic() - started
    finally:
        scratch.remove()

    print(
        f"\n{len(results)} of {len(mutants)} mutants run in {elapsed:.0f} s ({' '.join(args.tests)})"
    )
    for kind in ("threshold", "severity"):
        ran = [m for m in results if m.kind == kind]
        killed = sum(results[m] == "killed" for m in ran)
        pct = 100 * killed / len(ran) if ran else 0.0
        print(f"  {kind:9}: {killed} of {len(ran)} killed ({pct:.1f}%)")
    killed = sum(r == "killed" for r in results.values())
    print(
        f"  total    : {killed} of {len(results)} killed ({100 * killed / max(len(results), 1):.1f}%)"
    )
    for mutant, result in results.items():
        if result == "survived":
            print(f"  survived: {mutant}")
    return 0 if len(results) == len(mutants) else 1


if __name__ == "__main__":
    sys.exit(main())
