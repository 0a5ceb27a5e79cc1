"""Button data: every kind of button the bot sends, packed and parsed in this one place.

A kind is a frozen dataclass with a short prefix and typed fields (as aiogram's
``CallbackData``): ``Choose(checkup=7, question=2, option=1).pack()`` is ``"a:7:2:1"``, and
:func:`parse` gives that object back. Anyone can forge the data of a button press, so
:func:`parse` is strict: the exact number of fields, whole numbers in ASCII digits within
their field's width (no sign, no leading zero), words from the field's list only, at most 64
bytes; anything else is None. Whatever it accepts, ``pack()`` writes back unchanged.

The format is the one buttons already out in chats carry (one line a kind):
  a:<checkup>:<question>:<option>     Choose           answer a choice question
  m:<checkup>:<question>:<mask>       Toggle           tick in a multi-choice question (mask = chosen after it)
  md:<checkup>:<question>:<mask>      MultiDone        done with a multi-choice question
  bk:<checkup>:<question>             Back             back to the previous question
  sk:<checkup>:<question>             Skip             skip an optional question
  dk:<checkup>:<question>             DontKnow         "I don't know"
  cu:go|restart                       CheckupResume    continue or restart a check-up
  menu:checkup|help|checkin|language  Menu             the start menu
  adv:why|more:<report>               AdviceView       explain a report / more actions
  wi:<lever>|ask                      WhatIf           a lever at its benchmark / which lever?
  lang:en|zh                          Language         choose the language
  del:yes|no                          Delete           confirm deletion
  co:yes|no                           CheckinOffer     accept or decline the offer of check-ins
  ci:go|snooze|skip|pause:<round>     RoundAction      a check-in message's buttons
  cia:<checkup>:<question>            SameAsLastTime   "same as last time" in a check-in
  cif:<checkup>:<outcome>             FollowUp         did you try last time's top action
  cil:<checkup>                       FromLedger       the ledger's orders and revenue, right
  cs:menu|resume                      CheckinSettings  check-in settings / resume after a pause
  csc:<cadence>                       Cadence          how often
  csd:<0-6>                           Day              which day of the week
  csh:<0-23>                          Hour             at what hour
  csz:<index>|keep                    Zone             a time zone of the list, or the one set
  su:<sale>                           UndoSale         take a sale out of the ledger
  sc:<flow>:<customer>|new|none       SaleCustomer     who bought what a bare /sold was given
  cf:sent|later|no:<customer>         CustomerAction   a due customer followed up / later / not a regular
  sf:csv                              SalesFile        the ledger as a CSV file
  dg:menu|on|off                      Digest           the weekly reminder of due customers: settings, set up, stop
  dgd:<0-6>                           DigestDay        the reminder's day of the week
  dgh:<0-23>                          DigestHour       the reminder's hour
  dgz:<index>|keep                    DigestZone       the reminder's time zone, of the list or the one set
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from operator import attrgetter, call
from typing import (
    Annotated,
    Any,
    ClassVar,
    Literal,
    cast,
    dataclass_transform,
    get_args,
    get_origin,
    get_type_hints,
)

from advice.checkin import Outcome
from advice.data import Lever

MAX_BYTES = 64  # Telegram's limit on a button's data
SEPARATOR = ":"


# --- how a field is written --------------------------------------------------------------
# A codec gives the regular expression of a field's text (ASCII only, one spelling for each
# value), and how to read a match back. A value is written as str() gives it, but for words
# that stand for another value (``yes`` for True); pack() checks the whole data against its
# kind's pattern, so a value out of bounds is never sent.
class Digits:
    """A whole number from 0 to ``most``, written in at most ``width`` ASCII digits without
    a leading zero."""

    __slots__ = ("most", "pattern", "width")
    read = int
    spelling = None

    def __init__(self, width: int, most: int | None = None) -> None:
        self.width = width
        self.most = 10**width - 1 if most is None else most
        if self.most == 10**width - 1:
            self.pattern = f"0|[1-9][0-9]{{0,{width - 1}}}"
        elif self.most < 100 and len(str(self.most)) <= width:  # a short list of numbers
            self.pattern = "|".join(map(str, range(self.most + 1)))
        else:
            raise ValueError(f"no pattern for 0 to {self.most} in {width} digits")


class Words:
    """One of a few words, each standing for a value (itself, unless given)."""

    __slots__ = ("by_word", "pattern", "read", "spelling", "width")

    def __init__(self, *words: str, values: tuple[Any, ...] | None = None) -> None:
        if not words or not all(re.fullmatch(r"[a-z_]+", w) for w in words):
            raise ValueError(f"words must be lower-case ASCII letters: {words!r}")
        self.by_word = dict(zip(words, words if values is None else values, strict=True))
        self.spelling = None if values is None else dict(zip(values, words, strict=True))
        self.pattern = "|".join(words)
        self.read = self.by_word.__getitem__
        self.width = max(map(len, words))


class Either:
    """A number or a word (``csz:3``, ``csz:keep``)."""

    __slots__ = ("number", "pattern", "width", "words")
    spelling = None

    def __init__(self, number: Digits, words: Words) -> None:
        self.number, self.words = number, words
        self.pattern = f"{number.pattern}|{words.pattern}"
        self.width = max(number.width, words.width)

    def read(self, part: str) -> Any:
        return int(part) if part[0] in "0123456789" else self.words.read(part)


Codec = Digits | Words | Either

# A row of the database: a check-up, a report, a round, a sale, a customer. Nine digits: a
# forged id stays within the 32-bit id columns (a billion rows is beyond any one bot).
Id = Annotated[int, Digits(9)]
Index = Annotated[int, Digits(3)]  # a question's or an option's place in its list
Mask = Annotated[int, Digits(6)]  # the options chosen, one bit each
YesNo = Annotated[bool, Words("yes", "no", values=(True, False))]


# --- the kinds ---------------------------------------------------------------------------
_KINDS: dict[str, type[CallbackData]] = {}


@dataclass_transform(frozen_default=True)
class CallbackData:
    """The base of every kind: ``class Hour(CallbackData, prefix="csh"): hour: ...``.

    Fields are written in the order they are declared. Each field's annotation says how it
    is written: a ``Literal`` of words, or ``Annotated[type, codec]``. A kind whose longest
    data could exceed 64 bytes is refused when it is defined."""

    prefix: ClassVar[str]
    _codecs: ClassVar[tuple[Codec, ...]]
    _names: ClassVar[tuple[str, ...]]
    _pattern: ClassVar[re.Pattern[str]]  # the whole data, one group a field
    _template: ClassVar[str]  # "a:%s:%s:%s"
    _values: ClassVar[Callable[[Any], Any]]
    _spellings: ClassVar[tuple[dict[Any, str] | None, ...] | None]  # None: as str() writes them
    _reads: ClassVar[tuple[Callable[[str], Any], ...] | None]  # None: int for each field

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not re.fullmatch(r"[a-z]+", prefix) or prefix in _KINDS:
            raise TypeError(f"{cls.__name__}: prefix {prefix!r} is taken or not lower-case letters")
        dataclass(frozen=True)(cls)
        hints = get_type_hints(cls, include_extras=True)
        cls.prefix = prefix
        cls._names = tuple(f.name for f in fields(cast(Any, cls)))
        cls._codecs = tuple(_codec(cls, name, hints[name]) for name in cls._names)
        longest = len(prefix) + sum(len(SEPARATOR) + codec.width for codec in cls._codecs)
        if not cls._codecs or longest > MAX_BYTES:
            raise TypeError(
                f"{cls.__name__}: needs 1 to {MAX_BYTES} bytes of fields, may take {longest}"
            )
        cls._pattern = re.compile(
            prefix + "".join(f"{SEPARATOR}({c.pattern})" for c in cls._codecs)
        )
        cls._template = prefix + f"{SEPARATOR}%s" * len(cls._codecs)
        cls._values = attrgetter(*cls._names)
        spellings = tuple(c.spelling for c in cls._codecs)
        cls._spellings = None if spellings == (None,) * len(spellings) else spellings
        reads = tuple(c.read for c in cls._codecs)
        cls._reads = None if all(read is int for read in reads) else reads
        _KINDS[prefix] = cls

    def pack(self) -> str:
        """The button's data, as :func:`parse` reads it; ValueError for a value out of its
        field's bounds (a bug: it would be refused when pressed)."""
        values = type(self)._values(self)
        if len(self._names) == 1:  # attrgetter gave the value alone
            values = (values,)
        if self._spellings is not None:  # a word standing for another value (yes: True)
            values = tuple(
                v if s is None else s.get(v, "")
                for s, v in zip(self._spellings, values, strict=True)
            )
        data = self._template % values
        if self._pattern.fullmatch(data) is None:
            raise ValueError(f"{self!r}: a value out of its field's bounds")
        assert len(data) <= MAX_BYTES, data  # the kind's definition proved it
        return data


def _codec(cls: type, name: str, hint: Any) -> Codec:
    if get_origin(hint) is Literal:
        return Words(*get_args(hint))
    codecs = [
        m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Digits | Words | Either)
    ]
    if len(codecs) != 1:
        raise TypeError(
            f"{cls.__name__}.{name}: annotate it with a Literal of words or Annotated[type, codec]"
        )
    return codecs[0]


def parse(data: str | None) -> CallbackData | None:
    """The button a press carries, or None for anything this bot would not have sent.

    One dictionary look-up and one regular expression (its kind's) for any data: a press
    of an answer is the update the bot gets most."""
    if not data or len(data) > MAX_BYTES:
        return None
    kind: Any = _KINDS.get(data.split(SEPARATOR, 1)[0])
    match = kind._pattern.fullmatch(data) if kind is not None else None
    if match is None:
        return None
    if kind._reads is None:  # numbers only (a press of an answer)
        return kind(*map(int, match.groups()))
    return kind(*map(call, kind._reads, match.groups()))


def kinds() -> dict[str, type[CallbackData]]:
    """Every kind of button, by prefix."""
    return dict(_KINDS)


# A question of a check-up.
class Choose(CallbackData, prefix="a"):
    checkup: Id
    question: Index
    option: Index


class Toggle(CallbackData, prefix="m"):
    checkup: Id
    question: Index
    mask: Mask  # the options chosen once this one is ticked or unticked


class MultiDone(CallbackData, prefix="md"):
    checkup: Id
    question: Index
    mask: Mask


class Back(CallbackData, prefix="bk"):
    checkup: Id
    question: Index


class Skip(CallbackData, prefix="sk"):
    checkup: Id
    question: Index


class DontKnow(CallbackData, prefix="dk"):
    checkup: Id
    question: Index


QuestionButton = Choose | Toggle | MultiDone | Back | Skip | DontKnow


# Menus, advice and the seller's data.
class CheckupResume(CallbackData, prefix="cu"):
    choice: Literal["go", "restart"]


class Menu(CallbackData, prefix="menu"):
    item: Literal["checkup", "help", "checkin", "language"]


class AdviceView(CallbackData, prefix="adv"):
    view: Literal["why", "more"]
    report: Id


class WhatIf(CallbackData, prefix="wi"):
    lever: Literal[Lever, "ask"]  # ask: which lever?


class Language(CallbackData, prefix="lang"):
    language: Literal["en", "zh"]


class Delete(CallbackData, prefix="del"):
    confirmed: YesNo


# Check-ins.
class CheckinOffer(CallbackData, prefix="co"):
    accepted: YesNo


class RoundAction(CallbackData, prefix="ci"):
    action: Literal["go", "snooze", "skip", "pause"]
    round: Id


class SameAsLastTime(CallbackData, prefix="cia"):
    checkup: Id
    question: Annotated[int, Digits(1)]


class FromLedger(CallbackData, prefix="cil"):
    checkup: Id


class FollowUp(CallbackData, prefix="cif"):
    checkup: Id
    outcome: Outcome


class CheckinSettings(CallbackData, prefix="cs"):
    choice: Literal["menu", "resume"]


class Cadence(CallbackData, prefix="csc"):
    cadence: Literal["daily", "weekly", "biweekly", "off"]


class Day(CallbackData, prefix="csd"):
    weekday: Annotated[int, Digits(1, most=6)]  # 0 is Monday


class Hour(CallbackData, prefix="csh"):
    hour: Annotated[int, Digits(2, most=23)]


class Zone(CallbackData, prefix="csz"):
    zone: Annotated[int | Literal["keep"], Either(Digits(2), Words("keep"))]  # an index of the list


# The sales ledger and the customer book.
class UndoSale(CallbackData, prefix="su"):
    sale: Id


class SaleCustomer(CallbackData, prefix="sc"):
    """The customer of the sale a bare /sold is given: one of the seller's (by id), a new
    one (typed next) or none. The sale itself waits in the database (settings.sale_pending),
    never in the button: ``flow`` is the number of the flow that showed the button."""

    flow: Id
    customer: Annotated[int | Literal["new", "none"], Either(Digits(9), Words("new", "none"))]


class CustomerAction(CallbackData, prefix="cf"):
    action: Literal["sent", "later", "no"]  # followed up; remind later; not a regular
    customer: Id


class SalesFile(CallbackData, prefix="sf"):
    what: Literal["csv"]


# The weekly reminder of due customers.
class Digest(CallbackData, prefix="dg"):
    choice: Literal["menu", "on", "off"]  # what is set; set it up (day, hour, zone); stop


class DigestDay(CallbackData, prefix="dgd"):
    weekday: Annotated[int, Digits(1, most=6)]  # 0 is Monday


class DigestHour(CallbackData, prefix="dgh"):
    hour: Annotated[int, Digits(2, most=23)]


class DigestZone(CallbackData, prefix="dgz"):
    zone: Annotated[int | Literal["keep"], Either(Digits(2), Words("keep"))]  # an index of the list
