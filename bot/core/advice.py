"""The advice after a check-up: the report and its views, what-if estimates, and progress
over time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from advice.data import LEVERS
from advice.engine import assess
from advice.formatting import Formatter
from advice.metrics import compute_metrics
from advice.profile import Profile
from advice.progress import Point
from advice.render import render, render_progress
from advice.whatif import parse_whatif, to_benchmark, what_if
from bot import callbacks as cb
from bot.core.menus import advice_buttons, start_menu
from bot.core.turn import Turn
from bot.replies import Button, Chart, Reply, text

View = Literal["report", "why", "more"]
LEVER_FIELDS = {
    "traffic": "weekly_reach",
    "conversion": "conversion",
    "order_value": "average_order_value",
    "repeat": "repeat_rate",
}


def show_advice(turn: Turn, view: View = "report", report_id: int | None = None) -> list[Reply]:
    """The latest (or a given) report, rendered again in the seller's language now."""
    lang = turn.user.language
    report = turn.report(report_id) if report_id else turn.latest_report()
    if report is None:
        return [Reply(text("no_advice_yet", lang), start_menu(lang))]
    html = render(assess(Profile.from_dict(dict(report.profile))), lang, "html", view=view)
    return [Reply(html, advice_buttons(report.id, lang) if view == "report" else [])]


def _lever_buttons(lang: str) -> list[list[Button]]:
    ui = Formatter(lang, "CNY")
    return [[Button(ui.lever(lv).capitalize(), cb.WhatIf(lv).pack())] for lv in LEVERS]


def whatif(turn: Turn, args: str | None = None, lever: str | None = None) -> list[Reply]:
    """The estimate with one lever changed, against the current one. ``lever``: a lever
    lifted to its benchmark (a button); ``args``: a lever and a figure as typed."""
    lang = turn.user.language
    report = turn.latest_report()
    if report is None:
        return [Reply(text("no_advice_yet", lang), start_menu(lang))]
    profile = Profile.from_dict(dict(report.profile))
    f = Formatter(lang, profile.currency)
    notes: list[str] = []
    if lever in LEVERS:
        changed = to_benchmark(profile, lever)
    elif args:
        asked = parse_whatif(args)
        if asked is None:
            return [Reply(text("whatif_bad", lang), _lever_buttons(lang))]
        lever, outcome = asked.lever, what_if(profile, asked)
        changed, field = outcome.profile, LEVER_FIELDS[asked.lever]
        if asked.read_as_percent:
            typed = f.num(asked.value * 100)
            used = f.value(field, asked.value)
            notes.append(text("whatif_read_as_percent", lang, typed=typed, used=used))
        if outcome.clamped:
            was, used = f.value(field, outcome.asked), f.value(field, outcome.used)
            notes.append(text("whatif_clamped", lang, asked=was, used=used))
    else:
        return [Reply(text("whatif_prompt", lang), _lever_buttons(lang))]
    before, after = compute_metrics(profile), compute_metrics(changed)
    change = (
        None
        if before.monthly_sales <= 0
        else (after.monthly_sales / before.monthly_sales - 1) * 100
    )
    result = text(
        "whatif_result",
        lang,
        lever=f.lever(lever),
        value=f.value(LEVER_FIELDS[lever], after.levers[lever].value),
        current=f.money(before.monthly_sales),
        projected=f.money(after.monthly_sales),
        change=f.signed_pct(change),
        bottleneck=f.lever(after.bottleneck),
    )
    return [Reply("\n\n".join([result, *notes]))]


def show_progress(turn: Turn) -> list[Reply]:
    """The seller's data points (every report, oldest first) as a table and a chart."""
    lang = turn.user.language
    reports = turn.reports()
    if not reports:
        return [Reply(text("progress_none", lang), start_menu(lang))]
    zone = _zone(turn.user.time_zone)
    points = tuple(
        Point(_aware(r.created_at).astimezone(zone), Profile.from_dict(dict(r.profile)))
        for r in reports
    )
    caption = Reply(text("progress_chart_caption", lang), chart=Chart(points, lang))
    return [Reply(render_progress(list(points), lang, "html")), caption]


def _aware(moment: datetime) -> datetime:
    """Stored times are UTC; SQLite gives them back without a zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):  # a zone this system does not know
        return ZoneInfo("UTC")
