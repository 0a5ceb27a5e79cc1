"""Button data: each kind packs and parses in one place, buttons already out in chats still
parse, forged data does not, and every kind is routed to its own step."""

from __future__ import annotations

import inspect
import re
from typing import Annotated, Literal, get_args, get_type_hints

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advice.checkin import OUTCOMES
from advice.data import LANGUAGES, LEVERS
from advice.schedule import CADENCES
from bot import callbacks
from bot.callbacks import (
    AdviceView,
    Back,
    Cadence,
    CallbackData,
    CheckinOffer,
    CheckinSettings,
    CheckupResume,
    Choose,
    CustomerAction,
    Day,
    Delete,
    Digest,
    DigestDay,
    DigestHour,
    DigestZone,
    Digits,
    DontKnow,
    FollowUp,
    FromLedger,
    Hour,
    Language,
    Menu,
    MultiDone,
    RoundAction,
    SaleCustomer,
    SalesFile,
    SameAsLastTime,
    Skip,
    Toggle,
    UndoSale,
    WhatIf,
    Zone,
    kinds,
    parse,
)
from bot.core.router import BUTTONS

# Data as the bot has written it into chats (f-strings before the kinds existed), and what
# each press means now.
SENT_BEFORE = {
    "a:7:2:1": Choose(checkup=7, question=2, option=1),
    "a:999999999:999:999": Choose(999_999_999, 999, 999),
    "m:7:3:5": Toggle(checkup=7, question=3, mask=5),
    "m:7:3:0": Toggle(7, 3, 0),
    "md:7:3:999999": MultiDone(checkup=7, question=3, mask=999_999),
    "bk:7:4": Back(checkup=7, question=4),
    "sk:7:10": Skip(checkup=7, question=10),
    "dk:7:0": DontKnow(checkup=7, question=0),
    "cu:go": CheckupResume("go"),
    "cu:restart": CheckupResume("restart"),
    "menu:checkup": Menu("checkup"),
    "menu:help": Menu("help"),
    "menu:checkin": Menu("checkin"),
    "menu:language": Menu("language"),
    "adv:why:12": AdviceView(view="why", report=12),
    "adv:more:12": AdviceView("more", 12),
    "wi:ask": WhatIf("ask"),
    "wi:traffic": WhatIf("traffic"),
    "wi:conversion": WhatIf("conversion"),
    "wi:order_value": WhatIf("order_value"),
    "wi:repeat": WhatIf("repeat"),
    "lang:en": Language("en"),
    "lang:zh": Language("zh"),
    "del:yes": Delete(confirmed=True),
    "del:no": Delete(confirmed=False),
    "co:yes": CheckinOffer(accepted=True),
    "co:no": CheckinOffer(accepted=False),
    "ci:go:12": RoundAction(action="go", round=12),
    "ci:snooze:1": RoundAction("snooze", 1),
    "ci:skip:1": RoundAction("skip", 1),
    "ci:pause:1": RoundAction("pause", 1),
    "cia:5:0": SameAsLastTime(checkup=5, question=0),
    "cia:5:9": SameAsLastTime(5, 9),
    "cil:5": FromLedger(checkup=5),
    "cil:999999999": FromLedger(999_999_999),
    "cif:5:tried": FollowUp(checkup=5, outcome="tried"),
    "cif:5:not_yet": FollowUp(5, "not_yet"),
    "cif:5:not_relevant": FollowUp(5, "not_relevant"),
    "cs:menu": CheckinSettings("menu"),
    "cs:resume": CheckinSettings("resume"),
    "csc:daily": Cadence("daily"),
    "csc:weekly": Cadence("weekly"),
    "csc:biweekly": Cadence("biweekly"),
    "csc:off": Cadence("off"),
    "csd:0": Day(weekday=0),
    "csd:6": Day(6),
    "csh:0": Hour(hour=0),
    "csh:9": Hour(9),
    "csh:23": Hour(23),
    "csz:0": Zone(zone=0),
    "csz:11": Zone(11),
    "csz:keep": Zone("keep"),
    "su:1": UndoSale(sale=1),
    "su:999999999": UndoSale(999999999),
    "sc:1:42": SaleCustomer(flow=1, customer=42),
    "sc:999999999:999999999": SaleCustomer(999999999, 999999999),
    "sc:0:new": SaleCustomer(0, "new"),
    "sc:7:none": SaleCustomer(7, "none"),
    "cf:sent:3": CustomerAction(action="sent", customer=3),
    "cf:later:3": CustomerAction("later", 3),
    "cf:no:3": CustomerAction("no", 3),
    "sf:csv": SalesFile(what="csv"),
    "dg:menu": Digest(choice="menu"),
    "dg:on": Digest("on"),
    "dg:off": Digest("off"),
    "dgd:0": DigestDay(weekday=0),
    "dgd:6": DigestDay(6),
    "dgh:0": DigestHour(hour=0),
    "dgh:23": DigestHour(23),
    "dgz:0": DigestZone(zone=0),
    "dgz:keep": DigestZone("keep"),
}


@pytest.mark.parametrize(("data", "button"), SENT_BEFORE.items())
def test_a_button_already_in_a_chat_parses_to_its_kind_and_packs_back_the_same(
    data: str, button: CallbackData
) -> None:
    assert parse(data) == button
    assert type(parse(data)) is type(button)
    assert button.pack() == data


def test_every_kind_has_data_already_sent_above() -> None:
    assert {type(button) for button in SENT_BEFORE.values()} == set(kinds().values())


def test_the_formats_listed_in_the_module_are_the_kinds_there_are() -> None:
    doc = callbacks.__doc__ or ""
    listed = dict(re.findall(r"^  ([a-z]+):\S*\s+(\w+)\s", doc, re.MULTILINE))
    assert listed == {prefix: kind.__name__ for prefix, kind in kinds().items()}
    assert len(listed) == 30


@pytest.mark.parametrize(
    "data",
    [
        # not the bot's at all
        None, "", "zzz", ":", "a::::", "x" * 65, "é" * 40, "menu:", "a:1:0:0:", "A:1:0:0", "CU:go",
        # a field too many or too few
        "a:1:0:0:0", "a:1:0", "bk:1:0:0", "cu:go:1", "cu", "lang:en:zh", "csz:keep:1",
        # numbers out of bounds
        "a:1000000000000:0:0", "a:1000000000:0:0", "su:2200000000", "a:1:1000:0", "a:1:0:1000", "m:1:3:" + "9" * 7, "adv:why:99999999999999",
        "cia:5:10", "csd:7", "csh:24", "csz:100", "ci:go:" + "9" * 13,
        # numbers written otherwise than the bot writes them
        "a:-1:0:0", "a:+1:0:0", "a: 1:0:0", "a:1 :0:0", "a:1:0:0\n", "a:1_0:0:0", "a:01:0:0", "csh:09",
        "csd:00", "a:1.0:0:0", "a:0x1:0:0",
        # digits that are not ASCII: Arabic-Indic, full-width, superscript
        "a:١:0:0", "a:1:0:٣", "csh:２", "csd:²",
        # words not in the list
        "cu:stop", "menu:admin", "wi:happiness", "wi:Traffic", "lang:fr", "del:maybe", "del:1", "co:maybe",
        "ci:send:1", "cif:5:maybe", "cil:5:0", "cil:x", "cs:open", "csc:hourly", "csz:Keep", "cia:5:x", "adv:report:1",
        # the bare /sold flow's customer: a sale's amount never rides in the button
        "sc:1:new:180", "sc:1:-180", "sc:1:1e3", "sc:1:042", "sc:1:1000000000", "sc:1:New", "sc:1:", "sc:lena:1", "sc:1:180.5",
        # long enough to be refused before it is read
        "a:1:0:0" + "0" * 60,
    ],
)  # fmt: skip
def test_forged_data_is_refused(data: str | None) -> None:
    assert parse(data) is None


PREFIXES = sorted(kinds())


@given(
    st.one_of(
        st.text(max_size=70),
        st.builds(
            "{}:{}".format,
            st.sampled_from(PREFIXES),
            st.text(alphabet="0123456789:abcdeghiklmnoprstuvwyz_-+ ١２²", max_size=30),
        ),
    )
)
def test_what_is_accepted_is_exactly_what_the_bot_would_write(data: str) -> None:
    """One spelling for each button: anything parse accepts, pack writes back unchanged."""
    button = parse(data)
    if button is not None:
        assert button.pack() == data
        assert len(data.encode()) <= 64


@given(st.integers(0, 10**9 - 1), st.integers(0, 999), st.integers(0, 999_999))
def test_numbers_within_their_bounds_go_there_and_back(
    checkup: int, question: int, mask: int
) -> None:
    for button in (
        Choose(checkup, question, question),
        Toggle(checkup, question, mask),
        MultiDone(checkup, question, mask),
    ):
        assert parse(button.pack()) == button


@pytest.mark.parametrize(
    "button",
    [
        Choose(10**12, 0, 0), Choose(1, 1000, 0), Choose(1, 0, -1), Toggle(1, 0, 10**6), Hour(24), Day(7),
        Zone(100), Zone("later"), SameAsLastTime(1, 10), Cadence("hourly"), WhatIf("happiness"), WhatIf("ask:1"),
        Delete("yes"), CheckinOffer(None), Choose(True, 0, 0), Choose(None, 0, 0), AdviceView("why", 1.0),
    ],
)  # fmt: skip
def test_a_value_out_of_its_fields_bounds_is_never_packed(button: CallbackData) -> None:
    """A bug, caught where the button is made: such data would be refused when pressed."""
    with pytest.raises(ValueError):
        button.pack()


def test_a_kind_is_a_frozen_value() -> None:
    button = Choose(1, 2, 3)
    with pytest.raises(AttributeError):
        button.option = 4  # type: ignore[misc]
    assert button == Choose(1, 2, 3) and hash(button) == hash(Choose(1, 2, 3))


def test_a_kind_whose_data_could_pass_64_bytes_cannot_be_defined() -> None:
    with pytest.raises(TypeError, match="64"):

        class TooLong(CallbackData, prefix="toolong"):
            a: Annotated[int, Digits(12)]
            b: Annotated[int, Digits(12)]
            c: Annotated[int, Digits(12)]
            d: Annotated[int, Digits(12)]
            e: Annotated[int, Digits(12)]

    assert "toolong" not in kinds()


def test_a_prefix_is_taken_once_and_every_field_says_how_it_is_written() -> None:
    with pytest.raises(TypeError, match="taken"):

        class AnotherAnswer(CallbackData, prefix="a"):
            choice: Literal["x"]

    with pytest.raises(TypeError, match="annotate"):

        class Unbounded(CallbackData, prefix="unbounded"):
            number: int

    assert kinds()["a"] is Choose and "unbounded" not in kinds()


def _words(kind: type[CallbackData], field: str) -> set[str]:
    return set(get_args(get_type_hints(kind)[field]))


def test_the_words_of_a_field_are_the_domains_own() -> None:
    assert _words(Cadence, "cadence") == set(CADENCES)
    assert _words(FollowUp, "outcome") == set(OUTCOMES)
    assert _words(WhatIf, "lever") == {*LEVERS, "ask"}
    assert _words(Language, "language") == set(LANGUAGES)


def test_each_kind_is_routed_to_one_step_that_takes_that_kind() -> None:
    assert set(BUTTONS) == set(kinds().values())
    for kind, step in BUTTONS.items():
        assert list(inspect.signature(step, follow_wrapped=False).parameters) == [
            "turn",
            "button",
            "pressed",
        ], step
        assert get_type_hints(inspect.unwrap(step))["button"] is kind, step
