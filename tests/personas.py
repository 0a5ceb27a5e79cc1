"""Sellers the advice is specified against: a profile each, and what the coach must say."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A seller doing well on every lever: no rule should fire for them.
HEALTHY: dict[str, Any] = {
    "category": "menswear",
    "weekly_reach": 150,
    "channels": ["offline_store", "moments_feed", "short_video", "referrals"],
    "weekly_orders": 10,
    "average_order_value": 220,
    "currency": "CNY",
    "repeat_rate": 0.3,
    "copywriting": "original",
    "social_proof": True,
    "supply_tier": "first_hand",
    "audience": "young_professionals",
    "price_tier": "mid",
    "value_add": ["styling_advice", "fast_delivery"],
    "response_hours": 1,
    "after_sales": "returns_and_follow_up",
    "recruits_agents": False,
    "unsold_stock_weeks": 2,
    "posts_per_week": 10,
}


def seller(**changes: Any) -> dict[str, Any]:
    """The healthy seller with some answers changed."""
    return {**HEALTHY, **changes}


@dataclass(frozen=True)
class Persona:
    name: str
    profile: dict[str, Any]
    bottleneck: str
    red_flags: frozenset[str] = frozenset()
    must_find: frozenset[str] = field(default_factory=frozenset)


PERSONAS = [
    Persona("healthy menswear shop", HEALTHY, "order_value"),
    Persona(
        "WeChat menswear reseller copying his upline",
        seller(weekly_reach=10, channels=["acquaintances", "moments_feed"], weekly_orders=2,
               average_order_value=180, repeat_rate=0.1, copywriting="copied", social_proof=False,
               supply_tier="reseller", value_add=[], response_hours=6, after_sales="returns",
               posts_per_week=20),
        "traffic",
        frozenset({"copied_copywriting", "no_source_no_value_add"}),
        frozenset({"traffic_far_below", "reseller_thin_margin", "slow_replies", "no_social_proof"}),
    ),
    Persona(
        "jeweller at luxury prices whose followers are students",
        seller(category="jewellery", price_tier="luxury", audience="students", weekly_reach=500,
               weekly_orders=0, average_order_value=5000, channels=["short_video", "groups"]),
        "conversion",
        frozenset({"audience_price_mismatch"}),
        frozenset({"no_orders"}),
    ),
    Persona(
        "home baker on Telegram selling cheap cakes",
        seller(category="food", weekly_reach=100, weekly_orders=8, average_order_value=30,
               repeat_rate=0.5, channels=["groups", "referrals"], value_add=["customisation"]),
        "order_value",
        must_find=frozenset({"order_value_far_below"}),
    ),
    Persona(
        "Instagram jewellery maker whose buyers never return",
        seller(category="jewellery", price_tier="premium", currency="USD", weekly_reach=60,
               weekly_orders=1.2, average_order_value=150, repeat_rate=0.02,
               value_add=["customisation", "warranty"]),
        "repeat",
        must_find=frozenset({"repeat_far_below"}),
    ),
    Persona(
        "facial-mask agent recruiting sub-agents",
        seller(category="beauty", recruits_agents=True, unsold_stock_weeks=20, weekly_reach=30,
               weekly_orders=3, value_add=["tutorials"], supply_tier="wholesaler"),
        "traffic",
        frozenset({"agent_pyramid"}),
        frozenset({"unsold_stock"}),
    ),
    Persona(
        "womenswear seller selling only to friends",
        seller(category="womenswear", channels=["acquaintances"], weekly_reach=15, weekly_orders=2),
        "traffic",
        frozenset({"acquaintance_only_traffic"}),
        frozenset({"traffic_far_below"}),
    ),
    Persona(
        "beginner with no advantage on any lever",
        seller(category="other", weekly_reach=40, weekly_orders=1, repeat_rate=0.05,
               average_order_value=100, copywriting="mixed"),
        "repeat",
        frozenset({"no_advantage"}),
        frozenset({"mixed_copywriting", "repeat_far_below"}),
    ),
    Persona(
        "budget beauty seller who answers a day later",
        seller(category="beauty", price_tier="budget", weekly_reach=300, weekly_orders=6,
               average_order_value=60, repeat_rate=0.4, response_hours=24, social_proof=False,
               value_add=["tutorials"]),
        "conversion",
        must_find=frozenset({"slow_replies", "no_social_proof", "conversion_far_below"}),
    ),
    Persona(
        "home-goods seller who lives on a marketplace",
        seller(category="home", channels=["marketplace"], weekly_reach=200, weekly_orders=8,
               average_order_value=160, repeat_rate=0.05, after_sales="returns"),
        "repeat",
        must_find=frozenset({"marketplace_only", "no_follow_up", "repeat_far_below"}),
    ),
    Persona(
        "bargain shop for well-off buyers",
        seller(audience="affluent", price_tier="budget", weekly_reach=200, weekly_orders=12,
               average_order_value=70),
        "order_value",
        must_find=frozenset({"underpriced_for_affluent"}),
    ),
    Persona(
        "seller who does not know the repeat rate",
        seller(repeat_rate=0.125, assumed=["repeat_rate"]),
        "repeat",
        must_find=frozenset({"repeat_unknown"}),
    ),
    Persona(
        "shop that reports more buyers than visitors",
        seller(weekly_reach=5, weekly_orders=30),
        "traffic",
        must_find=frozenset({"reach_below_buyers", "traffic_far_below"}),
    ),
    Persona(
        "seller with no channel and no sales yet",
        seller(channels=[], weekly_reach=0, weekly_orders=0, repeat_rate=0.0, average_order_value=100),
        "traffic",
        frozenset({"no_advantage"}),
        frozenset({"no_channels"}),
    ),
    Persona(
        "luxury baby-goods seller whose buyers are parents",
        seller(category="home", price_tier="luxury", audience="parents", weekly_reach=30,
               weekly_orders=0.2, average_order_value=1300, repeat_rate=0.2),
        "conversion",
        frozenset({"audience_price_mismatch"}),
    ),
    Persona(
        "reseller of womenswear with nothing added",
        seller(category="womenswear", supply_tier="wholesaler", value_add=[], weekly_reach=200,
               weekly_orders=6, average_order_value=240, repeat_rate=0.33),
        "conversion",
        frozenset({"no_source_no_value_add"}),
        frozenset({"clothes_without_styling"}),
    ),
]
