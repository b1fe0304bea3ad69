"""routing: inbox skill level and language, agent missed offers and wrap-up, queue requirements

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inboxes") as batch:
        batch.add_column(sa.Column("skill_level", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("language", sa.String(8), server_default="en", nullable=False))
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column("missed_offers", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("wrap_up_until", sa.DateTime(), nullable=True))
    with op.batch_alter_table("queue_entries") as batch:
        batch.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("language", sa.String(8), server_default="en", nullable=False))
        batch.add_column(sa.Column("min_level", sa.Integer(), server_default="1", nullable=False))
        batch.create_foreign_key(
            "fk_queue_entries_customer_id_customers", "customers", ["customer_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("queue_entries") as batch:
        batch.drop_constraint("fk_queue_entries_customer_id_customers", type_="foreignkey")
        batch.drop_column("min_level")
        batch.drop_column("language")
        batch.drop_column("customer_id")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("wrap_up_until")
        batch.drop_column("missed_offers")
    with op.batch_alter_table("inboxes") as batch:
        batch.drop_column("language")
        batch.drop_column("skill_level")
