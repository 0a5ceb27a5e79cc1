"""The weekly digest of due customers: its rule and next due time on the settings row, and
the kind of a round (a check-in or a digest), unique per (user, kind, due time).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("settings") as batch:
        batch.add_column(
            sa.Column("digest_on", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("digest_weekday", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("digest_hour", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("digest_next_due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_settings_digest_next_due_at", "settings", ["digest_next_due_at"])

    with op.batch_alter_table("checkin_rounds") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), server_default="checkin", nullable=False)
        )
        batch.drop_constraint("uq_checkin_rounds_user_due", type_="unique")
        batch.create_unique_constraint(
            "uq_checkin_rounds_user_kind_due", ["user_id", "kind", "due_at"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM checkin_rounds WHERE kind <> 'checkin'")
    with op.batch_alter_table("checkin_rounds") as batch:
        batch.drop_constraint("uq_checkin_rounds_user_kind_due", type_="unique")
        batch.create_unique_constraint("uq_checkin_rounds_user_due", ["user_id", "due_at"])
        batch.drop_column("kind")
    op.drop_index("ix_settings_digest_next_due_at", table_name="settings")
    with op.batch_alter_table("settings") as batch:
        for column in ("digest_next_due_at", "digest_hour", "digest_weekday", "digest_on"):
            batch.drop_column(column)
