"""Core statements run straight on the asyncpg connection, with the values bound as
SQLAlchemy would bind them, and asyncpg's errors raised as SQLAlchemy's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from typing import Any

import asyncpg
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault
from sqlalchemy.util import greenlet_spawn

from bot.storage.statements import Statement

# --- statements on the asyncpg connection ---------------------------------------------------
_POSTGRESQL = postgresql.asyncpg.dialect()
_ON_DRIVER: dict[
    tuple[Statement, tuple[str, ...]],
    tuple[str, tuple[tuple[str | None, Any, Any], ...], dict[str, Callable[[], Any]]],
] = {}


async def run_on_driver(
    driver: asyncpg.Connection, statement: Statement, parameters: dict[str, Any]
) -> list[Any]:
    """Run a Core statement on the asyncpg connection (see :func:`driver_arguments`); its
    rows are asyncpg's Records (untyped), read by column name as a RowMapping is."""
    sql, arguments = driver_arguments(statement, parameters)
    return await driver.fetch(sql, *arguments)


def driver_arguments(statement: Statement, parameters: dict[str, Any]) -> tuple[str, list[Any]]:
    """A Core statement as asyncpg takes it: compiled once (per set of parameter names) by
    SQLAlchemy's asyncpg dialect, with its positional values converted by the column types
    as SQLAlchemy would (JSON to text for the codec SQLAlchemy installed on the connection),
    and an INSERT given the Python-side column defaults, as SQLAlchemy's execution gives.

    The values are put in place as ``construct_params`` would (which cost more than the
    statement on every update): a given parameter by its name, a value fixed in the
    statement (a literal) converted once."""
    key = (statement, tuple(parameters))
    found = _ON_DRIVER.get(key)
    if found is None:
        found = _ON_DRIVER[key] = _compile_for_driver(statement, parameters)
    sql, places, defaults = found
    if defaults:
        parameters = {**{name: make() for name, make in defaults.items()}, **parameters}
    return sql, [
        fixed
        if name is None
        else parameters[name]
        if convert is None
        else convert(parameters[name])
        for name, convert, fixed in places
    ]


def _compile_for_driver(
    statement: Statement, parameters: Mapping[str, Any]
) -> tuple[str, tuple[tuple[str | None, Any, Any], ...], dict[str, Callable[[], Any]]]:
    defaults = _python_defaults(statement, parameters)
    given = [*parameters, *defaults]
    compiled = statement.compile(dialect=_POSTGRESQL, column_keys=given)
    places: list[tuple[str | None, Callable[[Any], Any] | None, Any]] = []
    for name in compiled.positiontup or ():
        bind = compiled.binds[name]
        if bind.expanding or bind.literal_execute:
            raise NotImplementedError(
                f"{name}: values rendered into the SQL are not run on the driver"
            )
        convert = _bind_processor(bind.type)
        if name in given:
            places.append((name, convert, None))
        elif bind.required:
            raise KeyError(f"the statement needs a value for {name}")
        else:
            value = bind.effective_value
            places.append((None, None, value if convert is None else convert(value)))
    return str(compiled), tuple(places), defaults


def _bind_processor(type_: Any) -> Callable[[Any], Any] | None:
    """How SQLAlchemy converts a value of ``type_`` for asyncpg; None when it passes as is.
    An array of items that need no conversion needs none (SQLAlchemy would still copy it,
    item by item)."""
    if (
        isinstance(type_, ARRAY)
        and type_.item_type.dialect_impl(_POSTGRESQL).bind_processor(_POSTGRESQL) is None
    ):
        return None
    return type_.dialect_impl(_POSTGRESQL).bind_processor(_POSTGRESQL)


def _python_defaults(
    statement: Statement, parameters: Mapping[str, Any]
) -> dict[str, Callable[[], Any]]:
    """The INSERT's columns left out of ``parameters`` that have a Python-side default."""
    if not isinstance(statement, Insert):
        return {}
    makers: dict[str, Callable[[], Any]] = {}
    for column in statement.table.c:
        default = column.default
        if column.key in parameters or default is None:
            continue
        if isinstance(default, CallableColumnDefault):
            # SQLAlchemy wraps a default taking no context in one that takes it and ignores it.
            makers[column.key] = partial(default.arg, None)  # type: ignore[arg-type]
        elif isinstance(default, ScalarElementColumnDefault):
            makers[column.key] = _constant(default.arg)
    return makers


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


async def checkout(engine: AsyncEngine) -> PoolProxiedConnection:
    """A connection from the engine's pool. Failing to connect raises what engine.connect()
    raises (SQLAlchemy's OperationalError...), not the driver adapter's own error classes."""
    base = engine.dialect.loaded_dbapi.Error
    try:
        return await engine.raw_connection()
    except base as exc:
        raise DBAPIError.instance(
            None, None, exc, base, hide_parameters=True, dialect=engine.dialect
        ) from exc


@contextmanager
def driver_errors() -> Iterator[None]:
    """asyncpg's own errors as SQLAlchemy's DBAPIError, as the session would raise them, so
    the bot tells a seller the database is unavailable the same way whichever ran the
    statement. No statement or parameters are attached: they can hold what a seller typed."""
    try:
        yield
    except (
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.InternalClientError,
    ) as exc:
        raise DBAPIError(None, None, exc, hide_parameters=True) from exc


# asyncpg's errors that mean the connection cannot be used again (an InternalClientError is
# what a statement on a connection the server had just terminated raised; OSError last).
CONNECTION_BROKEN = (asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError, OSError)


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """PostgreSQL: the asyncpg connection of one pooled connection, lent for the block, its
    errors raised as SQLAlchemy's; a broken one is never lent again."""
    with driver_errors():
        pooled = await checkout(engine)
        try:
            yield pooled.driver_connection
        except CONNECTION_BROKEN:
            await greenlet_spawn(pooled.invalidate)
            raise
        finally:
            await greenlet_spawn(pooled.close)  # back to the pool (closing may need I/O)


Runner = Callable[[Statement, dict[str, Any]], Awaitable[Sequence[RowMapping]]]


def connection_runner(connection: AsyncConnection) -> Runner:
    """Run Core statements on an SQLAlchemy connection; the rows they return, by name."""

    async def run(statement: Statement, parameters: dict[str, Any]) -> list[RowMapping]:
        result = await connection.execute(statement, parameters)
        return [row._mapping for row in result] if result.returns_rows else []

    return run


async def fetch(
    engine: AsyncEngine, statement: Statement, parameters: dict[str, Any]
) -> Sequence[RowMapping]:
    """One statement outside a transaction (on asyncpg itself on PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        async with driver_connection(engine) as driver:
            return await run_on_driver(driver, statement, parameters)
    async with engine.connect() as connection:
        return await connection_runner(connection)(statement, parameters)
