"""The seller's data (/export, /delete) and the operator's figures (/stats)."""

from __future__ import annotations

import json
from typing import Any

from advice.formatting import Formatter
from bot import callbacks as cb
from bot.core.turn import Turn
from bot.replies import Button, Reply, text


def export_data(turn: Turn) -> list[Reply]:
    """Everything stored about the seller, as a JSON document."""
    payload = json.dumps(turn.export(), ensure_ascii=False, indent=2, default=str).encode()
    document = (f"seller-coach-{turn.user.id}.json", payload)
    return [Reply(text("export_caption", turn.user.language), document=document)]


def delete_prompt(turn: Turn) -> list[Reply]:
    lang = turn.user.language
    yes = Button(text("button_yes_delete", lang), cb.Delete(True).pack())
    no = Button(text("button_no_keep", lang), cb.Delete(False).pack())
    return [Reply(text("delete_confirm", lang), [[yes, no]])]


def delete_pressed(turn: Turn, button: cb.Delete, pressed: int | None) -> list[Reply]:
    """Yes deletes every row of the seller at once; no keeps them."""
    if not button.confirmed:
        return [Reply(text("delete_kept", turn.user.language))]
    turn.delete_user()
    return [Reply(text("delete_done", turn.user.language))]


def stats_reply(turn: Turn) -> list[Reply]:
    """The operator's figures: counts only, nothing about any one seller."""
    lang = turn.user.language
    stats: Any = turn.stats()
    ui = Formatter(lang, "CNY")
    top = ui.lever(stats.top_bottleneck) if stats.top_bottleneck else text("stats_none", lang)
    figures = text(
        "stats",
        lang,
        users=ui.num(stats.users),
        checkups_done=ui.num(stats.checkups_done),
        active_checkins=ui.num(stats.active_checkins),
        bottleneck=top,
    )
    return [Reply(figures)]
