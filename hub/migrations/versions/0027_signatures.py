"""agents, inboxes: signatures that end what agents send

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("agents", "inboxes"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("signature", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    for table in ("inboxes", "agents"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("signature")
