"""A unit of work outside an update (the check-in dispatcher, the send slots, the
operator's figures): one ORM session, one transaction (see :meth:`Store.unit
<bot.storage.store.Store.unit>`). Updates are read and applied by :mod:`bot.storage.updates`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.statements import dialect_of


@dataclass
class UnitCore:
    """The session of one unit; its jobs are in the modules beside this one."""

    session: AsyncSession

    def __post_init__(self) -> None:
        self.dialect = dialect_of(self.session)

    async def orm(self) -> AsyncSession:
        """The unit's session."""
        return self.session
