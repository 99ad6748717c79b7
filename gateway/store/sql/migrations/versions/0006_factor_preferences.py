"""Factor preferences: the second factor a person chose to be offered first.

Revision ID: 0006
Revises: 0005
Create Date: 2025-12-07

Written by hand; must match ``gateway.store.sql.tables_factors``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "factor_preferences",
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.subject_id"],
            name="fk_factor_preferences_subject_id_subjects",
        ),
        sa.PrimaryKeyConstraint("subject_id", name="pk_factor_preferences"),
    )


def downgrade() -> None:
    op.drop_table("factor_preferences")
