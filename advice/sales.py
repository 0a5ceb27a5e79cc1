"""Read one sale line as a seller types it: "/sold 180 2 cakes @Lena #groups".

Public API
    ``parse_sale(text, lang) -> SaleEntry | SaleRejection``: never raises. ``text`` is the
    whole message or what follows the command (a leading ``/sold`` or ``/sold@SomeBot`` is
    dropped). Both languages' forms are read whatever ``lang`` is (a Chinese seller may type
    ``@Lena``); the amount and quantity are read in the seller's language ``lang``
    (:func:`advice.numbers.parse_number`: ``1.200`` is 1200 in Spanish, ``1,2 тыс`` 1200 in
    Russian), and an amount that reads two ways is refused (``AMBIGUOUS_AMOUNT``).
    ``format_sale(entry, lang, currency) -> str``: what was understood, to show back:
    "¥180 · 2 x cakes · Lena · Group chats" (the amount in ``lang``'s way of writing money).
    ``sale_command(entry, lang) -> str``: the entry as a command line that parses back to it.
    ``rejection_text(rejection, lang) -> str``: why a line was refused, in plain text (the
    bot escapes it; the part quoted may hold ``<``).
    ``parse_nickname(text) -> str | SaleRejection``: a customer's nickname typed on its own,
    checked as a sale line's is.
    ``SaleEntry``, ``SaleRejection``, ``RejectReason`` (a str enum), ``channel_for_tag``,
    ``tag_map``, ``first_tags``, ``channel_label``, ``format_money``, ``CUSTOMER_WORDS``,
    ``MAX_AMOUNT``, ``MAX_NICKNAME``, ``MAX_ITEMS``, ``MAX_QUANTITY``, ``MAX_LINE``.

How a line is read (words are separated by spaces)
    Amount, first and required: anything :func:`advice.numbers.parse_number` reads as one
    plain number, e.g. ``180``, ``1,200.50``, ``¥1.2k``, ``1.2万``, ``85元``, ``一百八``,
    ``1.2千``; a currency word or multiplier may stand apart (``¥ 180``, ``85 元``, ``1.2 k``).
    In the other languages three words may make the amount too (``۵۰ هزار تومان``,
    ``1,2 тыс руб``). Kept to the cent (two decimals). ``-180`` is a refund and must name
    the customer.
    Quantity, optional, right after the amount: a whole number ``2``, ``x2``, ``2x``,
    ``两``, ``3件``, or a Chinese count written into the item (``两个蛋糕`` is 2 x 蛋糕; the
    measure words are in data/sales.toml). A number with a fraction is an item word.
    Customer, optional: ``@Lena`` (one word), or ``to``/``给`` followed by the name, which
    runs to the end of the line (``to Aunt May``, ``给 小李``, ``给小李``, and with no space
    before it in Chinese, ``85元给小李``, ``两个蛋糕给小李``). Kept as typed
    (spaces collapsed), at most 40 characters, no ``<`` or ``>``.
    Channel, optional, anywhere: a ``#tag`` from data/sales.toml (``#groups``, ``#朋友圈``).
    Items: the words left between the quantity and the customer, as typed.

Refused, with a :class:`RejectReason` and the offending part: no amount, zero, more than
10,000,000, a negative amount without a customer, an unknown or second ``#tag``, a nickname
too long or holding markup, a quantity of 0 or above 10,000, items over 100 characters or
holding markup, a line over 200 characters.

Refused as ambiguous (the bot asks for the amount again): an amount whose separators read
two ways in the seller's language ("1,200" in Spanish is 1.2, or 1200 as English writes it;
"1.200" in Russian is 1200, or 1.2), and, where thousands are grouped with a space (Russian),
one to three digits followed by a word of exactly three ("1 200": 1200, or 1 times 200),
unless a money word follows ("1 200 ₽" is 1200).

Ambiguity, on purpose: an item word that is itself a currency word or multiplier right
after the amount joins it ("/sold 180 k" is 180,000); a first item word that is a whole
number is the quantity; "1 200" is 1 with a quantity of 200 (two words make the amount
only when one is a currency word or multiplier); a 给 inside an item word starts the
customer (补给包 would). ``sale_command`` writes a line that reads back the same for every
entry but one whose items start with such a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import cache

from advice import locales
from advice.chinese_numbers import CN_CHARS
from advice.data import load_sales_data
from advice.formatting import CURRENCY_SYMBOLS
from advice.numbers import ParsedNumber, format_number, parse_number
from advice.profile import CHANNELS
from advice.questionnaire import clean_text, load_questionnaire

MAX_AMOUNT = Decimal(10_000_000)  # a one-person shop's single sale; more is a typo
MAX_QUANTITY = 10_000
MAX_NICKNAME = 40
MAX_ITEMS = 100
MAX_LINE = 200  # what parse_number reads at most, too
CENT = Decimal("0.01")
CUSTOMER_WORDS = frozenset({"to", "给"})
_COMMAND = re.compile(r"^/sold(?:@\w+)?(?:\s|$)", re.IGNORECASE)
_TIMES = ("x", "×", "*")


class RejectReason(StrEnum):
    """Why a sale line was not stored; the bot explains each."""

    NO_AMOUNT = "no_amount"
    AMBIGUOUS_AMOUNT = "ambiguous_amount"
    ZERO_AMOUNT = "zero_amount"
    TOO_LARGE = "too_large"
    REFUND_NEEDS_CUSTOMER = "refund_needs_customer"
    UNKNOWN_TAG = "unknown_tag"
    TWO_CHANNELS = "two_channels"
    NO_NICKNAME = "no_nickname"
    NICKNAME_TOO_LONG = "nickname_too_long"
    NICKNAME_MARKUP = "nickname_markup"
    ZERO_QUANTITY = "zero_quantity"
    QUANTITY_TOO_LARGE = "quantity_too_large"
    ITEMS_TOO_LONG = "items_too_long"
    ITEMS_MARKUP = "items_markup"
    LINE_TOO_LONG = "line_too_long"


@dataclass(frozen=True, slots=True)
class SaleEntry:
    """One sale (or a refund, with a negative amount) as the seller logged it."""

    amount: Decimal
    quantity: int | None = None
    items: str | None = None
    customer: str | None = None
    channel: str | None = None

    @property
    def is_refund(self) -> bool:
        """True for a refund (a negative amount)."""
        return self.amount < 0


@dataclass(frozen=True, slots=True)
class SaleRejection:
    """A sale line that was not stored: why, and the part of the line at fault."""

    reason: RejectReason
    part: str = ""


# --- data --------------------------------------------------------------------------------------


@cache
def tag_map() -> dict[str, str]:
    """Every #tag (lower case, without '#') -> its channel; a channel's name is a tag too."""
    tags: dict[str, str] = {channel: channel for channel in CHANNELS}
    for channel, words in load_sales_data()["channel_tags"].items():
        tags.update((word.casefold(), channel) for word in words)
    return tags


@cache
def first_tags(lang: str) -> dict[str, str]:
    """The tag written for each channel in ``lang``: its first tag in that script."""
    raw = load_sales_data()["channel_tags"]
    chinese = lang == "zh"
    return {
        channel: next((w for w in words if _is_chinese(w) == chinese), words[0])
        for channel, words in raw.items()
    }


@cache
def _measure_words() -> str:
    """The regex alternation of measure words (个 件 份...)."""
    words = load_sales_data()["quantity"]["measure_words"]
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


def channel_for_tag(tag: str) -> str | None:
    """'#Groups' or '群' -> 'groups'; None for an unknown tag."""
    return tag_map().get(tag.removeprefix("#").casefold())


def _is_chinese(word: str) -> bool:
    """True when the word holds a CJK character."""
    return any("\u4e00" <= char <= "\u9fff" for char in word)


# --- parsing -----------------------------------------------------------------------------------


def parse_sale(text: str, lang: str) -> SaleEntry | SaleRejection:
    """Read a sale line; a rejection says why nothing should be stored. Never raises."""
    line = _COMMAND.sub("", clean_text(text)).strip()
    if len(line) > MAX_LINE:
        return SaleRejection(RejectReason.LINE_TOO_LONG, line[:20])
    words = line.replace("#", " #").split()
    tags = [word for word in words if word.startswith("#")]
    words = [word for word in words if not word.startswith("#")]
    channel = _read_channel(tags)
    if isinstance(channel, SaleRejection):
        return channel
    words, customer = _split_customer(words)
    if isinstance(customer, SaleRejection):
        return customer
    amount, words = _read_amount(words, lang)
    if isinstance(amount, SaleRejection):
        return amount
    if amount < 0 and customer is None:
        return SaleRejection(RejectReason.REFUND_NEEDS_CUSTOMER, f"{amount.normalize():f}")
    quantity, words = _read_quantity(words, lang)
    if isinstance(quantity, SaleRejection):
        return quantity
    items = " ".join(words) or None
    if items is not None and len(items) > MAX_ITEMS:
        return SaleRejection(RejectReason.ITEMS_TOO_LONG, items[:20])
    if items is not None and ("<" in items or ">" in items):
        return SaleRejection(RejectReason.ITEMS_MARKUP, items)
    return SaleEntry(amount, quantity, items, customer, channel)


def _read_channel(tags: list[str]) -> str | None | SaleRejection:
    """The one channel the #tags name, if any."""
    channels = set()
    for tag in tags:
        channel = channel_for_tag(tag)
        if channel is None:
            return SaleRejection(RejectReason.UNKNOWN_TAG, tag)
        channels.add(channel)
    if len(channels) > 1:
        return SaleRejection(RejectReason.TWO_CHANNELS, " ".join(tags))
    return next(iter(channels), None)


def _split_customer(words: list[str]) -> tuple[list[str], str | None | SaleRejection]:
    """Take the customer out: '@Lena' (one word) or 'to'/'给' and the rest of the line."""
    for index, word in enumerate(words):
        if word.startswith("@"):
            if len(word) > 1:
                return words[:index] + words[index + 1 :], _nickname(word[1:])
            return words[:index] + words[index + 2 :], _nickname(" ".join(words[index + 1 :][:1]))
        if index > 0 and word.casefold() in CUSTOMER_WORDS:
            return words[:index], _nickname(" ".join(words[index + 1 :]))
        if index > 0 and word.startswith("给") and len(word) > 1:
            return words[:index], _nickname(" ".join([word[1:], *words[index + 1 :]]))
        cut = word.find("给", 1)
        if 0 < cut < len(word) - 1:  # no space in Chinese: 85元给小李, 两个蛋糕给小李
            rest = " ".join([word[cut + 1 :], *words[index + 1 :]])
            return [*words[:index], word[:cut]], _nickname(rest)
    return words, None


def _nickname(name: str) -> str | SaleRejection:
    """A customer's nickname as typed, trimmed and bounded."""
    name = name.strip()
    if not name:
        return SaleRejection(RejectReason.NO_NICKNAME)
    if "<" in name or ">" in name:
        return SaleRejection(RejectReason.NICKNAME_MARKUP, name[:MAX_NICKNAME])
    if len(name) > MAX_NICKNAME:
        return SaleRejection(RejectReason.NICKNAME_TOO_LONG, name[:MAX_NICKNAME])
    return name


def parse_nickname(text: str) -> str | SaleRejection:
    """A customer's nickname typed on its own (``Aunt May``, ``@Lena``), read as a sale
    line reads one: spaces collapsed, at most 40 characters, no ``<`` or ``>``."""
    return _nickname(" ".join(clean_text(text).removeprefix("@").split()))


def _read_amount(words: list[str], lang: str) -> tuple[Decimal | SaleRejection, list[str]]:
    """The amount from the first word, or the first two ('¥ 180', '85 元', '1.2 k')."""
    if not words:
        return SaleRejection(RejectReason.NO_AMOUNT), words
    locale = locales.locale_for(lang)
    if locale is not None and locale.space_groups:
        grouped = _space_grouped(words, lang)
        if grouped is not None:
            return grouped
    candidates = [(words[0], 1)]
    if len(words) > 1 and not (_has_numeral(words[0]) and _has_numeral(words[1])):
        candidates.insert(0, (f"{words[0]} {words[1]}", 2))
        # the other languages' amounts may take three words: "۵۰ هزار تومان", "1,2 тыс руб"
        if locale is not None and len(words) > 2 and not _has_numeral(words[2]):
            candidates.insert(0, (" ".join(words[:3]), 3))
    for typed, used in candidates:
        number = parse_number(typed, lang)
        if number is not None and _plain(number):
            if number.ambiguous:
                return SaleRejection(RejectReason.AMBIGUOUS_AMOUNT, typed), words
            return _checked_amount(number.value, typed), words[used:]
    return SaleRejection(RejectReason.NO_AMOUNT, words[0]), words


_GROUP_LEAD = re.compile(r"[+-]?[0-9]{1,3}")
_GROUP = re.compile(r"[0-9]{3}(?:[.,][0-9]{1,2})?")  # a thousands group, the last with cents


def _space_grouped(words: list[str], lang: str) -> tuple[Decimal | SaleRejection, list[str]] | None:
    """Where thousands are grouped with a space (Russian), an amount written over several
    words: '1 200 ₽' and '1 200,50' are 1200 and 1200.5, but '1 200' alone reads two ways
    (1200, or 1 times 200) and is refused. None when the line does not start so."""
    count = 1
    while count < len(words) and _GROUP.fullmatch(words[count]):
        count += 1
        if not words[count - 1].isdigit():  # cents end the number
            break
    if count == 1 or not _GROUP_LEAD.fullmatch(words[0]):
        return None
    digits = " ".join(words[:count])
    if count < len(words) and not _has_numeral(words[count]):  # "1 200 ₽": money
        typed = f"{digits} {words[count]}"
        money = parse_number(typed, lang)
        if money is not None and _plain(money) and not money.ambiguous:
            return _checked_amount(money.value, typed), words[count + 1 :]
    if not words[count - 1].isdigit():  # "1 200,50": cents are no quantity
        number = parse_number(digits, lang)
        if number is not None and _plain(number) and not number.ambiguous:
            return _checked_amount(number.value, digits), words[count:]
    return SaleRejection(RejectReason.AMBIGUOUS_AMOUNT, digits), words


def _has_numeral(word: str) -> bool:
    """True when the word holds a digit or a Chinese numeral."""
    return any(char.isdigit() or char in CN_CHARS for char in word)


def _plain(number: ParsedNumber) -> bool:
    """One figure: not a range, a percentage, a length of time or a rate."""
    return not (number.is_range or number.percent or number.unit or number.per)


def _checked_amount(value: float, typed: str) -> Decimal | SaleRejection:
    """The amount to the cent, refused when zero or beyond the bound."""
    amount = Decimal(repr(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    if amount == 0:
        return SaleRejection(RejectReason.ZERO_AMOUNT, typed)
    if abs(amount) > MAX_AMOUNT:
        return SaleRejection(RejectReason.TOO_LARGE, typed)
    return amount


def _read_quantity(
    words: list[str], lang: str = "en"
) -> tuple[int | None | SaleRejection, list[str]]:
    """A count at the start of what is left: '2', 'x2', '两', '3件', '两个蛋糕'."""
    if not words:
        return None, words
    first = words[0]
    bare = first.removeprefix(_TIMES[0]).removeprefix(_TIMES[1]).removeprefix(_TIMES[2])
    if bare == first:
        bare = first.removesuffix(_TIMES[0]).removesuffix(_TIMES[1])
    count = _whole(parse_number(bare, lang)) if bare else None
    rest = words[1:]
    if count is None:
        split = re.fullmatch(rf"(.+?)({_measure_words()})(.+)", first)
        if split is None or not _has_numeral(split[1]):
            return None, words
        count = _whole(parse_number(split[1], lang))
        if count is None:
            return None, words
        rest = [split[3], *rest]
    if rest and rest[0].casefold() in _TIMES:  # "2 x cakes", as format_sale shows it
        rest = rest[1:]
    if count == 0:
        return SaleRejection(RejectReason.ZERO_QUANTITY, first), words
    if count > MAX_QUANTITY:
        return SaleRejection(RejectReason.QUANTITY_TOO_LARGE, first), words
    return count, rest


def _whole(number: ParsedNumber | None) -> int | None:
    """A plain, non-negative whole number that reads one way only, else None."""
    if number is None or not _plain(number) or number.approximate or number.ambiguous:
        return None
    value = number.value
    if value < 0 or value != int(value):
        return None
    return int(value)


# --- showing -----------------------------------------------------------------------------------


def format_money(amount: Decimal, currency: str, lang: str = "en") -> str:
    """'¥180', '¥1,200.50', '-$12', '180 MYR': a sale's amount to the cent.

    English and Chinese (the default) write every amount so; the other languages write it
    their way with Babel (:func:`advice.locales.format_money`): '1 200,50 ₽', 'Rp50.000',
    'R$ 1.200,50', '$1.200' (a Mexican peso in Spanish), '۵۰٬۰۰۰ تومان'."""
    if lang not in ("en", "zh") and locales.locale_for(lang) is not None:
        return locales.format_money(amount, currency, lang)
    whole = amount == amount.to_integral_value()
    text = f"{abs(amount):,.0f}" if whole else f"{abs(amount):,.2f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    shown = f"{symbol}{text}" if symbol else f"{text} {currency}"
    return f"-{shown}" if amount < 0 else shown


def channel_label(channel: str, lang: str) -> str:
    """The check-up's name for a channel: 'groups' -> 'Group chats'."""
    question = load_questionnaire().by_field["channels"]
    labels = {option.value: option.label[lang] for option in question.options}
    return labels.get(channel, channel)


def format_sale(entry: SaleEntry, lang: str, currency: str) -> str:
    """What was understood: '¥180 · 2 x cakes · Lena · Group chats'."""
    parts = [format_money(entry.amount, currency, lang)]
    if entry.quantity is not None and entry.items is not None:
        parts.append(f"{entry.quantity} x {entry.items}")
    elif entry.items is not None or entry.quantity is not None:
        parts.append(entry.items or f"x{entry.quantity}")
    if entry.customer is not None:
        parts.append(entry.customer)
    if entry.channel is not None:
        parts.append(channel_label(entry.channel, lang))
    return " · ".join(parts)


def sale_command(entry: SaleEntry, lang: str) -> str:
    """The entry as a /sold line that :func:`parse_sale` reads back to the same entry."""
    parts = ["/sold", f"{entry.amount.normalize():f}"]
    if entry.quantity is not None:
        parts.append(str(entry.quantity))
    if entry.items is not None:
        parts.append(entry.items)
    if entry.customer is not None:
        if " " in entry.customer or entry.customer.startswith("@"):
            parts.append(f"{'给' if lang == 'zh' else 'to'} {entry.customer}")
        else:
            parts.append(f"@{entry.customer}")
    if entry.channel is not None:
        parts.append(f"#{first_tags(lang)[entry.channel]}")
    return " ".join(parts)


_LIMITS = {
    RejectReason.TOO_LARGE: f"{MAX_AMOUNT:,}",
    RejectReason.NICKNAME_TOO_LONG: str(MAX_NICKNAME),
    RejectReason.QUANTITY_TOO_LARGE: f"{MAX_QUANTITY:,}",
    RejectReason.ITEMS_TOO_LONG: str(MAX_ITEMS),
    RejectReason.LINE_TOO_LONG: str(MAX_LINE),
}


def rejection_text(rejection: SaleRejection, lang: str) -> str:
    """Why a sale line was not stored, in the seller's language (plain text)."""
    texts = load_sales_data()["rejection"][rejection.reason.value]
    text = str(texts.get(lang) or texts["en"])  # the other languages' texts come later
    tags = " ".join(f"#{tag}" for tag in first_tags(lang).values())
    limit = _LIMITS.get(rejection.reason, "")
    one, other = _two_readings(rejection, lang)
    return text.format(part=rejection.part, limit=limit, tags=tags, one=one, other=other)


def _two_readings(rejection: SaleRejection, lang: str) -> tuple[str, str]:
    """The two readings of an ambiguous amount, written in the seller's language."""
    if rejection.reason is not RejectReason.AMBIGUOUS_AMOUNT:
        return "", ""
    number = parse_number(rejection.part, lang)
    if number is not None and number.alternative is not None:
        return format_number(number.value, lang), format_number(number.alternative, lang)
    first, _, second = rejection.part.partition(" ")  # "1 200": 1200, or 1 times 200
    joined = parse_number(f"{first}{second}", lang)
    whole = format_number(joined.value, lang) if joined is not None else rejection.part
    return whole, f"{first} x {second}"
