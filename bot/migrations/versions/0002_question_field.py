"""Remember which question the stored question message asks.

The message id is stored after the message is sent; after a crash in between it still
points at the previous question, and a typed answer must not edit that message.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checkups") as batch:
        batch.add_column(sa.Column("question_field", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("checkups") as batch:
        batch.drop_column("question_field")
