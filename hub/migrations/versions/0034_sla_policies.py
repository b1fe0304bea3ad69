"""sla policies: response and resolution targets, and each conversation's due times

Revision ID: 0034
Revises: 0033
"""

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

KINDS = ("first_response", "next_response", "resolution")


def upgrade() -> None:
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("queue", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("segment", sa.String(32), nullable=True),
        sa.Column("first_response", sa.Integer(), nullable=True),
        sa.Column("next_response", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.Integer(), nullable=True),
        sa.Column("business_hours", sa.Boolean(), nullable=False),
        sa.Column("warn_at", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    columns = []
    for kind in KINDS:
        columns += [
            sa.Column(f"{kind}_due", sa.DateTime(), nullable=True),
            sa.Column(f"{kind}_warn", sa.DateTime(), nullable=True),
            sa.Column(f"{kind}_breached_at", sa.DateTime(), nullable=True),
        ]
    op.create_table(
        "conversation_sla",
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "policy_id",
            sa.Integer(),
            sa.ForeignKey("sla_policies.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        *columns,
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    for kind in KINDS:
        op.create_index(f"ix_conversation_sla_{kind}_due", "conversation_sla", [f"{kind}_due"])


def downgrade() -> None:
    op.drop_table("conversation_sla")
    op.drop_table("sla_policies")
