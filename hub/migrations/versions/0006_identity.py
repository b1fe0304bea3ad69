"""identity: customer details for matching, merges that can be undone

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("details", sa.JSON(), server_default="{}", nullable=False))
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_customers_merged_into_id", "customers", ["merged_into_id"], ["id"]
        )
        batch.create_index("ix_customers_merged_into_id", ["merged_into_id"])
    op.create_table(
        "customer_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survivor_id", sa.Integer(), nullable=False),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["merged_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["survivor_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_customer_merges_survivor_id", "customer_merges", ["survivor_id"])
    op.create_index("ix_customer_merges_merged_id", "customer_merges", ["merged_id"])


def downgrade() -> None:
    op.drop_index("ix_customer_merges_merged_id", table_name="customer_merges")
    op.drop_index("ix_customer_merges_survivor_id", table_name="customer_merges")
    op.drop_table("customer_merges")
    with op.batch_alter_table("customers") as batch:
        batch.drop_index("ix_customers_merged_into_id")
        batch.drop_constraint("fk_customers_merged_into_id", type_="foreignkey")
        batch.drop_column("merged_into_id")
        batch.drop_column("details")
