"""The seller's data (/export, /delete) and the operator's figures (/stats)."""

from __future__ import annotations

import json

from advice.formatting import Formatter
from bot import callbacks as cb
from bot.replies import Button, Reply, text
from bot.storage.models import User
from bot.storage.repository import Stats, Unit


async def export_data(uow: Unit, user: User) -> list[Reply]:
    data = await uow.export(user.id)
    payload = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
    document = (f"seller-coach-{user.id}.json", payload)
    return [Reply(text("export_caption", user.language), document=document)]


def delete_prompt(lang: str) -> list[Reply]:
    yes = Button(text("button_yes_delete", lang), cb.Delete(True).pack())
    no = Button(text("button_no_keep", lang), cb.Delete(False).pack())
    return [Reply(text("delete_confirm", lang), [[yes, no]])]


async def delete_pressed(
    uow: Unit, user: User, button: cb.Delete, pressed: int | None
) -> list[Reply]:
    """Yes deletes every row of the seller at once; no keeps them."""
    if not button.confirmed:
        return [Reply(text("delete_kept", user.language))]
    await uow.delete_user(user.id)
    return [Reply(text("delete_done", user.language))]


def stats_reply(stats: Stats, lang: str) -> list[Reply]:
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
