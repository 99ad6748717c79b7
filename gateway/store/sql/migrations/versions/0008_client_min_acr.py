"""Client minimum acr: the weakest acr a client accepts (``None``: no minimum of its own).

Revision ID: 0008
Revises: 0007
Create Date: 2025-12-08

Written by hand; must match ``gateway.store.sql.tables``. Existing clients get no minimum.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("min_acr", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("min_acr")
