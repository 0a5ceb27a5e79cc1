"""The /progress chart: a real PNG of about 800x500, for one point or many, in both languages,
with no empty boxes where a font lacks Chinese glyphs."""

from __future__ import annotations

import dataclasses
import io
import struct
import warnings
from datetime import UTC, datetime, timedelta

import matplotlib.image
import pytest

from advice.data import LANGUAGES
from advice.profile import Profile
from advice.progress import Point
from bot.charts import (
    HEIGHT,
    WEEKS_HEIGHT,
    WEEKS_WIDTH,
    WIDTH,
    chart_language,
    cjk_font,
    progress_chart,
    weeks_chart,
)
from tests.personas import PERSONAS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which the PNG format puts first."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def points(count: int) -> list[Point]:
    reseller = Profile.from_dict(PERSONAS[1].profile)
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    return [
        Point(
            start + timedelta(weeks=i),
            dataclasses.replace(reseller, weekly_reach=10 + 10 * i, weekly_orders=2 + i),
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("count", [1, 10])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_chart_is_a_png_that_decodes(count: int, lang: str) -> None:
    with warnings.catch_warnings():
        # matplotlib warns "Glyph ... missing from font" when it would draw a box instead
        warnings.filterwarnings("error", message=".*missing from.*")
        data = progress_chart(points(count), lang)
    assert png_size(data) == (WIDTH, HEIGHT) == (800, 500)
    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    assert pixels.std() > 0.05  # something is drawn, not a blank canvas


def test_chinese_labels_only_with_a_font_that_has_the_glyphs() -> None:
    assert chart_language("en") == "en"
    assert chart_language("zh") == ("zh" if cjk_font() else "en")
    if cjk_font() is None:  # the fallback draws the same chart with English labels
        assert progress_chart(points(3), "zh") == progress_chart(points(3), "en")


def test_points_in_another_order_draw_the_same_chart() -> None:
    assert progress_chart(list(reversed(points(4))), "en") == progress_chart(points(4), "en")


def test_no_points_is_refused() -> None:
    with pytest.raises(ValueError):
        progress_chart([], "en")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_sales_chart_is_a_small_png_with_a_bar_a_week(lang: str) -> None:
    weeks = [("02.11", 0.0), ("09.11", 1250.0), ("16.11", -80.0), ("23.11", 300.5), ("30.11", 85.0)]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from.*")
        data = weeks_chart(weeks, "CNY", lang)
    assert png_size(data) == (WEEKS_WIDTH, WEEKS_HEIGHT) == (600, 300)
    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.std() > 0.05
