"""Which step an event goes to: commands, typed text, other messages and buttons.

:func:`decide` is the whole conversation as one pure function: a snapshot and an event in,
the writes and replies out. Every button kind of :mod:`bot.callbacks` has its step in
:data:`BUTTONS`; data the bot would not have sent gets the unknown-button reply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot import callbacks as cb
from bot.core import (
    advice,
    checkin_settings,
    checkins,
    checkup,
    customers,
    digest,
    menus,
    pricing,
    sales,
    seller_data,
)
from bot.core.events import Command, Edited, Event, NotText, Pressed, Typed
from bot.core.snapshot import Snapshot
from bot.core.turn import Turn
from bot.core.values import CheckupKind
from bot.core.writes import Decision
from bot.replies import Reply, text, unknown_button


def decide(snapshot: Snapshot, event: Event) -> Decision:
    """The step for ``event`` run on ``snapshot``: what to write and what to reply.

    Raises :class:`~bot.core.snapshot.NeedsMore` when the step reads something the
    snapshot has not loaded: load it and decide again."""
    turn = Turn(snapshot)
    if isinstance(event, Command):
        replies = COMMANDS.get(event.name, _unknown_command)(turn, event)
    elif isinstance(event, Typed):
        replies = _typed(turn, event.text)
    elif isinstance(event, Pressed):
        replies = _pressed(turn, event)
    elif isinstance(event, NotText):
        replies = _not_text(turn, event.kind)
    elif isinstance(event, Edited):
        replies = _edited(turn)
    else:  # pragma: no cover - the Event union is closed
        raise TypeError(f"not an event: {event!r}")
    return Decision(replies, turn.writes, turn.after())


# --- commands ----------------------------------------------------------------------------
def set_language(turn: Turn, lang: str) -> list[Reply]:
    """The language from now on; a check-up (or check-in) in progress goes on, its current
    question asked again in the new language."""
    turn.set_language(lang)
    active = turn.active_checkup()
    if active is not None:
        return [
            Reply(text("language_set_checkup_goes_on", lang)),
            *checkup.ask_current(turn, active),
        ]
    checkin = turn.active_checkup(CheckupKind.CHECKIN)
    if checkin is not None:
        goes_on = Reply(text("language_set_checkin_goes_on", lang))
        return [goes_on, *checkins.ask_current(turn, checkin)]
    return [Reply(text("language_set", lang))]


def _cancel(turn: Turn, event: Command) -> list[Reply]:
    if turn.active_checkup() is None:
        checkin = turn.active_checkup(CheckupKind.CHECKIN)
        if checkin is not None:
            return checkins.cancel_checkin(turn, checkin)
    return checkup.cancel_checkup(turn)


def _stats(turn: Turn, event: Command) -> list[Reply]:
    """Figures for the operators in ADMIN_IDS; to anyone else the command does not exist."""
    if not turn.snapshot.admin:
        return _unknown_command(turn, event)
    return seller_data.stats_reply(turn)


def _unknown_command(turn: Turn, event: Command) -> list[Reply]:
    active = turn.active_checkup()
    if active is not None:
        during = Reply(text("command_during_checkup", turn.user.language))
        return [during, *checkup.ask_current(turn, active)]
    return [Reply(text("unknown_command", turn.user.language))]


CommandStep = Callable[[Turn, Command], list[Reply]]
COMMANDS: dict[str, CommandStep] = {
    "start": lambda turn, event: menus.welcome(turn, event.first_name),
    "help": lambda turn, event: menus.help_reply(turn),
    "privacy": lambda turn, event: menus.privacy_reply(turn),
    "language": lambda turn, event: menus.language_menu(turn),
    "checkup": lambda turn, event: checkup.begin_checkup(turn),
    "cancel": _cancel,
    "advice": lambda turn, event: advice.show_advice(turn),
    "why": lambda turn, event: advice.show_advice(turn, view="why"),
    "whatif": lambda turn, event: advice.whatif(turn, args=event.args.strip() or None),
    "progress": lambda turn, event: advice.show_progress(turn),
    "price": lambda turn, event: pricing.price(turn, event.args),
    "export": lambda turn, event: seller_data.export_data(turn),
    "delete": lambda turn, event: seller_data.delete_prompt(turn),
    "checkin": lambda turn, event: checkin_settings.settings_menu(turn),
    "stats": _stats,
    "sold": sales.sold,
    "sales": lambda turn, event: sales.sales_overview(turn),
    "customers": lambda turn, event: customers.customers_book(turn),
}


# --- messages ----------------------------------------------------------------------------
def _typed(turn: Turn, typed: str) -> list[Reply]:
    active = turn.active_checkup()
    if active is not None:
        return checkup.answer_text(turn, active, typed)
    checkin = turn.active_checkup(CheckupKind.CHECKIN)
    if checkin is not None:
        return checkins.answer_text(turn, checkin, typed)
    prompt = checkin_settings.awaiting(turn.settings(), turn.now)
    if prompt == "hour":
        return checkin_settings.typed_hour(turn, typed)
    if prompt == "time_zone":
        return checkin_settings.typed_zone(turn, typed)
    if prompt == "digest_hour":
        return digest.typed_hour(turn, typed)
    if prompt == "digest_zone":
        return digest.typed_zone(turn, typed)
    if sales.awaits_sale(turn):
        return sales.typed_sale(turn, typed)
    return menus.idle_text(turn)


def _not_text(turn: Turn, kind: str) -> list[Reply]:
    lang = turn.user.language
    replies = [Reply(text("only_text", lang, kind=text(f"kind_{kind}", lang)))]
    active = turn.active_checkup()
    if active is not None:
        replies += checkup.current_question(turn, active)
    return replies


def _edited(turn: Turn) -> list[Reply]:
    if turn.active_checkup() is None:
        return []
    return [Reply(text("edited_ignored", turn.user.language))]


# --- buttons -----------------------------------------------------------------------------
# A button's step: (the turn, the button pressed, the id of the message it is on).
ButtonStep = Callable[[Turn, Any, int | None], list[Reply]]


def _pressed(turn: Turn, event: Pressed) -> list[Reply]:
    """Any button press: its kind's step, or the unknown-button reply for data the bot would
    not have sent."""
    button = cb.parse(event.data)
    if button is None:
        return [unknown_button(turn.user.language)]
    return BUTTONS[type(button)](turn, button, event.message_id)


def _resume_pressed(turn: Turn, button: cb.CheckupResume, pressed: int | None) -> list[Reply]:
    if button.choice == "go":
        return checkup.continue_checkup(turn)
    return checkup.restart_checkup(turn)


def _menu_pressed(turn: Turn, button: cb.Menu, pressed: int | None) -> list[Reply]:
    if button.item == "checkup":
        return checkup.begin_checkup(turn)
    if button.item == "checkin":
        return checkin_settings.settings_menu(turn)
    if button.item == "language":
        return menus.language_menu(turn)
    return menus.help_reply(turn)


def _advice_pressed(turn: Turn, button: cb.AdviceView, pressed: int | None) -> list[Reply]:
    return advice.show_advice(turn, button.view, button.report)


def _whatif_pressed(turn: Turn, button: cb.WhatIf, pressed: int | None) -> list[Reply]:
    return advice.whatif(turn, lever=button.lever)  # "ask": which lever?


def _language_pressed(turn: Turn, button: cb.Language, pressed: int | None) -> list[Reply]:
    return set_language(turn, button.language)


BUTTONS: dict[type[cb.CallbackData], ButtonStep] = {
    cb.Choose: checkup.choose,
    cb.Toggle: checkup.toggle,
    cb.MultiDone: checkup.multi_done,
    cb.Back: checkup.back,
    cb.Skip: checkup.skip,
    cb.DontKnow: checkup.dont_know,
    cb.CheckupResume: _resume_pressed,
    cb.Menu: _menu_pressed,
    cb.AdviceView: _advice_pressed,
    cb.WhatIf: _whatif_pressed,
    cb.Language: _language_pressed,
    cb.Delete: seller_data.delete_pressed,
    cb.CheckinOffer: checkins.answer_offer,
    cb.RoundAction: checkins.round_action,
    cb.SameAsLastTime: checkins.same_as_last_time,
    cb.FromLedger: checkins.from_ledger,
    cb.FollowUp: checkins.follow_up,
    cb.CheckinSettings: checkin_settings.settings_button,
    cb.Cadence: checkin_settings.choose_cadence,
    cb.Day: checkin_settings.choose_day,
    cb.Hour: checkin_settings.choose_hour,
    cb.Zone: checkin_settings.choose_zone,
    cb.UndoSale: sales.undo,
    cb.SaleCustomer: sales.customer_pressed,
    cb.SalesFile: sales.sales_file,
    cb.CustomerAction: customers.customer_action,
    cb.Digest: digest.digest_button,
    cb.DigestDay: digest.choose_day,
    cb.DigestHour: digest.choose_hour,
    cb.DigestZone: digest.choose_zone,
}
