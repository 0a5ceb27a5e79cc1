"""The check-up as a chat, and the commands around it.

Every function here takes the update's :class:`~bot.storage.repository.Unit` and returns
the replies to send. The state of a check-up is never held in memory: the next question is
derived from the answers stored so far, so any process can continue any conversation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial, wraps
from html import escape
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from advice.data import LEVERS
from advice.engine import assess
from advice.formatting import Formatter, format_answer, progress_line, rejection_text
from advice.metrics import compute_metrics
from advice.profile import Profile
from advice.progress import Point
from advice.questionnaire import Answer, AnswerStatus, Question, Rejection, load_questionnaire
from advice.render import render, render_progress, to_json
from advice.whatif import parse_whatif, to_benchmark, what_if
from bot import callbacks as cb
from bot.charts import progress_chart
from bot.checkins import chat as checkin_chat
from bot.replies import Button, Reply, stale_button, text, unknown_button
from bot.storage.models import AdviceReport, Checkup, CheckupKind, CheckupStatus, User
from bot.storage.repository import Unit

_escape = partial(escape, quote=False)
QUESTIONNAIRE = load_questionnaire()
QUESTION_INDEX = {q.field: i for i, q in enumerate(QUESTIONNAIRE.questions)}


def _ui(lang: str) -> Formatter:
    return Formatter(lang, "CNY")


# --- menus -------------------------------------------------------------------------------
def start_menu(lang: str) -> list[list[Button]]:
    return [
        [Button(text("button_start_checkup", lang), cb.Menu("checkup").pack())],
        [Button(text("button_help", lang), cb.Menu("help").pack())],
    ]


def welcome(user: User, first_name: str) -> list[Reply]:
    lang = user.language
    return [
        Reply(
            text(
                "welcome", lang, name=first_name or "there", count=len(QUESTIONNAIRE.may_apply({}))
            ),
            start_menu(lang),
        )
    ]


def help_reply(lang: str) -> list[Reply]:
    return [Reply(text("help", lang))]


def privacy_reply(lang: str) -> list[Reply]:
    return [Reply(text("privacy", lang))]


def language_menu(lang: str) -> list[Reply]:
    buttons = [
        Button("English", cb.Language("en").pack()),
        Button("中文", cb.Language("zh").pack()),
    ]
    return [Reply(text("language_prompt", lang), [buttons])]


async def set_language(uow: Unit, user: User, lang: str) -> list[Reply]:
    """The language from now on; a check-up (or check-in) in progress goes on, its current
    question asked again in the new language."""
    await uow.set_language(user, lang)
    active = await uow.active_checkup(user.id)
    if active is not None:
        return [
            Reply(text("language_set_checkup_goes_on", lang)),
            *await ask_current(uow, user, active),
        ]
    checkin = await uow.active_checkup(user.id, CheckupKind.CHECKIN)
    if checkin is not None:
        return [
            Reply(text("language_set_checkin_goes_on", lang)),
            *await checkin_chat.ask_current(uow, user, checkin),
        ]
    return [Reply(text("language_set", lang))]


# --- the check-up ------------------------------------------------------------------------
async def begin_checkup(uow: Unit, user: User) -> list[Reply]:
    """Start a check-up, or offer to continue the one in progress."""
    active = await uow.active_checkup(user.id)
    if active is not None:
        answered = len(await uow.answers(active.id))
        if answered:
            return [
                Reply(
                    text("checkup_resume", user.language, count=answered),
                    [
                        [
                            Button(
                                text("button_continue", user.language),
                                cb.CheckupResume("go").pack(),
                            ),
                            Button(
                                text("button_restart", user.language),
                                cb.CheckupResume("restart").pack(),
                            ),
                        ]
                    ],
                )
            ]
        return await ask_current(uow, user, active)
    return await ask_current(uow, user, await uow.start_checkup(user))


async def restart_checkup(uow: Unit, user: User) -> list[Reply]:
    active = await uow.active_checkup(user.id)
    if active is not None:
        await uow.close_checkup(active, CheckupStatus.CANCELLED)
    return await ask_current(uow, user, await uow.start_checkup(user))


async def continue_checkup(uow: Unit, user: User) -> list[Reply]:
    active = await uow.active_checkup(user.id)
    if active is None:
        return await begin_checkup(uow, user)
    return await ask_current(uow, user, active)


async def cancel_checkup(uow: Unit, user: User) -> list[Reply]:
    active = await uow.active_checkup(user.id)
    if active is None:
        return [Reply(text("nothing_to_cancel", user.language))]
    answers = await uow.answers(active.id)
    question = QUESTIONNAIRE.next_question(answers)
    replies = []
    if question is not None:  # its message, if it is the one stored, keeps the question
        note = text("question_left_cancelled", user.language)
        replies = _left_question(
            _question_message(active, question), question, answers, user.language, note
        )
    await uow.close_checkup(active, CheckupStatus.CANCELLED)
    return [*replies, Reply(text("checkup_cancelled", user.language))]


def question_reply(
    checkup: Checkup, question: Question, answers: dict[str, Answer], lang: str, mask: int = 0
) -> Reply:
    """The message that asks ``question``, with its buttons."""
    ui = _ui(lang)
    qi = QUESTION_INDEX[question.field]
    body = f"<i>{_escape(progress_line(question, answers, lang))}</i>\n<b>{_escape(question.ask[lang])}</b>"
    if question.type in ("number", "text"):
        body += f"\n{_escape(question.hint[lang])}"
    rows: list[list[Button]] = []
    if question.type == "choice":
        row: list[Button] = []
        for oi, option in enumerate(question.options):
            row.append(Button(option.label[lang], cb.Choose(checkup.id, qi, oi).pack()))
            if len(row) == 2:
                rows.append(row)
                row = []
        if row:
            rows.append(row)
    elif question.type == "multi":
        for oi, option in enumerate(question.options):
            chosen = mask >> oi & 1
            tick = cb.Toggle(checkup.id, qi, mask ^ (1 << oi)).pack()
            rows.append([Button(("✅ " if chosen else "▫️ ") + option.label[lang], tick)])
        rows.append([Button(ui.t("button_done"), cb.MultiDone(checkup.id, qi, mask).pack())])
    extra = []
    if QUESTIONNAIRE.previous(answers, question.field) is not None:
        extra.append(Button(ui.t("button_back"), cb.Back(checkup.id, qi).pack()))
    if question.optional:
        extra.append(Button(ui.t("button_skip"), cb.Skip(checkup.id, qi).pack()))
    if question.accepts_dont_know:
        extra.append(Button(ui.t("button_dont_know"), cb.DontKnow(checkup.id, qi).pack()))
    if extra:
        rows.append(extra)
    return Reply(body, rows, question_of=(checkup.id, question.field))


async def ask_current(
    uow: Unit, user: User, checkup: Checkup, answers: dict[str, Answer] | None = None
) -> list[Reply]:
    """Ask the next unanswered question, or give the advice when none is left.

    ``answers``: the check-up's current answers when the caller has them (just saved in
    this transaction), to spare reading them back."""
    if answers is None:
        answers = await uow.answers(checkup.id)
    question = QUESTIONNAIRE.next_question(answers)
    if question is None:
        return await finish_checkup(uow, user, checkup, answers)
    return [question_reply(checkup, question, answers, user.language)]


def _question_message(
    checkup: Checkup, question: Question, pressed: int | None = None
) -> int | None:
    """The chat message that shows ``question``, to edit once it is answered.

    A button press says for itself which message it came from. For typed answers the
    stored message is used only if it asks this very question: it is stored after it is
    sent, and a crash in between leaves the previous question's message there.
    """
    if pressed is not None:
        return pressed
    if checkup.question_field == question.field:
        return checkup.question_message_id
    return None


def _left_question(
    message_id: int | None, question: Question, answers: dict[str, Answer], lang: str, note: str
) -> list[Reply]:
    """Edit a question message left unanswered (Back, /cancel): the question stays readable,
    with a note saying why it has no buttons any more."""
    if message_id is None:
        return []
    body = f"<i>{_escape(progress_line(question, answers, lang))}</i>\n{_escape(question.ask[lang])}\n<i>{note}</i>"
    return [Reply(body, edit_message_id=message_id)]


async def _record(
    uow: Unit,
    user: User,
    checkup: Checkup,
    question: Question,
    answer: Answer,
    answers: dict[str, Answer],
    pressed: int | None = None,
) -> list[Reply]:
    await uow.save_answer(checkup, question.field, answer, replaces=question.field in answers)
    answers = {**answers, question.field: answer}
    currency = answers.get("currency", Answer("CNY")).value
    if not isinstance(currency, str):
        currency = "CNY"
    shown = format_answer(question, answer, user.language, currency)
    message_id = _question_message(checkup, question, pressed)
    closing = _answered_question(message_id, question, answers, user.language, shown)
    return [*closing, *await ask_current(uow, user, checkup, answers)]


def _answered_question(
    message_id: int | None, question: Question, answers: dict[str, Answer], lang: str, shown: str
) -> list[Reply]:
    if message_id is None:
        return []
    body = (
        f"<i>{_escape(progress_line(question, answers, lang))}</i>\n"
        f"{_escape(question.ask[lang])}\n<b>✓ {_escape(shown)}</b>"
    )
    return [Reply(body, edit_message_id=message_id)]


async def answer_text(uow: Unit, user: User, checkup: Checkup, typed: str) -> list[Reply]:
    """A typed answer to the current question."""
    answers = await uow.answers(checkup.id)
    question = QUESTIONNAIRE.next_question(answers)
    if question is None:
        return await finish_checkup(uow, user, checkup, answers)
    if question.type == "multi" and not typed.strip():
        return [Reply(_escape(question.hint[user.language]))]
    result = QUESTIONNAIRE.parse(question, typed, user.language)
    if isinstance(result, Rejection):
        return [Reply(_escape(rejection_text(result, user.language)))]
    return await _record(uow, user, checkup, question, result, answers)


class _AtQuestion(NamedTuple):
    """The current question of a check-up in progress, whose button was pressed."""

    checkup: Checkup
    answers: dict[str, Answer]
    question: Question
    message_id: int | None  # the message that shows it, to edit


_B = TypeVar("_B", bound=cb.QuestionButton)


def _at_current_question(
    step: Callable[[Unit, User, _B, _AtQuestion], Awaitable[list[Reply]]],
) -> Callable[[Unit, User, _B, int | None], Awaitable[list[Reply]]]:
    """A button step of a question message (``pressed``: that message's id). It runs only if
    the button's question is the one to answer now; else the stale-button reply follows,
    and where the seller is."""

    @wraps(step)
    async def at_question(uow: Unit, user: User, button: _B, pressed: int | None) -> list[Reply]:
        checkup = await uow.checkup(button.checkup, user.id)
        if checkup is None or checkup.status != CheckupStatus.IN_PROGRESS.value:
            return [stale_button(user.language), *await _current_or_idle(uow, user)]
        answers = await uow.answers(checkup.id)
        question = QUESTIONNAIRE.next_question(answers)
        if question is None or button.question != QUESTION_INDEX[question.field]:
            return [stale_button(user.language), *await ask_current(uow, user, checkup)]
        at = _AtQuestion(checkup, answers, question, _question_message(checkup, question, pressed))
        return await step(uow, user, button, at)

    return at_question


async def _answered(
    uow: Unit, user: User, at: _AtQuestion, result: Answer | Rejection
) -> list[Reply]:
    if isinstance(result, Rejection):
        return [Reply(_escape(rejection_text(result, user.language)))]
    return await _record(uow, user, at.checkup, at.question, result, at.answers, at.message_id)


@_at_current_question
async def choose(uow: Unit, user: User, button: cb.Choose, at: _AtQuestion) -> list[Reply]:
    return await _answered(
        uow, user, at, QUESTIONNAIRE.choose(at.question, button.option, user.language)
    )


@_at_current_question
async def toggle(uow: Unit, user: User, button: cb.Toggle, at: _AtQuestion) -> list[Reply]:
    """An option of a multi-choice question ticked or unticked: its message shows the
    options chosen now (the buttons hold them; nothing is stored until Done)."""
    if not _fits(at.question, button.mask):
        return [unknown_button(user.language)]
    toggled = question_reply(at.checkup, at.question, at.answers, user.language, button.mask)
    if at.message_id is not None:
        toggled.edit_message_id, toggled.question_of = at.message_id, None
    return [toggled]


@_at_current_question
async def multi_done(uow: Unit, user: User, button: cb.MultiDone, at: _AtQuestion) -> list[Reply]:
    if not _fits(at.question, button.mask):
        return [unknown_button(user.language)]
    chosen = [i for i in range(len(at.question.options)) if button.mask >> i & 1]
    return await _answered(uow, user, at, QUESTIONNAIRE.multi(at.question, chosen, user.language))


def _fits(question: Question, mask: int) -> bool:
    return question.type == "multi" and mask < 1 << len(question.options)


@_at_current_question
async def skip(uow: Unit, user: User, button: cb.Skip, at: _AtQuestion) -> list[Reply]:
    if not at.question.optional:
        return [unknown_button(user.language)]
    return await _answered(uow, user, at, Answer(None, AnswerStatus.SKIPPED))


@_at_current_question
async def dont_know(uow: Unit, user: User, button: cb.DontKnow, at: _AtQuestion) -> list[Reply]:
    if not at.question.accepts_dont_know:
        return [unknown_button(user.language)]
    return await _answered(uow, user, at, Answer(None, AnswerStatus.DONT_KNOW))


@_at_current_question
async def back(uow: Unit, user: User, button: cb.Back, at: _AtQuestion) -> list[Reply]:
    lang, (checkup, answers, question, message_id) = user.language, at
    previous = QUESTIONNAIRE.previous(answers, question.field)
    if previous is None:
        return [
            Reply(
                _escape(_ui(lang).t("terminal_first_question")),
                toast=_ui(lang).t("terminal_first_question"),
            )
        ]
    await uow.withdraw_answer(checkup, previous.field)
    remaining = {k: v for k, v in answers.items() if k != previous.field}
    closing = _left_question(message_id, question, answers, lang, text("question_left_back", lang))
    return [*closing, question_reply(checkup, previous, remaining, lang)]


async def idle_text(uow: Unit, user: User) -> list[Reply]:
    """Typed text with no question open: a seller with advice gets their options, one
    without is invited to a check-up."""
    report = await uow.latest_report(user.id)
    if report is None:
        return [Reply(text("idle_text", user.language), start_menu(user.language))]
    return [
        Reply(text("idle_text_advised", user.language), advice_buttons(report.id, user.language))
    ]


async def _current_or_idle(uow: Unit, user: User) -> list[Reply]:
    active = await uow.active_checkup(user.id)
    if active is None:
        return await idle_text(uow, user)
    return await ask_current(uow, user, active)


async def current_question(uow: Unit, user: User, checkup: Checkup) -> list[Reply]:
    return [
        Reply(text("current_question_follows", user.language)),
        *await ask_current(uow, user, checkup),
    ]


# --- advice ------------------------------------------------------------------------------
def advice_buttons(report_id: int, lang: str) -> list[list[Button]]:
    return [
        [
            Button(text("button_why", lang), cb.AdviceView("why", report_id).pack()),
            Button(text("button_more", lang), cb.AdviceView("more", report_id).pack()),
        ],
        [Button(text("button_whatif", lang), cb.WhatIf("ask").pack())],
    ]


async def finish_checkup(
    uow: Unit, user: User, checkup: Checkup, answers: dict[str, Answer]
) -> list[Reply]:
    """Turn the answers into a profile, assess it, store and send the advice."""
    profile = QUESTIONNAIRE.to_profile(answers)
    assessment = assess(profile)
    html = render(assessment, user.language, "html")
    report = await uow.finish_checkup(
        checkup,
        AdviceReport(
            user_id=user.id,
            checkup_id=checkup.id,
            language=user.language,
            profile=profile.to_dict(),
            result=to_json(assessment, user.language),
            rule_ids=[f.id for f in assessment.findings],
            bottleneck=assessment.bottleneck,
            monthly_sales=assessment.metrics.monthly_sales,
            rendered_html=html,
        ),
    )
    intro = text("checkup_done_intro", user.language)
    advice = Reply(f"{intro}\n\n{html}", advice_buttons(report.id, user.language))
    return [await checkin_chat.with_offer(uow, user, checkup, advice)]


async def show_advice(
    uow: Unit, user: User, view: str = "report", report_id: int | None = None
) -> list[Reply]:
    """The latest (or a given) report, re-rendered in the user's current language."""
    report = await (uow.report(report_id, user.id) if report_id else uow.latest_report(user.id))
    if report is None:
        return [Reply(text("no_advice_yet", user.language), start_menu(user.language))]
    assessment = assess(Profile.from_dict(report.profile))
    html = render(assessment, user.language, "html", view=view)  # type: ignore[arg-type]
    buttons = advice_buttons(report.id, user.language) if view == "report" else []
    return [Reply(html, buttons)]


LEVER_FIELDS = {
    "traffic": "weekly_reach",
    "conversion": "conversion",
    "order_value": "average_order_value",
    "repeat": "repeat_rate",
}


def _lever_buttons(lang: str) -> list[list[Button]]:
    return [[Button(_ui(lang).lever(lv).capitalize(), cb.WhatIf(lv).pack())] for lv in LEVERS]


async def whatif(
    uow: Unit, user: User, args: str | None = None, lever: str | None = None
) -> list[Reply]:
    """The estimate with one lever changed, against the current one. ``lever``: a lever
    lifted to its benchmark (a button); ``args``: a lever and a figure as typed."""
    lang = user.language
    report = await uow.latest_report(user.id)
    if report is None:
        return [Reply(text("no_advice_yet", lang), start_menu(lang))]
    profile = Profile.from_dict(report.profile)
    f = Formatter(lang, profile.currency)
    notes: list[str] = []
    if lever in LEVERS:
        changed = to_benchmark(profile, lever)
    elif args:
        asked = parse_whatif(args)
        if asked is None:
            return [Reply(text("whatif_bad", lang), _lever_buttons(lang))]
        lever, outcome = asked.lever, what_if(profile, asked)
        changed, field = outcome.profile, LEVER_FIELDS[asked.lever]
        if asked.read_as_percent:
            typed = f.num(asked.value * 100)
            notes.append(
                text("whatif_read_as_percent", lang, typed=typed, used=f.value(field, asked.value))
            )
        if outcome.clamped:
            notes.append(
                text(
                    "whatif_clamped",
                    lang,
                    asked=f.value(field, outcome.asked),
                    used=f.value(field, outcome.used),
                )
            )
    else:
        return [Reply(text("whatif_prompt", lang), _lever_buttons(lang))]
    before, after = compute_metrics(profile), compute_metrics(changed)
    change = (
        None
        if before.monthly_sales <= 0
        else (after.monthly_sales / before.monthly_sales - 1) * 100
    )
    result = text(
        "whatif_result",
        lang,
        lever=f.lever(lever),
        value=f.value(LEVER_FIELDS[lever], after.levers[lever].value),
        current=f.money(before.monthly_sales),
        projected=f.money(after.monthly_sales),
        change=f.signed_pct(change),
        bottleneck=f.lever(after.bottleneck),
    )
    return [Reply("\n\n".join([result, *notes]))]


# --- progress over time ------------------------------------------------------------------
async def show_progress(uow: Unit, user: User) -> list[Reply]:
    """The user's data points (every report, oldest first) as a table and a chart."""
    lang = user.language
    reports = await uow.reports(user.id)
    if not reports:
        return [Reply(text("progress_none", lang), start_menu(lang))]
    zone = _zone(user.time_zone)
    points = [
        Point(_aware(r.created_at).astimezone(zone), Profile.from_dict(r.profile)) for r in reports
    ]
    # Drawing takes a tenth of a second of CPU: off the event loop, so other chats go on.
    png = await asyncio.to_thread(progress_chart, points, lang)
    return [
        Reply(render_progress(points, lang, "html")),
        Reply(text("progress_chart_caption", lang), photo=png),
    ]


def _aware(moment: datetime) -> datetime:
    """Stored times are UTC; SQLite gives them back without a zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):  # a zone this system does not know
        return ZoneInfo("UTC")
