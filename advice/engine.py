"""The rules engine: profile and metrics in, ranked findings out.

A rule is data (see ``advice/data/rules/*.toml``): an id, the lever it concerns, a
severity, a condition in the :mod:`advice.expr` language, and message/action templates in
every language. The engine only evaluates conditions and ranks what fired; wording is the
renderer's job. Each finding keeps the answer values its condition read (its *because*).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from advice.data import DATA_DIR, LANGUAGES, LEVERS, read_toml
from advice.expr import Expression, compile_expression
from advice.metrics import Metrics, Projection, compute_metrics
from advice.profile import Profile

SEVERITIES = ("critical", "high", "medium", "low", "info")
RULE_LEVERS = (*LEVERS, "overall")
RULES_DIR = DATA_DIR / "rules"

PROFILE_NAMES = tuple(Profile.__dataclass_fields__)
METRIC_NAMES = (
    "conversion",
    "new_buyers",
    "monthly_sales",
    "bottleneck",
    "levers_at_benchmark",
    "reach_raised",
    "benchmark_reach",
    "benchmark_conversion",
    "benchmark_aov",
    "benchmark_repeat_rate",
    *(f"{lever}_ratio" for lever in LEVERS),
)
# Facts from the seller's history (check-ins), supplied by the caller when known.
HISTORY_NAMES = ("last_action_rule", "last_action_outcome", "checkins_answered")
CONTEXT_NAMES = frozenset(PROFILE_NAMES + METRIC_NAMES + HISTORY_NAMES)


class RuleError(ValueError):
    """A rule file that does not describe valid rules."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One piece of coaching knowledge, loaded from a rule file."""

    id: str
    lever: str
    severity: str
    when: Expression
    message: Mapping[str, str]
    action: Mapping[str, str] | None = None
    example: Mapping[str, str] | None = None
    red_flag: bool = False
    because: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule that fired for this seller, with the values that made it fire."""

    rule: Rule
    because: dict[str, Any]
    impact: Projection | None

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def lever(self) -> str:
        return self.rule.lever


@dataclass(frozen=True, slots=True)
class Assessment:
    """Everything the advice is rendered from."""

    profile: Profile
    metrics: Metrics
    findings: tuple[Finding, ...]
    context: Mapping[str, Any] = field(repr=False)

    @property
    def bottleneck(self) -> str:
        return self.metrics.bottleneck

    @property
    def red_flags(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.findings if f.rule.red_flag)

    @property
    def actions(self) -> tuple[Finding, ...]:
        """Findings that come with something to do, most important first."""
        return tuple(f for f in self.findings if f.rule.action)


def build_context(
    profile: Profile, metrics: Metrics, history: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The names a rule condition or template may use."""
    context: dict[str, Any] = {name: getattr(profile, name) for name in PROFILE_NAMES}
    levers = metrics.levers
    context.update(
        conversion=metrics.conversion,
        new_buyers=metrics.new_buyers,
        monthly_sales=metrics.monthly_sales,
        bottleneck=metrics.bottleneck,
        levers_at_benchmark=metrics.levers_at_benchmark,
        reach_raised=metrics.reach_raised,
        benchmark_reach=levers["traffic"].benchmark,
        benchmark_conversion=levers["conversion"].benchmark,
        benchmark_aov=levers["order_value"].benchmark,
        benchmark_repeat_rate=levers["repeat"].benchmark,
    )
    for lever, score in levers.items():
        context[f"{lever}_ratio"] = score.ratio
    context.update(dict.fromkeys(HISTORY_NAMES))
    if history:
        unknown = set(history) - set(HISTORY_NAMES)
        if unknown:
            raise KeyError(f"unknown history facts: {sorted(unknown)}")
        context.update(history)
    return context


class RuleBook:
    """A validated set of rules and the ranking that orders what fired."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)
        ids = [r.id for r in self.rules]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise RuleError(f"duplicate rule ids: {sorted(duplicates)}")
        self.by_id = {r.id: r for r in self.rules}

    @classmethod
    def from_directory(cls, directory: Path = RULES_DIR) -> RuleBook:
        rules: list[Rule] = []
        for path in sorted(directory.glob("*.toml")):
            rules.extend(parse_rules(read_toml(path), source=path.name))
        return cls(rules)

    def assess(self, profile: Profile, history: Mapping[str, Any] | None = None) -> Assessment:
        """Evaluate every rule for ``profile`` and rank the findings."""
        metrics = compute_metrics(profile)
        context = build_context(profile, metrics, history)
        findings = [
            Finding(
                rule,
                {name: context[name] for name in rule.because},
                metrics.projections.get(rule.lever),
            )
            for rule in self.rules
            if rule.when(context)
        ]
        findings.sort(key=lambda f: _rank(f, metrics.bottleneck))
        return Assessment(profile, metrics, tuple(findings), context)


def _rank(finding: Finding, bottleneck: str) -> tuple[int, int, float, str]:
    """Severity first, then the bottleneck lever, then the projected gain."""
    gain = finding.impact.gain if finding.impact else 0.0
    return (
        SEVERITIES.index(finding.rule.severity),
        0 if finding.lever == bottleneck else 1,
        -gain,
        finding.id,
    )


def parse_rules(raw: Mapping[str, Any], source: str = "") -> list[Rule]:
    """Check and compile the ``[[rule]]`` tables of one rule file."""
    entries = raw.get("rule")
    if not isinstance(entries, list) or set(raw) - {"rule"}:
        raise RuleError(f"{source}: a rule file holds only [[rule]] tables")
    return [_parse_rule(entry, source) for entry in entries]


_RULE_KEYS = {"id", "lever", "severity", "when", "message", "action", "example", "red_flag", "because"}


def _parse_rule(entry: Mapping[str, Any], source: str) -> Rule:
    where = f"{source}: rule {entry.get('id', '?')}"
    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("id", "lever", "severity", "when", "message"):
        if key not in entry:
            raise RuleError(f"{where}: missing {key!r}")
    if entry["lever"] not in RULE_LEVERS:
        raise RuleError(f"{where}: lever must be one of {RULE_LEVERS}")
    if entry["severity"] not in SEVERITIES:
        raise RuleError(f"{where}: severity must be one of {SEVERITIES}")
    try:
        when = compile_expression(entry["when"], CONTEXT_NAMES)
    except ValueError as exc:
        raise RuleError(f"{where}: {exc}") from None
    because = tuple(entry.get("because", when.names))
    unknown_because = set(because) - CONTEXT_NAMES
    if unknown_because:
        raise RuleError(f"{where}: unknown names in because: {sorted(unknown_because)}")
    texts = {key: _texts(entry.get(key), where, key) for key in ("message", "action", "example")}
    return Rule(
        id=entry["id"],
        lever=entry["lever"],
        severity=entry["severity"],
        when=when,
        message=texts["message"],
        action=texts["action"],
        example=texts["example"],
        red_flag=bool(entry.get("red_flag", False)),
        because=because,
        source=source,
    )


def _texts(value: Any, where: str, key: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != set(LANGUAGES):
        raise RuleError(f"{where}: {key} needs exactly the languages {LANGUAGES}")
    if not all(isinstance(t, str) and t.strip() for t in value.values()):
        raise RuleError(f"{where}: {key} texts must be non-empty strings")
    return dict(value)


@cache
def default_rulebook() -> RuleBook:
    return RuleBook.from_directory()


def assess(profile: Profile, history: Mapping[str, Any] | None = None) -> Assessment:
    """Assess ``profile`` with the rules shipped in ``advice/data/rules``."""
    return default_rulebook().assess(profile, history)
