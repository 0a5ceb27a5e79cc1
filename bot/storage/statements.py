"""Statements built once per dialect, the tables' handles, and snapshots of rows read
with Core statements (see :func:`unloaded`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import configure_mappers
from sqlalchemy.sql import Executable

from bot.storage.models import AdviceReport, AnswerRow, Base, Checkup, ProcessedUpdate, User

# --- the statements of every update, built once -------------------------------------------
# Building a statement (argument coercion, its cache key) costs more CPU than running it, so
# the ones each update runs are built once per dialect, with bound parameters, and reused.
# Rows the update only reads or appends go through the session's connection as Core
# statements (no ORM identity map or unit of work for them), in the same transaction.
_BUILT: dict[tuple[str, str], Executable] = {}
ANSWERS = AnswerRow.__table__
CHECKUPS = Checkup.__table__
USERS = User.__table__
REPORTS = AdviceReport.__table__
CHECKUP_KEYS = tuple(column.key for column in CHECKUPS.c)
USER_KEYS = tuple(column.key for column in USERS.c)
_ANSWER_COLUMNS = tuple(
    getattr(ANSWERS.c, name).label(f"a_{name}")
    for name in ("field", "value", "status", "low", "high")
)
M = TypeVar("M", bound=Base)


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


def unloaded(model: type[M], values: Mapping[str, Any]) -> M:
    """An instance of ``model`` holding ``values`` (a row read with a Core statement), outside the
    session: the ORM's loading costs several times the statement itself. It is a snapshot:
    changes are written by the Unit method that makes them (close_checkup, set_language,
    set_time_zone), not by a flush.

    The values go straight into the instance's dict, as the ORM's own loading puts them
    (committed, no change history): ten times cheaper than the constructor, which records
    each keyword as a change."""
    if model.__mapper__.configured is False:  # the constructor would have configured it
        configure_mappers()
    instance = model.__mapper__.class_manager.new_instance()
    instance.__dict__.update(values)
    return instance


def dialect_insert(dialect: str) -> Any:
    """``insert`` for ``dialect`` (with ON CONFLICT)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
