"""The check-up in a terminal: the same questions and advice as the bot, without Telegram."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from advice.engine import assess
from advice.formatting import Formatter, format_answer, progress_line, rejection_text
from advice.questionnaire import Answer, AnswerStatus, Question, Rejection, load_questionnaire
from advice.render import render

Ask = Callable[[str], str]
Say = Callable[[str], None]

BACK_WORDS = {"back", "b", "返回", "上一题"}
QUIT_WORDS = {"quit", "exit", "q", "退出"}


class Quit(Exception):
    """The seller stopped the check-up."""


def _prompt(question: Question, answers: dict[str, Answer], lang: str, t: Formatter) -> str:
    lines = [f"[{progress_line(question, answers, lang)}] {question.ask[lang]}"]
    for i, option in enumerate(question.options, start=1):
        lines.append(f"  {i}. {option.label[lang]}")
    if question.type == "choice":
        lines.append(t.t("terminal_choice_help"))
    elif question.type == "multi":
        lines.append(t.t("terminal_multi_help"))
    if question.optional:
        lines.append(t.t("terminal_optional_help"))
    if question.accepts_dont_know:
        lines.append(t.t("terminal_dont_know_help"))
    return "\n".join(lines)


def run_checkup(ask: Ask, say: Say, lang: str = "en") -> dict[str, Answer]:
    """Ask every applicable question until the check-up is complete."""
    questionnaire = load_questionnaire()
    t = Formatter(lang, "CNY")
    answers: dict[str, Answer] = {}
    say(t.t("terminal_welcome", count=len(questionnaire.may_apply({}))))
    while (question := questionnaire.next_question(answers)) is not None:
        say("")
        say(_prompt(question, answers, lang, t))
        text = ask("> ")
        word = text.strip().casefold()
        if word in QUIT_WORDS:
            raise Quit
        if word in BACK_WORDS:
            previous = questionnaire.previous(answers, question.field)
            if previous is None:
                say(t.t("terminal_first_question"))
            else:
                answers.pop(previous.field)
            continue
        if not word and question.optional:
            answers[question.field] = Answer(None, AnswerStatus.SKIPPED)
            continue
        result = questionnaire.parse(question, text, lang)
        if isinstance(result, Rejection):
            say(rejection_text(result, lang))
            continue
        answers[question.field] = result
        currency = answers.get("currency", Answer("CNY")).value
        say(f"  -> {format_answer(question, result, lang, currency)}")
    return answers


def chat(ask: Ask = input, say: Say = print, lang: str = "en", save: Path | None = None) -> int:
    """The whole terminal check-up: questions, advice, optional save. Returns an exit code."""
    t = Formatter(lang, "CNY")
    saved = False
    try:
        answers = run_checkup(ask, say, lang)
        profile = load_questionnaire().to_profile(answers)
        assessment = assess(profile)
        say("")
        say(render(assessment, lang, "text"))
        say("")
        if save is None:
            name = ask(t.t("terminal_save_prompt")).strip()
            save = Path(name) if name else None
        if save is not None:
            save.write_text(
                json.dumps(profile.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
            saved = True
            say(t.t("terminal_saved", path=str(save)))
        while (word := ask(t.t("terminal_after")).strip().casefold()) in ("why", "more"):
            say("")
            say(render(assessment, lang, "text", view=word))  # type: ignore[arg-type]
            say("")
    except (Quit, EOFError, KeyboardInterrupt):
        say("")
        if not saved:  # after saving, ending the input just ends the chat
            say(t.t("terminal_stopped"))
        return 0
    return 0
