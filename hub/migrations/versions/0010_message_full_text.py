"""messages: the whole text beside its new part, and what the provider said on sending

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("full_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("delivery_detail", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("delivery_detail")
        batch.drop_column("full_text")
