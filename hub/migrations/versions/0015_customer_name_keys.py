"""customers: name search keys (as written and surname first), indexed for prefix search;
timeline events indexed for reading a customer's history a page at a time

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from hub.names import name_key, surname_key

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("name_key", sa.String(200), server_default="", nullable=False))
        batch.add_column(
            sa.Column("surname_key", sa.String(200), server_default="", nullable=False)
        )
    _fill_keys()
    op.create_index("ix_customers_name_key", "customers", ["name_key"])
    op.create_index("ix_customers_surname_key", "customers", ["surname_key"])
    op.create_index(
        "ix_timeline_events_customer_created",
        "timeline_events",
        ["customer_id", "created_at", "id"],
    )


def _fill_keys() -> None:
    """Key every stored name, a batch at a time (the keys are computed in Python)."""
    connection = op.get_bind()
    customers = sa.table(
        "customers",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("name_key", sa.String),
        sa.column("surname_key", sa.String),
    )
    update = (
        customers.update()
        .where(customers.c.id == sa.bindparam("customer_id"))
        .values(name_key=sa.bindparam("nk"), surname_key=sa.bindparam("sk"))
    )
    last = 0
    while True:
        rows = connection.execute(
            sa.select(customers.c.id, customers.c.name)
            .where(customers.c.id > last, customers.c.name != "")
            .order_by(customers.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            update,
            [{"customer_id": i, "nk": name_key(n), "sk": surname_key(n)} for i, n in rows],
        )
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_timeline_events_customer_created", "timeline_events")
    op.drop_index("ix_customers_surname_key", "customers")
    op.drop_index("ix_customers_name_key", "customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("surname_key")
        batch.drop_column("name_key")
