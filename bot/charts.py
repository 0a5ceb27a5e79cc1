"""The /progress chart (the four lever scores and the monthly estimate over time) and the
/sales chart (the revenue of each week, as bars), as PNGs.

Drawn with matplotlib's object-oriented API on the Agg canvas: no pyplot, so no GUI backend
and no global figure registry; each figure is cleared once saved and nothing outlives the
call. Matplotlib shares font caches between threads, so drawing is serialised by a lock;
callers in async code run :func:`progress_chart` and :func:`weeks_chart` in a worker thread.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # before anything else of matplotlib is imported: never a GUI

from matplotlib import font_manager  # noqa: E402
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ft2font import FT2Font  # noqa: E402

from advice.data import LEVERS, load_strings  # noqa: E402
from advice.progress import Point, convert, series  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

WIDTH, HEIGHT, DPI = 800, 500, 100
WEEKS_WIDTH, WEEKS_HEIGHT = 600, 300
LEVER_COLOURS = {
    "traffic": "#1f77b4",
    "conversion": "#ff7f0e",
    "order_value": "#2ca02c",
    "repeat": "#d62728",
}
CHART_KEYS = ("chart_title", "chart_score_axis", "chart_estimate_axis", "chart_benchmark", "chart_estimate",
              "chart_weeks_title", "chart_weeks_axis", "chart_weeks_week")  # fmt: skip
CJK_HINTS = ("CJK", "SC", "TC", "Hei", "Han", "Song", "Ming", "Kai", "WenQuanYi", "YaHei", "PingFang")  # fmt: skip
_drawing = threading.Lock()


@cache
def cjk_font() -> str | None:
    """The name of an installed font that has every character the Chinese labels use."""
    strings = load_strings()
    needed = {
        ch
        for key in (*CHART_KEYS, *(f"lever_{lever}" for lever in LEVERS))
        for ch in strings[key]["zh"]
        if ord(ch) > 0x2E7F  # CJK and full-width forms; Latin is in every font
    }
    # Likely CJK fonts first, so a system with hundreds of fonts is not read through.
    fonts = sorted(
        font_manager.fontManager.ttflist, key=lambda e: not any(h in e.name for h in CJK_HINTS)
    )
    for entry in fonts:
        if entry.name.startswith("Last Resort"):  # maps every character to a box: tofu itself
            continue
        try:
            charmap = FT2Font(entry.fname).get_charmap()
        except (OSError, RuntimeError):  # an unreadable font file: try the next one
            continue
        if all(ord(ch) in charmap for ch in needed):
            return entry.name
    return None


def chart_language(lang: str) -> str:
    """The language of the labels: Chinese only when a font can draw it.

    With no CJK font installed (as on a bare server) Chinese labels would be drawn as empty
    boxes ("tofu"), so the chart falls back to English labels; the numbers are the same.
    """
    if lang == "zh" and cjk_font() is None:
        return "en"
    return lang


def progress_chart(points: Sequence[Point], lang: str) -> bytes:
    """A PNG (800x500) of the lever scores over time, with the benchmark at 100, and the
    monthly estimate (in the latest point's currency) on a second axis."""
    if not points:
        raise ValueError("a chart needs at least one data point")
    lang = chart_language(lang)
    strings = load_strings()

    def t(key: str, **values: str) -> str:
        return strings[key][lang].format(**values)

    scored = series(points)
    currency = scored[-1][0].profile.currency
    # As Matplotlib's dates (days since its epoch, floats), which its types accept: it
    # converts datetimes the same way, but its annotations do not list them.
    when = date2num([point.when for point, _ in scored])
    estimates = [convert(m.monthly_sales, p.profile.currency, currency) for p, m in scored]

    # Fonts are looked up when the figure is drawn, so the whole drawing runs in the context.
    with _drawing, matplotlib.rc_context(_fonts(lang)):
        fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
        try:
            scores_ax = fig.add_subplot()
            estimate_ax = scores_ax.twinx()
            estimate_ax.fill_between(when, estimates, color="#999999", alpha=0.2, step=None)
            (estimate_line,) = estimate_ax.plot(
                when,
                estimates,
                color="#555555",
                linestyle=":",
                marker="s",
                label=t("chart_estimate"),
            )
            lines = [
                scores_ax.plot(
                    when,
                    [m.levers[lever].score for _, m in scored],
                    color=LEVER_COLOURS[lever],
                    marker="o",
                    linewidth=2,
                    label=strings[f"lever_{lever}"][lang],
                )[0]
                for lever in LEVERS
            ]
            benchmark = scores_ax.axhline(
                100, color="#000000", linestyle="--", linewidth=1, label=t("chart_benchmark")
            )
            scores_ax.set_zorder(estimate_ax.get_zorder() + 1)  # lines over the estimate's shading
            scores_ax.patch.set_visible(False)
            # Scores are capped at 200; the band above it holds the legend, so nothing hides
            # a line, and the highest estimate sits below the cap, apart from capped scores.
            scores_ax.set_ylim(0, 250)
            scores_ax.set_yticks(range(0, 201, 50))
            estimate_ax.set_ylim(0, max(estimates) * 1.4 or 1)
            if len(when) == 1:  # one point: a week either side rather than years of empty axis
                scores_ax.set_xlim(when[0] - 7, when[0] + 7)  # in days
            scores_ax.set_ylabel(t("chart_score_axis"))
            estimate_ax.set_ylabel(t("chart_estimate_axis", currency=currency))
            scores_ax.set_title(t("chart_title"))
            locator = AutoDateLocator(minticks=2, maxticks=8)
            scores_ax.xaxis.set_major_locator(locator)
            scores_ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
            scores_ax.grid(axis="y", alpha=0.3)
            handles = [*lines, benchmark, estimate_line]
            scores_ax.legend(handles=handles, loc="upper left", fontsize="small", ncols=3)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=DPI)
            return buffer.getvalue()
        finally:
            fig.clear()


def _fonts(lang: str) -> dict[RcKeyType, Any]:
    """The settings that draw the labels of ``lang`` (a CJK font first for Chinese)."""
    font = cjk_font() if lang == "zh" else None
    return {"font.sans-serif": [font, *matplotlib.rcParams["font.sans-serif"]]} if font else {}


def weeks_chart(weeks: Sequence[tuple[str, float]], currency: str, lang: str) -> bytes:
    """A small PNG (600x300) of each week's revenue as a bar, oldest first; ``weeks`` are
    (the week's label, its revenue). A week of refunds only has a bar below zero."""
    if not weeks:
        raise ValueError("a chart needs at least one week")
    lang = chart_language(lang)
    strings = load_strings()
    labels = [label for label, _ in weeks]
    revenue = [amount for _, amount in weeks]
    with _drawing, matplotlib.rc_context(_fonts(lang)):
        fig = Figure(figsize=(WEEKS_WIDTH / DPI, WEEKS_HEIGHT / DPI), dpi=DPI)
        try:
            ax = fig.add_subplot()
            bars = ax.bar(labels, revenue, color=LEVER_COLOURS["order_value"])
            ax.bar_label(bars, labels=[f"{amount:,.0f}" for amount in revenue], fontsize="small")
            top = max(max(revenue), 0)
            ax.set_ylim(min(min(revenue), 0) * 1.2, top * 1.2 or 1)
            ax.axhline(0, color="#000000", linewidth=0.8)
            ax.set_title(strings["chart_weeks_title"][lang])
            ax.set_ylabel(strings["chart_weeks_axis"][lang].format(currency=currency))
            ax.set_xlabel(strings["chart_weeks_week"][lang])
            ax.grid(axis="y", alpha=0.3)
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=DPI)
            return buffer.getvalue()
        finally:
            fig.clear()
