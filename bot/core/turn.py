"""A step's working copy of the snapshot: it reads what is stored, records the writes,
and shows the step its own writes (an answer saved is an answer read back)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from advice.engine import Assessment
from advice.ledger import customer_key
from advice.profile import Profile
from advice.questionnaire import Answer
from advice.render import render, to_json
from bot.core import snapshot as need
from bot.core.snapshot import Snapshot
from bot.core.values import (
    CheckupKind,
    CheckupStatus,
    CheckupView,
    CustomerName,
    CustomerView,
    ReportView,
    RoundView,
    SalesTotals,
    SaleView,
    SettingsView,
    UserView,
)
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


class Turn:
    """One run of a step over ``snapshot``: reads through it, writes recorded in order."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.user: UserView = snapshot.user
        self.now: datetime = snapshot.now
        self.writes: list[Write] = []
        self._in_progress = {c.id: c for c in snapshot.in_progress}
        self._settings: SettingsView | None = None
        self._rounds: dict[int, RoundView | None] = {}
        self._latest: ReportView | None = None
        self._new_ids: dict[str, int] = {}

    # --- the seller ------------------------------------------------------------------
    def set_language(self, language: str) -> None:
        self._set_user(language=language, language_chosen=True)

    def set_time_zone(self, zone: str) -> None:
        self._set_user(time_zone=zone)

    def _set_user(self, **values: Any) -> None:
        self.writes.append(SetUser(self.user.id, values))
        self.user = replace(self.user, **values)

    # --- check-ups and answers --------------------------------------------------------
    def active_checkup(self, kind: CheckupKind = CheckupKind.CHECKUP) -> CheckupView | None:
        """The check-up (or check-in, by ``kind``) in progress, the newest if several."""
        of_kind = [c for c in self._in_progress.values() if c.kind == kind.value]
        return max(of_kind, key=lambda c: c.id) if of_kind else None

    def in_progress(self, checkup_id: int) -> CheckupView | None:
        """The seller's check-up of this id if it is in progress (buttons can be forged or
        old)."""
        return self._in_progress.get(checkup_id)

    def start_checkup(self, kind: CheckupKind = CheckupKind.CHECKUP) -> CheckupView:
        checkup = CheckupView(
            id=self.new_id("checkups"),
            user_id=self.user.id,
            kind=kind.value,
            status=CheckupStatus.IN_PROGRESS.value,
            language=self.user.language,
            started_at=self.now,
        )
        self.writes.append(
            StartCheckup(checkup.id, self.user.id, checkup.kind, checkup.language, self.now)
        )
        self._in_progress[checkup.id] = checkup
        return checkup

    def close_checkup(self, checkup: CheckupView, status: CheckupStatus) -> None:
        self.writes.append(CloseCheckup(checkup.id, status.value, self.now))
        self._in_progress.pop(checkup.id, None)

    def save_answer(self, checkup: CheckupView, field: str, answer: Answer) -> CheckupView:
        """Store an answer; an earlier answer to the same question becomes history. Returns
        the check-up with it."""
        current = self._current(checkup)
        replaces = field in current.answers
        self.writes.append(
            SaveAnswer(checkup.id, checkup.user_id, field, answer, replaces, self.now)
        )
        # The newest answer last, as stored answers are read back (in the order given).
        kept = {k: v for k, v in current.answers.items() if k != field}
        return self._keep(current.with_answers({**kept, field: answer}))

    def after(self) -> Snapshot | None:
        """The snapshot as this step's writes leave it (None once the seller is deleted):
        what a read after applying them would give, nothing loaded."""
        if any(isinstance(write, DeleteUser) for write in self.writes):
            return None
        in_progress = tuple(sorted(self._in_progress.values(), key=lambda c: c.id))
        return Snapshot(self.user, in_progress, self.now, self.snapshot.admin)

    def withdraw_answer(self, checkup: CheckupView, field: str) -> CheckupView:
        current = self._current(checkup)
        self.writes.append(WithdrawAnswer(checkup.id, field, self.now))
        remaining = {k: v for k, v in current.answers.items() if k != field}
        return self._keep(current.with_answers(remaining))

    def _current(self, checkup: CheckupView) -> CheckupView:
        return self._in_progress.get(checkup.id, checkup)

    def _keep(self, checkup: CheckupView) -> CheckupView:
        if checkup.id in self._in_progress:
            self._in_progress[checkup.id] = checkup
        return checkup

    def finish_checkup(
        self,
        checkup: CheckupView,
        *,
        report_id: int,
        profile: Profile,
        assessment: Assessment,
    ) -> tuple[ReportView, str]:
        """Close the check-up as finished and store the advice on ``profile`` (its id from
        :meth:`new_id`, asked for before the work of assessing: a step asking for more
        runs again from the start). Returns the report and its HTML, as stored."""
        lang = self.user.language
        rendered_html = render(assessment, lang, "html")
        result = to_json(assessment, lang)
        report = SaveReport(
            id=report_id,
            user_id=self.user.id,
            checkup_id=checkup.id,
            created_at=self.now,
            language=self.user.language,
            profile=profile.to_dict(),
            result=result,
            rule_ids=tuple(f.id for f in assessment.findings),
            bottleneck=assessment.bottleneck,
            monthly_sales=assessment.metrics.monthly_sales,
            rendered_html=rendered_html,
        )
        self.writes.append(report)
        self.close_checkup(checkup, CheckupStatus.FINISHED)
        self._latest = ReportView(
            report.id, report.user_id, checkup.id, self.now, lang, report.profile, result
        )
        return self._latest, rendered_html

    def new_id(self, table: str) -> int:
        """The id of a new row of ``table`` ("checkups" or "advice_reports")."""
        n = self._new_ids.get(table, 0)
        self._new_ids[table] = n + 1
        return int(self.snapshot.get(need.NewId(table, n)))

    # --- reports ----------------------------------------------------------------------
    def latest_report(self) -> ReportView | None:
        if self._latest is not None:
            return self._latest
        return self.snapshot.get(need.LatestReport())

    def reports(self) -> tuple[ReportView, ...]:
        """Every stored report of the seller, oldest first (without one made in this step)."""
        return self.snapshot.get(need.Reports())

    def report(self, report_id: int) -> ReportView | None:
        if self._latest is not None and self._latest.id == report_id:
            return self._latest
        return self.snapshot.get(need.Report(report_id))

    def offers_checkins(self, checkup_id: int) -> bool:
        return bool(self.snapshot.get(need.OffersCheckins(checkup_id)))

    def count_finished(self, kind: CheckupKind) -> int:
        return int(self.snapshot.get(need.FinishedCount(kind.value)))

    def checkin_answers_since(
        self, since: datetime, checkup_id: int
    ) -> tuple[Mapping[str, Answer], ...]:
        return self.snapshot.get(need.CheckinHistory(since, checkup_id))

    # --- settings and rounds ----------------------------------------------------------
    def settings(self) -> SettingsView:
        if self._settings is None:
            self._settings = self.snapshot.get(need.Settings())
        return self._settings

    def change_settings(self, **values: Any) -> SettingsView:
        """Change some settings (the others stay as stored); returns them as they are now."""
        self.writes.append(SetSettings(self.user.id, values))
        self._settings = replace(self.settings(), **values)
        return self._settings

    def round(self, round_id: int) -> RoundView | None:
        if round_id not in self._rounds:
            self._rounds[round_id] = self.snapshot.get(need.Round(round_id))
        return self._rounds[round_id]

    def round_of_checkup(self, checkup_id: int) -> RoundView | None:
        return self.snapshot.get(need.RoundOfCheckup(checkup_id))

    def change_round(self, round_: RoundView, **values: Any) -> RoundView:
        self.writes.append(SetRound(round_.id, values))
        changed = replace(round_, **values)
        self._rounds[round_.id] = changed
        return changed

    # --- the sales ledger and the customer book ----------------------------------------
    def customer_named(self, nickname: str) -> CustomerView | None:
        return self.snapshot.get(need.CustomerNamed(customer_key(nickname)))

    def customers(self) -> tuple[CustomerView, ...]:
        return self.snapshot.get(need.Customers())

    def sales_since(self, since: datetime) -> tuple[SaleView, ...]:
        return self.snapshot.get(need.SalesSince(since))

    def sales_totals(
        self, begins: tuple[datetime, ...], until: datetime, repeat_since: datetime
    ) -> SalesTotals:
        return self.snapshot.get(need.SalesWeeks(begins, until, repeat_since))

    def sale(self, sale_id: int) -> SaleView | None:
        return self.snapshot.get(need.OneSale(sale_id))

    def recent_customers(self, most: int) -> tuple[CustomerName, ...]:
        return self.snapshot.get(need.RecentCustomers(most))

    def customer_of_id(self, customer_id: int) -> CustomerName | None:
        return self.snapshot.get(need.CustomerOfId(customer_id))

    def add_customer(self, nickname: str) -> int:
        customer_id = self.new_id("customers")
        self.writes.append(AddCustomer(customer_id, self.user.id, nickname, self.now))
        return customer_id

    def change_customer(self, customer_id: int, **values: Any) -> None:
        self.writes.append(SetCustomer(customer_id, values))

    def record_sale(self, amount: Decimal, currency: str, **details: Any) -> int:
        """A sale (a refund: a negative amount) in the ledger now; its id."""
        sale_id = self.new_id("sales")
        self.writes.append(RecordSale(sale_id, self.user.id, self.now, amount, currency, **details))
        return sale_id

    def remove_sale(self, sale_id: int) -> None:
        self.writes.append(RemoveSale(sale_id))

    # --- the operator's figures and the seller's data ----------------------------------
    def stats(self) -> Any:
        return self.snapshot.get(need.Stats())

    def export(self) -> dict[str, Any]:
        return self.snapshot.get(need.Export())

    def delete_user(self) -> None:
        self.writes.append(DeleteUser(self.user.id))
