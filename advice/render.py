"""The one place that renders templates: advice to Telegram HTML, plain text or JSON.

Rule texts are Jinja2 templates kept in the rule files; report layouts are the ``.j2`` files
in ``advice/templates``. The HTML environment autoescapes, so anything a seller typed (a
shop name such as ``<b>x</b>`` or ``{{7*7}}``) appears literally; template *sources* come
only from our own data files, never from user input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from typing import Any, Literal

import jinja2
import markupsafe

from advice.data import DATA_DIR, LANGUAGES, LEVERS, load_benchmarks
from advice.engine import Assessment, Finding, assess
from advice.formatting import Formatter, display_width, pad
from advice.metrics import Metrics, Projection
from advice.numbers import format_number
from advice.profile import Profile
from advice.progress import Movement, Point, compare, convert, percent_change, series

Format = Literal["text", "html", "json"]
FORMATS: tuple[str, ...] = ("text", "html", "json")
TOP_ACTIONS = 3


@cache
def environment(fmt: str) -> jinja2.Environment:
    """One Jinja environment per output format (HTML escapes, text does not)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(DATA_DIR.parent / "templates"),
        autoescape=fmt == "html",
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _compiled(fmt: str, source: str) -> jinja2.Template | None:
    """The rule text as a template; None for a text with no Jinja syntax (most of them),
    which renders as itself in both formats: only what expressions print is escaped."""
    if not any(mark in source for mark in ("{{", "{%", "{#")):
        return None
    return environment(fmt).from_string(source)


def _rule_text(fmt: str, finding: Finding, key: str, values: Mapping[str, Any], lang: str) -> str:
    """One text of the rule (``key``), rendered with ``values`` (see :func:`_rule_values`)."""
    texts = getattr(finding.rule, key)
    if not texts:
        return ""
    source = texts[lang]
    template = _compiled(fmt, source)
    if template is None:
        text = source.strip()
    else:
        # Shared: the rule's texts read the one dict of values, not a copy each (copying
        # them cost more than rendering). Templates cannot change it: what they set goes
        # to their own context.
        text = template.environment.concat(
            template.root_render_func(template.new_context(values, shared=True))
        ).strip()
    # Already escaped by the HTML environment: mark it so the report does not escape twice.
    return markupsafe.Markup(text) if fmt == "html" else text


def _rule_values(fmt: str, assessment: Assessment, f: Formatter) -> dict[str, Any]:
    """What rule texts may use: Jinja's globals, the assessment's context and ``f``."""
    return {**environment(fmt).globals, **assessment.context, "f": f}


class RenderedFinding:
    """A finding with its texts in one language and format, each rendered when first used:
    a report shows the texts of a few of its findings, and the reasons only on "why"."""

    def __init__(self, finding: Finding, fmt: str, values: Mapping[str, Any], f: Formatter) -> None:
        self.finding = finding
        self.rule = finding.id
        self.lever = finding.lever
        self.severity = finding.rule.severity
        self.red_flag = finding.rule.red_flag
        self.has_action = bool(finding.rule.action)
        self.because = finding.because
        self.impact = finding.impact if finding.impact and finding.impact.gain > 0 else None
        self._fmt, self._values, self._f = fmt, values, f

    @cached_property
    def message(self) -> str:
        return _rule_text(self._fmt, self.finding, "message", self._values, self._f.lang)

    @cached_property
    def action(self) -> str:
        return _rule_text(self._fmt, self.finding, "action", self._values, self._f.lang)

    @cached_property
    def example(self) -> str:
        return _rule_text(self._fmt, self.finding, "example", self._values, self._f.lang)

    @cached_property
    def because_text(self) -> list[tuple[str, str]]:
        return [(self._f.label(k), self._f.value(k, v)) for k, v in self.because.items()]


def _render_findings(assessment: Assessment, fmt: str, f: Formatter) -> list[RenderedFinding]:
    escape_fmt = "html" if fmt == "html" else "text"
    values = _rule_values(escape_fmt, assessment, f)
    return [RenderedFinding(finding, escape_fmt, values, f) for finding in assessment.findings]


def _assumptions(assessment: Assessment, f: Formatter) -> list[tuple[str, str]]:
    return [
        (f.label(name), f.value(name, getattr(assessment.profile, name)))
        for name in assessment.profile.assumed
    ]


def render(
    assessment: Assessment,
    lang: str = "en",
    fmt: Format = "text",
    view: Literal["report", "why", "more"] = "report",
) -> str:
    """The advice as text, Telegram HTML or JSON.

    ``report`` is the short answer (estimate, levers, bottleneck, red flags and at most
    three actions); ``why`` lists every finding with the answers that triggered it;
    ``more`` lists the actions after the first three.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    if fmt == "json":
        return json.dumps(to_json(assessment, lang), ensure_ascii=False, indent=2)
    f = Formatter(lang, assessment.profile.currency)
    findings = _render_findings(assessment, fmt, f)
    actions = [r for r in findings if r.has_action]
    template = environment(fmt).get_template(f"{view}.{'html' if fmt == 'html' else 'txt'}.j2")
    return template.render(
        a=assessment,
        p=assessment.profile,
        m=assessment.metrics,
        f=f,
        levers=LEVERS,
        lever_table=_lever_table(assessment.metrics, f),
        findings=findings,
        red_flags=[r for r in findings if r.red_flag],
        top_actions=actions[:TOP_ACTIONS],
        more_actions=actions[TOP_ACTIONS:],
        assumptions=_assumptions(assessment, f),
        weeks_per_month=load_benchmarks().weeks_per_month,
    ).strip()


def _lever_table(m: Metrics, f: Formatter) -> list[tuple[str, int, bool]]:
    """The four levers' rows: name (padded to the widest, counting a CJK character as two
    columns, so the scores line up), score, and whether it is the bottleneck."""
    names = [f.lever(lever) for lever in LEVERS]
    width = max(display_width(name) for name in names)
    return [
        (pad(name, width), m.levers[lever].score, lever == m.bottleneck)
        for name, lever in zip(names, LEVERS, strict=True)
    ]


def _projection_json(p: Projection | None) -> dict[str, Any] | None:
    if p is None:
        return None
    change = p.change_pct
    return {
        "lever": p.lever,
        "monthly_sales_now": round(p.current, 2),
        "monthly_sales_projected": round(p.projected, 2),
        "change_pct": None if change is None else round(change, 1),
    }


def to_json(assessment: Assessment, lang: str = "en") -> dict[str, Any]:
    """The advice as a JSON-ready dict (texts in ``lang``, escaped for nothing)."""
    f = Formatter(lang, assessment.profile.currency)
    m = assessment.metrics
    findings = _render_findings(assessment, "text", f)
    actions = [r for r in findings if r.has_action]
    return {
        "language": lang,
        "currency": assessment.profile.currency,
        "estimate": {
            "monthly_sales": round(m.monthly_sales, 2),
            "weekly_reach": m.weekly_reach,
            "weekly_new_buyers": round(m.new_buyers, 2),
            "conversion": round(m.conversion, 4),
            "average_order_value": m.average_order_value,
            "purchases_per_customer": round(m.purchases_per_customer, 3),
        },
        "levers": {
            lever: {
                "score": score.score,
                "value": round(score.value, 4),
                "benchmark": round(score.benchmark, 4),
                "at_benchmark": score.at_benchmark,
            }
            for lever, score in m.levers.items()
        },
        "bottleneck": m.bottleneck,
        "bottleneck_projection": _projection_json(m.projections[m.bottleneck]),
        "red_flags": list(assessment.red_flags),
        "findings": [
            {
                "rule": r.rule,
                "lever": r.lever,
                "severity": r.severity,
                "red_flag": r.red_flag,
                "message": r.message,
                "because": _jsonable(r.because),
            }
            for r in findings
        ],
        "actions": [
            {
                "rule": r.rule,
                "lever": r.lever,
                "text": r.action,
                "example": r.example or None,
                "impact": _projection_json(r.impact),
                "up_front": i < TOP_ACTIONS,
            }
            for i, r in enumerate(actions)
        ],
        "assumptions": [
            {"field": name, "value": getattr(assessment.profile, name)}
            for name in assessment.profile.assumed
        ],
    }


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


# --- progress over time ----------------------------------------------------------------------
PROGRESS_ROWS = 8  # the table shows the latest points; a phone screen fits about this many


@dataclass(frozen=True, slots=True)
class LeverLine:
    """One lever's move, formatted: 'traffic: 10 -> 25 (+150%), score 8 -> 21'."""

    lever: str
    text: str
    up: bool


def _lever_figure(f: Formatter, lever: str, value: float) -> str:
    if lever == "traffic":
        return f.num(round(value))
    if lever == "order_value":
        return f.money(value)
    return f.pct(value)  # conversion and repeat rate are shares


def _change(f: Formatter, pct: float | None) -> str:
    """'+150%', '-20%', or 'from zero' when there was nothing to compare with."""
    if pct is None:
        return f.t("progress_from_zero")
    return ("+" if pct >= 0 else "") + format_number(round(pct), f.lang) + "%"


def _lever_lines(movement: Movement, f: Formatter) -> list[LeverLine]:
    return [
        LeverLine(
            lever=c.lever,
            text=f.t(
                "checkin_lever_line",
                lever=f.lever(c.lever),
                before=_lever_figure(f, c.lever, c.before),
                after=_lever_figure(f, c.lever, c.after),
                change=_change(f, c.change_pct),
                score_before=c.score_before,
                score_after=c.score_after,
            ),
            up=c.after > c.before,
        )
        for c in movement.moved
    ]


def _estimate_line(key: str, movement: Movement, f: Formatter) -> str:
    return f.t(
        key,
        before=f.money(movement.estimate_before),
        after=f.money(movement.estimate_after),
        change=_change(f, movement.estimate_change_pct),
    )


def _orders_line(before: Profile, after: Profile, f: Formatter) -> str:
    """'Orders a week: 2 -> 5 (+150%)': the number sellers count themselves."""
    return f.t(
        "checkin_orders_line",
        before=f.num(before.weekly_orders),
        after=f.num(after.weekly_orders),
        change=_change(f, percent_change(before.weekly_orders, after.weekly_orders)),
    )


def _verdict(movement: Movement) -> str:
    """Which honest sentence sums up the period: up, down, unchanged or nothing moved."""
    change = movement.estimate_change_pct
    if not movement.moved:
        return "checkin_nothing_moved"
    if change is None or change >= 0.5:
        return "checkin_up"
    if change <= -0.5:
        return "checkin_down"
    return "checkin_same"


def checkin_result_json(
    previous: Profile, current: Profile, first: Profile, lang: str = "en"
) -> dict[str, Any]:
    """The result of a check-in as a JSON-ready dict (money in the current profile's currency)."""
    _check_language(lang)
    since_previous, since_first = compare(previous, current), compare(first, current)
    assessment = assess(current)
    f = Formatter(lang, current.currency)
    actions = _new_actions(since_previous, assessment, "text", f)
    return {
        "language": lang,
        "currency": current.currency,
        "estimate": {
            "monthly_sales": round(since_previous.estimate_after, 2),
            "previous": round(since_previous.estimate_before, 2),
            "first": round(since_first.estimate_before, 2),
            "change_since_previous_pct": _round_pct(since_previous.estimate_change_pct),
            "change_since_first_pct": _round_pct(since_first.estimate_change_pct),
        },
        "since_previous": _movement_json(since_previous),
        "since_first": _movement_json(since_first),
        "bottleneck": since_previous.bottleneck_after,
        "bottleneck_before": since_previous.bottleneck_before,
        "bottleneck_changed": since_previous.bottleneck_changed,
        "bottleneck_projection": _projection_json(
            assessment.metrics.projections[assessment.bottleneck]
        ),
        "actions": [
            {
                "rule": r.rule,
                "lever": r.lever,
                "text": r.action,
                "impact": _projection_json(r.impact),
            }
            for r in actions
        ],
    }


def render_checkin_result(
    previous: Profile, current: Profile, first: Profile, lang: str, fmt: str = "html"
) -> str:
    """What a check-in changed: the new estimate, the levers that moved since the previous
    data point and since the first check-up, the bottleneck, and new top actions when the
    bottleneck changed."""
    _check_language(lang)
    fmt = _check_format(fmt)
    if fmt == "json":
        return json.dumps(
            checkin_result_json(previous, current, first, lang), ensure_ascii=False, indent=2
        )
    since_previous, since_first = compare(previous, current), compare(first, current)
    assessment = assess(current)
    f = Formatter(lang, current.currency)
    template = environment(fmt).get_template(f"checkin.{_suffix(fmt)}.j2")
    return template.render(
        f=f,
        p=current,
        now=since_previous,
        verdict=_verdict(since_previous),
        previous_estimate=_estimate_line("checkin_since_previous", since_previous, f),
        first_estimate=_estimate_line("checkin_since_first", since_first, f),
        orders=_orders_line(previous, current, f),
        first_orders=_orders_line(first, current, f),
        previous_lines=_lever_lines(since_previous, f),
        biggest=since_previous.biggest_mover,
        first_is_previous=first == previous,
        first_lines=_lever_lines(since_first, f),
        projection=assessment.metrics.projections[assessment.bottleneck],
        actions=_new_actions(since_previous, assessment, fmt, f),
    ).strip()


def _new_actions(
    movement: Movement, assessment: Assessment, fmt: str, f: Formatter
) -> list[RenderedFinding]:
    """The top actions for the new bottleneck; none while the bottleneck stays where it was."""
    if not movement.bottleneck_changed:
        return []
    return [r for r in _render_findings(assessment, fmt, f) if r.has_action][:TOP_ACTIONS]


@dataclass(frozen=True, slots=True)
class ProgressRow:
    when: datetime
    cells: tuple[str, ...]


def _progress_table(rows: list[tuple[Point, Metrics]], currency: str, f: Formatter) -> list[str]:
    """The table's lines: date, estimate, the four scores, bottleneck; columns aligned."""
    same_year = len({point.when.year for point, _ in rows}) == 1
    date_format = "%m-%d" if same_year else "%y-%m-%d"
    header = (
        f.t("progress_col_date"),
        f.t("progress_col_estimate"),
        *(f.t(f"progress_col_{lever}") for lever in LEVERS),
        f.t("progress_col_bottleneck"),
    )
    body = [
        (
            point.when.strftime(date_format),
            f.money(convert(m.monthly_sales, point.profile.currency, currency)),
            *(str(m.levers[lever].score) for lever in LEVERS),
            f.t(f"progress_col_{m.bottleneck}"),
        )
        for point, m in rows
    ]
    widths = [max(display_width(row[i]) for row in (header, *body)) for i in range(len(header))]
    right_aligned = {1, 2, 3, 4, 5}
    return [
        " ".join(pad(cell, widths[i], i in right_aligned) for i, cell in enumerate(row)).rstrip()
        for row in (header, *body)
    ]


def progress_json(points: Sequence[Point], lang: str = "en") -> dict[str, Any]:
    """Every data point, oldest first, as a JSON-ready dict (estimates in their own currency)."""
    _check_language(lang)
    scored = _scored(points)
    latest = scored[-1][0].profile
    first_to_latest = compare(scored[0][0].profile, latest)
    return {
        "language": lang,
        "currency": latest.currency,
        "points": [
            {
                "when": point.when.isoformat(),
                "currency": point.profile.currency,
                "monthly_sales": round(m.monthly_sales, 2),
                "scores": {lever: m.levers[lever].score for lever in LEVERS},
                "bottleneck": m.bottleneck,
            }
            for point, m in scored
        ],
        "first_estimate": round(first_to_latest.estimate_before, 2),
        "latest_estimate": round(first_to_latest.estimate_after, 2),
        "change_pct": _round_pct(first_to_latest.estimate_change_pct),
    }


def render_progress(points: Sequence[Point], lang: str, fmt: str = "html") -> str:
    """The seller's data points as a short table (the latest few) and a one-line summary."""
    _check_language(lang)
    fmt = _check_format(fmt)
    if fmt == "json":
        return json.dumps(progress_json(points, lang), ensure_ascii=False, indent=2)
    scored = _scored(points)
    first, latest = scored[0][0], scored[-1][0]
    f = Formatter(lang, latest.profile.currency)
    shown = scored[-PROGRESS_ROWS:]
    movement = compare(first.profile, latest.profile)
    if len(scored) == 1:
        summary = f.t(
            "progress_one_point",
            date=first.when.date().isoformat(),
            sales=f.money(movement.estimate_after),
        )
    else:
        summary = f.t(
            "progress_summary",
            date=first.when.date().isoformat(),
            before=f.money(movement.estimate_before),
            after=f.money(movement.estimate_after),
            change=_change(f, movement.estimate_change_pct),
            count=len(scored),
        )
    template = environment(fmt).get_template(f"progress.{_suffix(fmt)}.j2")
    return template.render(
        f=f,
        p=latest.profile,
        table=_progress_table(shown, latest.profile.currency, f),
        hidden=len(scored) - len(shown),
        summary=summary,
    ).strip()


def _scored(points: Sequence[Point]) -> list[tuple[Point, Metrics]]:
    if not points:
        raise ValueError("progress needs at least one data point")
    return series(points)


def _movement_json(movement: Movement) -> dict[str, Any]:
    biggest = movement.biggest_mover
    return {
        "estimate_before": round(movement.estimate_before, 2),
        "estimate_after": round(movement.estimate_after, 2),
        "estimate_change_pct": _round_pct(movement.estimate_change_pct),
        "levers": {
            lever: {
                "before": round(c.before, 4),
                "after": round(c.after, 4),
                "change_pct": _round_pct(c.change_pct),
                "score_before": c.score_before,
                "score_after": c.score_after,
            }
            for lever, c in movement.levers.items()
        },
        "moved": [c.lever for c in movement.moved],
        "biggest_mover": biggest.lever if biggest else None,
        "bottleneck_before": movement.bottleneck_before,
        "bottleneck_after": movement.bottleneck_after,
    }


def _round_pct(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _suffix(fmt: str) -> str:
    return "html" if fmt == "html" else "txt"


def _check_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")


def _check_format(fmt: str) -> str:
    """The format asked for ('txt' is accepted for 'text')."""
    fmt = "text" if fmt == "txt" else fmt
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    return fmt
