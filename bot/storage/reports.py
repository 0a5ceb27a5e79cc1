"""The advice reports of check-ups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import Executable

from bot.storage.checkups import Checkups
from bot.storage.models import AdviceReport, Checkup, CheckupStatus
from bot.storage.statements import REPORTS, prepared


def _insert_report(insert: Any) -> Executable:
    return REPORTS.insert().returning(REPORTS.c.id, REPORTS.c.created_at)


def _next_report_id(insert: Any) -> Executable:
    """PostgreSQL: an id for a report stored later in the update (see Unit.finish_checkup)."""
    return select(
        func.nextval(func.pg_get_serial_sequence(REPORTS.name, REPORTS.c.id.name)).label("id")
    )


def _report_values(report: AdviceReport) -> dict[str, Any]:
    """The report's columns that have a value (the others take their defaults)."""
    return {
        column.key: getattr(report, column.key)
        for column in REPORTS.c
        if getattr(report, column.key) is not None
    }


class Reports(Checkups):
    """The advice reports (finishing a check-up closes it too)."""

    # --- advice ----------------------------------------------------------------------
    async def save_report(self, report: AdviceReport) -> AdviceReport:
        """Store the advice (a Core insert: the ORM's flush costs more than the rest of
        finishing a check-up); the report gets its id."""
        (row,) = await self._run(
            prepared(self.dialect, "insert_report", _insert_report), _report_values(report)
        )
        for key in ("id", "created_at"):
            set_committed_value(report, key, row[key])
        return report

    async def finish_checkup(self, checkup: Checkup, report: AdviceReport) -> AdviceReport:
        """Close the check-up as finished and store its advice; the report gets its id.

        An update handled optimistically takes the report's id from its sequence now and
        makes both writes at its end, in the statement that makes its others. With
        :meth:`offers_checkins`, the last answer of a check-up takes four round trips (the
        read, the report's id, the offer, the write) where it took eight (the read, a
        transaction opened, the answer, the report, the check-up closed, two reads for the
        offer, the commit)."""
        unchecked = self._unchecked
        if unchecked is None or unchecked.report is not None:
            report = await self.save_report(report)
            await self.close_checkup(checkup, CheckupStatus.FINISHED)
            return report
        (row,) = await self._run(
            prepared(self.dialect, "next_report_id", _next_report_id), {}, reads=True
        )
        set_committed_value(report, "id", row["id"])
        set_committed_value(report, "created_at", unchecked.now)
        unchecked.report = _report_values(report)
        set_committed_value(checkup, "status", CheckupStatus.FINISHED.value)
        set_committed_value(checkup, "finished_at", unchecked.now)
        if self._in_progress is not None:
            self._in_progress.pop(checkup.id, None)
        return report

    async def latest_report(self, user_id: int) -> AdviceReport | None:
        return (
            await (await self.orm()).execute(
                select(AdviceReport)
                .where(AdviceReport.user_id == user_id)
                .order_by(AdviceReport.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def reports(self, user_id: int) -> list[AdviceReport]:
        """Every report of the user, oldest first: the data points of their progress."""
        return list(
            (
                await (await self.orm()).execute(
                    select(AdviceReport)
                    .where(AdviceReport.user_id == user_id)
                    .order_by(AdviceReport.created_at, AdviceReport.id)
                )
            ).scalars()
        )

    async def report(self, report_id: int, user_id: int) -> AdviceReport | None:
        found = await (await self.orm()).get(AdviceReport, report_id)
        return found if found is not None and found.user_id == user_id else None
