"""customer_attributes: typed fields admins define, and each customer's values

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_attributes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(40), nullable=False, unique=True),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("options", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "customer_attribute_values",
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), primary_key=True),
        sa.Column(
            "attribute_id",
            sa.Integer(),
            sa.ForeignKey("customer_attributes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("value_key", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index(
        "ix_customer_attribute_values_lookup",
        "customer_attribute_values",
        ["attribute_id", "value_key"],
    )


def downgrade() -> None:
    op.drop_index("ix_customer_attribute_values_lookup", table_name="customer_attribute_values")
    op.drop_table("customer_attribute_values")
    op.drop_table("customer_attributes")
