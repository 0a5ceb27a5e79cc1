"""Long messages cut into parts Telegram takes: each part valid HTML and within the limit,
cut at the best boundary that fits, and nothing shown lost or repeated."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.splitting import CAPTION_LIMIT, TEXT_LIMIT, fits, split_html, visible_length
from tests.support.telegram_html import parse_html, utf16_len


def shown(html: str) -> str:
    return parse_html(html)[0]


def words_of(text: str) -> list[str]:
    return text.split()


def test_a_message_that_fits_is_sent_as_it_is() -> None:
    html = "<b>Title</b>\n\n" + "x" * (TEXT_LIMIT - 7)  # 4,096 shown, 4,103 written
    assert split_html(html) == [html]


def test_a_long_message_is_cut_at_the_last_blank_line_that_fits() -> None:
    findings = [f"<b>Finding {n}</b>\n" + "word " * 150 for n in range(8)]  # about 760 each
    parts = split_html("\n\n".join(findings), 2000)
    assert [p.count("<b>Finding") for p in parts] == [2, 2, 2, 2]  # whole findings only
    assert all(p.startswith("<b>Finding") for p in parts)


def test_without_a_blank_line_a_line_break_then_a_space_is_used() -> None:
    lines = "\n".join(f"line {n} " + "a" * 40 for n in range(30))  # 48 a line
    parts = split_html(lines, 200)
    assert all(re.fullmatch(r"(line \d+ a{40}\n?)+", p) for p in parts), parts
    words = " ".join(["word"] * 100)
    assert [len(p) for p in split_html(words, 102)] == [99, 99, 99, 99, 99]
    assert split_html("x" * 250, 100) == ["x" * 100, "x" * 100, "x" * 50]  # the last resort


def test_a_tag_open_across_a_cut_is_closed_and_opened_again() -> None:
    html = '<b>bold <a href="https://e.example/?a=1&amp;b=2">' + "link " * 50 + "</a> end</b>"
    first, *rest = split_html(html, 120)
    assert first.startswith("<b>bold <a href=") and first.endswith("</a></b>")
    assert rest[0].startswith('<b><a href="https://e.example/?a=1&amp;b=2">link')
    for part in [first, *rest]:
        text, entities = parse_html(part)
        assert {e["type"] for e in entities} == {"bold", "text_link"}


def test_no_cut_inside_a_character_reference_or_a_tag() -> None:
    html = "&lt;&amp;&gt;" * 100 + "<i>x</i>" * 100
    parts = split_html(html, 50)
    assert "".join(shown(p) for p in parts) == "<&>" * 100 + "x" * 100
    assert all(utf16_len(shown(p)) <= 50 for p in parts)


def test_characters_outside_the_basic_plane_count_two() -> None:
    emoji = "😀" * 3000  # 6,000 UTF-16 units in 3,000 characters
    assert not fits(emoji, TEXT_LIMIT) and visible_length(emoji) == 6000
    assert [utf16_len(p) for p in split_html(emoji)] == [4096, 1904]


def test_a_caption_takes_the_first_part_and_texts_the_rest() -> None:
    html = "\n\n".join(f"paragraph {n} " + "z" * 300 for n in range(20))
    first, *rest = split_html(html, TEXT_LIMIT, first_limit=CAPTION_LIMIT)
    assert utf16_len(shown(first)) <= CAPTION_LIMIT and first.count("paragraph") == 3
    assert all(utf16_len(shown(p)) <= TEXT_LIMIT for p in rest) and len(rest) == 2


# --- any HTML the bot could send ---------------------------------------------------------
TAGS = ["b", "i", "u", "s", "code", "pre", "blockquote", 'a href="https://x.example/?q=1&amp;r=2"']
texts = st.lists(
    st.sampled_from([*"ab 好😀\n¥", "\n\n", "&amp;", "&lt;", "&gt;", "word "]), max_size=60
)


@st.composite
def telegram_html(draw: st.DrawFn, depth: int = 0) -> str:
    pieces = []
    for _ in range(draw(st.integers(1, 6))):
        if depth < 2 and draw(st.booleans()):
            tag = draw(st.sampled_from(TAGS))
            pieces.append(f"<{tag}>{draw(telegram_html(depth + 1))}</{tag.split()[0]}>")
        else:
            pieces.append("".join(draw(texts)))
    return "".join(pieces)


@settings(max_examples=300, deadline=None)
@given(st.lists(telegram_html(), min_size=1, max_size=12), st.integers(8, 300))
def test_every_part_is_valid_within_the_limit_and_nothing_is_lost(
    blocks: list[str], limit: int
) -> None:
    html = "".join(blocks)
    assume(shown(html).strip())  # a message shows something (else Telegram refuses it whole)
    parts = split_html(html, limit)
    for part in parts:
        text, _ = parse_html(part)  # valid on its own
        assert 0 < utf16_len(text.strip()) and utf16_len(text) <= limit
    # Only the blanks a cut falls on are dropped: every other character is there, once, in order.
    assert "".join(words_of("".join(shown(p) for p in parts))) == "".join(words_of(shown(html)))


@pytest.mark.parametrize("limit", [TEXT_LIMIT, CAPTION_LIMIT])
def test_the_cheap_check_agrees_with_counting(limit: int) -> None:
    for html in [
        "x" * limit,
        "x" * (limit + 1),
        "<b>" + "x" * limit + "</b>",
        "😀" * (limit // 2 + 1),
    ]:
        assert fits(html, limit) == (utf16_len(shown(html)) <= limit)
