"""Statements built once per dialect, and the tables' handles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar, cast

from sqlalchemy import Insert, Select, Table, UpdateBase, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from bot.storage.models import (
    AdviceReport,
    AnswerRow,
    Base,
    CheckinRound,
    Checkup,
    Customer,
    ProcessedUpdate,
    Sale,
    User,
    UserSettings,
)

# A SELECT of any columns.
Query: TypeAlias = Select[*tuple[Any, ...]]
# A statement that runs on the asyncpg connection too (compiled by driver.py): a SELECT,
# or an INSERT, UPDATE or DELETE (with RETURNING or not).
Statement: TypeAlias = Query | UpdateBase
_Built = TypeVar("_Built", bound=Executable)

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
SETTINGS = cast(Table, UserSettings.__table__)
ROUNDS = cast(Table, CheckinRound.__table__)
CUSTOMERS = cast(Table, Customer.__table__)
SALES = cast(Table, Sale.__table__)


def table_of(model: type[Base]) -> Table:
    """The model's Table (typed as any FromClause on the class)."""
    return cast(Table, model.__table__)


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind else "sqlite"


def prepared(dialect: str, name: str, build: Callable[[Any], _Built]) -> _Built:
    """The statement ``name`` for ``dialect``, built by ``build(insert)`` the first time."""
    key = (dialect, name)
    found = _BUILT.get(key)
    if found is None:
        built = _BUILT[key] = build(dialect_insert(dialect))
        return built
    return cast(_Built, found)  # what ``build`` built: one builder for each name


def record_update(insert: Any) -> Insert:
    return (
        insert(PROCESSED_UPDATES)
        .values(update_id=bindparam("update"), handled_at=bindparam("now"))
        .on_conflict_do_nothing(index_elements=["update_id"])
    )


def dialect_insert(dialect: str) -> Any:
    """``insert`` for ``dialect`` (with ON CONFLICT)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
