"""customer address opt-out (SMS STOP/START)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer_addresses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opted_out_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer_addresses", schema=None) as batch_op:
        batch_op.drop_column("opted_out_at")
