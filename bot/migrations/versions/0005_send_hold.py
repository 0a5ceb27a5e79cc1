"""The shared 429 hold: until when Telegram asked every process to send nothing.

Kept apart from ``next_free`` (the next free send slot), so a process starting up or
reconnecting can read whether a hold is on without mistaking booked slots for one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("send_slots") as batch:
        batch.add_column(sa.Column("hold_until", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("send_slots") as batch:
        batch.drop_column("hold_until")
