"""email: index messages by provider id, so a reply's In-Reply-To finds its thread

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.create_index("ix_messages_channel_provider_id", ["channel", "provider_id"])


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_channel_provider_id")
