"""The sale line, read as a specification: what a seller types after /sold -> what is logged."""

import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from advice.chinese_numbers import CN_CHARS
from advice.data import DATA_DIR, load_sales_data
from advice.numbers import parse_number
from advice.profile import CHANNELS
from advice.sales import (
    CUSTOMER_WORDS,
    MAX_AMOUNT,
    MAX_NICKNAME,
    RejectReason,
    SaleEntry,
    SaleRejection,
    channel_for_tag,
    channel_label,
    format_money,
    format_sale,
    parse_sale,
    rejection_text,
    sale_command,
    tag_map,
)


def sale(
    amount: str,
    quantity: int | None = None,
    items: str | None = None,
    customer: str | None = None,
    channel: str | None = None,
) -> SaleEntry:
    return SaleEntry(Decimal(amount), quantity, items, customer, channel)


SPECIFICATION: list[tuple[str, SaleEntry]] = [
    # the forms of issue 15
    ("/sold 180", sale("180")),
    ("/sold 180 2 cakes @Lena", sale("180", 2, "cakes", "Lena")),
    ("/sold ¥1.2k 3 jackets to Wang #groups", sale("1200", 3, "jackets", "Wang", "groups")),
    ("/sold 85元 给 小李", sale("85", customer="小李")),
    ("/sold -180 @Lena", sale("-180", customer="Lena")),
    # the command is optional, and may name the bot
    ("180", sale("180")),
    ("/sold@SellerCoachBot 180", sale("180")),
    ("/SOLD 180", sale("180")),
    # amounts as the number parser reads them, kept to the cent
    ("1,200.50", sale("1200.50")),
    ("1.2k", sale("1200")),
    ("¥ 180", sale("180")),
    ("85 元", sale("85")),
    ("1.2 k jackets", sale("1200", items="jackets")),
    ("$12.345", sale("12.35")),
    ("RMB 99", sale("99")),
    ("１８０", sale("180")),  # full-width digits
    # Chinese amounts
    ("1.2千", sale("1200")),
    ("一百八", sale("180")),
    ("一百八 给 小李", sale("180", customer="小李")),
    ("1.2万 #朋友圈", sale("12000", channel="moments_feed")),
    ("三百五十块 两件 T恤 给 王姐 #抖音", sale("350", 2, "T恤", "王姐", "short_video")),
    # quantities
    ("180 x2 cakes", sale("180", 2, "cakes")),
    ("180 2x cakes", sale("180", 2, "cakes")),
    ("180 2 x cakes", sale("180", 2, "cakes")),  # as format_sale shows it
    ("180 3pcs", sale("180", 3)),
    ("85 两个蛋糕", sale("85", 2, "蛋糕")),
    ("85 3杯奶茶 给小李", sale("85", 3, "奶茶", "小李")),
    ("85 两 蛋糕", sale("85", 2, "蛋糕")),
    # a number that is not a whole count is part of the items
    ("180 1.5 kg rice", sale("180", items="1.5 kg rice")),
    ("180 500g coffee", sale("180", items="500g coffee")),
    # customers
    ("180 @Lena 2 cakes", sale("180", 2, "cakes", "Lena")),
    ("180 cakes to Aunt May", sale("180", items="cakes", customer="Aunt May")),
    ("180 cakes To   Aunt  May ", sale("180", items="cakes", customer="Aunt May")),
    ("180 给小李", sale("180", customer="小李")),
    ("85元给小李", sale("85", customer="小李")),
    ("85 两个蛋糕给小李#朋友圈", sale("85", 2, "蛋糕", "小李", "moments_feed")),
    # channels: either language, any case, the channel's own name, attached or not
    ("180 #Groups", sale("180", channel="groups")),
    ("180 #群", sale("180", channel="groups")),
    ("180 #short_video", sale("180", channel="short_video")),
    ("180 #taobao", sale("180", channel="marketplace")),
    ("180 #store", sale("180", channel="offline_store")),
    ("180 #熟人", sale("180", channel="acquaintances")),
    ("180 #referral", sale("180", channel="referrals")),
    ("180 #ads", sale("180", channel="paid_ads")),
    ("#groups 180 @Lena", sale("180", customer="Lena", channel="groups")),
    ("180 给小李#朋友圈", sale("180", customer="小李", channel="moments_feed")),
    ("180 #groups #群", sale("180", channel="groups")),  # two tags, one channel
    # a refund names the customer; it may say what came back
    ("-180 1 cake @Lena", sale("-180", 1, "cake", "Lena")),
    ("−85 给 小李", sale("-85", customer="小李")),  # a typographic minus
    # every sign of "times" before a count, and after it
    ("180 ×2 cakes", sale("180", 2, "cakes")),
    ("180 *2 cakes", sale("180", 2, "cakes")),
    ("180 2× cakes", sale("180", 2, "cakes")),
    ("180 10000 cakes", sale("180", 10000, "cakes")),  # the largest count
    ("180 约2 cakes", sale("180", items="约2 cakes")),  # "about 2" is not a count
    # "@" apart from the name takes the next word only
    ("180 cakes @ Lena fresh", sale("180", items="cakes fresh", customer="Lena")),
    # a name after 给 runs to the end of the line, spaces and all
    ("180 给李", sale("180", customer="李")),
    ("180 给小 李 王", sale("180", customer="小 李 王")),
    ("9给小李", sale("9", customer="小李")),
    ("85元给李", sale("85", customer="李")),
    ("85元给小 李 王", sale("85", customer="小 李 王")),
    ("85元给给力哥", sale("85", customer="给力哥")),  # the first 给 starts the name
    # the longest items and line
    ("180 " + "c" * 100, sale("180", items="c" * 100)),
]


@pytest.mark.parametrize(("line", "expected"), SPECIFICATION)
def test_a_sale_line_reads_as_the_seller_means(line: str, expected: SaleEntry) -> None:
    assert parse_sale(line, "en") == expected
    assert parse_sale(line, "zh") == expected


REJECTIONS: list[tuple[str, RejectReason, str]] = [
    # (line, reason, the part the bot points at)
    ("/sold", RejectReason.NO_AMOUNT, ""),
    ("/sold cakes 180", RejectReason.NO_AMOUNT, "cakes"),  # the amount comes first
    ("/sold 30%", RejectReason.NO_AMOUNT, "30%"),
    ("/sold 100-200", RejectReason.NO_AMOUNT, "100-200"),
    ("/sold 2天", RejectReason.NO_AMOUNT, "2天"),
    ("/sold 0", RejectReason.ZERO_AMOUNT, "0"),
    ("/sold 0.001", RejectReason.ZERO_AMOUNT, "0.001"),
    ("/sold 20,000,000", RejectReason.TOO_LARGE, "20,000,000"),
    ("/sold 1亿", RejectReason.TOO_LARGE, "1亿"),
    ("/sold -180", RejectReason.REFUND_NEEDS_CUSTOMER, "-180"),
    ("/sold -180 cakes", RejectReason.REFUND_NEEDS_CUSTOMER, "-180"),
    ("/sold 180 #instagarm", RejectReason.UNKNOWN_TAG, "#instagarm"),
    ("/sold 180 #", RejectReason.UNKNOWN_TAG, "#"),
    ("/sold 180 #groups #ads", RejectReason.TWO_CHANNELS, "#groups #ads"),
    ("/sold 180 @", RejectReason.NO_NICKNAME, ""),
    ("/sold 180 cakes to", RejectReason.NO_NICKNAME, ""),
    ("/sold 180 @<b>Lena</b>", RejectReason.NICKNAME_MARKUP, "<b>Lena</b>"),
    ("/sold 180 to " + "L" * 41, RejectReason.NICKNAME_TOO_LONG, "L" * 40),
    ("/sold 180 0 cakes", RejectReason.ZERO_QUANTITY, "0"),
    ("/sold 180 20000 cakes", RejectReason.QUANTITY_TOO_LARGE, "20000"),
    ("/sold 180 <script>", RejectReason.ITEMS_MARKUP, "<script>"),
    ("/sold 180 " + "cake " * 30, RejectReason.ITEMS_TOO_LONG, "cake cake cake cake "),
    ("/sold 180 " + "x" * 300, RejectReason.LINE_TOO_LONG, "180 " + "x" * 16),
    # 200 characters are not too long a line; the items in it are
    (("180 " + "c" * 300)[:200], RejectReason.ITEMS_TOO_LONG, "c" * 20),
    ("/sold 180 a<b", RejectReason.ITEMS_MARKUP, "a<b"),
    ("/sold 180 a>b", RejectReason.ITEMS_MARKUP, "a>b"),
    ("/sold 180 @a<b", RejectReason.NICKNAME_MARKUP, "a<b"),
    ("/sold 180 @a>b", RejectReason.NICKNAME_MARKUP, "a>b"),
    ("/sold 85元给", RejectReason.NO_AMOUNT, "85元给"),  # 给 at the end names no one
    ("/sold to Lena", RejectReason.NO_AMOUNT, "to"),  # the amount comes first
    ("/sold 给小李 180", RejectReason.NO_AMOUNT, "给小李"),
    ("/sold 给1给李", RejectReason.NO_AMOUNT, "给1"),  # a later 给 still starts the name
]


@pytest.mark.parametrize(("line", "reason", "part"), REJECTIONS)
def test_bad_input_gets_a_reason_and_the_part_at_fault(
    line: str, reason: RejectReason, part: str
) -> None:
    assert parse_sale(line, "en") == SaleRejection(reason, part)


@pytest.mark.parametrize("reason", list(RejectReason))
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_reason_is_explained_in_both_languages(reason: RejectReason, lang: str) -> None:
    text = rejection_text(SaleRejection(reason, "#instagarm"), lang)
    assert text and "{" not in text and "}" not in text


def test_the_explanations_say_which_tags_and_bounds_apply() -> None:
    unknown = rejection_text(SaleRejection(RejectReason.UNKNOWN_TAG, "#insta"), "en")
    assert unknown.startswith("I don't know the tag #insta. Tags I know: #store #moments #groups")
    assert "#朋友圈" in rejection_text(SaleRejection(RejectReason.UNKNOWN_TAG, "#x"), "zh")
    too_large = rejection_text(SaleRejection(RejectReason.TOO_LARGE, "20,000,000"), "en")
    assert too_large == "20,000,000 is more than 10,000,000 for one sale. Is there a typo?"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_examples_in_the_explanations_are_valid_lines(lang: str) -> None:
    for reason in (RejectReason.NO_AMOUNT, RejectReason.REFUND_NEEDS_CUSTOMER):
        text = rejection_text(SaleRejection(reason), lang)
        example = text[text.index("/sold") :]
        assert isinstance(parse_sale(example, lang), SaleEntry), example


def test_a_nickname_of_exactly_forty_characters_is_kept() -> None:
    entry = parse_sale("180 to " + "L" * MAX_NICKNAME, "en")
    assert isinstance(entry, SaleEntry) and entry.customer == "L" * 40


def test_the_largest_sale_is_ten_million() -> None:
    assert parse_sale("10,000,000", "en") == sale("10000000")
    assert parse_sale("10,000,000.01", "en") == SaleRejection(
        RejectReason.TOO_LARGE, "10,000,000.01"
    )


def test_what_was_understood_reads_back_in_the_sellers_language() -> None:
    entry = sale("180", 2, "cakes", "Lena", "groups")
    assert format_sale(entry, "en", "CNY") == "¥180 · 2 x cakes · Lena · Group chats"
    assert format_sale(entry, "zh", "CNY") == "¥180 · 2 x cakes · Lena · 微信群/社群"
    assert format_sale(sale("1200.5"), "en", "USD") == "$1,200.50"
    assert format_sale(sale("-180", customer="Lena"), "en", "MYR") == "-180 MYR · Lena"
    assert format_sale(sale("85", 3), "zh", "CNY") == "¥85 · x3"
    assert format_sale(sale("85", items="蛋糕"), "zh", "CNY") == "¥85 · 蛋糕"


def test_every_tag_names_a_channel_of_the_check_up() -> None:
    assert set(tag_map().values()) == set(CHANNELS)
    for tag in ["#groups", "#group", "#群", "#社群", "#moments", "#feed", "#朋友圈", "#video"]:
        assert channel_for_tag(tag) is not None
    for tag in ["#douyin", "#抖音", "#视频号", "#shop", "#淘宝", "#marketplace", "#转介绍"]:
        assert channel_for_tag(tag) is not None
    for tag in ["#门店", "#实体店", "#friends"]:
        assert channel_for_tag(tag) is not None
    assert channel_for_tag("#nothing") is None


SALES_TOML = (DATA_DIR / "sales.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (('paid_ads = ["ads",', 'paid_ads = ["ads", "群",'), "#群 names two channels"),
        (('paid_ads = ["ads",', 'paid_ads = ["groups",'), "#groups names two channels"),
        (('paid_ads = ["ads", "ad", "广告", "投流"]', ""), "channel_tags must list exactly"),
        (("food = 14", "food = 0"), "whole days above 0"),
        (("food = 14", "cakes = 14"), "repeat_interval_days must list exactly"),
        (('zh = "{name}，你好呀！上次的{items}', 'zh = "{name}，你好呀！上次的东西'), "lacks"),
        (('en = "An amount of 0', 'fr = "An amount of 0'), "zero_amount has no text for en"),
    ],
)
def test_a_broken_sales_file_is_refused_when_read(
    tmp_path: Path, change: tuple[str, str], complaint: str
) -> None:
    old, new = change
    assert old in SALES_TOML
    path = tmp_path / "sales.toml"
    path.write_text(SALES_TOML.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ValueError, match=complaint):
        load_sales_data(path)


# --- properties --------------------------------------------------------------------------------

SALE_ALPHABET = "0123456789.,-+ ¥$元块kK万千百一二两三八#@<>给to xX×cakes小李\u200b\uff03\u3000"


@given(st.text())
def test_any_text_gets_an_entry_or_a_reason(text: str) -> None:
    assert isinstance(parse_sale(text, "en"), SaleEntry | SaleRejection)


@given(st.text(alphabet=SALE_ALPHABET, max_size=60))
def test_a_stored_entry_is_always_within_the_bounds(text: str) -> None:
    entry = parse_sale(text, "zh")
    if isinstance(entry, SaleEntry):
        assert entry.amount != 0 and abs(entry.amount) <= MAX_AMOUNT
        assert entry.amount == entry.amount.quantize(Decimal("0.01"))
        assert entry.amount > 0 or entry.customer is not None
        assert entry.quantity is None or entry.quantity >= 1
        for typed in (entry.customer, entry.items):
            assert typed is None or ("<" not in typed and ">" not in typed)
        assert entry.customer is None or 0 < len(entry.customer) <= MAX_NICKNAME
        assert entry.channel is None or entry.channel in CHANNELS


def _plain_word(word: str) -> bool:
    """A word that is only a word: no numeral, no marker, unchanged by clean-up."""
    return (
        word == unicodedata.normalize("NFKC", word)
        and not any(char in CN_CHARS or char.isdigit() for char in word)
        and word.casefold() not in CUSTOMER_WORDS
        and "给" not in word
        and not word.startswith(("@", "x", "X", "×", "*"))
        and not any(char in "#<>" for char in word)
    )


WORDS = st.text(
    alphabet=st.characters(categories=["Lu", "Ll", "Lo"]), min_size=1, max_size=8
).filter(_plain_word)
ITEMS = st.lists(WORDS, min_size=1, max_size=4).map(" ".join)
NICKNAMES = (
    st.lists(WORDS, min_size=1, max_size=3).map(" ".join).filter(lambda n: len(n) <= MAX_NICKNAME)
)


@st.composite
def entries(draw: st.DrawFn) -> SaleEntry:
    customer = draw(st.none() | NICKNAMES)
    cents = draw(st.integers(min_value=1, max_value=int(MAX_AMOUNT * 100)))
    refund = customer is not None and draw(st.booleans())
    items = draw(st.none() | ITEMS)
    # A first item word that is itself a number word ('k', 'pcs', 'yuan') joins the amount.
    assume(items is None or parse_number(f"1 {items.split()[0]}") is None)
    return SaleEntry(
        amount=Decimal(-cents if refund else cents) / 100,
        quantity=draw(st.none() | st.integers(min_value=1, max_value=10_000)),
        items=items,
        customer=customer,
        channel=draw(st.none() | st.sampled_from(CHANNELS)),
    )


@given(entries(), st.sampled_from(["en", "zh"]))
def test_an_entry_written_as_a_command_reads_back_the_same(entry: SaleEntry, lang: str) -> None:
    assert parse_sale(sale_command(entry, lang), lang) == entry


def test_an_entry_as_a_command_in_each_language() -> None:
    entry = sale("180", 2, "cakes", "Aunt May", "groups")
    assert sale_command(entry, "en") == "/sold 180 2 cakes to Aunt May #groups"
    assert sale_command(entry, "zh") == "/sold 180 2 cakes 给 Aunt May #群"
    # a name starting with @ is written after "to", so the @ stays part of it
    assert sale_command(sale("180", customer="@x"), "en") == "/sold 180 to @x"
    assert sale_command(sale("180", customer="Lena"), "zh") == "/sold 180 @Lena"


def test_money_is_negative_only_below_zero() -> None:
    assert format_money(Decimal(0), "CNY") == "¥0"
    assert format_money(Decimal("0.50"), "CNY") == "¥0.50"
    assert format_money(Decimal("-0.50"), "CNY") == "-¥0.50"


def test_a_channel_the_check_up_does_not_list_is_shown_by_its_name() -> None:
    assert channel_label("groups", "en") == "Group chats"
    assert channel_label("somewhere_new", "en") == "somewhere_new"
