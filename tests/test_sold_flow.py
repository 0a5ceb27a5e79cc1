"""The bare /sold flow: what it reads of the customer book, on SQLite and PostgreSQL."""

from __future__ import annotations

from bot.core import snapshot as need
from bot.storage.repository import Store
from tests.support.stored import snapshot_of
from tests.test_sales_storage import ANNA, BORIS, customer, sale


# --- what the flow reads, on SQLite and PostgreSQL ------------------------------------------
async def test_the_latest_customers_are_read_by_their_latest_purchase(store: Store) -> None:
    lena, wang, mei = [await customer(store, ANNA, name) for name in ("Lena", "Wang", "Mei")]
    await customer(store, ANNA, "Nobody")  # never bought: no button
    others = await customer(store, BORIS, "Olga")
    await sale(store, ANNA, "50", days=1, customer_id=lena)
    await sale(store, ANNA, "50", days=3, customer_id=wang)
    await sale(store, ANNA, "50", days=2, customer_id=mei)
    await sale(store, ANNA, "-10", days=9, customer_id=lena)  # a refund is no purchase
    await sale(store, ANNA, "50", days=8)  # nobody named
    await sale(store, BORIS, "50", days=9, customer_id=others)
    for most, names in ((6, ["Wang", "Mei", "Lena"]), (2, ["Wang", "Mei"])):
        recent = (await snapshot_of(store, ANNA, need.RecentCustomers(most))).get(
            need.RecentCustomers(most)
        )
        assert [c.nickname for c in recent] == names
    assert [c.id for c in recent] == [wang, mei]
    found = (await snapshot_of(store, ANNA, need.CustomerOfId(lena))).get(need.CustomerOfId(lena))
    assert (found.id, found.nickname) == (lena, "Lena")
    for not_hers in (others, 999_999):
        assert (await snapshot_of(store, ANNA, need.CustomerOfId(not_hers))).get(
            need.CustomerOfId(not_hers)
        ) is None
