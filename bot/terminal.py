"""The check-up in a terminal (``coach chat``): the same conversation as the bot, without
Telegram.

The terminal is one more face of the conversation core: what the seller types becomes the
same events a Telegram update would (a typed answer, a button pressed, a ``/command``
after the check-up), applied once through :func:`bot.updates.run_update` on a SQLite
database of its own, and the replies are printed as text: a question with its numbered
options, the answer understood, the advice.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from collections.abc import Callable
from html import unescape
from itertools import count
from pathlib import Path

from advice.formatting import Formatter
from advice.questionnaire import load_questionnaire
from bot import callbacks as cb
from bot.core.events import Command, Event, Pressed, Typed
from bot.core.writes import CloseCheckup, SaveReport
from bot.replies import Button, Reply
from bot.storage.database import create_engine, session_factory
from bot.storage.migrate import upgrade_database
from bot.storage.repository import Store
from bot.updates import run_update

Ask = Callable[[str], str]
Say = Callable[[str], None]

BACK_WORDS = {"back", "b", "返回", "上一题"}
QUIT_WORDS = {"quit", "exit", "q", "退出"}
SELLER = 1  # the one seller of a terminal chat
QUESTIONNAIRE = load_questionnaire()
_TAG = re.compile(r"<[^>]+>")


class Quit(Exception):
    """The seller stopped the check-up."""


def plain(html: str) -> str:
    """A reply's HTML as terminal text."""
    return unescape(_TAG.sub("", html))


class TerminalChat:
    """One seller's chat with the coach in a terminal."""

    def __init__(self, store: Store, ask: Ask, say: Say, lang: str, save: Path | None) -> None:
        self.store, self.ask, self.say, self.lang, self.save = store, ask, say, lang, save
        self.t = Formatter(lang, "CNY")
        self.update_ids = count(1)
        self.message_ids = count(1)
        self.question: Reply | None = None  # the open question's message
        self.buttons: list[Button] = []  # the newest answer's buttons (none: it showed none)
        self.saved = False

    async def run(self) -> int:
        self.say(self.t.t("terminal_welcome", count=len(QUESTIONNAIRE.may_apply({}))))
        try:
            await self.send(Command("checkup"))
            while True:
                prompt = "> " if self.question is not None else self.t.t("terminal_after")
                event = self.event_of(self.ask(prompt))
                if event is None:
                    return 0
                await self.send(event)
        except (Quit, EOFError, KeyboardInterrupt):
            self.say("")
            if not self.saved:  # after saving, ending the input just ends the chat
                self.say(self.t.t("terminal_stopped"))
            return 0

    def event_of(self, typed: str) -> Event | None:
        """What the seller's line means: a button pressed, or text typed (None: done)."""
        word = typed.strip().casefold()
        if word in QUIT_WORDS:
            raise Quit
        if self.question is not None:
            kinds = {type(p): b.data for b in _flat(self.question) if (p := cb.parse(b.data))}
            if word in BACK_WORDS:
                if cb.Back not in kinds:
                    self.say(self.t.t("terminal_first_question"))
                    return self.event_of(self.ask("> "))
                return Pressed(kinds[cb.Back])
            if not word and cb.Skip in kinds:
                return Pressed(kinds[cb.Skip])
            return Typed(typed)
        if not word:
            return None
        if word.startswith("/") and len(word) > 1:  # a command, as in Telegram
            name, _, args = typed.strip()[1:].partition(" ")
            return Command(name.casefold(), args.strip())
        for button in self.buttons:
            pressed = cb.parse(button.data)
            if isinstance(pressed, cb.AdviceView) and pressed.view == word:
                return Pressed(button.data)
        if word.isdigit() and 1 <= int(word) <= len(self.buttons):
            return Pressed(self.buttons[int(word) - 1].data)
        return Typed(typed)

    async def send(self, event: Event) -> None:
        decision = await run_update(
            self.store,
            update_id=next(self.update_ids),
            user_id=SELLER,
            language=self.lang,
            event=event,
            checkins=False,
        )
        if decision is None:
            return
        if any(isinstance(write, CloseCheckup) for write in decision.writes):
            self.question = None  # asked again by a reply below, if one is still open
        if decision.replies and not any(reply.buttons for reply in decision.replies):
            self.buttons = []  # a number typed now is text (an amount), not an old button
        for reply in decision.replies:
            self.show(reply)
        for write in decision.writes:
            if isinstance(write, SaveReport):
                self.offer_to_save(dict(write.profile))

    def show(self, reply: Reply) -> None:
        text = plain(reply.html).strip()
        if reply.edit_message_id is not None:  # a question answered: what was understood
            last = text.splitlines()[-1] if text else ""
            if last.startswith("✓ "):
                self.say(f"  -> {last[2:]}")
            return
        if reply.question_of is not None:
            self.show_question(reply, text)
            return
        self.say("")
        self.say(text)
        if reply.buttons:
            self.buttons = _flat(reply)
            for i, button in enumerate(self.buttons, start=1):
                self.say(f"  {i}. {button.label}")

    def show_question(self, reply: Reply, text: str) -> None:
        assert reply.question_of is not None
        self.question = reply
        question = QUESTIONNAIRE.by_field[reply.question_of[1]]
        progress, ask = text.splitlines()[:2]
        self.say("")
        lines = [f"[{progress}] {ask}"]
        lines += [f"  {i}. {o.label[self.lang]}" for i, o in enumerate(question.options, 1)]
        if question.type == "choice":
            lines.append(self.t.t("terminal_choice_help"))
        elif question.type == "multi":
            lines.append(self.t.t("terminal_multi_help"))
        if question.optional:
            lines.append(self.t.t("terminal_optional_help"))
        if question.accepts_dont_know:
            lines.append(self.t.t("terminal_dont_know_help"))
        self.say("\n".join(lines))
        self.store.remember_question_message(
            SELLER, reply.question_of[0], next(self.message_ids), reply.question_of[1]
        )

    def offer_to_save(self, profile: dict[str, object]) -> None:
        """The finished profile, saved as a file ``coach advise`` reads."""
        save = self.save
        if save is None:
            name = self.ask(self.t.t("terminal_save_prompt")).strip()
            save = Path(name) if name else None
        if save is None:
            return
        save.write_text(json.dumps(profile, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        self.saved = True
        self.say(self.t.t("terminal_saved", path=str(save)))


def _flat(reply: Reply) -> list[Button]:
    return [button for row in reply.buttons for button in row]


def chat(ask: Ask = input, say: Say = print, lang: str = "en", save: Path | None = None) -> int:
    """The whole terminal check-up, on a database of its own. Returns an exit code."""
    with tempfile.TemporaryDirectory(prefix="seller-coach-chat-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'chat.db'}"
        upgrade_database(url)
        return asyncio.run(_chat(url, ask, say, lang, save))


async def _chat(url: str, ask: Ask, say: Say, lang: str, save: Path | None) -> int:
    engine = create_engine(url)
    try:
        return await TerminalChat(Store(session_factory(engine)), ask, say, lang, save).run()
    finally:
        await engine.dispose()
