"""wrap_up_codes: the outcomes agents close conversations with, defined by admins

The five the console offered until now are the first ones.

Revision ID: 0031
Revises: 0030
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

FIRST = [
    ("resolved", "Resolved"),
    ("follow-up", "Needs follow-up"),
    ("escalated", "Escalated"),
    ("no-response", "No response from customer"),
    ("spam", "Spam or abuse"),
]


def upgrade() -> None:
    table = op.create_table(
        "wrap_up_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(table, [{"code": c, "label": lab, "created_at": now} for c, lab in FIRST])


def downgrade() -> None:
    op.drop_table("wrap_up_codes")
