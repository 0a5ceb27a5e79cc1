"""Index processed_updates by the time each update was handled.

Pruning deletes the ids handled more than 48 hours ago; without an index it reads the
whole table (two days of updates) every 15 minutes. On PostgreSQL the index is BRIN:
rows are appended in time order, so a few pages cover the table and an update's insert
barely touches it. SQLite gets an ordinary index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_processed_updates_handled_at",
        "processed_updates",
        ["handled_at"],
        postgresql_using="brin",
    )


def downgrade() -> None:
    op.drop_index("ix_processed_updates_handled_at", table_name="processed_updates")
