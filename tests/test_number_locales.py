"""Numbers, money and dates in each language, read as a specification: what a seller types in
their language -> what the bot understands, and what the bot writes back.

docs/architecture.md, "Numbers in each language", gives the decisions these tables hold.
"""

import datetime
import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advice.formatting import Formatter
from advice.locales import format_day, load_numbers_data, locale_for
from advice.numbers import ParsedNumber, format_number, parse_number
from advice.sales import (
    RejectReason,
    SaleEntry,
    SaleRejection,
    format_money,
    parse_sale,
    rejection_text,
    sale_command,
)

NEW = ["ru", "es", "pt-BR", "id", "fa"]
ALL = ["en", "zh", *NEW]


def number(value: float, *, approx: bool = False, percent: bool = False) -> ParsedNumber:
    return ParsedNumber(value, approximate=approx, percent=percent)


def ambiguous(value: float, other: float) -> ParsedNumber:
    return ParsedNumber(value, alternative=other)


# --- what each language reads ------------------------------------------------------------------

SPECIFICATION: dict[str, list[tuple[str, ParsedNumber | None]]] = {
    "ru": [
        ("1200", number(1200)),
        ("1 200", number(1200)),
        ("1\u00a0200", number(1200)),  # Babel's group separator, a no-break space
        ("1\u202f200", number(1200)),  # a narrow no-break space
        ("1 200,50", number(1200.5)),
        ("1,5", number(1.5)),
        ("1.5", number(1.5)),  # the dot as a decimal point, as many Russian keyboards type it
        ("1.200", ambiguous(1200, 1.2)),  # a dot between thousands, or a decimal point
        ("1.200.000", number(1_200_000)),  # two dots can only be groups
        ("1,200", ambiguous(1.2, 1200)),  # the decimal comma, or English's thousands
        ("1,2 тыс", number(1200)),
        ("1,2 тыс.", number(1200)),
        ("5т", number(5000)),
        ("5к", number(5000)),
        ("1,5 млн", number(1_500_000)),
        ("2 миллиона", number(2_000_000)),
        ("500 ₽", number(500)),
        ("₽500", number(500)),
        ("500 руб.", number(500)),
        ("500 р.", number(500)),
        ("500 рублей", number(500)),
        ("50 000 сум", number(50_000)),
        ("около 300", number(300, approx=True)),
        ("примерно 1,5 тыс руб", number(1500, approx=True)),
        ("30%", number(30, percent=True)),
        ("5 тонн", None),  # т is a thousand, not the start of another word
        ("1.2.3", None),
        ("1,2,3", None),
        ("1.2k", number(1200)),  # English's forms are read too
    ],
    "es": [
        ("1200", number(1200)),
        ("1.200", number(1200)),
        ("1.200.000", number(1_200_000)),
        ("1.200,50", number(1200.5)),
        ("1,5", number(1.5)),
        ("0,5", number(0.5)),
        (",5", number(0.5)),
        ("1.5", number(1.5)),  # a dot not followed by exactly three digits is a decimal point
        ("1.25", number(1.25)),
        ("0.500", number(0.5)),  # no group starts with 0
        ("1,200", ambiguous(1.2, 1200)),  # Mexico writes 1,200 for 1200
        ("1,200,000", number(1_200_000)),  # several commas can only be groups
        ("1,200.50", number(1200.5)),  # English's form, one reading only
        ("1 200", number(1200)),
        ("1,2 mil", number(1200)),
        ("3 mil", number(3000)),
        ("1,5 millones", number(1_500_000)),
        ("1 millón", number(1_000_000)),
        ("1,2 M", number(1_200_000)),
        ("15k", number(15_000)),
        ("$1.200", number(1200)),
        ("1.200 pesos", number(1200)),
        ("MXN 1.200", number(1200)),
        ("unos 300", number(300, approx=True)),
        ("alrededor de 1.500", number(1500, approx=True)),
        ("1.2.3", None),
        ("1.200,5.5", None),
        ("1.20.300", None),
    ],
    "pt-BR": [
        ("1.200", number(1200)),
        ("1.200,50", number(1200.5)),
        ("1,5", number(1.5)),
        ("1,200", ambiguous(1.2, 1200)),
        ("1,2 mil", number(1200)),
        ("1,2 mi", number(1_200_000)),
        ("2 milhões", number(2_000_000)),
        ("1 milhão", number(1_000_000)),
        ("R$ 1.234,50", number(1234.5)),
        ("R$1.234,50", number(1234.5)),
        ("50 reais", number(50)),
        ("cerca de 200", number(200, approx=True)),
        ("1,2 milho", None),
    ],
    "id": [
        ("1.200", number(1200)),
        ("50.000", number(50_000)),
        ("1,5", number(1.5)),
        ("1,200", ambiguous(1.2, 1200)),
        ("50rb", number(50_000)),
        ("50 ribu", number(50_000)),
        ("1,2 jt", number(1_200_000)),
        ("1,2 juta", number(1_200_000)),
        ("2 miliar", number(2_000_000_000)),
        ("50k", number(50_000)),
        ("1,2 m", None),  # million in English, miliar in Indonesian: asked again
        ("1,2 M", None),
        ("Rp 50.000", number(50_000)),
        ("Rp50.000", number(50_000)),
        ("Rp. 50.000", number(50_000)),
        ("Rp.50.000", number(50_000)),
        ("50.000 rupiah", number(50_000)),
        ("sekitar 300", number(300, approx=True)),
    ],
    "fa": [
        ("۱۲۰۰", number(1200)),
        ("١٢٠٠", number(1200)),  # Arabic-Indic digits
        ("۱٬۲۰۰", number(1200)),
        ("۱٫۵", number(1.5)),
        ("۱٫۲ میلیون", number(1_200_000)),
        ("۵۰ هزار", number(50_000)),
        ("۲ میلیارد", number(2_000_000_000)),
        ("1,200", number(1200)),  # with ASCII digits, English's separators
        ("1.5", number(1.5)),
        ("۵۰ هزار تومان", number(50_000)),
        ("۵۰٬۰۰۰ تومان", number(50_000)),
        ("۵۰۰٬۰۰۰ ریال", number(50_000)),  # a rial is a tenth of a toman: kept in toman
        ("۵ میلیون ریال", number(500_000)),
        ("۳۰٪", number(30, percent=True)),
        ("حدود ۳۰۰", number(300, approx=True)),
        ("\u200e−۱٬۲۳۴٫۵", number(-1234.5)),  # as Babel writes a negative number
    ],
}


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [(lang, text, expected) for lang, rows in SPECIFICATION.items() for text, expected in rows],
)
def test_each_language_reads_its_own_forms(
    lang: str, text: str, expected: ParsedNumber | None
) -> None:
    assert parse_number(text, lang=lang) == expected


# "1.200", "1 200" and "1,5" across the languages: the thousand-fold error the issue saw.
READINGS = {
    #        "1.200"              "1 200"   "1,5"
    "en": (number(1.2), number(1200), None),
    "zh": (number(1.2), number(1200), None),
    "ru": (ambiguous(1200, 1.2), number(1200), number(1.5)),
    "es": (number(1200), number(1200), number(1.5)),
    "pt-BR": (number(1200), number(1200), number(1.5)),
    "pt": (number(1200), number(1200), number(1.5)),
    "id": (number(1200), number(1200), number(1.5)),
    "fa": (number(1.2), number(1200), None),
}


@pytest.mark.parametrize("lang", sorted(READINGS))
def test_the_three_forms_in_each_language(lang: str) -> None:
    assert (
        parse_number("1.200", lang=lang),
        parse_number("1 200", lang=lang),
        parse_number("1,5", lang=lang),
    ) == READINGS[lang]


def test_an_unknown_language_reads_as_english() -> None:
    assert parse_number("1.200", lang="xx") == parse_number("1.200")
    assert format_number(1200, lang="xx") == "1,200"


def test_babel_gives_the_separators() -> None:
    load_numbers_data()
    assert [locale_for(lang).decimal for lang in NEW] == [",", ",", ",", ",", "."]
    assert [locale_for(lang).space_groups for lang in NEW] == [True, False, False, False, False]
    assert locale_for("en") is None and locale_for("zh") is None


# --- what each language writes -----------------------------------------------------------------

FORMATTED = {
    "en": ["0", "1,200", "1,234.5", "0.33", "-1,234,567.5"],
    "zh": ["0", "1,200", "1,234.5", "0.33", "-1,234,567.5"],
    "ru": ["0", "1\u00a0200", "1\u00a0234,5", "0,33", "-1\u00a0234\u00a0567,5"],
    "es": ["0", "1.200", "1.234,5", "0,33", "-1.234.567,5"],
    "pt-BR": ["0", "1.200", "1.234,5", "0,33", "-1.234.567,5"],
    "id": ["0", "1.200", "1.234,5", "0,33", "-1.234.567,5"],
    "fa": ["۰", "۱٬۲۰۰", "۱٬۲۳۴٫۵", "۰٫۳۳", "-۱٬۲۳۴٬۵۶۷٫۵"],
}


@pytest.mark.parametrize("lang", sorted(FORMATTED))
def test_format_number_in_each_language(lang: str) -> None:
    values = [-0.001, 1200, 1234.5, 0.333, -1234567.5]
    assert [format_number(value, lang) for value in values] == FORMATTED[lang]


MONEY = [
    ("ru", "RUB", "1200", "1\u00a0200\u00a0₽"),
    ("ru", "RUB", "1200.5", "1\u00a0200,50\u00a0₽"),
    ("ru", "UZS", "50000", "50\u00a0000 сум"),
    ("es", "MXN", "1200", "$1.200"),
    ("es", "ARS", "1200.5", "$1.200,50"),
    ("es", "COP", "1200", "$1.200"),
    ("es", "UZS", "50000", "50.000 so'm"),
    ("es", "EUR", "1200.5", "1.200,50\u00a0€"),
    ("pt-BR", "BRL", "1200.5", "R$\u00a01.200,50"),
    ("pt-BR", "BRL", "-12", "-R$\u00a012"),
    ("id", "IDR", "50000", "Rp50.000"),
    ("id", "IDR", "50000.4", "Rp50.000"),  # the rupiah shows no decimals
    ("fa", "IRT", "50000", "۵۰٬۰۰۰ تومان"),
    ("fa", "IRR", "500000", "۵۰۰٬۰۰۰ ریال"),
    ("en", "CNY", "1200.5", "¥1,200.50"),  # English and Chinese as before
    ("zh", "RUB", "1200", "₽1,200"),
]


@pytest.mark.parametrize(("lang", "currency", "amount", "expected"), MONEY)
def test_format_money_in_each_language(
    lang: str, currency: str, amount: str, expected: str
) -> None:
    assert format_money(Decimal(amount), currency, lang) == expected


def test_format_money_keeps_its_old_call() -> None:
    assert format_money(Decimal("1200.5"), "CNY") == "¥1,200.50"
    assert format_money(Decimal("-12"), "USD") == "-$12"


@pytest.mark.parametrize(
    ("lang", "expected", "with_year"),
    [
        ("en", "03-05", "26-03-05"),  # as the progress table writes them
        ("zh", "03-05", "26-03-05"),
        ("ru", "5 мар.", "5 мар. 2026\u202fг."),
        ("es", "5 mar", "5 mar 2026"),
        ("pt-BR", "5 de mar.", "5 de mar. de 2026"),
        ("id", "5 Mar", "5 Mar 2026"),
        ("fa", "۵ مارس", "۵ مارس ۲۰۲۶"),
    ],
)
def test_format_day(lang: str, expected: str, with_year: str) -> None:
    day = datetime.date(2026, 3, 5)
    assert format_day(day, lang) == expected
    assert format_day(day, lang, year=True) == with_year


# --- properties --------------------------------------------------------------------------------

LANGS = st.sampled_from(ALL)
CHAT_ALPHABET = st.sampled_from(
    list("0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩,.٫٬،-–~+%٪ kKmM$₽")
    + ["тыс", "т", "к", "млн", "руб", "р.", "mil", "mi", "jt", "rb", "Rp", "R$", "M"]
    + ["هزار", "میلیون", "تومان", "ریال", "около", "unos", "\u00a0", "\u200e", "\u200f", "🔥"]
)
CHAT_TEXT = st.lists(CHAT_ALPHABET, max_size=30).map("".join)
CENTS = st.integers(min_value=0, max_value=10**12 - 1).map(lambda cents: cents / 100)


def close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)


def sane(result: ParsedNumber | None) -> None:
    if result is None:
        return
    assert math.isfinite(result.value) and abs(result.value) <= 1e15
    if result.alternative is not None:
        assert math.isfinite(result.alternative)
        assert result.alternative != result.value


@settings(max_examples=200)
@given(st.text(), LANGS)
def test_never_raises_on_any_text_in_any_language(text: str, lang: str) -> None:
    sane(parse_number(text, lang=lang))
    assert isinstance(parse_sale(text, lang), SaleEntry | SaleRejection)


@settings(max_examples=300)
@given(CHAT_TEXT, LANGS)
def test_never_raises_on_chat_like_text_in_any_language(text: str, lang: str) -> None:
    sane(parse_number(text, lang=lang))
    sale = parse_sale(f"/sold {text} @Ana", lang)
    if isinstance(sale, SaleRejection):
        assert rejection_text(sale, lang)


@given(st.text(alphabet=st.characters(codec="utf-8")), st.sampled_from(["xx", "", "EN", "pt_br"]))
def test_never_raises_on_any_language_name(text: str, lang: str) -> None:
    sane(parse_number(text, lang=lang))
    format_number(1.5, lang)


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), LANGS)
def test_format_number_parses_back_in_every_language(x: float, lang: str) -> None:
    result = parse_number(format_number(x, lang), lang=lang)
    assert result is not None and not result.ambiguous
    assert close(result.value, float(f"{x:.2f}"))


CURRENCIES = {
    "en": ["CNY", "USD", "EUR"],  # English reads the symbols it always did (not ₽)
    "zh": ["CNY", "HKD"],
    "ru": ["RUB", "UZS", "USD"],
    "es": ["MXN", "ARS", "COP", "EUR"],
    "pt-BR": ["BRL", "USD"],
    "id": ["IDR", "USD"],
    "fa": ["IRT", "USD"],
}


@given(CENTS, st.data())
def test_format_money_parses_back_in_every_language(x: float, data: st.DataObject) -> None:
    lang = data.draw(LANGS)
    currency = data.draw(st.sampled_from(CURRENCIES[lang]))
    amount = Decimal(repr(x)).quantize(Decimal("0.01"))
    if currency in ("IDR", "IRT", "COP"):  # shown without decimals
        amount = amount.quantize(Decimal(1))
    shown = format_money(amount, currency, lang)
    result = parse_number(shown, lang=lang)
    assert result is not None and not result.ambiguous, shown
    assert close(result.value, float(amount)), shown


@given(CENTS, st.sampled_from(NEW))
def test_native_digits_are_the_ascii_digits(x: float, lang: str) -> None:
    text = format_number(x, "en").replace(",", "")  # plain ASCII, a '.' decimal
    persian = text.translate(str.maketrans("0123456789.", "۰۱۲۳۴۵۶۷۸۹٫"))
    arabic = text.translate(str.maketrans("0123456789.", "٠١٢٣٤٥٦٧٨٩٫"))
    assert parse_number(persian, lang=lang) == parse_number(arabic, lang=lang)
    result = parse_number(persian, lang=lang)
    assert result is not None and close(result.value, float(text))


@given(st.integers(min_value=1, max_value=999), st.integers(min_value=0, max_value=999))
def test_a_group_of_three_after_a_dot_is_thousands_in_spanish_portuguese_and_indonesian(
    head: int, tail: int
) -> None:
    text = f"{head}.{tail:03d}"
    for lang in ("es", "pt-BR", "id"):
        assert parse_number(text, lang=lang) == number(head * 1000 + tail)
    assert parse_number(text, lang="ru") == ambiguous(head * 1000 + tail, float(text))
    assert parse_number(text) == number(float(text))  # English, as before


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=99))
def test_a_comma_and_one_or_two_digits_is_a_decimal_in_comma_languages(
    whole: int, cents: int
) -> None:
    text = f"{whole},{cents}"
    for lang in ("ru", "es", "pt-BR", "id"):
        result = parse_number(text, lang=lang)
        assert result is not None and not result.ambiguous
        assert close(result.value, float(f"{whole}.{cents}"))
    assert parse_number(text) is None  # English, as before


@given(st.text(max_size=40))
def test_english_and_chinese_read_as_before(text: str) -> None:
    assert parse_number(text, lang="en") == parse_number(text) == parse_number(text, lang="zh")


# --- the sale line -----------------------------------------------------------------------------

SALES = [
    ("es", "/sold 1.200 2 tortas @Ana", SaleEntry(Decimal(1200), 2, "tortas", "Ana")),
    ("es", "/sold 1,5 chicle", SaleEntry(Decimal("1.5"), None, "chicle")),
    ("es", "/sold $ 1.200 @Ana", SaleEntry(Decimal(1200), customer="Ana")),
    ("pt-BR", "/sold R$ 1.234,50 bolo", SaleEntry(Decimal("1234.5"), None, "bolo")),
    ("pt-BR", "/sold 1,2 mil bolo", SaleEntry(Decimal(1200), None, "bolo")),
    ("id", "/sold 50rb 2 kue", SaleEntry(Decimal(50_000), 2, "kue")),
    ("id", "/sold Rp 50.000 kue", SaleEntry(Decimal(50_000), None, "kue")),
    ("id", "/sold 1,2 jt tas", SaleEntry(Decimal(1_200_000), None, "tas")),
    ("ru", "/sold 1,2 тыс торт", SaleEntry(Decimal(1200), None, "торт")),
    ("ru", "/sold 1,2 тыс руб торт", SaleEntry(Decimal(1200), None, "торт")),
    ("ru", "/sold 500₽ 2 торта", SaleEntry(Decimal(500), 2, "торта")),
    ("ru", "/sold 1 200 ₽ торт", SaleEntry(Decimal(1200), None, "торт")),  # money: one amount
    ("ru", "/sold 1 200 руб", SaleEntry(Decimal(1200))),
    ("ru", "/sold 1 200,50 2 торта", SaleEntry(Decimal("1200.5"), 2, "торта")),  # cents too
    ("ru", "/sold 1 234 567,5", SaleEntry(Decimal("1234567.5"))),
    ("ru", "/sold -1 200 ₽ @Ира", SaleEntry(Decimal(-1200), customer="Ира")),
    ("fa", "/sold ۵۰ هزار تومان @Ali", SaleEntry(Decimal(50_000), customer="Ali")),
    ("fa", "/sold ۵۰۰٬۰۰۰ ریال", SaleEntry(Decimal(50_000))),
    ("fa", "/sold ۱۸۰ ۲ کیک", SaleEntry(Decimal(180), 2, "کیک")),
    ("en", "/sold 1 200", SaleEntry(Decimal(1), 200)),  # as before
    ("en", "/sold 1.200", SaleEntry(Decimal("1.2"))),
]


@pytest.mark.parametrize(("lang", "line", "expected"), SALES)
def test_a_sale_in_each_language(lang: str, line: str, expected: SaleEntry) -> None:
    assert parse_sale(line, lang) == expected


@pytest.mark.parametrize(
    ("lang", "line", "part", "readings"),
    [
        ("es", "/sold 1,200 @Ana", "1,200", ("1,2", "1.200")),
        ("pt-BR", "/sold 1,500 bolo", "1,500", ("1,5", "1.500")),
        ("ru", "/sold 1.200 торт", "1.200", ("1\u00a0200", "1,2")),
        ("ru", "/sold 1 200 торт", "1 200", ("1\u00a0200", "1 x 200")),
    ],
)
def test_an_amount_that_reads_two_ways_is_asked_again(
    lang: str, line: str, part: str, readings: tuple[str, str]
) -> None:
    rejection = parse_sale(line, lang)
    assert rejection == SaleRejection(RejectReason.AMBIGUOUS_AMOUNT, part)
    text = rejection_text(rejection, lang)  # in English until the language has its texts
    assert part in text
    assert all(reading in text for reading in readings), text


SALE_CENTS = st.integers(min_value=1, max_value=10**9).map(lambda cents: Decimal(cents) / 100)


@settings(max_examples=50)
@given(SALE_CENTS, LANGS)
def test_a_sale_command_reads_back_in_every_language(amount: Decimal, lang: str) -> None:
    entry = SaleEntry(amount.normalize(), 2, "cakes", "Ana")
    assert parse_sale(sale_command(entry, lang), lang) == entry


@settings(max_examples=100)
@given(SALE_CENTS, st.data())
def test_money_the_bot_wrote_reads_back_as_a_sale(amount: Decimal, data: st.DataObject) -> None:
    lang = data.draw(LANGS)
    currency = data.draw(st.sampled_from(CURRENCIES[lang]))
    if currency in ("IDR", "IRT", "COP"):
        amount = amount.quantize(Decimal(1)) or Decimal(1)
    line = f"/sold {format_money(amount, currency, lang)} cakes @Ana"
    assert parse_sale(line, lang) == SaleEntry(amount, None, "cakes", "Ana"), line


@pytest.mark.parametrize(
    ("lang", "currency", "expected"),
    [
        ("en", "CNY", ("¥1,235", "¥12.5", "1,234.5")),  # as before
        ("es", "MXN", ("$1.235", "$12,50", "1.234,5")),
        ("ru", "RUB", ("1\u00a0235\u00a0₽", "12,50\u00a0₽", "1\u00a0234,5")),
        ("fa", "IRT", ("۱٬۲۳۵ تومان", "۱۳ تومان", "۱٬۲۳۴٫۵")),
    ],
)
def test_the_templates_formatter_in_each_language(
    lang: str, currency: str, expected: tuple[str, str, str]
) -> None:
    f = Formatter(lang, currency)
    assert (f.money(1234.567), f.money(12.5), f.num(1234.5)) == expected
