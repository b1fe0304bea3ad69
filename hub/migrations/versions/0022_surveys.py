"""surveys: a satisfaction question per closed conversation, and its 1-5 answer

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversations.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.Column("delivery_status", sa.String(16), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("answer_id", sa.String(200), nullable=True),
        sa.UniqueConstraint("channel", "answer_id"),
    )
    op.create_index("ix_surveys_customer_id", "surveys", ["customer_id"])
    op.create_index("ix_surveys_answered_at", "surveys", ["answered_at"])
    op.create_index(
        "ix_surveys_channel_address_asked", "surveys", ["channel", "address", "asked_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_surveys_channel_address_asked", table_name="surveys")
    op.drop_index("ix_surveys_answered_at", table_name="surveys")
    op.drop_index("ix_surveys_customer_id", table_name="surveys")
    op.drop_table("surveys")
