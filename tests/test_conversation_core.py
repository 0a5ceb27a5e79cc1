"""The conversation core as a specification: a snapshot and an event in, the writes and
the replies out. No database, no Telegram: the same steps every face drives."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from advice.questionnaire import Answer, AnswerStatus
from bot import callbacks as cb
from bot.core import snapshot as need
from bot.core.checkin_settings import rescheduled
from bot.core.checkup import QUESTION_INDEX, QUESTIONNAIRE
from bot.core.events import Command, Event, NotText, Pressed, Typed
from bot.core.router import decide
from bot.core.snapshot import NeedsMore, Snapshot
from bot.core.values import (
    CheckupView,
    ReportView,
    RoundView,
    SaleView,
    SettingsView,
    UserView,
)
from bot.core.writes import (
    CloseCheckup,
    Decision,
    SaveAnswer,
    SaveReport,
    SetRound,
    SetSettings,
    SetUser,
    StartCheckup,
    WithdrawAnswer,
)
from tests.personas import HEALTHY
from tests.test_questionnaire import answers_from

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
ANNA = 1001


def seller(**user: Any) -> UserView:
    return UserView(ANNA, version=3, **user)


def checkup(
    checkup_id: int = 7, answers: Mapping[str, Answer] | None = None, **kw: Any
) -> CheckupView:
    view = CheckupView(checkup_id, ANNA, "checkup", "in_progress", "en", NOW, **kw)
    return view.with_answers(answers or {})


def snapshot(
    *in_progress: CheckupView,
    user: UserView | None = None,
    loaded: dict[need.Need, Any] | None = None,
) -> Snapshot:
    """A snapshot of Anna; ``loaded``: what a step may ask for, by Need (defaults below)."""
    defaults: dict[need.Need, Any] = {
        need.NewId("checkups"): 41,
        need.NewId("advice_reports"): 90,
        need.LatestReport(): None,
        need.OffersCheckins(7): True,
        need.Settings(): SettingsView(ANNA),
        need.SalesSince(NOW - timedelta(days=90)): (),
    }
    defaults.update(loaded or {})
    base = Snapshot(user or seller(), tuple(in_progress), NOW)
    for key, value in defaults.items():
        base = base.with_loaded(key, value)
    return base


def run(snap: Snapshot, event: Event) -> Decision:
    return decide(snap, event)


def until_a(kind: str) -> dict[str, Answer]:
    """A healthy seller's answers up to the first question of ``kind``."""
    answers: dict[str, Answer] = {}
    for field, answer in answers_from(HEALTHY).items():
        if QUESTIONNAIRE.by_field[field].type == kind:
            return answers
        answers[field] = answer
    raise AssertionError(f"no {kind} question")


# --- a check-up, step by step ----------------------------------------------------------------
def test_checkup_command_starts_a_checkup_and_asks_the_first_question() -> None:
    decision = run(snapshot(), Command("checkup"))
    assert decision.writes == [StartCheckup(41, ANNA, "checkup", "en", NOW)]
    (question,) = decision.replies
    first = QUESTIONNAIRE.next_question({})
    assert first is not None and first.ask["en"] in question.html
    assert question.question_of == (41, first.field)
    pressed = [cb.parse(b.data) for row in question.buttons for b in row]
    assert all(isinstance(p, cb.QuestionButton) and p.checkup == 41 for p in pressed)


def test_a_typed_answer_is_stored_shown_in_its_message_and_the_next_question_asked() -> None:
    answers = until_a("number")
    question = QUESTIONNAIRE.next_question(answers)
    assert question is not None
    open_ = checkup(answers=answers, question_message_id=555, question_field=question.field)
    decision = run(snapshot(open_), Typed("120"))
    assert decision.writes == [SaveAnswer(7, ANNA, question.field, Answer(120), False, NOW)]
    edited, asked = decision.replies
    assert edited.edit_message_id == 555 and "✓ 120" in edited.html
    after = QUESTIONNAIRE.next_question({**answers, question.field: Answer(120)})
    assert after is not None and asked.question_of == (7, after.field)


def test_text_where_a_number_is_asked_is_refused_and_nothing_is_written() -> None:
    decision = run(snapshot(checkup(answers=until_a("number"))), Typed("lots 🙂"))
    assert decision.writes == []
    assert len(decision.replies) == 1 and decision.replies[0].buttons == []


def test_the_last_answer_stores_the_report_closes_the_checkup_and_offers_checkins() -> None:
    answers = answers_from(HEALTHY)
    last = list(answers)[-1]
    open_ = checkup(answers={k: v for k, v in answers.items() if k != last})
    decision = run(snapshot(open_), Typed("Anna's Bakes"))
    answers[last] = Answer("Anna's Bakes")
    saved, report, closed = decision.writes
    assert isinstance(saved, SaveAnswer) and saved.field == last
    assert isinstance(report, SaveReport) and report.id == 90 and report.checkup_id == 7
    assert report.profile == QUESTIONNAIRE.to_profile(answers).to_dict()
    assert closed == CloseCheckup(7, "finished", NOW)
    advice = decision.replies[-1]
    packed = [b.data for row in advice.buttons for b in row]
    assert cb.AdviceView("why", 90).pack() in packed
    assert cb.CheckinOffer(True).pack() in packed


def test_back_withdraws_the_previous_answer_and_asks_it_again() -> None:
    answers = dict(list(answers_from(HEALTHY).items())[:2])
    current = QUESTIONNAIRE.next_question(answers)
    assert current is not None
    back = cb.Back(7, QUESTION_INDEX[current.field]).pack()
    decision = run(snapshot(checkup(answers=answers)), Pressed(back, message_id=600))
    previous = list(answers)[-1]
    assert decision.writes == [WithdrawAnswer(7, previous, NOW)]
    left, asked = decision.replies
    assert left.edit_message_id == 600 and left.buttons == []
    assert asked.question_of == (7, previous)


def test_a_skip_on_an_optional_question_is_stored_as_skipped() -> None:
    answers: dict[str, Answer] = {}
    for field, answer in answers_from(HEALTHY).items():
        if QUESTIONNAIRE.by_field[field].optional:
            break
        answers[field] = answer
    question = QUESTIONNAIRE.next_question(answers)
    assert question is not None and question.optional
    skip = cb.Skip(7, QUESTION_INDEX[question.field]).pack()
    decision = run(snapshot(checkup(answers=answers)), Pressed(skip))
    assert decision.writes[0] == SaveAnswer(
        7, ANNA, question.field, Answer(None, AnswerStatus.SKIPPED), False, NOW
    )


# --- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("data", ["", "a:x:y:z", "zz:1", "a:7:999:0", "m:7:0:99999999", None])
def test_forged_button_data_changes_nothing(data: str | None) -> None:
    decision = run(snapshot(checkup()), Pressed(data))
    assert decision.writes == []
    assert decision.replies and decision.replies[0].toast


def test_a_button_of_an_earlier_checkup_is_stale_and_the_current_question_follows() -> None:
    first = QUESTIONNAIRE.next_question({})
    assert first is not None
    old = cb.Choose(3, QUESTION_INDEX[first.field], 0).pack()
    decision = run(snapshot(checkup()), Pressed(old))
    assert decision.writes == []
    stale, asked = decision.replies
    assert stale.toast and asked.question_of == (7, first.field)


def test_a_sticker_during_a_checkup_gets_the_question_again() -> None:
    decision = run(snapshot(checkup()), NotText("sticker"))
    assert decision.writes == [] and decision.replies[-1].question_of is not None


# --- the seller's other commands ---------------------------------------------------------------
def test_language_changes_mid_checkup_and_the_question_is_asked_in_it() -> None:
    decision = run(snapshot(checkup()), Pressed(cb.Language("zh").pack()))
    assert decision.writes == [SetUser(ANNA, {"language": "zh", "language_chosen": True})]
    first = QUESTIONNAIRE.next_question({})
    assert first is not None and first.ask["zh"] in decision.replies[-1].html


def test_stats_is_an_unknown_command_to_anyone_but_an_operator() -> None:
    decision = run(snapshot(), Command("stats"))
    assert decision.writes == [] and len(decision.replies) == 1
    with pytest.raises(NeedsMore) as more:
        decide(Snapshot(seller(), (), NOW, admin=True), Command("stats"))
    assert more.value.need == need.Stats()


def test_advice_with_a_report_renders_it_again_in_the_language_now() -> None:
    report = ReportView(
        90, ANNA, 7, NOW, "zh", QUESTIONNAIRE.to_profile(answers_from(HEALTHY)).to_dict(), {}
    )
    decision = run(snapshot(loaded={need.LatestReport(): report}), Command("advice"))
    assert decision.writes == []
    packed = [b.data for row in decision.replies[0].buttons for b in row]
    assert cb.AdviceView("why", 90).pack() in packed


def test_price_works_out_the_margin_in_the_currency_of_the_latest_check_up() -> None:
    report = ReportView(90, ANNA, 7, NOW, "en", {"currency": "USD"}, {})
    cake = "120 cost 50 ship 8 fee 5% agent 10% goal 5000 target 30%"
    decision = run(snapshot(loaded={need.LatestReport(): report}), Command("price", cake))
    assert decision.writes == []
    (reply,) = decision.replies
    # 120 - 12 (agent) - 6 (fee) - 50 - 8 = 44, 36.7%; 5000 / 44 / (52/12) = 26.2: 27 a week
    assert "<b>Margin: $44 an order, 36.7% of the price</b>" in reply.html
    assert "at least 27 orders a week" in reply.html and "$105.46" in reply.html


def test_price_without_a_check_up_is_in_yuan_and_in_the_sellers_language() -> None:
    line = "售价120 成本50 运费8 手续费5% 代理折扣10% 目标5000 目标利润率30%"
    decision = run(snapshot(user=seller(language="zh")), Command("price", line))
    (reply,) = decision.replies
    assert "每单利润：¥44，占售价 36.7%" in reply.html and "每周至少 27 单" in reply.html


def test_price_alone_explains_itself_and_reads_nothing() -> None:
    bare = Snapshot(seller(), (), NOW)  # nothing loaded: a step that read would ask
    (usage,) = decide(bare, Command("price")).replies
    assert "<code>/price 120 cost 50" in usage.html
    (bad,) = decide(bare, Command("price", "<b>1e99</b> cost 5")).replies
    assert "&lt;b&gt;1e99&lt;/b&gt;" in bad.html and "<b>1e99" not in bad.html


def test_price_reads_the_latest_report_only_for_a_line_it_can_use() -> None:
    with pytest.raises(NeedsMore) as more:
        decide(Snapshot(seller(), (), NOW), Command("price", "120 cost 50"))
    assert more.value.need == need.LatestReport()


# --- purity --------------------------------------------------------------------------------------
def test_a_step_asks_for_what_it_reads_and_decides_the_same_twice() -> None:
    bare = Snapshot(seller(), (), NOW)
    with pytest.raises(NeedsMore) as more:
        decide(bare, Command("checkup"))
    assert more.value.need == need.NewId("checkups")
    full = snapshot()
    assert decide(full, Command("checkup")) == decide(full, Command("checkup"))


# --- check-ins -----------------------------------------------------------------------------------
def test_starting_a_checkin_from_its_round_writes_the_checkin_its_round_and_the_period() -> None:
    profile = QUESTIONNAIRE.to_profile(answers_from(HEALTHY)).to_dict()
    report = ReportView(90, ANNA, 7, NOW, "en", profile, {"actions": []})
    due = RoundView(5, ANNA, "sent", NOW)
    weekly = SettingsView(ANNA, checkin_cadence="weekly", checkin_ignored_in_row=1)
    snap = snapshot(
        loaded={need.Round(5): due, need.LatestReport(): report, need.Settings(): weekly}
    )
    decision = run(snap, Pressed(cb.RoundAction("go", 5).pack()))
    assert decision.writes == [
        StartCheckup(41, ANNA, "checkin", "en", NOW),
        SetRound(5, {"checkup_id": 41, "status": "started"}),
        SaveAnswer(41, ANNA, "cadence", Answer("weekly"), False, NOW),
        SetSettings(ANNA, {"checkin_ignored_in_row": 0}),
    ]
    (question,) = decision.replies
    assert [cb.parse(b.data) for row in question.buttons for b in row] == [cb.SameAsLastTime(41, 0)]


def test_a_round_of_another_seller_is_a_stale_button() -> None:
    decision = run(snapshot(loaded={need.Round(6): None}), Pressed(cb.RoundAction("go", 6).pack()))
    assert decision.writes == [] and decision.replies[0].toast


# --- the levers, measured from the ledger ---------------------------------------------------------
def ledger(days: int = 28, per_day: int = 2, amount: str = "130") -> tuple[SaleView, ...]:
    """Anna's ledger: ``per_day`` orders a day for ``days`` days up to a day before NOW, each
    customer buying twice."""
    sales = []
    for day in range(days):
        for n in range(per_day):
            sale_id = len(sales) + 1
            at = NOW - timedelta(days=days - day, minutes=n)
            sales.append(
                SaleView(sale_id, ANNA, at, Decimal(amount), "CNY", customer=f"c{sale_id // 2}")
            )
    return tuple(sales)


LEDGER = {need.SalesSince(NOW - timedelta(days=90)): ledger()}


def test_a_finished_checkup_takes_the_levers_the_ledger_measures_and_says_so() -> None:
    answers = answers_from(HEALTHY)  # 10 orders a week at ¥220, 30% repeat, estimated
    last = list(answers)[-1]
    open_ = checkup(answers={k: v for k, v in answers.items() if k != last})
    decision = run(snapshot(open_, loaded=LEDGER), Typed("Anna's Bakes"))
    _, report, _ = decision.writes
    assert isinstance(report, SaveReport)
    # 56 orders over 28 days at ¥130; 27 of 29 named customers came back.
    assert report.profile["weekly_orders"] == 14.0
    assert report.profile["average_order_value"] == 130.0
    assert report.profile["repeat_rate"] == round(27 / 29, 4)
    assert report.profile["measured"] == ["weekly_orders", "average_order_value", "repeat_rate"]
    assert report.profile["measured_days"] == 28
    assert report.profile["weekly_reach"] == HEALTHY["weekly_reach"]  # still the estimate
    assert (
        "Measured from your ledger over the last 28 days: weekly orders, order value, "
        "repeat rate; the rest are your estimates."
    ) in decision.replies[-1].html
    # Without a ledger: the estimates, and nothing said about a ledger.
    plain = run(snapshot(open_), Typed("Anna's Bakes"))
    assert isinstance(plain.writes[1], SaveReport)
    assert plain.writes[1].profile["weekly_orders"] == 10.0
    assert plain.writes[1].profile["measured"] == []
    assert "ledger" not in plain.replies[-1].html


def test_a_finished_checkup_reads_the_ledger_before_the_advice() -> None:
    answers = answers_from(HEALTHY)
    open_ = checkup(answers=answers)
    bare = Snapshot(seller(), (open_,), NOW)
    for key, value in {
        need.OffersCheckins(7): True,
        need.NewId("advice_reports"): 90,
    }.items():
        bare = bare.with_loaded(key, value)
    with pytest.raises(NeedsMore) as more:
        decide(bare, Typed("anything"))
    assert more.value.need == need.SalesSince(NOW - timedelta(days=90))


def checkin_at_orders(lang: str = "en", **answers: Answer) -> CheckupView:
    """Anna's weekly check-in at its orders question (or further, with ``answers``)."""
    view = CheckupView(41, ANNA, "checkin", "in_progress", lang, NOW)
    return view.with_answers({"cadence": Answer("weekly"), "new_people": Answer(40), **answers})


def checkin_snapshot(
    *in_progress: CheckupView, lang: str = "en", sales: tuple[SaleView, ...] = ledger()
) -> Snapshot:
    """Anna, a weekly check-in in progress, her last report and her ledger."""
    profile = QUESTIONNAIRE.to_profile(answers_from(HEALTHY)).to_dict()
    report = ReportView(90, ANNA, 7, NOW, "en", profile, {"actions": []})
    return snapshot(
        *in_progress,
        user=seller(language=lang),
        loaded={
            need.LatestReport(): report,
            need.Reports(): (report,),
            need.Settings(): SettingsView(ANNA, checkin_cadence="weekly"),
            need.SalesSince(NOW - timedelta(days=90)): sales,
            need.CheckinHistory(NOW - timedelta(days=90), 41): (),
            need.FinishedCount("checkin"): 0,
            need.RoundOfCheckup(41): None,
        },
    )


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "From your ledger: 12 orders, ¥1,560 in the last 7 days. Right?"),
        ("zh", "账本记录：过去7 天共 12 单，¥1,560。对吗？"),
    ],
)
def test_the_orders_of_a_checkin_are_asked_with_the_ledgers_figures(lang: str, said: str) -> None:
    at_reach = CheckupView(41, ANNA, "checkin", "in_progress", lang, NOW).with_answers(
        {"cadence": Answer("weekly")}
    )
    decision = run(checkin_snapshot(at_reach, lang=lang), Typed("40"))
    (question,) = decision.replies
    # The 7 days up to NOW hold the orders of days 6 to 1 before it: 12 at ¥130.
    assert said in question.html
    pressed = [cb.parse(b.data) for row in question.buttons for b in row]
    assert pressed == [cb.FromLedger(41), cb.SameAsLastTime(41, 1)]


def test_without_enough_in_the_ledger_the_orders_are_asked_as_before() -> None:
    at_reach = CheckupView(41, ANNA, "checkin", "in_progress", "en", NOW).with_answers(
        {"cadence": Answer("weekly")}
    )
    (question,) = run(checkin_snapshot(at_reach, sales=ledger(days=3)), Typed("40")).replies
    assert "ledger" not in question.html
    pressed = [cb.parse(b.data) for row in question.buttons for b in row]
    assert pressed == [cb.SameAsLastTime(41, 1)]


def test_a_typed_figure_is_taken_as_before_where_the_ledger_has_one() -> None:
    decision = run(checkin_snapshot(checkin_at_orders()), Typed("5"))
    assert decision.writes == [SaveAnswer(41, ANNA, "orders", Answer(5), False, NOW)]


def test_right_stores_the_ledgers_orders_and_revenue_and_goes_on() -> None:
    decision = run(checkin_snapshot(checkin_at_orders()), Pressed(cb.FromLedger(41).pack()))
    assert decision.writes == [
        SaveAnswer(41, ANNA, "orders", Answer(12), False, NOW),
        SaveAnswer(41, ANNA, "revenue", Answer(1560.0), False, NOW),
        SaveAnswer(41, ANNA, "from_ledger", Answer(True), False, NOW),
    ]
    (next_question,) = decision.replies
    assert "bought from you before" in next_question.html  # repeat orders, asked as before


def test_right_on_a_question_already_answered_is_stale() -> None:
    answered = checkin_at_orders(orders=Answer(3), revenue=Answer(300))
    decision = run(checkin_snapshot(answered), Pressed(cb.FromLedger(41).pack()))
    assert decision.writes == [] and decision.replies[0].toast


def _finish(**answers: Answer) -> Decision:
    """The check-in's last figure (repeat orders) given, after ``answers``."""
    return run(checkin_snapshot(checkin_at_orders(**answers)), Typed("1"))


def test_a_checkin_accepted_from_the_ledger_takes_the_measured_levers() -> None:
    decision = _finish(orders=Answer(12), revenue=Answer(1560.0), from_ledger=Answer(True))
    report = next(w for w in decision.writes if isinstance(w, SaveReport))
    assert report.profile["weekly_orders"] == 14.0  # 28 days measured, not this week's 12
    assert report.profile["measured"] == ["weekly_orders", "average_order_value", "repeat_rate"]
    html = decision.replies[-1].html
    assert "Measured from your ledger over the last 28 days" in html
    assert "Repeat purchases:" not in html  # the check-ins' window: the ledger measures it


def test_figures_the_seller_typed_in_a_checkin_win_over_the_ledger() -> None:
    decision = _finish(orders=Answer(3), revenue=Answer(600.0))
    report = next(w for w in decision.writes if isinstance(w, SaveReport))
    assert report.profile["weekly_orders"] == 3.0
    assert report.profile["average_order_value"] == 200.0
    assert report.profile["measured"] == ["repeat_rate"]
    html = decision.replies[-1].html
    assert "Measured from your ledger over the last 28 days: repeat rate;" in html


def test_a_check_in_set_for_midnight_is_due_at_midnight() -> None:
    """Hour 0 is midnight, not "no hour chosen" (which means 09:00)."""
    monday = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    for hour, due_hour in ((0, 0), (None, 9), (21, 21)):
        settings = SettingsView(ANNA, checkin_cadence="daily", checkin_hour=hour)
        due = rescheduled(settings, seller(), monday)["checkin_next_due_at"]
        assert (due.hour, due.minute) == (due_hour, 0), hour
