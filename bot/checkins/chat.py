"""The seller's side of check-ins: the offer, the check-in message and its buttons, the
questions and the result (the /checkin settings are in :mod:`bot.checkins.settings`).

Like the check-up, every function takes the update's Unit and returns the replies; nothing
is held in memory. A check-in is a ``Checkup`` of kind ``checkin``: its answers are stored
as answers, the next question is derived from them, and its end stores an AdviceReport, so
progress and /export include it without anything special.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from html import escape

from advice.checkin import (
    CADENCE,
    FOLLOW_UP,
    CheckinQuestion,
    cadence_of,
    history,
    last_time,
    load_checkin,
    to_profile,
)
from advice.engine import assess
from advice.formatting import rejection_text
from advice.profile import Profile
from advice.questionnaire import Answer, Rejection
from advice.render import render, render_checkin_result, to_json
from advice.schedule import PERIOD_DAYS, snoozed_until
from bot import callbacks as cb
from bot.checkins.settings import settings_menu, status_text, when_text
from bot.replies import Button, Reply, stale_button, text
from bot.storage.models import (
    AdviceReport,
    CheckinRound,
    Checkup,
    CheckupKind,
    CheckupStatus,
    RoundStatus,
    User,
    UserSettings,
    utcnow,
)
from bot.storage.repository import Claim, Unit, aware

_escape = partial(escape, quote=False)
CHECKIN = load_checkin()
OPEN_ROUND = (RoundStatus.SENDING.value, RoundStatus.SENT.value)


# --- the message the dispatcher sends ----------------------------------------------------
def checkin_message(claim: Claim) -> Reply:
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
        rows.append(
            [Button(text("button_checkin_change", lang), cb.CheckinSettings("menu").pack())]
        )
    return Reply(body, rows)


# --- the offer ---------------------------------------------------------------------------
async def with_offer(uow: Unit, user: User, checkup: Checkup, advice: Reply) -> Reply:
    """The first check-up's advice, offering check-ins under it (nothing is sent unless
    the seller accepts)."""
    if not await uow.offers_checkins(user.id, checkup.id):
        return advice
    lang = user.language
    offer = [
        Button(text("button_checkin_accept", lang), cb.CheckinOffer(True).pack()),
        Button(text("button_checkin_decline", lang), cb.CheckinOffer(False).pack()),
    ]
    return Reply(f"{advice.html}\n\n{text('checkin_offer', lang)}", [*advice.buttons, offer])


async def answer_offer(
    uow: Unit, user: User, button: cb.CheckinOffer, pressed: int | None
) -> list[Reply]:
    if not button.accepted:
        return [Reply(text("checkin_offer_declined", user.language))]
    return await settings_menu(uow, user)


# --- a check-in message's buttons --------------------------------------------------------
async def round_action(
    uow: Unit, user: User, button: cb.RoundAction, pressed: int | None
) -> list[Reply]:
    """Start, snooze, skip or pause the check-in of this round."""
    lang, action = user.language, button.action
    round_ = await uow.checkin_round(button.round, user.id)
    if round_ is None:
        return [stale_button(lang)]
    if action == "go":
        return await start_checkin(uow, user, round_)
    if round_.status not in OPEN_ROUND:
        return [Reply(text("checkin_round_closed", lang), toast=text("stale_button_toast", lang))]
    settings = await uow.settings(user.id)
    settings.checkin_ignored_in_row = 0
    now = utcnow()
    closing = (
        [Reply(text(f"checkin_{action}_note", lang), edit_message_id=pressed)] if pressed else []
    )
    if action == "snooze":
        round_.status = RoundStatus.SNOOZED.value
        later = snoozed_until(now)
        due = settings.checkin_next_due_at
        if due is None or later < aware(due):
            settings.checkin_next_due_at = later
        return [
            *closing,
            Reply(text("checkin_snoozed", lang, when=when_text(later, user))),
        ]
    if action == "skip":
        round_.status = RoundStatus.SKIPPED.value
        return [*closing, Reply(text("checkin_skipped", lang)), Reply(status_text(user, settings))]
    round_.status = RoundStatus.PAUSED.value
    settings.checkin_paused = True
    settings.checkin_next_due_at = None
    return [*closing, Reply(text("checkin_paused", lang))]


async def start_checkin(uow: Unit, user: User, round_: CheckinRound) -> list[Reply]:
    lang = user.language
    if round_.checkup_id is not None:
        checkup = await uow.checkup(round_.checkup_id, user.id)
        if checkup is not None and checkup.status == CheckupStatus.IN_PROGRESS.value:
            return await ask_current(uow, user, checkup)
        return [Reply(text("checkin_round_closed", lang), toast=text("stale_button_toast", lang))]
    if round_.status not in (*OPEN_ROUND, RoundStatus.SNOOZED.value, RoundStatus.IGNORED.value):
        return [Reply(text("checkin_round_closed", lang), toast=text("stale_button_toast", lang))]
    if await uow.latest_report(user.id) is None:
        return [Reply(text("no_advice_yet", lang))]
    older = await uow.active_checkup(user.id, CheckupKind.CHECKIN)
    if older is not None:  # an earlier check-in left half-answered is replaced by this one
        await uow.close_checkup(older, CheckupStatus.CANCELLED)
    checkup = await uow.start_checkup(user, CheckupKind.CHECKIN)
    round_.checkup_id = checkup.id
    round_.status = RoundStatus.STARTED.value
    settings = await uow.settings(user.id)
    # The period its figures are for, kept with them: a cadence changed mid-way does not
    # rescale them, and a window of check-ins adds up each one's own days.
    await uow.save_answer(checkup, CADENCE, Answer(_cadence(settings)), replaces=False)
    settings.checkin_ignored_in_row = 0
    return await ask_current(uow, user, checkup)


async def cancel_checkin(uow: Unit, user: User, checkup: Checkup) -> list[Reply]:
    """/cancel during a check-in: it ends unanswered (its answers are kept as history)."""
    await uow.close_checkup(checkup, CheckupStatus.CANCELLED)
    return [Reply(text("checkin_cancelled", user.language))]


# --- the questions -----------------------------------------------------------------------
async def _previous_profile(uow: Unit, user: User) -> tuple[AdviceReport, Profile] | None:
    report = await uow.latest_report(user.id)
    return None if report is None else (report, Profile.from_dict(report.profile))


def _top_action(report: AdviceReport, lang: str) -> tuple[str, str] | None:
    """The rule id and text of the report's first action, worded in ``lang`` now."""
    actions = report.result.get("actions") or []
    if not actions:
        return None
    rule_id = actions[0]["rule"]
    if report.language != lang:
        worded = to_json(assess(Profile.from_dict(report.profile)), lang)["actions"]
        again = next((a["text"] for a in worded if a["rule"] == rule_id), None)
        if again:
            return rule_id, again
    return rule_id, actions[0]["text"]


def _cadence(settings: UserSettings, answers: dict[str, Answer] | None = None) -> str:
    """The check-in's period: the one it started with, else the seller's cadence now."""
    now = settings.checkin_cadence if settings.checkin_cadence in PERIOD_DAYS else "weekly"
    return cadence_of(answers or {}, now)


async def ask_current(uow: Unit, user: User, checkup: Checkup) -> list[Reply]:
    """The next figure to give, the follow-up on last time's action, or the result."""
    lang = user.language
    answers = await uow.answers(checkup.id)
    previous = await _previous_profile(uow, user)
    if previous is None:
        return [Reply(text("no_advice_yet", lang))]
    report, profile = previous
    settings = await uow.settings(user.id)
    cadence = _cadence(settings, answers)
    question = CHECKIN.next_question(answers)
    if question is not None:
        return [_question_reply(checkup, question, answers, profile, cadence, lang)]
    top = _top_action(report, lang)
    if top is not None and FOLLOW_UP not in answers:
        options = [
            Button(labels[lang], cb.FollowUp(checkup.id, value).pack())
            for value, labels in CHECKIN.follow_up_options
        ]
        return [Reply(CHECKIN.follow_up_ask[lang].format(action=_escape(top[1])), [options])]
    return await finish_checkin(uow, user, checkup, answers, profile, cadence, top)


def _question_reply(
    checkup: Checkup,
    question: CheckinQuestion,
    answers: dict[str, Answer],
    profile: Profile,
    cadence: str,
    lang: str,
) -> Reply:
    applicable = CHECKIN.applicable(answers)
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
    return Reply(body, [[button]])


async def answer_text(uow: Unit, user: User, checkup: Checkup, typed: str) -> list[Reply]:
    """A typed figure for the current check-in question."""
    lang = user.language
    answers = await uow.answers(checkup.id)
    question = CHECKIN.next_question(answers)
    if question is None:
        return [Reply(text("checkin_use_buttons", lang)), *await ask_current(uow, user, checkup)]
    cadence = _cadence(await uow.settings(user.id), answers)
    result = question.parse(typed, lang, cadence)
    if not isinstance(result, Rejection):
        result = CHECKIN.check(question, result, answers, lang) or result
    if isinstance(result, Rejection):
        return [Reply(_escape(rejection_text(result, lang)))]
    await uow.save_answer(checkup, question.field, result)
    return await ask_current(uow, user, checkup)


async def _pressed_checkin(uow: Unit, user: User, checkup_id: int) -> Checkup | None:
    """The check-in a button of a question belongs to, if it is still in progress."""
    checkup = await uow.checkup(checkup_id, user.id)
    if (
        checkup is None
        or checkup.kind != CheckupKind.CHECKIN.value
        or checkup.status != CheckupStatus.IN_PROGRESS.value
    ):
        return None
    return checkup


async def same_as_last_time(
    uow: Unit, user: User, button: cb.SameAsLastTime, pressed: int | None
) -> list[Reply]:
    """The figure of the question, as it was last time."""
    lang = user.language
    checkup = await _pressed_checkin(uow, user, button.checkup)
    if checkup is None:
        return [stale_button(lang)]
    answers = await uow.answers(checkup.id)
    question = CHECKIN.next_question(answers)
    index = button.question
    if (
        question is None
        or index >= len(CHECKIN.questions)
        or CHECKIN.questions[index].field != question.field
    ):
        return [stale_button(lang), *await ask_current(uow, user, checkup)]
    previous = await _previous_profile(uow, user)
    assert previous is not None  # a check-in starts only after a report
    cadence = _cadence(await uow.settings(user.id), answers)
    answer = Answer(last_time(question.field, previous[1], cadence))
    rejected = CHECKIN.check(question, answer, answers, lang)
    if rejected is not None:
        return [Reply(_escape(rejection_text(rejected, lang)))]
    await uow.save_answer(checkup, question.field, answer)
    return await ask_current(uow, user, checkup)


async def follow_up(uow: Unit, user: User, button: cb.FollowUp, pressed: int | None) -> list[Reply]:
    """Whether the seller tried last time's top action."""
    checkup = await _pressed_checkin(uow, user, button.checkup)
    if checkup is None:
        return [stale_button(user.language)]
    answers = await uow.answers(checkup.id)
    if CHECKIN.next_question(answers) is not None or FOLLOW_UP in answers:
        return [stale_button(user.language), *await ask_current(uow, user, checkup)]
    await uow.save_answer(checkup, FOLLOW_UP, Answer(button.outcome))
    return await ask_current(uow, user, checkup)


# --- the result --------------------------------------------------------------------------
async def finish_checkin(
    uow: Unit,
    user: User,
    checkup: Checkup,
    answers: dict[str, Answer],
    previous: Profile,
    cadence: str,
    top: tuple[str, str] | None,
) -> list[Reply]:
    """The new data point: assessed with the seller's history, stored, compared."""
    lang = user.language
    # Repeat purchases are measured over a window (90 days) of check-ins, this one first.
    since = utcnow() - timedelta(days=CHECKIN.window_days)
    earlier = await uow.checkin_answers_since(user.id, since, checkup.id)
    current = to_profile(previous, answers, cadence, earlier)
    window_note = CHECKIN.window_note(CHECKIN.window(answers, cadence, earlier), lang)
    outcome = answers.get(FOLLOW_UP)
    answered_before = await uow.count_finished(user.id, CheckupKind.CHECKIN)
    assessment = assess(
        current,
        history(top[0] if top else None, outcome.value if outcome else None, answered_before),
    )
    html = render(assessment, lang, "html")
    report = await uow.finish_checkup(
        checkup,
        AdviceReport(
            user_id=user.id,
            checkup_id=checkup.id,
            language=lang,
            profile=current.to_dict(),
            result=to_json(assessment, lang),
            rule_ids=[f.id for f in assessment.findings],
            bottleneck=assessment.bottleneck,
            monthly_sales=assessment.metrics.monthly_sales,
            rendered_html=html,
        ),
    )
    round_ = await uow.round_of_checkup(checkup.id)
    if round_ is not None:
        round_.status = RoundStatus.ANSWERED.value
    settings = await uow.settings(user.id)
    settings.checkin_streak += 1
    settings.checkin_ignored_in_row = 0
    first = Profile.from_dict((await uow.reports(user.id))[0].profile)
    result = render_checkin_result(previous, current, first, lang, fmt="html")
    streak = text("checkin_streak", lang, count=settings.checkin_streak)
    buttons = [
        [
            Button(text("button_why", lang), cb.AdviceView("why", report.id).pack()),
            Button(text("button_more", lang), cb.AdviceView("more", report.id).pack()),
        ],
        [Button(text("button_whatif", lang), cb.WhatIf("ask").pack())],
    ]
    return [Reply(f"{result}\n\n{_escape(window_note)}\n\n{streak}", buttons)]
