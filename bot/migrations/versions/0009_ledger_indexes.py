"""The ledger's indexes for a busy seller (see docs/performance.md, run L):

- sales (customer_id, at) in place of customer_id alone: the customer book finds a
  customer's latest order without sorting all of their sales;
- sales (user_id, at, customer_id, amount_minor) in place of (user_id, at): /sales sums up
  its weeks and its repeat customers from the index alone, without reading the table.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


WEEKS_INDEX = "ix_sales_user_id_at_customer_id_amount_minor"


def upgrade() -> None:
    op.create_index("ix_sales_customer_id_at", "sales", ["customer_id", "at"])
    op.drop_index(op.f("ix_sales_customer_id"), table_name="sales")
    op.create_index(WEEKS_INDEX, "sales", ["user_id", "at", "customer_id", "amount_minor"])
    op.drop_index("ix_sales_user_id_at", table_name="sales")


def downgrade() -> None:
    op.create_index("ix_sales_user_id_at", "sales", ["user_id", "at"])
    op.drop_index(WEEKS_INDEX, table_name="sales")
    op.create_index(op.f("ix_sales_customer_id"), "sales", ["customer_id"])
    op.drop_index("ix_sales_customer_id_at", table_name="sales")
