"""The customer book in chat (``/customers``): who is due for a follow-up first, each with a
message to adapt and send, then everyone else by their latest purchase.

A customer is due once past their own usual interval between orders, or, with one order,
past the usual interval of the seller's category (:func:`advice.ledger.customer_book`).
The seller answers each due customer with Sent (followed up now), Later (in a week) or Not
a regular (never due again).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from advice.ledger import CustomerEntry, CustomerTotals, customer_book, customer_key, follow_up
from advice.sales import format_money
from bot import callbacks as cb
from bot.core import digest
from bot.core.sales import currency_of
from bot.core.turn import Turn
from bot.core.values import CustomerView
from bot.replies import Button, Reply, text

DUE_SHOWN = 5  # due customers, each a message with its buttons
OTHERS_SHOWN = 15  # the rest, one line each
LATER = timedelta(days=7)


def category_of(turn: Turn) -> str:
    """The seller's category: their latest check-up's, else "other"."""
    report = turn.latest_report()
    category = report.profile.get("category") if report is not None else None
    return category if isinstance(category, str) else "other"


def _totals(customer: CustomerView) -> CustomerTotals:
    return CustomerTotals(
        name=customer.nickname,
        orders=customer.orders,
        total=customer.total,
        first_purchase=customer.first_at,
        last_purchase=customer.last_at,
        order_days=customer.order_days,
        last_items=customer.last_items,
    )


def _waiting(customer: CustomerView, entry: CustomerEntry, turn: Turn) -> bool:
    """Due, and the seller has not followed up since, put it off or said not a regular."""
    if customer.not_regular or entry.due_since is None:
        return False
    if customer.later_until is not None and customer.later_until > turn.now:
        return False
    return customer.followed_up_at is None or customer.followed_up_at < entry.due_since


Book = tuple[dict[str, CustomerView], list[CustomerEntry], list[CustomerEntry]]


def _book(turn: Turn) -> Book:
    """The seller's customers who bought, by key; the book's entries waiting for a follow-up
    (longest overdue first) and the others (split in one pass: a book may hold 10,000)."""
    buyers = {customer_key(c.nickname): c for c in turn.customers() if c.orders > 0}
    due: list[CustomerEntry] = []
    others: list[CustomerEntry] = []
    if not buyers:
        return buyers, due, others
    totals = [_totals(c) for c in buyers.values()]
    for entry in customer_book(totals, now=turn.now, category=category_of(turn)):
        waiting = _waiting(buyers[customer_key(entry.name)], entry, turn)
        (due if waiting else others).append(entry)
    return buyers, due, others


def _due_replies(
    turn: Turn, buyers: dict[str, CustomerView], due: Sequence[CustomerEntry]
) -> list[Reply]:
    """The first due customers, each a message to adapt with its buttons."""
    lang, currency = turn.user.language, currency_of(turn)
    return [
        _due_reply(entry, buyers[customer_key(entry.name)].id, lang, currency)
        for entry in due[:DUE_SHOWN]
    ]


def customers_book(turn: Turn) -> list[Reply]:
    """Due customers first, each with a follow-up to adapt; then the others. The heading
    offers the weekly reminder (or shows it is set)."""
    lang = turn.user.language
    buyers, due, others = _book(turn)
    if not buyers:
        return [Reply(text("customers_none", lang))]
    currency = currency_of(turn)
    heading = text("customers_heading", lang, count=len(buyers), due=len(due))
    # The reminder is sent by the bot: offered where the face can send it (not a terminal).
    offer = [[digest.offer_button(turn)]] if turn.snapshot.checkins else []
    replies = [Reply(heading, offer)]
    replies += _due_replies(turn, buyers, due)
    if others:
        lines = [_line(entry, lang, currency) for entry in others[:OTHERS_SHOWN]]
        if len(others) > OTHERS_SHOWN:
            lines.append(text("customers_more", lang, count=len(others) - OTHERS_SHOWN))
        replies.append(Reply("\n".join(lines)))
    return replies


def reminder(turn: Turn) -> list[Reply]:
    """The weekly reminder: the customers due now (at most five, each with its follow-up and
    buttons, as /customers shows them); nothing at all when nobody is due."""
    buyers, due, _ = _book(turn)
    if not due:
        return []
    lang = turn.user.language
    heading = Reply(text("digest_heading", lang, count=len(due)), [[digest.offer_button(turn)]])
    return [heading, *_due_replies(turn, buyers, due)]


def _line(entry: CustomerEntry, lang: str, currency: str) -> str:
    last = entry.last_purchase
    return text(
        "customers_line",
        lang,
        count=entry.orders,
        name=entry.name,
        total=format_money(entry.total, currency),
        last=f"{last:%d.%m.%Y}" if last is not None else "-",
    )


def _due_reply(entry: CustomerEntry, customer_id: int, lang: str, currency: str) -> Reply:
    message = follow_up(entry, lang)
    body = text("customers_due", lang, line=_line(entry, lang, currency), message=message)
    buttons = [
        Button(
            text(f"button_customer_{action}", lang), cb.CustomerAction(action, customer_id).pack()
        )
        for action in ("sent", "later", "no")
    ]
    return Reply(body, [buttons])


def customer_action(turn: Turn, button: cb.CustomerAction, pressed: int | None) -> list[Reply]:
    """Sent, Later or Not a regular on a due customer (another seller's id changes nothing)."""
    lang = turn.user.language
    if button.action == "sent":
        turn.change_customer(button.customer, followed_up_at=turn.now)
    elif button.action == "later":
        turn.change_customer(button.customer, later_until=turn.now + LATER)
    else:
        turn.change_customer(button.customer, not_regular=True)
    return [Reply(text(f"customer_{button.action}_noted", lang))]
