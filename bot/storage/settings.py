"""A seller's settings (check-in cadence and schedule among them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.sql import Executable

from bot.storage.models import CheckupKind, CheckupStatus, UserSettings
from bot.storage.statements import CHECKUPS, prepared
from bot.storage.unit import UnitCore


def _checkin_offer(insert: Any) -> Executable:
    """Whether the user finished a check-up other than ``of_checkup``, and their check-in
    cadence (NULL: never set)."""
    k, s = CHECKUPS.c, UserSettings.__table__.c
    finished = (
        (k.user_id == bindparam("user"))
        & (k.kind == CheckupKind.CHECKUP.value)
        & (k.status == CheckupStatus.FINISHED.value)
    )
    return select(
        select(k.id)
        .where(finished, k.id != bindparam("of_checkup"))
        .exists()
        .label("finished_before"),
        select(s.checkin_cadence)
        .where(s.user_id == bindparam("user"))
        .scalar_subquery()
        .label("cadence"),
    )


class Settings(UnitCore):
    """A seller's settings."""

    # --- settings --------------------------------------------------------------------
    async def settings(self, user_id: int) -> UserSettings:
        session = await self.orm()
        found = await session.get(UserSettings, user_id)
        if found is None:
            found = UserSettings(user_id=user_id)
            session.add(found)
            await session.flush()
        return found

    async def offers_checkins(self, user_id: int, checkup_id: int) -> bool:
        """Whether the advice of ``checkup_id`` offers check-ins: the user's first finished
        check-up (whether or not it is written yet), and check-ins never switched on."""
        (row,) = await self._run(
            prepared(self.dialect, "checkin_offer", _checkin_offer),
            {"user": user_id, "of_checkup": checkup_id},
            reads=True,
        )
        return not row["finished_before"] and (row["cadence"] or "off") == "off"
