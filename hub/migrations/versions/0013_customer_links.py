"""identity: "possibly the same as" links between customers

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("merge_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["other_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["merge_id"], ["customer_merges.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_customer_links_customer_id", "customer_links", ["customer_id"])
    op.create_index("ix_customer_links_other_id", "customer_links", ["other_id"])


def downgrade() -> None:
    op.drop_index("ix_customer_links_other_id", table_name="customer_links")
    op.drop_index("ix_customer_links_customer_id", table_name="customer_links")
    op.drop_table("customer_links")
