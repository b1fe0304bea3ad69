"""customers: language and labels; conversations: labels

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("language", sa.String(16), nullable=True))
        batch.add_column(sa.Column("labels", sa.JSON(), server_default="[]", nullable=False))
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("labels", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("labels")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("labels")
        batch.drop_column("language")
