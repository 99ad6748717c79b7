"""OAuth: grants (token families), refresh tokens, back-channel logout queue.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-22

Written by hand; must match ``gateway.store.sql.tables_oauth``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grants",
        sa.Column("grant_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("sub", sa.String(255), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("sid", sa.String(128), nullable=True),
        sa.Column("acr", sa.String(255), nullable=True),
        sa.Column("amr", sa.Text(), nullable=False),
        sa.Column("auth_time", sa.Integer(), nullable=True),
        sa.Column("acting_for", sa.String(64), nullable=True),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("grant_id", name="pk_grants"),
    )
    op.create_index("ix_grants_sid", "grants", ["sid"])
    op.create_index("ix_grants_client_id_sub", "grants", ["client_id", "sub"])
    op.create_index("ix_grants_subject_id_client_id", "grants", ["subject_id", "client_id"])
    op.create_table(
        "refresh_tokens",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("grant_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("digest", name="pk_refresh_tokens"),
    )
    op.create_index("ix_refresh_tokens_grant_id", "refresh_tokens", ["grant_id"])
    op.create_table(
        "logout_deliveries",
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("sid", sa.String(128), nullable=False),
        sa.Column("sub", sa.String(255), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_logout_deliveries"),
    )
    op.create_index(
        "ix_logout_deliveries_next_attempt_at", "logout_deliveries", ["next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_logout_deliveries_next_attempt_at", table_name="logout_deliveries")
    op.drop_table("logout_deliveries")
    op.drop_index("ix_refresh_tokens_grant_id", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index("ix_grants_subject_id_client_id", table_name="grants")
    op.drop_index("ix_grants_client_id_sub", table_name="grants")
    op.drop_index("ix_grants_sid", table_name="grants")
    op.drop_table("grants")
