"""The bot's menus and plain answers: welcome, help, privacy, language, and what typed text
means when no question is open."""

from __future__ import annotations

from advice.questionnaire import load_questionnaire
from bot import callbacks as cb
from bot.core.turn import Turn
from bot.replies import Button, Reply, text

QUESTIONNAIRE = load_questionnaire()


def start_menu(lang: str) -> list[list[Button]]:
    return [
        [Button(text("button_start_checkup", lang), cb.Menu("checkup").pack())],
        [Button(text("button_help", lang), cb.Menu("help").pack())],
    ]


def advice_buttons(report_id: int, lang: str) -> list[list[Button]]:
    """Under a report: why, more, and what if."""
    return [
        [
            Button(text("button_why", lang), cb.AdviceView("why", report_id).pack()),
            Button(text("button_more", lang), cb.AdviceView("more", report_id).pack()),
        ],
        [Button(text("button_whatif", lang), cb.WhatIf("ask").pack())],
    ]


def welcome(turn: Turn, first_name: str) -> list[Reply]:
    lang = turn.user.language
    count = len(QUESTIONNAIRE.may_apply({}))
    body = text("welcome", lang, name=first_name or "there", count=count)
    return [Reply(body, start_menu(lang))]


def help_reply(turn: Turn) -> list[Reply]:
    return [Reply(text("help", turn.user.language))]


def privacy_reply(turn: Turn) -> list[Reply]:
    return [Reply(text("privacy", turn.user.language))]


def language_menu(turn: Turn) -> list[Reply]:
    buttons = [
        Button("English", cb.Language("en").pack()),
        Button("中文", cb.Language("zh").pack()),
    ]
    return [Reply(text("language_prompt", turn.user.language), [buttons])]


def idle_text(turn: Turn) -> list[Reply]:
    """Typed text with no question open: a seller with advice gets their options, one
    without is invited to a check-up."""
    lang = turn.user.language
    report = turn.latest_report()
    if report is None:
        return [Reply(text("idle_text", lang), start_menu(lang))]
    return [Reply(text("idle_text_advised", lang), advice_buttons(report.id, lang))]
