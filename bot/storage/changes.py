"""The statements that make a step's writes (:mod:`bot.core.writes`), each an explicit Core
statement built once per dialect (and per set of columns), with its values."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from sqlalchemy import Delete, Insert, Update, bindparam, delete

from advice.ledger import customer_key
from advice.questionnaire import MAX_TEXT_LENGTH
from bot.core.writes import (
    AddCustomer,
    CloseCheckup,
    DeleteUser,
    RecordSale,
    RemoveSale,
    SaveAnswer,
    SaveReport,
    SetCustomer,
    SetRound,
    SetSettings,
    SetUser,
    StartCheckup,
    WithdrawAnswer,
    Write,
)
from bot.storage.models import CheckupStatus, User
from bot.storage.privacy import USER_TABLES
from bot.storage.statements import (
    ANSWERS,
    CHECKUPS,
    CUSTOMERS,
    REPORTS,
    ROUNDS,
    SALES,
    SETTINGS,
    USERS,
    table_of,
)
from bot.storage.statements import Statement as Sql

Build = Callable[[Any], Sql]
Statement = tuple[str, Build, dict[str, Any]]


def plain(value: Any) -> Any:
    """A value as JSON columns store it: mappings as dicts, tuples as lists."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def _set_user(insert: Any) -> Update:
    """The columns given as values (by name) of the seller's row."""
    return USERS.update().where(USERS.c.id == bindparam("of_user"))


def _start_checkup(insert: Any) -> Insert:
    return CHECKUPS.insert()


def _close_checkup(insert: Any) -> Update:
    k = CHECKUPS.c
    return (
        CHECKUPS.update()
        .where(k.id == bindparam("of_checkup"), k.user_id == bindparam("of_user"))
        .values(status=bindparam("to"), finished_at=bindparam("at"))
    )


def _insert_answer(insert: Any) -> Insert:
    return ANSWERS.insert()


def _withdraw_answer(insert: Any) -> Update:
    a = ANSWERS.c
    return (
        ANSWERS.update()
        .where(
            a.checkup_id == bindparam("of_checkup"),
            a.field == bindparam("of_field"),
            a.superseded_at.is_(None),
        )
        .values(superseded_at=bindparam("at"))
    )


def _insert_report(insert: Any) -> Insert:
    return REPORTS.insert()


def _set_settings(insert: Any, *, columns: tuple[str, ...]) -> Insert:
    """The settings row inserted with the values given (the defaults for the others), or
    only ``columns`` changed if there is one."""
    upsert = insert(SETTINGS)
    if not columns:
        return upsert.on_conflict_do_nothing(index_elements=["user_id"])
    changed = {name: getattr(upsert.excluded, name) for name in columns}
    return upsert.on_conflict_do_update(index_elements=["user_id"], set_=changed)


def _set_round(insert: Any) -> Update:
    """The columns given as values (by name) of one round of the seller's."""
    r = ROUNDS.c
    return ROUNDS.update().where(r.id == bindparam("of_round"), r.user_id == bindparam("of_user"))


def _insert_customer(insert: Any) -> Insert:
    return CUSTOMERS.insert()


def _set_customer(insert: Any) -> Update:
    """The columns given as values (by name) of one customer of the seller's."""
    c = CUSTOMERS.c
    return CUSTOMERS.update().where(
        c.id == bindparam("of_customer"), c.user_id == bindparam("of_user")
    )


def _insert_sale(insert: Any) -> Insert:
    return SALES.insert()


def _remove_sale(insert: Any) -> Delete:
    s = SALES.c
    return delete(SALES).where(s.id == bindparam("of_sale"), s.user_id == bindparam("of_user"))


def minor_units(amount: Decimal) -> int:
    """An amount in hundredths of its currency, as the ledger stores it."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _delete_rows(insert: Any, *, table: str) -> Delete:
    model = next(m for m in USER_TABLES if m.__tablename__ == table)
    rows = table_of(model)
    return delete(rows).where(rows.c["id" if model is User else "user_id"] == bindparam("of_user"))


def answer_row(write: SaveAnswer) -> dict[str, Any]:
    """The columns of a new answer row."""
    answer = write.answer
    value = plain(answer.value)
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(t, str) and len(t) > MAX_TEXT_LENGTH for t in texts):
        # The questionnaire bounds typed text; this is the last line, never the check.
        raise ValueError(f"answer to {write.field} longer than {MAX_TEXT_LENGTH} characters")
    if any(isinstance(n, float) and not math.isfinite(n) for n in texts):
        raise ValueError(f"answer to {write.field} is not a finite number")  # JSON has none
    return {
        "checkup_id": write.checkup_id,
        "user_id": write.user_id,
        "field": write.field,
        "value": value,
        "status": answer.status.value,
        "low": answer.low,
        "high": answer.high,
        "created_at": write.at,
    }


def report_row(write: SaveReport) -> dict[str, Any]:
    """The columns of a new report row (its id given)."""
    return {
        "id": write.id,
        "user_id": write.user_id,
        "checkup_id": write.checkup_id,
        "created_at": write.created_at,
        "language": write.language,
        "profile": plain(write.profile),
        "result": plain(write.result),
        "rule_ids": list(write.rule_ids),
        "bottleneck": write.bottleneck,
        "monthly_sales": write.monthly_sales,
        "rendered_html": write.rendered_html,
    }


def statements(write: Write, *, user_id: int) -> list[Statement]:
    """The statements (name, builder, values) that make ``write`` for the seller ``user_id``."""
    match write:
        case SetUser(values=values):
            return [("set_user", _set_user, {"of_user": user_id, **values})]
        case StartCheckup():
            row = {
                "id": write.id,
                "user_id": write.user_id,
                "kind": write.kind,
                "status": CheckupStatus.IN_PROGRESS.value,
                "language": write.language,
                "started_at": write.started_at,
            }
            return [("start_checkup", _start_checkup, row)]
        case CloseCheckup():
            values = {"of_checkup": write.checkup_id, "of_user": user_id}
            values |= {"to": write.status, "at": write.at}
            return [("close_checkup", _close_checkup, values)]
        case SaveAnswer():
            insert = ("insert_answer", _insert_answer, answer_row(write))
            if not write.replaces:
                return [insert]
            withdraw = {"of_checkup": write.checkup_id, "of_field": write.field, "at": write.at}
            return [("withdraw_answer", _withdraw_answer, withdraw), insert]
        case WithdrawAnswer():
            withdraw = {"of_checkup": write.checkup_id, "of_field": write.field, "at": write.at}
            return [("withdraw_answer", _withdraw_answer, withdraw)]
        case SaveReport():
            return [("insert_report", _insert_report, report_row(write))]
        case SetSettings(values=values):
            columns = tuple(sorted(values))
            build = partial(_set_settings, columns=columns)
            return [(f"set_settings:{columns}", build, {"user_id": user_id, **values})]
        case SetRound(values=values):
            values = {"of_round": write.round_id, "of_user": user_id, **values}
            return [("set_round", _set_round, values)]
        case AddCustomer():
            row = {
                "id": write.id,
                "user_id": write.user_id,
                "nickname": write.nickname,
                "nickname_key": customer_key(write.nickname),
                "created_at": write.created_at,
            }
            return [("insert_customer", _insert_customer, row)]
        case SetCustomer(values=values):
            values = {"of_customer": write.customer_id, "of_user": user_id, **values}
            return [("set_customer", _set_customer, values)]
        case RecordSale():
            row = {
                "id": write.id,
                "user_id": write.user_id,
                "at": write.at,
                "amount_minor": minor_units(write.amount),
                "currency": write.currency,
                "quantity": write.quantity,
                "items": write.items,
                "customer_id": write.customer_id,
                "channel": write.channel,
            }
            return [("insert_sale", _insert_sale, row)]
        case RemoveSale():
            return [("remove_sale", _remove_sale, {"of_sale": write.sale_id, "of_user": user_id})]
        case DeleteUser():
            return [
                (f"delete:{table}", partial(_delete_rows, table=table), {"of_user": write.user_id})
                for table in (m.__tablename__ for m in USER_TABLES)
            ]
    raise TypeError(f"not a write: {write!r}")
