"""The bare /sold flow: the sale waiting for its customer (a /sold line of at most 200
characters) and the number of the flow its buttons carry, on the settings row.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("settings") as batch:
        batch.add_column(sa.Column("sale_pending", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("sale_flow", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("settings") as batch:
        batch.drop_column("sale_flow")
        batch.drop_column("sale_pending")
