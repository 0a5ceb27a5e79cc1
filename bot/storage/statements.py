"""Statements built once per dialect, and the tables' handles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from bot.storage.models import AdviceReport, AnswerRow, Checkup, ProcessedUpdate, User

# --- the statements of every update, built once -------------------------------------------
# Building a statement (argument coercion, its cache key) costs more CPU than running it, so
# the ones each update runs are built once per dialect, with bound parameters, and reused.
# Rows the update only reads or appends go through the session's connection as Core
# statements (no ORM identity map or unit of work for them), in the same transaction.
_BUILT: dict[tuple[str, str], Executable] = {}
# Declarative models type __table__ as any FromClause; these are Tables.
ANSWERS = cast(Table, AnswerRow.__table__)
CHECKUPS = cast(Table, Checkup.__table__)
USERS = cast(Table, User.__table__)
REPORTS = cast(Table, AdviceReport.__table__)
PROCESSED_UPDATES = cast(Table, ProcessedUpdate.__table__)


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind else "sqlite"


def prepared(dialect: str, name: str, build: Callable[[Any], Executable]) -> Executable:
    """The statement ``name`` for ``dialect``, built by ``build(insert)`` the first time."""
    key = (dialect, name)
    found = _BUILT.get(key)
    if found is None:
        found = _BUILT[key] = build(dialect_insert(dialect))
    return found


def record_update(insert: Any) -> Executable:
    return (
        insert(ProcessedUpdate.__table__)
        .values(update_id=bindparam("update"), handled_at=bindparam("now"))
        .on_conflict_do_nothing(index_elements=["update_id"])
    )


def dialect_insert(dialect: str) -> Any:
    """``insert`` for ``dialect`` (with ON CONFLICT)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
