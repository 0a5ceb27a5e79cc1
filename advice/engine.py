"""The rules engine: profile and metrics in, ranked findings out.

A rule is data (see ``advice/data/rules/*.toml``): an id, the lever it concerns, a
severity, a condition in the :mod:`advice.expr` language, and message/action templates in
every language. The engine only evaluates conditions and ranks what fired; wording is the
renderer's job. Each finding keeps the answer values its condition read (its *because*).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta

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

    @classmethod
    def from_directory(cls, directory: Path = RULES_DIR) -> RuleBook:
        rules: list[Rule] = []
        for path in sorted(directory.glob("*.toml")):
            try:
                raw = read_toml(path)
            except tomllib.TOMLDecodeError as exc:
                raise RuleError(f"{path.name}: not valid TOML ({exc})") from None
            rules.extend(parse_rules(raw, source=path.name))
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
            if rule.when.holds(context)
        ]
        findings.sort(key=lambda f: _rank(f, metrics.bottleneck))
        return Assessment(profile, metrics, tuple(findings), context)


def _rank(finding: Finding, bottleneck: str) -> tuple[int, bool, float, str]:
    """Severity first, then the bottleneck lever, then the projected gain."""
    gain = finding.impact.gain if finding.impact else 0.0
    return (
        SEVERITIES.index(finding.rule.severity),
        finding.lever != bottleneck,
        -gain,
        finding.id,
    )


def parse_rules(raw: Mapping[str, Any], source: str) -> list[Rule]:
    """Check and compile the ``[[rule]]`` tables of one rule file.

    Everything wrong is a :class:`RuleError` naming the file and the rule: a missing or
    unknown key, an empty or malformed value, a blank text, a condition outside the rule
    language, a text template that does not parse or reads a name the rules do not know.
    """
    entries = raw.get("rule")
    if not isinstance(entries, list) or set(raw) - {"rule"}:
        raise RuleError(f"{source}: a rule file holds only [[rule]] tables")
    return [_parse_rule(entry, source, number) for number, entry in enumerate(entries, 1)]


_RULE_KEYS = {
    "id",
    "lever",
    "severity",
    "when",
    "message",
    "action",
    "example",
    "red_flag",
    "because",
}
_RULE_ID = re.compile(r"[a-z][a-z0-9_]*")
# What a text template may read: the condition's names and the formatting helpers ``f``.
TEMPLATE_NAMES = CONTEXT_NAMES | {"f"}
_TEMPLATES = jinja2.Environment(undefined=jinja2.StrictUndefined)


def _parse_rule(entry: Any, source: str, number: int) -> Rule:
    if not isinstance(entry, Mapping):
        raise RuleError(f"{source}: rule #{number} is not a [[rule]] table")
    rule_id = entry.get("id")
    where = (
        f"{source}: rule {rule_id}"
        if isinstance(rule_id, str) and rule_id
        else f"{source}: rule #{number}"
    )
    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("id", "lever", "severity", "when", "message"):
        if key not in entry:
            raise RuleError(f"{where}: missing {key!r}")
    if not isinstance(rule_id, str) or not _RULE_ID.fullmatch(rule_id):
        raise RuleError(f"{where}: id must be lower-case letters, digits and _, got {rule_id!r}")
    if entry["lever"] not in RULE_LEVERS:
        raise RuleError(f"{where}: lever must be one of {RULE_LEVERS}")
    if entry["severity"] not in SEVERITIES:
        raise RuleError(f"{where}: severity must be one of {SEVERITIES}")
    red_flag = entry.get("red_flag", False)
    if not isinstance(red_flag, bool):
        raise RuleError(f"{where}: red_flag must be true or false, got {red_flag!r}")
    try:
        when = compile_expression(entry["when"], CONTEXT_NAMES)
    except ValueError as exc:
        raise RuleError(f"{where}: {exc}") from None
    because = entry.get("because", when.names)
    if (
        not isinstance(because, list | tuple)
        or not because
        or not all(isinstance(n, str) for n in because)
    ):
        raise RuleError(f"{where}: because must be a non-empty list of names")
    unknown_because = set(because) - CONTEXT_NAMES
    if unknown_because:
        raise RuleError(f"{where}: unknown names in because: {sorted(unknown_because)}")
    return Rule(
        id=rule_id,
        lever=entry["lever"],
        severity=entry["severity"],
        when=when,
        message=_texts(entry["message"], where, "message"),
        action=_optional_texts(entry.get("action"), where, "action"),
        example=_optional_texts(entry.get("example"), where, "example"),
        red_flag=red_flag,
        because=tuple(because),
        source=source,
    )


def _optional_texts(value: Any, where: str, key: str) -> dict[str, str] | None:
    return None if value is None else _texts(value, where, key)


def _texts(value: Any, where: str, key: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or set(value) != set(LANGUAGES):
        raise RuleError(f"{where}: {key} needs exactly the languages {LANGUAGES}")
    for lang in LANGUAGES:
        text = value[lang]
        if not isinstance(text, str) or not text.strip():
            raise RuleError(f"{where}: {key}.{lang} is blank; every text must say something")
        _check_template(text, f"{where}: {key}.{lang}")
    return {lang: value[lang] for lang in LANGUAGES}


def _check_template(text: str, where: str) -> None:
    """A text's Jinja syntax and the names it reads, checked when the rule is loaded."""
    try:
        parsed = _TEMPLATES.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise RuleError(f"{where}: template does not parse ({exc.message})") from None
    unknown = jinja2.meta.find_undeclared_variables(parsed) - TEMPLATE_NAMES
    if unknown:
        raise RuleError(f"{where}: unknown names in the text: {sorted(unknown)}")


@cache
def default_rulebook() -> RuleBook:
    return RuleBook.from_directory()


def assess(profile: Profile, history: Mapping[str, Any] | None = None) -> Assessment:
    """Assess ``profile`` with the rules shipped in ``advice/data/rules``."""
    return default_rulebook().assess(profile, history)
