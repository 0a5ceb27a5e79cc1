"""Periodic check-ins: the schedule on the settings row, one row per check-in round, the
kind of a check-up, and the shared send-rate slot.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checkups") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), server_default="checkup", nullable=False)
        )

    with op.batch_alter_table("settings") as batch:
        batch.add_column(
            sa.Column("checkin_paused", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("checkin_next_due_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("checkin_ignored_in_row", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("checkin_streak", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column(
                "checkin_cadence_asked", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch.add_column(sa.Column("awaiting", sa.String(length=16), nullable=True))
    op.create_index("ix_settings_checkin_next_due_at", "settings", ["checkin_next_due_at"])

    op.create_table(
        "checkin_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("checkup_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_rounds")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_checkin_rounds_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["checkup_id"],
            ["checkups.id"],
            name=op.f("fk_checkin_rounds_checkup_id_checkups"),
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("user_id", "due_at", name="uq_checkin_rounds_user_due"),
    )
    op.create_index(op.f("ix_checkin_rounds_user_id"), "checkin_rounds", ["user_id"])
    op.create_index("ix_checkin_rounds_status_claimed", "checkin_rounds", ["status", "claimed_at"])

    op.create_table(
        "send_slots",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("next_free", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_send_slots")),
    )


def downgrade() -> None:
    op.drop_table("send_slots")
    op.drop_table("checkin_rounds")
    op.drop_index("ix_settings_checkin_next_due_at", table_name="settings")
    with op.batch_alter_table("settings") as batch:
        for column in (
            "awaiting",
            "checkin_cadence_asked",
            "checkin_streak",
            "checkin_ignored_in_row",
            "checkin_next_due_at",
            "checkin_paused",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("checkups") as batch:
        batch.drop_column("kind")
