"""The sales ledger in chat: ``/sold`` logs a sale in one line (Undo takes it back),
``/sales`` sums the weeks up (with a small chart of their revenue), and the ledger comes as
a CSV file on request.

``/sold 180 2 cakes @Lena #groups`` is read by :func:`advice.sales.parse_sale`: the amount
in the seller's currency (from their latest check-up), a quantity, the items, the customer
(after ``@``, ``to`` or ``给``) and the channel (``#tag``). A refund (``/sold -180 @Lena``)
is a negative amount, no larger than what that customer bought.

A bare ``/sold`` is a short flow. It asks for the amount; a whole line typed then is
recorded as ``/sold <line>``. An amount (with perhaps a quantity, items, a channel) without
a customer gets buttons: the seller's latest customers, "New customer" (the nickname is
typed next; a nickname typed while the buttons are shown is the same) and "No customer".
A press records the sale the same way ``/sold`` does, with Undo.

Where the sale waits for its customer: in the database, on the settings row
(``sale_pending``, as a /sold line that reads back to the same sale, written by
:func:`advice.sales.sale_command`), beside ``awaiting`` (the flow's step) and
``updated_at``, never in a process's memory: a restart or another process carries on. The
buttons carry no part of the sale, only the flow's number (``sale_flow``, counted up each
time buttons are shown) and a customer's id: a forged amount cannot be pressed in, a
button of a flow finished, timed out (:data:`SALE_PROMPT_VALID`) or followed by another
records nothing, and a customer's id is looked up among the seller's own. A redelivered
press is applied once, as every update is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from advice.ledger import (
    MeasuredLevers,
    Sale,
    SalesSummary,
    WeekSummary,
    measured_levers,
    week_starts,
    week_summary,
    with_measured,
)
from advice.profile import Profile
from advice.progress import convert
from advice.sales import (
    SaleEntry,
    SaleRejection,
    format_money,
    format_sale,
    parse_nickname,
    parse_sale,
    rejection_text,
    sale_command,
)
from bot import callbacks as cb
from bot.core.events import Command
from bot.core.turn import Turn
from bot.core.values import SaleView, SettingsView
from bot.replies import Button, Reply, WeeksChart, text

# How long after its last step the bare /sold flow reads the next message or press.
SALE_PROMPT_VALID = timedelta(minutes=30)
LEDGER_START = datetime(2000, 1, 1, tzinfo=UTC)  # before any sale: the whole ledger
# The steps of the bare /sold flow (settings.awaiting): the amount is asked for; the
# customer buttons are shown; the new customer's nickname is asked for.
AMOUNT, CUSTOMER, NICKNAME = "sale", "sale_customer", "sale_nickname"
RECENT_SHOWN = 6  # the seller's latest customers offered as buttons
LABEL_CHARS = 24  # the most of a nickname a button shows
FLOWS = 10**9  # flow numbers go round here (a button's field holds nine digits)


def currency_of(turn: Turn) -> str:
    """The seller's currency: their latest check-up's, else CNY."""
    report = turn.latest_report()
    currency = report.profile.get("currency") if report is not None else None
    return currency if isinstance(currency, str) else "CNY"


def sold(turn: Turn, event: Command) -> list[Reply]:
    """``/sold <line>`` records the sale; a bare ``/sold`` asks for the amount."""
    if not event.args.strip():
        turn.change_settings(awaiting=AMOUNT, sale_pending=None, updated_at=turn.now)
        return [Reply(text("sold_how", turn.user.language))]
    return record(turn, event.args)


def sale_step(settings: SettingsView, now: datetime) -> str | None:
    """The step of the bare /sold flow open now (AMOUNT, CUSTOMER or NICKNAME), if any:
    only shortly after the flow's last step, so a flow left unfinished does not swallow
    later messages."""
    if settings.updated_at is None or now - settings.updated_at >= SALE_PROMPT_VALID:
        return None
    if settings.awaiting == AMOUNT:
        return AMOUNT
    if settings.awaiting in (CUSTOMER, NICKNAME) and settings.sale_pending is not None:
        return settings.awaiting
    return None


def awaits_sale(turn: Turn) -> bool:
    """Whether a typed message belongs to the bare /sold flow (shortly after its prompt)."""
    return sale_step(turn.settings(), turn.now) is not None


def typed_sale(turn: Turn, typed: str) -> list[Reply]:
    """A message typed in the bare /sold flow: the amount (or the whole line), or the
    nickname of a new customer."""
    if sale_step(turn.settings(), turn.now) == AMOUNT:
        return _typed_amount(turn, typed)
    return _typed_nickname(turn, typed)


def _typed_amount(turn: Turn, typed: str) -> list[Reply]:
    """The amount a bare /sold asked for: without a customer, who bought it is asked with
    buttons; a whole line (or a line refused) is recorded (or refused) as /sold's."""
    entry = parse_sale(typed, turn.user.language)
    if isinstance(entry, SaleRejection) or entry.customer is not None:
        turn.change_settings(awaiting=None)
        return record(turn, typed)
    return _ask_customer(turn, entry)


def _ask_customer(turn: Turn, entry: SaleEntry) -> list[Reply]:
    """Who bought it: the seller's latest customers, a new one or none, as buttons; the
    sale waits on the settings row until one is pressed."""
    lang = turn.user.language
    flow = (turn.settings().sale_flow + 1) % FLOWS
    currency = currency_of(turn)
    recent = turn.recent_customers(RECENT_SHOWN)
    waiting = sale_command(entry, lang).removeprefix("/sold ")
    turn.change_settings(
        awaiting=CUSTOMER, sale_pending=waiting, sale_flow=flow, updated_at=turn.now
    )
    named = [Button(button_label(c.nickname), cb.SaleCustomer(flow, c.id).pack()) for c in recent]
    rows = [named[i : i + 2] for i in range(0, len(named), 2)]
    new = Button(text("button_sale_new_customer", lang), cb.SaleCustomer(flow, "new").pack())
    none = Button(text("button_sale_no_customer", lang), cb.SaleCustomer(flow, "none").pack())
    shown = format_sale(entry, lang, currency)
    return [Reply(text("sold_who", lang, sale=shown), [*rows, [new, none]])]


def button_label(nickname: str) -> str:
    """A nickname as a button shows it (plain text, not HTML): cut to LABEL_CHARS."""
    return nickname if len(nickname) <= LABEL_CHARS else nickname[: LABEL_CHARS - 1] + "…"


def customer_pressed(turn: Turn, button: cb.SaleCustomer, pressed: int | None) -> list[Reply]:
    """A customer button of the bare /sold flow: the waiting sale recorded for them (or for
    nobody), or a new customer's nickname asked for. A button of a flow finished, timed
    out or followed by another, or naming no customer of the seller's, records nothing."""
    lang = turn.user.language
    settings = turn.settings()
    step = sale_step(settings, turn.now)
    if step not in (CUSTOMER, NICKNAME) or settings.sale_flow != button.flow:
        toast = text("stale_button_toast", lang)
        return [Reply(text("sold_flow_stale", lang), toast=toast)]
    waiting = settings.sale_pending or ""
    if button.customer == "new":
        turn.change_settings(awaiting=NICKNAME, updated_at=turn.now)
        shown = _shown(turn, waiting)
        return [Reply(text("sold_new_customer", lang, sale=shown), edit_message_id=pressed)]
    nickname = None
    if isinstance(button.customer, int):
        customer = turn.customer_of_id(button.customer)
        if customer is None:
            toast = text("stale_button_toast", lang)
            return [Reply(text("sold_flow_no_such_customer", lang), toast=toast)]
        nickname = customer.nickname
    return _record_waiting(turn, waiting, nickname, pressed)


def _typed_nickname(turn: Turn, typed: str) -> list[Reply]:
    """A new customer's nickname, typed after "New customer" (or instead of a press):
    checked as /sold checks one; a nickname refused leaves the sale waiting."""
    lang = turn.user.language
    nickname = parse_nickname(typed)
    if isinstance(nickname, SaleRejection):
        why = rejection_text(nickname, lang)
        return [Reply(text("sold_nickname_refused", lang, why=why))]
    return _record_waiting(turn, turn.settings().sale_pending or "", nickname, None)


def _record_waiting(
    turn: Turn, waiting: str, nickname: str | None, pressed: int | None
) -> list[Reply]:
    """The waiting sale recorded as /sold records it, the flow closed; the confirmation
    (with Undo) in place of the buttons pressed."""
    turn.change_settings(awaiting=None, sale_pending=None)
    recorded = record(turn, waiting, customer=nickname)
    return [replace(reply, edit_message_id=pressed) for reply in recorded]


def _shown(turn: Turn, waiting: str) -> str:
    """The waiting sale as the seller reads it back."""
    entry = parse_sale(waiting, turn.user.language)
    return (
        waiting
        if isinstance(entry, SaleRejection)
        else format_sale(entry, turn.user.language, currency_of(turn))
    )


def record(turn: Turn, line: str, customer: str | None = None) -> list[Reply]:
    """Record the sale of ``line``, or say what is wrong with it (nothing stored).
    ``customer``: the nickname the bare /sold flow was given for it."""
    lang = turn.user.language
    entry = parse_sale(line, lang)
    if isinstance(entry, SaleRejection):
        return [_rejected(entry, lang)]
    if customer is not None:
        entry = replace(entry, customer=customer)
    currency = currency_of(turn)
    customer_id = None
    if entry.customer is not None:
        found = turn.customer_named(entry.customer)
        if entry.is_refund and (found is None or -entry.amount > found.total):
            bought = format_sale(SaleEntry(found.total if found else Decimal(0)), lang, currency)
            refused = text("sold_refund_too_large", lang, name=entry.customer, bought=bought)
            return [Reply(refused)]
        customer_id = found.id if found is not None else turn.add_customer(entry.customer)
    sale_id = turn.record_sale(
        entry.amount,
        currency,
        quantity=entry.quantity,
        items=entry.items,
        customer_id=customer_id,
        channel=entry.channel,
    )
    key = "sold_refund_recorded" if entry.is_refund else "sold_recorded"
    undo = Button(text("button_undo", lang), cb.UndoSale(sale_id).pack())
    return [Reply(text(key, lang, sale=format_sale(entry, lang, currency)), [[undo]])]


def undo(turn: Turn, button: cb.UndoSale, pressed: int | None) -> list[Reply]:
    """Take a sale back out of the ledger (once: a second press finds it gone)."""
    lang = turn.user.language
    sale = turn.sale(button.sale)
    if sale is None:
        return [Reply(text("sold_undo_gone", lang))]
    turn.remove_sale(sale.id)
    shown = format_sale(SaleEntry(sale.amount, sale.quantity, sale.items), lang, sale.currency)
    return [Reply(text("sold_undone", lang, sale=shown), edit_message_id=pressed)]


def _rejected(rejection: SaleRejection, lang: str) -> Reply:
    """Why nothing was recorded (what the seller typed, escaped)."""
    return Reply(text("sold_nothing_recorded", lang, why=rejection_text(rejection, lang)))


# --- /sales ------------------------------------------------------------------------------
WEEKS_SHOWN = 5
REPEAT_DAYS = 90


def ledger_sale(sale: SaleView, currency: str | None = None) -> Sale:
    """A stored sale as the ledger's arithmetic takes it (its amount in ``currency``, at the
    benchmarks' rates, when given and another than the sale's)."""
    amount = sale.amount
    if currency is not None and currency != sale.currency:
        amount = Decimal(str(round(convert(float(amount), sale.currency, currency), 2)))
    return Sale(sale.id, sale.at, amount, sale.quantity, sale.items, sale.customer, sale.channel)


# --- the levers, measured ----------------------------------------------------------------
def recent_sales(turn: Turn) -> tuple[SaleView, ...]:
    """The sales the levers are measured from: the last 90 days (a read: before heavy work)."""
    return turn.sales_since(turn.now - timedelta(days=REPEAT_DAYS))


def in_currency(stored: tuple[SaleView, ...], currency: str) -> list[Sale]:
    """The stored sales as the ledger's arithmetic takes them, money in ``currency``."""
    return [ledger_sale(s, currency) for s in stored]


def levers_of(stored: tuple[SaleView, ...], currency: str, now: datetime) -> MeasuredLevers | None:
    """The levers the ledger measures, money in ``currency``; None until it holds enough."""
    return measured_levers(in_currency(stored, currency), now=now)


def measured(
    profile: Profile, stored: tuple[SaleView, ...], now: datetime, keep: tuple[str, ...] = ()
) -> Profile:
    """``profile`` with the figures the ledger measures in place of the estimates (those in
    ``keep`` stay the seller's)."""
    return with_measured(profile, levers_of(stored, profile.currency, now), keep=keep)


def sales_overview(turn: Turn) -> list[Reply]:
    """This week and the four before: orders, revenue, order value, new and returning
    customers; the repeat share over 90 days; the ledger as a CSV file on request.

    The database sums the weeks up (a handful of rows, however busy the ledger); the pure
    :func:`advice.ledger.weekly_summary` is the same arithmetic over the sales themselves."""
    lang = turn.user.language
    starts = week_starts(turn.now, WEEKS_SHOWN, turn.user.time_zone)
    begins = tuple(begin.astimezone(UTC) for _, begin in starts)
    since = turn.now - timedelta(days=REPEAT_DAYS)
    totals = turn.sales_totals(begins, turn.now, since)
    if not totals.sales:
        return [Reply(text("sales_none", lang))]
    currency = currency_of(turn)
    weeks = tuple(
        week_summary(start, week.orders, week.revenue, week.new, week.buyers - week.new)
        for (start, _), week in zip(starts, totals.weeks, strict=True)
    )
    named = totals.named_customers
    repeat_share = totals.repeat_customers / named if named else None
    summary = SalesSummary(weeks, repeat_share, totals.repeat_customers, named)
    lines = [text("sales_heading", lang)]
    for week in reversed(summary.weeks):
        value = week.average_order_value
        average = "-" if value is None else format_money(value, currency)
        lines.append(
            text(
                "sales_week",
                lang,
                count=week.orders,
                start=f"{week.start:%d.%m}",
                revenue=format_money(week.revenue, currency),
                average=average,
                new=week.new_customers,
                returning=week.returning_customers,
            )
        )
    if summary.repeat_share is not None:
        share = f"{summary.repeat_share:.0%}"
        lines.append(
            text(
                "sales_repeat",
                lang,
                repeat=summary.repeat_customers,
                named=summary.named_customers,
                share=share,
            )
        )
    csv_button = Button(text("button_sales_csv", lang), cb.SalesFile("csv").pack())
    return [Reply("\n".join(lines), [[csv_button]]), _weeks_chart(summary.weeks, currency, lang)]


def _weeks_chart(weeks: Sequence[WeekSummary], currency: str, lang: str) -> Reply:
    """The weeks' revenue as a small bar chart, oldest first, the figures in its caption."""
    shown = ", ".join(f"{w.start:%d.%m} {format_money(w.revenue, currency)}" for w in weeks)
    bars = tuple((f"{w.start:%d.%m}", float(w.revenue)) for w in weeks)
    caption = text("sales_chart_caption", lang, weeks=shown)
    return Reply(caption, chart=WeeksChart(bars, currency, lang))


def sales_file(turn: Turn, button: cb.SalesFile, pressed: int | None) -> list[Reply]:
    """The whole ledger as a CSV file (spreadsheets open it)."""
    lang = turn.user.language
    rows = turn.sales_since(LEDGER_START)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "amount", "currency", "quantity", "items", "customer", "channel"])
    for sale in rows:
        writer.writerow(
            [sale.at.isoformat(), f"{sale.amount:.2f}", sale.currency, sale.quantity or "",
             sale.items or "", sale.customer or "", sale.channel or ""]
        )  # fmt: skip
    document = ("sales.csv", out.getvalue().encode("utf-8-sig"))
    return [Reply(text("sales_csv_caption", lang, count=len(rows)), document=document)]
