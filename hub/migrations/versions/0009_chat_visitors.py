"""web chat: visitors' pre-chat details; where a conversation's replies go

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_visitors",
        sa.Column("visitor", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("visitor"),
    )
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("reply_channel", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("reply_address", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("reply_address")
        batch.drop_column("reply_channel")
    op.drop_table("chat_visitors")
