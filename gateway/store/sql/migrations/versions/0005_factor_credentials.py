"""Factor credentials: enrolled TOTP seeds, push device keys, recovery-code digests.

Revision ID: 0005
Revises: 0004
Create Date: 2025-11-24

Written by hand; must match ``gateway.store.sql.tables_factors``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "factor_credentials",
        sa.Column("credential_id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("sealed_payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_used_at", sa.Float(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.subject_id"],
            name="fk_factor_credentials_subject_id_subjects",
        ),
        sa.PrimaryKeyConstraint("credential_id", name="pk_factor_credentials"),
    )
    op.create_index(
        "ix_factor_credentials_subject_id", "factor_credentials", ["subject_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_factor_credentials_subject_id", table_name="factor_credentials")
    op.drop_table("factor_credentials")
