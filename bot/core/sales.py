"""The sales ledger in chat: ``/sold`` logs a sale in one line (Undo takes it back),
``/sales`` sums the weeks up (with a small chart of their revenue), and the ledger comes as
a CSV file on request.

``/sold 180 2 cakes @Lena #groups`` is read by :func:`advice.sales.parse_sale`: the amount
in the seller's currency (from their latest check-up), a quantity, the items, the customer
(after ``@``, ``to`` or ``给``) and the channel (``#tag``). A bare ``/sold`` asks for the
line, and the next message is read as one. A refund (``/sold -180 @Lena``) is a negative
amount, no larger than what that customer bought.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
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
    parse_sale,
    rejection_text,
)
from bot import callbacks as cb
from bot.core.events import Command
from bot.core.turn import Turn
from bot.core.values import SaleView
from bot.replies import Button, Reply, WeeksChart, text

# How long after the prompt of a bare /sold the next message is read as the sale.
SALE_PROMPT_VALID = timedelta(minutes=30)
LEDGER_START = datetime(2000, 1, 1, tzinfo=UTC)  # before any sale: the whole ledger


def currency_of(turn: Turn) -> str:
    """The seller's currency: their latest check-up's, else CNY."""
    report = turn.latest_report()
    currency = report.profile.get("currency") if report is not None else None
    return currency if isinstance(currency, str) else "CNY"


def sold(turn: Turn, event: Command) -> list[Reply]:
    """``/sold <line>`` records the sale; a bare ``/sold`` asks for the line."""
    if not event.args.strip():
        turn.change_settings(awaiting="sale", updated_at=turn.now)
        return [Reply(text("sold_how", turn.user.language))]
    return record(turn, event.args)


def awaits_sale(turn: Turn) -> bool:
    """Whether a typed message is the sale a bare /sold asked for (shortly after it)."""
    settings = turn.settings()
    return (
        settings.awaiting == "sale"
        and settings.updated_at is not None
        and turn.now - settings.updated_at < SALE_PROMPT_VALID
    )


def typed_sale(turn: Turn, typed: str) -> list[Reply]:
    """The line a bare /sold asked for."""
    turn.change_settings(awaiting=None)
    return record(turn, typed)


def record(turn: Turn, line: str) -> list[Reply]:
    """Record the sale of ``line``, or say what is wrong with it (nothing stored)."""
    lang = turn.user.language
    entry = parse_sale(line, lang)
    if isinstance(entry, SaleRejection):
        return [_rejected(entry, lang)]
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
