"""Each customer's sales in time order: an index on sales (customer_id, at) in place of the
one on customer_id alone, so the customer book finds a customer's latest order without
sorting all of their sales (see docs/performance.md, run L).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_sales_customer_id_at", "sales", ["customer_id", "at"])
    op.drop_index(op.f("ix_sales_customer_id"), table_name="sales")


def downgrade() -> None:
    op.create_index(op.f("ix_sales_customer_id"), "sales", ["customer_id"])
    op.drop_index("ix_sales_customer_id_at", table_name="sales")
