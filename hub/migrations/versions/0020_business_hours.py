"""business_hours: schedules on inboxes and queues, and the phone menu as data

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "business_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("weekly", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "queue_hours",
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["schedule_id"], ["business_hours.id"]),
        sa.PrimaryKeyConstraint("queue"),
    )
    op.create_index("ix_queue_hours_schedule_id", "queue_hours", ["schedule_id"])
    with op.batch_alter_table("inboxes") as batch:
        batch.add_column(sa.Column("schedule_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_inboxes_schedule_id", "business_hours", ["schedule_id"], ["id"]
        )
        batch.create_index("ix_inboxes_schedule_id", ["schedule_id"])
    op.create_table(
        "phone_menus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("menu", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("phone_menus")
    with op.batch_alter_table("inboxes") as batch:
        batch.drop_index("ix_inboxes_schedule_id")
        batch.drop_constraint("fk_inboxes_schedule_id", type_="foreignkey")
        batch.drop_column("schedule_id")
    op.drop_index("ix_queue_hours_schedule_id", table_name="queue_hours")
    op.drop_table("queue_hours")
    op.drop_table("business_hours")
