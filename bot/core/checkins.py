"""The seller's side of check-ins: the offer, the check-in message and its buttons, the
questions and the result (the /checkin settings are in :mod:`bot.core.checkin_settings`).

A check-in is a check-up of kind ``checkin``: its answers are stored as answers, the next
question is derived from them, and its end stores an advice report, so progress and
/export include it without anything special.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from html import escape
from typing import Protocol

from advice.checkin import (
    CADENCE,
    FOLLOW_UP,
    FROM_LEDGER,
    CheckinQuestion,
    cadence_of,
    history,
    last_time,
    load_checkin,
    to_profile,
)
from advice.engine import assess
from advice.formatting import Formatter, rejection_text
from advice.ledger import PeriodTotals, measured_levers, period_totals
from advice.profile import Profile
from advice.questionnaire import Answer, Rejection
from advice.render import render_checkin_result, to_json
from advice.schedule import PERIOD_DAYS, snoozed_until
from bot import callbacks as cb
from bot.core import sales
from bot.core.checkin_settings import settings_menu, status_text, when_text
from bot.core.menus import advice_buttons
from bot.core.turn import Turn
from bot.core.values import (
    CheckupKind,
    CheckupStatus,
    CheckupView,
    ReportView,
    RoundStatus,
    RoundView,
    SettingsView,
    aware,
)
from bot.replies import Button, Reply, stale_button, text

_escape = partial(escape, quote=False)
CHECKIN = load_checkin()
OPEN_ROUND = (RoundStatus.SENDING.value, RoundStatus.SENT.value)
Answers = Mapping[str, Answer]


class DueCheckin(Protocol):
    """What the check-in message needs of a claimed round (bot.storage's Claim)."""

    @property
    def round_id(self) -> int: ...
    @property
    def language(self) -> str: ...
    @property
    def cadence(self) -> str: ...
    @property
    def ask_cadence(self) -> bool: ...


def checkin_message(claim: DueCheckin) -> Reply:
    """The check-in as it arrives: start, snooze, skip or pause (and, once, how often)."""
    lang, rid = claim.language, claim.round_id
    rows = [
        [Button(text("button_checkin_start", lang), cb.RoundAction("go", rid).pack())],
        [
            Button(text("button_checkin_snooze", lang), cb.RoundAction("snooze", rid).pack()),
            Button(text("button_checkin_skip", lang), cb.RoundAction("skip", rid).pack()),
            Button(text("button_checkin_pause", lang), cb.RoundAction("pause", rid).pack()),
        ],
    ]
    body = text("checkin_due", lang, period=CHECKIN.period[claim.cadence][lang])
    if claim.ask_cadence:
        body += "\n\n" + text("checkin_ask_cadence", lang)
        change = text("button_checkin_change", lang)
        rows.append([Button(change, cb.CheckinSettings("menu").pack())])
    return Reply(body, rows)


# --- the offer ---------------------------------------------------------------------------
def offers_checkins(turn: Turn, checkup: CheckupView) -> bool:
    """Whether the advice of ``checkup`` offers check-ins (the first check-up's, and
    check-ins never switched on), where check-ins can be sent."""
    return turn.snapshot.checkins and turn.offers_checkins(checkup.id)


def with_offer(turn: Turn, advice: Reply) -> Reply:
    """The advice, offering check-ins under it (nothing is sent unless the seller accepts)."""
    lang = turn.user.language
    offer = [
        Button(text("button_checkin_accept", lang), cb.CheckinOffer(True).pack()),
        Button(text("button_checkin_decline", lang), cb.CheckinOffer(False).pack()),
    ]
    return Reply(f"{advice.html}\n\n{text('checkin_offer', lang)}", [*advice.buttons, offer])


def answer_offer(turn: Turn, button: cb.CheckinOffer, pressed: int | None) -> list[Reply]:
    if not button.accepted:
        return [Reply(text("checkin_offer_declined", turn.user.language))]
    return settings_menu(turn)


# --- a check-in message's buttons --------------------------------------------------------
def _closed(lang: str) -> list[Reply]:
    return [Reply(text("checkin_round_closed", lang), toast=text("stale_button_toast", lang))]


def round_action(turn: Turn, button: cb.RoundAction, pressed: int | None) -> list[Reply]:
    """Start, snooze, skip or pause the check-in of this round."""
    lang, action = turn.user.language, button.action
    round_ = turn.round(button.round)
    if round_ is None:
        return [stale_button(lang)]
    if action == "go":
        return start_checkin(turn, round_)
    if round_.status not in OPEN_ROUND:
        return _closed(lang)
    settings = turn.change_settings(checkin_ignored_in_row=0)
    closing = (
        [Reply(text(f"checkin_{action}_note", lang), edit_message_id=pressed)] if pressed else []
    )
    if action == "snooze":
        turn.change_round(round_, status=RoundStatus.SNOOZED.value)
        later = snoozed_until(turn.now)
        due = settings.checkin_next_due_at
        if due is None or later < aware(due):
            turn.change_settings(checkin_next_due_at=later)
        return [*closing, Reply(text("checkin_snoozed", lang, when=when_text(later, turn.user)))]
    if action == "skip":
        turn.change_round(round_, status=RoundStatus.SKIPPED.value)
        return [
            *closing,
            Reply(text("checkin_skipped", lang)),
            Reply(status_text(turn.user, settings)),
        ]
    turn.change_round(round_, status=RoundStatus.PAUSED.value)
    turn.change_settings(checkin_paused=True, checkin_next_due_at=None)
    return [*closing, Reply(text("checkin_paused", lang))]


def start_checkin(turn: Turn, round_: RoundView) -> list[Reply]:
    lang = turn.user.language
    if round_.checkup_id is not None:
        checkup = turn.in_progress(round_.checkup_id)
        if checkup is not None and checkup.kind == CheckupKind.CHECKIN.value:
            return ask_current(turn, checkup)
        return _closed(lang)
    if round_.status not in (*OPEN_ROUND, RoundStatus.SNOOZED.value, RoundStatus.IGNORED.value):
        return _closed(lang)
    if turn.latest_report() is None:
        return [Reply(text("no_advice_yet", lang))]
    settings = turn.settings()
    older = turn.active_checkup(CheckupKind.CHECKIN)
    if older is not None:  # an earlier check-in left half-answered is replaced by this one
        turn.close_checkup(older, CheckupStatus.CANCELLED)
    checkup = turn.start_checkup(CheckupKind.CHECKIN)
    turn.change_round(round_, checkup_id=checkup.id, status=RoundStatus.STARTED.value)
    # The period its figures are for, kept with them: a cadence changed mid-way does not
    # rescale them, and a window of check-ins adds up each one's own days.
    checkup = turn.save_answer(checkup, CADENCE, Answer(_cadence(settings)))
    turn.change_settings(checkin_ignored_in_row=0)
    return ask_current(turn, checkup)


def cancel_checkin(turn: Turn, checkup: CheckupView) -> list[Reply]:
    """/cancel during a check-in: it ends unanswered (its answers are kept as history)."""
    turn.close_checkup(checkup, CheckupStatus.CANCELLED)
    return [Reply(text("checkin_cancelled", turn.user.language))]


# --- the questions -----------------------------------------------------------------------
def _top_action(report: ReportView, lang: str) -> tuple[str, str] | None:
    """The rule id and text of the report's first action, worded in ``lang`` now."""
    actions = report.result.get("actions") or []
    if not actions:
        return None
    rule_id = actions[0]["rule"]
    if report.language != lang:
        worded = to_json(assess(Profile.from_dict(dict(report.profile))), lang)["actions"]
        again = next((a["text"] for a in worded if a["rule"] == rule_id), None)
        if again:
            return rule_id, again
    return rule_id, actions[0]["text"]


def _cadence(settings: SettingsView, answers: Answers | None = None) -> str:
    """The check-in's period: the one it started with, else the seller's cadence now."""
    now = settings.checkin_cadence if settings.checkin_cadence in PERIOD_DAYS else "weekly"
    return cadence_of(dict(answers or {}), now)


def ask_current(turn: Turn, checkup: CheckupView) -> list[Reply]:
    """The next figure to give, the follow-up on last time's action, or the result."""
    lang, answers = turn.user.language, checkup.answers
    report = turn.latest_report()
    if report is None:
        return [Reply(text("no_advice_yet", lang))]
    profile = Profile.from_dict(dict(report.profile))
    cadence = _cadence(turn.settings(), answers)
    question = CHECKIN.next_question(dict(answers))
    if question is not None:
        ledger = _ledger_figures(turn, profile, cadence) if question.field == "orders" else None
        return [_question_reply(checkup, question, profile, cadence, lang, ledger)]
    top = _top_action(report, lang)
    if top is not None and FOLLOW_UP not in answers:
        options = [
            Button(labels[lang], cb.FollowUp(checkup.id, value).pack())
            for value, labels in CHECKIN.follow_up_options
        ]
        return [Reply(CHECKIN.follow_up_ask[lang].format(action=_escape(top[1])), [options])]
    return finish_checkin(turn, checkup, profile, cadence, top)


def _ledger_figures(turn: Turn, profile: Profile, cadence: str) -> PeriodTotals | None:
    """The period's orders and revenue as the ledger has them, once it holds enough to
    measure the levers (and revenue to go with any orders); else None: asked as before."""
    ledger = sales.in_currency(sales.recent_sales(turn), profile.currency)
    if measured_levers(ledger, now=turn.now) is None:
        return None
    totals = period_totals(ledger, now=turn.now, days=PERIOD_DAYS[cadence])
    orders, revenue = CHECKIN.by_field["orders"], CHECKIN.by_field["revenue"]
    if totals.orders > orders.maximum or totals.revenue > revenue.maximum:
        return None
    if totals.orders and totals.revenue <= 0:  # refunded in full: the seller says
        return None
    return totals


def _question_reply(
    checkup: CheckupView,
    question: CheckinQuestion,
    profile: Profile,
    cadence: str,
    lang: str,
    ledger: PeriodTotals | None = None,
) -> Reply:
    applicable = CHECKIN.applicable(dict(checkup.answers))
    position = [q.field for q in applicable].index(question.field) + 1
    period = CHECKIN.period[cadence][lang]
    ask = question.ask[lang].format(period=period, currency=profile.currency)
    body = (
        f"<i>{_escape(text('checkin_progress', lang, index=position, total=len(applicable)))}</i>\n"
        f"<b>{_escape(ask)}</b>\n{_escape(question.hint[lang])}"
    )
    same = CHECKIN.same_label(question.field, profile, cadence, lang)
    index = [q.field for q in CHECKIN.questions].index(question.field)
    button = Button(
        text("button_same_as_last_time", lang, value=same),
        cb.SameAsLastTime(checkup.id, index).pack(),
    )
    rows = [[button]]
    if ledger is not None:  # "From your ledger: 14 orders, ¥1,820. Right?" (or type another)
        f = Formatter(lang, profile.currency)
        figures = text(
            "checkin_from_ledger",
            lang,
            count=ledger.orders,
            revenue=f.money(float(ledger.revenue)),
            period=period,
        )
        body += f"\n\n{_escape(figures)}"
        right = Button(text("button_ledger_right", lang), cb.FromLedger(checkup.id).pack())
        rows = [[right], [button]]
    return Reply(body, rows)


def answer_text(turn: Turn, checkup: CheckupView, typed: str) -> list[Reply]:
    """A typed figure for the current check-in question."""
    lang, answers = turn.user.language, dict(checkup.answers)
    question = CHECKIN.next_question(answers)
    if question is None:
        return [Reply(text("checkin_use_buttons", lang)), *ask_current(turn, checkup)]
    cadence = _cadence(turn.settings(), answers)
    result = question.parse(typed, lang, cadence)
    if not isinstance(result, Rejection):
        result = CHECKIN.check(question, result, answers, lang) or result
    if isinstance(result, Rejection):
        return [Reply(_escape(rejection_text(result, lang)))]
    return ask_current(turn, turn.save_answer(checkup, question.field, result))


def _pressed_checkin(turn: Turn, checkup_id: int) -> CheckupView | None:
    """The check-in a button of a question belongs to, if it is still in progress."""
    checkup = turn.in_progress(checkup_id)
    if checkup is None or checkup.kind != CheckupKind.CHECKIN.value:
        return None
    return checkup


def _pressed_question(
    turn: Turn, checkup_id: int
) -> tuple[CheckupView, dict[str, Answer], CheckinQuestion | None] | None:
    """The check-in in progress a button names, its answers and its current question."""
    checkup = _pressed_checkin(turn, checkup_id)
    if checkup is None:
        return None
    answers = dict(checkup.answers)
    return checkup, answers, CHECKIN.next_question(answers)


def same_as_last_time(turn: Turn, button: cb.SameAsLastTime, pressed: int | None) -> list[Reply]:
    """The figure of the question, as it was last time."""
    lang = turn.user.language
    pressed_on = _pressed_question(turn, button.checkup)
    if pressed_on is None:
        return [stale_button(lang)]
    checkup, answers, question = pressed_on
    index = button.question
    if (
        question is None
        or index >= len(CHECKIN.questions)
        or CHECKIN.questions[index].field != question.field
    ):
        return [stale_button(lang), *ask_current(turn, checkup)]
    report = turn.latest_report()
    assert report is not None  # a check-in starts only after a report
    cadence = _cadence(turn.settings(), answers)
    answer = Answer(last_time(question.field, Profile.from_dict(dict(report.profile)), cadence))
    rejected = CHECKIN.check(question, answer, answers, lang)
    if rejected is not None:
        return [Reply(_escape(rejection_text(rejected, lang)))]
    return ask_current(turn, turn.save_answer(checkup, question.field, answer))


def from_ledger(turn: Turn, button: cb.FromLedger, pressed: int | None) -> list[Reply]:
    """The period's orders and revenue as the ledger has them, accepted."""
    lang = turn.user.language
    pressed_on = _pressed_question(turn, button.checkup)
    if pressed_on is None:
        return [stale_button(lang)]
    checkup, answers, question = pressed_on
    report = turn.latest_report()
    if question is None or question.field != "orders" or report is None:
        return [stale_button(lang), *ask_current(turn, checkup)]
    profile = Profile.from_dict(dict(report.profile))
    figures = _ledger_figures(turn, profile, _cadence(turn.settings(), answers))
    if figures is None:  # the ledger no longer says (a sale taken back meanwhile)
        return [stale_button(lang), *ask_current(turn, checkup)]
    checkup = turn.save_answer(checkup, "orders", Answer(figures.orders))
    if figures.orders:
        checkup = turn.save_answer(checkup, "revenue", Answer(float(figures.revenue)))
    return ask_current(turn, turn.save_answer(checkup, FROM_LEDGER, Answer(True)))


def follow_up(turn: Turn, button: cb.FollowUp, pressed: int | None) -> list[Reply]:
    """Whether the seller tried last time's top action."""
    checkup = _pressed_checkin(turn, button.checkup)
    if checkup is None:
        return [stale_button(turn.user.language)]
    if CHECKIN.next_question(dict(checkup.answers)) is not None or FOLLOW_UP in checkup.answers:
        return [stale_button(turn.user.language), *ask_current(turn, checkup)]
    return ask_current(turn, turn.save_answer(checkup, FOLLOW_UP, Answer(button.outcome)))


# --- the result --------------------------------------------------------------------------
def finish_checkin(
    turn: Turn,
    checkup: CheckupView,
    previous: Profile,
    cadence: str,
    top: tuple[str, str] | None,
) -> list[Reply]:
    """The new data point: assessed with the seller's history, stored, compared."""
    lang, answers = turn.user.language, dict(checkup.answers)
    # Reads first (a step asking for more runs again from the start): repeat purchases
    # are measured over a window (90 days) of check-ins, this one first.
    since = turn.now - timedelta(days=CHECKIN.window_days)
    earlier = [dict(a) for a in turn.checkin_answers_since(since, checkup.id)]
    answered_before = turn.count_finished(CheckupKind.CHECKIN)
    round_ = turn.round_of_checkup(checkup.id)
    first = Profile.from_dict(dict(turn.reports()[0].profile))
    settings = turn.settings()
    report_id = turn.new_id("advice_reports")
    stored = sales.recent_sales(turn)
    # The ledger's levers, once it holds enough, in place of the period's figures; but the
    # orders and revenue the seller gave themselves (not the ledger's, accepted) stand.
    keep = () if FROM_LEDGER in answers else ("weekly_orders", "average_order_value")
    current = sales.measured(
        to_profile(previous, answers, cadence, earlier), stored, turn.now, keep
    )
    window_note = CHECKIN.window_note(CHECKIN.window(answers, cadence, earlier), lang)
    if "repeat_rate" in current.measured:  # the ledger's, not the check-ins'
        window_note = ""
    outcome = answers.get(FOLLOW_UP)
    assessment = assess(
        current,
        history(top[0] if top else None, outcome.value if outcome else None, answered_before),
    )
    report, _ = turn.finish_checkup(
        checkup, report_id=report_id, profile=current, assessment=assessment
    )
    if round_ is not None:
        turn.change_round(round_, status=RoundStatus.ANSWERED.value)
    streak = settings.checkin_streak + 1
    turn.change_settings(checkin_streak=streak, checkin_ignored_in_row=0)
    result = render_checkin_result(previous, current, first, lang, fmt="html")
    streak_text = text("checkin_streak", lang, count=streak)
    note = f"{_escape(window_note)}\n\n" if window_note else ""
    body = f"{result}\n\n{note}{streak_text}"
    return [Reply(body, advice_buttons(report.id, lang))]
