"""customers.erased_at and conversations.anonymised_at: erasure on request and retention

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("anonymised_at", sa.DateTime(), nullable=True))
    op.create_index("ix_conversations_anonymised_at", "conversations", ["anonymised_at"])


def downgrade() -> None:
    op.drop_index("ix_conversations_anonymised_at", table_name="conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("anonymised_at")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("erased_at")
