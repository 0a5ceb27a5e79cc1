"""The check-up as a chat: its questions, the answers typed or pressed, and the advice.

Pure steps over a :class:`~bot.core.turn.Turn`: the next question is derived from the
answers stored so far, so any process can continue any conversation, and nothing is held
in memory between updates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial, wraps
from html import escape
from typing import NamedTuple, TypeVar

from advice.engine import assess
from advice.formatting import Formatter, format_answer, progress_line, rejection_text
from advice.questionnaire import Answer, AnswerStatus, Question, Rejection, load_questionnaire
from bot import callbacks as cb
from bot.core import checkins, sales
from bot.core.menus import advice_buttons, idle_text
from bot.core.turn import Turn
from bot.core.values import CheckupStatus, CheckupView
from bot.replies import Button, Reply, stale_button, text, unknown_button

_escape = partial(escape, quote=False)
QUESTIONNAIRE = load_questionnaire()
QUESTION_INDEX = {q.field: i for i, q in enumerate(QUESTIONNAIRE.questions)}
Answers = Mapping[str, Answer]


def begin_checkup(turn: Turn) -> list[Reply]:
    """Start a check-up, or offer to continue the one in progress."""
    lang = turn.user.language
    active = turn.active_checkup()
    if active is None:
        return ask_current(turn, turn.start_checkup())
    if not active.answers:
        return ask_current(turn, active)
    choices = [
        Button(text("button_continue", lang), cb.CheckupResume("go").pack()),
        Button(text("button_restart", lang), cb.CheckupResume("restart").pack()),
    ]
    return [Reply(text("checkup_resume", lang, count=len(active.answers)), [choices])]


def restart_checkup(turn: Turn) -> list[Reply]:
    active = turn.active_checkup()
    if active is not None:
        turn.close_checkup(active, CheckupStatus.CANCELLED)
    return ask_current(turn, turn.start_checkup())


def continue_checkup(turn: Turn) -> list[Reply]:
    active = turn.active_checkup()
    return begin_checkup(turn) if active is None else ask_current(turn, active)


def cancel_checkup(turn: Turn) -> list[Reply]:
    lang = turn.user.language
    active = turn.active_checkup()
    if active is None:
        return [Reply(text("nothing_to_cancel", lang))]
    question = QUESTIONNAIRE.next_question(active.answers)
    replies = []
    if question is not None:  # its message, if it is the one stored, keeps the question
        note = text("question_left_cancelled", lang)
        message_id = _question_message(active, question)
        replies = _left_question(message_id, question, active.answers, lang, note)
    turn.close_checkup(active, CheckupStatus.CANCELLED)
    return [*replies, Reply(text("checkup_cancelled", lang))]


def question_reply(checkup: CheckupView, question: Question, lang: str, mask: int = 0) -> Reply:
    """The message that asks ``question``, with its buttons."""
    ui = Formatter(lang, "CNY")
    answers = checkup.answers
    qi = QUESTION_INDEX[question.field]
    body = (
        f"<i>{_escape(progress_line(question, answers, lang))}</i>\n"
        f"<b>{_escape(question.ask[lang])}</b>"
    )
    if question.type in ("number", "text"):
        body += f"\n{_escape(question.hint[lang])}"
    rows: list[list[Button]] = []
    if question.type == "choice":
        options = [
            Button(option.label[lang], cb.Choose(checkup.id, qi, oi).pack())
            for oi, option in enumerate(question.options)
        ]
        rows = [options[i : i + 2] for i in range(0, len(options), 2)]
    elif question.type == "multi":
        for oi, option in enumerate(question.options):
            tick = "✅ " if mask >> oi & 1 else "▫️ "
            toggled = cb.Toggle(checkup.id, qi, mask ^ (1 << oi)).pack()
            rows.append([Button(tick + option.label[lang], toggled)])
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


def ask_current(turn: Turn, checkup: CheckupView) -> list[Reply]:
    """Ask the next unanswered question, or give the advice when none is left."""
    question = QUESTIONNAIRE.next_question(checkup.answers)
    if question is None:
        return finish_checkup(turn, checkup)
    return [question_reply(checkup, question, turn.user.language)]


def current_question(turn: Turn, checkup: CheckupView) -> list[Reply]:
    return [
        Reply(text("current_question_follows", turn.user.language)),
        *ask_current(turn, checkup),
    ]


def _question_message(
    checkup: CheckupView, question: Question, pressed: int | None = None
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
    message_id: int | None, question: Question, answers: Answers, lang: str, note: str
) -> list[Reply]:
    """Edit a question message left unanswered (Back, /cancel): the question stays readable,
    with a note saying why it has no buttons any more."""
    if message_id is None:
        return []
    body = (
        f"<i>{_escape(progress_line(question, answers, lang))}</i>\n"
        f"{_escape(question.ask[lang])}\n<i>{note}</i>"
    )
    return [Reply(body, edit_message_id=message_id)]


def _record(
    turn: Turn,
    checkup: CheckupView,
    question: Question,
    answer: Answer,
    pressed: int | None = None,
) -> list[Reply]:
    """Store the answer, show it in the question's message, and go on."""
    lang = turn.user.language
    checkup = turn.save_answer(checkup, question.field, answer)
    currency = checkup.answers.get("currency", Answer("CNY")).value
    shown = format_answer(question, answer, lang, currency if isinstance(currency, str) else "CNY")
    message_id = _question_message(checkup, question, pressed)
    closing = []
    if message_id is not None:
        body = (
            f"<i>{_escape(progress_line(question, checkup.answers, lang))}</i>\n"
            f"{_escape(question.ask[lang])}\n<b>✓ {_escape(shown)}</b>"
        )
        closing = [Reply(body, edit_message_id=message_id)]
    return [*closing, *ask_current(turn, checkup)]


def answer_text(turn: Turn, checkup: CheckupView, typed: str) -> list[Reply]:
    """A typed answer to the current question."""
    lang = turn.user.language
    question = QUESTIONNAIRE.next_question(checkup.answers)
    if question is None:
        return finish_checkup(turn, checkup)
    if question.type == "multi" and not typed.strip():
        return [Reply(_escape(question.hint[lang]))]
    result = QUESTIONNAIRE.parse(question, typed, lang)
    if isinstance(result, Rejection):
        return [Reply(_escape(rejection_text(result, lang)))]
    return _record(turn, checkup, question, result)


class AtQuestion(NamedTuple):
    """The current question of a check-up in progress, whose button was pressed."""

    checkup: CheckupView
    question: Question
    message_id: int | None  # the message that shows it, to edit


_B = TypeVar("_B", bound=cb.QuestionButton)


def at_current_question(
    step: Callable[[Turn, _B, AtQuestion], list[Reply]],
) -> Callable[[Turn, _B, int | None], list[Reply]]:
    """A button step of a question message (``pressed``: that message's id). It runs only if
    the button's question is the one to answer now; else the stale-button reply follows,
    and where the seller is."""

    @wraps(step)
    def at_question(turn: Turn, button: _B, pressed: int | None) -> list[Reply]:
        lang = turn.user.language
        checkup = turn.in_progress(button.checkup)
        if checkup is None or checkup.kind != "checkup":
            return [stale_button(lang), *current_or_idle(turn)]
        question = QUESTIONNAIRE.next_question(checkup.answers)
        if question is None or button.question != QUESTION_INDEX[question.field]:
            return [stale_button(lang), *ask_current(turn, checkup)]
        at = AtQuestion(checkup, question, _question_message(checkup, question, pressed))
        return step(turn, button, at)

    return at_question


def _answered(turn: Turn, at: AtQuestion, result: Answer | Rejection) -> list[Reply]:
    if isinstance(result, Rejection):
        return [Reply(_escape(rejection_text(result, turn.user.language)))]
    return _record(turn, at.checkup, at.question, result, at.message_id)


@at_current_question
def choose(turn: Turn, button: cb.Choose, at: AtQuestion) -> list[Reply]:
    return _answered(turn, at, QUESTIONNAIRE.choose(at.question, button.option, turn.user.language))


@at_current_question
def toggle(turn: Turn, button: cb.Toggle, at: AtQuestion) -> list[Reply]:
    """An option of a multi-choice question ticked or unticked: its message shows the
    options chosen now (the buttons hold them; nothing is stored until Done)."""
    if not _fits(at.question, button.mask):
        return [unknown_button(turn.user.language)]
    toggled = question_reply(at.checkup, at.question, turn.user.language, button.mask)
    if at.message_id is not None:
        toggled.edit_message_id, toggled.question_of = at.message_id, None
    return [toggled]


@at_current_question
def multi_done(turn: Turn, button: cb.MultiDone, at: AtQuestion) -> list[Reply]:
    if not _fits(at.question, button.mask):
        return [unknown_button(turn.user.language)]
    chosen = [i for i in range(len(at.question.options)) if button.mask >> i & 1]
    return _answered(turn, at, QUESTIONNAIRE.multi(at.question, chosen, turn.user.language))


def _fits(question: Question, mask: int) -> bool:
    return question.type == "multi" and mask < 1 << len(question.options)


@at_current_question
def skip(turn: Turn, button: cb.Skip, at: AtQuestion) -> list[Reply]:
    if not at.question.optional:
        return [unknown_button(turn.user.language)]
    return _answered(turn, at, Answer(None, AnswerStatus.SKIPPED))


@at_current_question
def dont_know(turn: Turn, button: cb.DontKnow, at: AtQuestion) -> list[Reply]:
    if not at.question.accepts_dont_know:
        return [unknown_button(turn.user.language)]
    return _answered(turn, at, Answer(None, AnswerStatus.DONT_KNOW))


@at_current_question
def back(turn: Turn, button: cb.Back, at: AtQuestion) -> list[Reply]:
    lang, (checkup, question, message_id) = turn.user.language, at
    previous = QUESTIONNAIRE.previous(checkup.answers, question.field)
    if previous is None:
        first = Formatter(lang, "CNY").t("terminal_first_question")
        return [Reply(_escape(first), toast=first)]
    closing = _left_question(
        message_id, question, checkup.answers, lang, text("question_left_back", lang)
    )
    checkup = turn.withdraw_answer(checkup, previous.field)
    return [*closing, question_reply(checkup, previous, lang)]


def current_or_idle(turn: Turn) -> list[Reply]:
    active = turn.active_checkup()
    return idle_text(turn) if active is None else ask_current(turn, active)


def finish_checkup(turn: Turn, checkup: CheckupView) -> list[Reply]:
    """Turn the answers into a profile (the ledger's figures where it measures them), assess
    it, store and send the advice."""
    lang = turn.user.language
    offer = checkins.offers_checkins(turn, checkup)  # reads first: cheap to run again
    report_id = turn.new_id("advice_reports")
    stored = sales.recent_sales(turn)
    # The ledger's weekly orders, order value and repeat rate, once it holds enough, in
    # place of the seller's estimates (the advice says which).
    profile = sales.measured(QUESTIONNAIRE.to_profile(checkup.answers), stored, turn.now)
    report, html = turn.finish_checkup(
        checkup, report_id=report_id, profile=profile, assessment=assess(profile)
    )
    advice = Reply(f"{text('checkup_done_intro', lang)}\n\n{html}", advice_buttons(report.id, lang))
    return [checkins.with_offer(turn, advice) if offer else advice]
