"""knowledge articles: slug, example questions, products, author, versions, feedback, gaps

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:18:53.162724
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

EMPTY_LIST = sa.text("'[]'")


def upgrade() -> None:
    op.create_table(
        "knowledge_gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("misses", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["knowledge_articles.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "version"),
    )
    op.create_table(
        "article_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["article_id"], ["knowledge_articles.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("article_feedback", schema=None) as batch_op:
        batch_op.create_index("ix_article_feedback_article_id", ["article_id"], unique=False)

    # Server defaults fill the rows that exist already; the models set values from then on.
    with op.batch_alter_table("knowledge_articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slug", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("questions", sa.JSON(), nullable=False, server_default=EMPTY_LIST)
        )
        batch_op.add_column(
            sa.Column("products", sa.JSON(), nullable=False, server_default=EMPTY_LIST)
        )
        batch_op.add_column(
            sa.Column("author", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.create_index("ix_knowledge_articles_updated_at", ["updated_at"], unique=False)
        batch_op.create_unique_constraint("uq_knowledge_articles_slug", ["slug"])


def downgrade() -> None:
    with op.batch_alter_table("knowledge_articles", schema=None) as batch_op:
        batch_op.drop_constraint("uq_knowledge_articles_slug", type_="unique")
        batch_op.drop_index("ix_knowledge_articles_updated_at")
        batch_op.drop_column("version")
        batch_op.drop_column("author")
        batch_op.drop_column("products")
        batch_op.drop_column("questions")
        batch_op.drop_column("slug")
    with op.batch_alter_table("article_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_article_feedback_article_id")
    op.drop_table("article_feedback")
    op.drop_table("article_versions")
    op.drop_table("knowledge_gaps")
