"""The one place that renders templates: advice to Telegram HTML, plain text or JSON.

The report, "why" and "more" views, a check-in's result and the progress table are rendered
here from the ``.j2`` files in ``advice/templates``; the rule texts of findings in
:mod:`advice.rule_text`; the JSON dicts in :mod:`advice.report_json`. The names other code
imports from here (``render``, ``render_progress``, ``render_checkin_result``, ``to_json``,
``FORMATS``, ``TOP_ACTIONS``, ...) stay importable from this module.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from advice.data import LANGUAGES, LEVERS, load_benchmarks
from advice.engine import Assessment, assess
from advice.formatting import Formatter, display_width, pad
from advice.metrics import Metrics
from advice.numbers import format_number
from advice.profile import Profile
from advice.progress import Movement, Point, compare, convert, percent_change
from advice.report_json import checkin_result_json, progress_json, scored_points, to_json
from advice.rule_text import (
    FORMATS,
    TOP_ACTIONS,
    Format,
    RenderedFinding,
    check_format,
    check_language,
    environment,
    new_actions,
    render_findings,
    suffix,
)

__all__ = [
    "FORMATS",
    "PROGRESS_ROWS",
    "TOP_ACTIONS",
    "Format",
    "LeverLine",
    "RenderedFinding",
    "checkin_result_json",
    "environment",
    "measured_line",
    "progress_json",
    "render",
    "render_checkin_result",
    "render_progress",
    "to_json",
]


def _assumptions(assessment: Assessment, f: Formatter) -> list[tuple[str, str]]:
    return [
        (f.label(name), f.value(name, getattr(assessment.profile, name)))
        for name in assessment.profile.assumed
    ]


def measured_line(profile: Profile, f: Formatter) -> str | None:
    """'Measured from your ledger over the last 30 days: weekly orders, order value; the
    rest are your estimates.' None when nothing was measured."""
    if not profile.measured or profile.measured_days is None:
        return None
    names = f.t("list_separator").join(f.t(f"measured_{name}") for name in profile.measured)
    return f.t("measured_from_ledger", days=f.num(profile.measured_days), fields=names)


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
    findings = render_findings(assessment, fmt, f)
    actions = [r for r in findings if r.has_action]
    template = environment(fmt).get_template(f"{view}.{'html' if fmt == 'html' else 'txt'}.j2")
    return template.render(
        p=assessment.profile,
        m=assessment.metrics,
        f=f,
        lever_table=_lever_table(assessment.metrics, f),
        findings=findings,
        red_flags=[r for r in findings if r.red_flag],
        top_actions=actions[:TOP_ACTIONS],
        more_actions=actions[TOP_ACTIONS:],
        assumptions=_assumptions(assessment, f),
        measured=measured_line(assessment.profile, f),
        weeks_per_month=load_benchmarks().weeks_per_month,
    ).strip()


def _lever_table(m: Metrics, f: Formatter) -> list[tuple[str, int, bool]]:
    """The four levers' rows: name (padded to the widest, counting a CJK character as two
    columns, so the scores line up), score, and whether it is the bottleneck."""
    names = {lever: f.lever(lever) for lever in LEVERS}
    width = max(display_width(name) for name in names.values())
    return [
        (pad(name, width), m.levers[lever].score, lever == m.bottleneck)
        for lever, name in names.items()
    ]


# --- progress over time ----------------------------------------------------------------------
PROGRESS_ROWS = 8  # the table shows the latest points; a phone screen fits about this many


@dataclass(frozen=True, slots=True)
class LeverLine:
    """One lever's move, formatted: 'traffic: 10 -> 25 (+150%), score 8 -> 21'."""

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
    return ("+" if pct >= 0 else "") + format_number(round(pct)) + "%"  # digits: any language


def _lever_lines(movement: Movement, f: Formatter) -> list[LeverLine]:
    return [
        LeverLine(
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


def render_checkin_result(
    previous: Profile, current: Profile, first: Profile, lang: str, fmt: str = "html"
) -> str:
    """What a check-in changed: the new estimate, the levers that moved since the previous
    data point and since the first check-up, the bottleneck, and new top actions when the
    bottleneck changed."""
    check_language(lang)
    fmt = check_format(fmt)
    if fmt == "json":
        return json.dumps(
            checkin_result_json(previous, current, first, lang), ensure_ascii=False, indent=2
        )
    since_previous, since_first = compare(previous, current), compare(first, current)
    assessment = assess(current)
    f = Formatter(lang, current.currency)
    template = environment(fmt).get_template(f"checkin.{suffix(fmt)}.j2")
    return template.render(
        f=f,
        p=current,
        now=since_previous,
        verdict=_verdict(since_previous),
        previous_estimate=_estimate_line("checkin_since_previous", since_previous, f),
        first_estimate=_estimate_line("checkin_since_first", since_first, f),
        orders=_orders_line(previous, current, f),
        measured=measured_line(current, f),
        first_orders=_orders_line(first, current, f),
        previous_lines=_lever_lines(since_previous, f),
        biggest=since_previous.biggest_mover,
        first_is_previous=first == previous,
        first_lines=_lever_lines(since_first, f),
        projection=assessment.metrics.projections[assessment.bottleneck],
        actions=new_actions(since_previous, assessment, fmt, f),
    ).strip()


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


def render_progress(points: Sequence[Point], lang: str, fmt: str = "html") -> str:
    """The seller's data points as a short table (the latest few) and a one-line summary."""
    check_language(lang)
    fmt = check_format(fmt)
    if fmt == "json":
        return json.dumps(progress_json(points, lang), ensure_ascii=False, indent=2)
    scored = scored_points(points)
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
    template = environment(fmt).get_template(f"progress.{suffix(fmt)}.j2")
    return template.render(
        f=f,
        p=latest.profile,
        table=_progress_table(shown, latest.profile.currency, f),
        hidden=len(scored) - len(shown),
        summary=summary,
    ).strip()
