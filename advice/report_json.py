"""The advice, a check-in's result and the progress over time as JSON-ready dicts.

Texts are in the language asked for and escaped for nothing; money is rounded to cents,
shares to four places and percentages to one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from advice.data import LEVERS
from advice.engine import Assessment, assess
from advice.formatting import Formatter
from advice.metrics import Metrics, Projection
from advice.profile import Profile
from advice.progress import Movement, Point, compare, series
from advice.rule_text import TOP_ACTIONS, check_language, new_actions, render_findings


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
    findings = render_findings(assessment, "text", f)
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
        "measured": {
            "fields": list(assessment.profile.measured),
            "days": assessment.profile.measured_days,
        },
    }


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def checkin_result_json(
    previous: Profile, current: Profile, first: Profile, lang: str = "en"
) -> dict[str, Any]:
    """The result of a check-in as a JSON-ready dict (money in the current profile's currency)."""
    check_language(lang)
    since_previous, since_first = compare(previous, current), compare(first, current)
    assessment = assess(current)
    f = Formatter(lang, current.currency)
    actions = new_actions(since_previous, assessment, "text", f)
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


def progress_json(points: Sequence[Point], lang: str = "en") -> dict[str, Any]:
    """Every data point, oldest first, as a JSON-ready dict (estimates in their own currency)."""
    check_language(lang)
    scored = scored_points(points)
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


def scored_points(points: Sequence[Point]) -> list[tuple[Point, Metrics]]:
    """Each data point with its metrics, oldest first; at least one point is needed."""
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
