"""Policies: versioned admin rule documents.

Revision ID: 0004
Revises: 0003
Create Date: 2025-11-23

Written by hand; must match ``gateway.store.sql.tables_policies``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_documents",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("applied_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("version", name="pk_policy_documents"),
    )
    op.create_index("ix_policy_documents_active", "policy_documents", ["active"])


def downgrade() -> None:
    op.drop_index("ix_policy_documents_active", table_name="policy_documents")
    op.drop_table("policy_documents")
