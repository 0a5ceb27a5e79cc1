"""/price: the margin calculator of the order-value lever, on one typed line.

Nothing is stored; the latest check-up's currency is read (CNY without one), and only once
the line is read, so a usage or error reply reads nothing at all."""

from __future__ import annotations

from decimal import Decimal

from advice.formatting import CURRENCY_SYMBOLS
from advice.pricing import (
    PriceInputs,
    PriceRejection,
    PriceResult,
    parse_price,
    price_check,
    round_money,
    round_percent,
)
from bot.core.turn import Turn
from bot.replies import Reply, text


def price(turn: Turn, args: str) -> list[Reply]:
    lang = turn.user.language
    read = parse_price(args)
    if isinstance(read, PriceRejection):
        return [Reply(rejection(read, lang))]
    report = turn.latest_report()
    currency = str(report.profile.get("currency") or "CNY") if report is not None else "CNY"
    return [Reply(result_html(price_check(read), lang, currency))]


def rejection(rejected: PriceRejection, lang: str) -> str:
    """Why the line could not be used, then how to write it (all of it when nothing was
    typed)."""
    if rejected.reason == "empty":
        return text("price_usage", lang)
    field = text(f"price_field_{rejected.field}", lang) if rejected.field else ""
    limit = text(f"price_limit_{rejected.field}", lang) if rejected.field else ""
    values = {"field": field, "typed": rejected.typed, "limit": limit}
    why = text(f"price_bad_{rejected.reason}", lang, None, **values)
    return why + "\n\n" + text("price_example", lang)


def money(value: Decimal, currency: str) -> str:
    """An amount as a seller writes it: ¥1,234 or ¥61.50 (to the cent, never a float)."""
    cents = round_money(value)
    amount = f"{abs(cents):,.0f}" if cents == cents.to_integral_value() else f"{abs(cents):,.2f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    shown = f"{symbol}{amount}" if symbol else f"{amount} {currency}"
    return f"-{shown}" if cents < 0 else shown


def percent(value: Decimal) -> str:
    """42.5% or 30%: to a tenth of a percent, trailing zeros dropped."""
    rounded = round_percent(value).quantize(Decimal("0.1"))
    shown = f"{rounded:,.1f}".removesuffix(".0")
    return f"{shown}%"


def result_html(result: PriceResult, lang: str, currency: str) -> str:
    def m(value: Decimal) -> str:
        return money(value, currency)

    inputs: PriceInputs = result.inputs
    lines = [text("price_heading", lang), text("price_line_price", lang, amount=m(inputs.price))]
    if inputs.agent_percent:
        share = percent(inputs.agent_percent)
        lines.append(text("price_line_agent", lang, share=share, amount=m(result.agent_discount)))
    if inputs.fee_percent and inputs.fee_fixed:
        how = f"{percent(inputs.fee_percent)} + {m(inputs.fee_fixed)}"
        lines.append(text("price_line_fee_how", lang, how=how, amount=m(result.fees)))
    elif inputs.fee_percent:
        how = percent(inputs.fee_percent)
        lines.append(text("price_line_fee_how", lang, how=how, amount=m(result.fees)))
    elif inputs.fee_fixed:
        lines.append(text("price_line_fee", lang, amount=m(result.fees)))
    lines.append(text("price_line_cost", lang, amount=m(inputs.unit_cost)))
    if inputs.shipping:
        lines.append(text("price_line_shipping", lang, amount=m(inputs.shipping)))
    lines.append(
        text(
            "price_margin",
            lang,
            amount=m(result.margin),
            percent=percent(result.margin_percent),
        )
    )
    parts = ["\n".join(lines)]

    plans = []
    if inputs.monthly_goal is not None:
        goal = m(inputs.monthly_goal)
        if result.weekly_orders is None:
            plans.append(text("price_goal_loss", lang, goal=goal))
        else:
            plans.append(text("price_goal", lang, count=result.weekly_orders, goal=goal))
    if inputs.target_percent is not None:
        target = percent(inputs.target_percent)
        if result.target_impossible:
            taken = percent(inputs.agent_percent + inputs.fee_percent)
            plans.append(text("price_target_impossible", lang, target=target, taken=taken))
        elif result.target_any or result.target_price is None:
            plans.append(text("price_target_any", lang, target=target))
        else:
            plans.append(text("price_target", lang, target=target, amount=m(result.target_price)))
    if plans:
        parts.append("\n".join(plans))

    warnings = []
    for warning in result.warnings:
        if warning == "agent_eats":
            share = percent(result.agent_share or Decimal(0))
            warnings.append(text("price_warn_agent_eats", lang, share=share))
        else:
            warnings.append(text(f"price_warn_{warning}", lang))
    if warnings:
        parts.append("\n".join(warnings))
    return "\n\n".join(parts)
