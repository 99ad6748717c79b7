"""Identity: subjects, upstream identities (keyed digests), consents.

Revision ID: 0003
Revises: 0002
Create Date: 2025-11-22

Written by hand; must match ``gateway.store.sql.tables_identity``.
"""
from __future__ import annotations


import sqlalchemy as sa
from alembic import op

revision = "0003"
# Chained after 0002 (oauth). Until 0002 lands in the tree, chain after 0001 so that the
# tree keeps a single head; drop this once 0002 exists.
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subjects",
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("account_level", sa.String(32), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("sealed_profile", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("subject_id", name="pk_subjects"),
    )
    op.create_table(
        "upstream_identities",
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("subject_digest", sa.String(128), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.subject_id"],
            name="fk_upstream_identities_subject_id_subjects",
        ),
        sa.PrimaryKeyConstraint("provider", "subject_digest", name="pk_upstream_identities"),
    )
    op.create_index(
        "ix_upstream_identities_subject_id", "upstream_identities", ["subject_id"]
    )
    op.create_table(
        "consents",
        sa.Column("consent_id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("acting_for", sa.String(64), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.Float(), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=True),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.Column("revoked_reason", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.subject_id"], name="fk_consents_subject_id_subjects"
        ),
        sa.PrimaryKeyConstraint("consent_id", name="pk_consents"),
    )
    op.create_index(
        "ix_consents_subject_id_client_id", "consents", ["subject_id", "client_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_consents_subject_id_client_id", table_name="consents")
    op.drop_table("consents")
    op.drop_index("ix_upstream_identities_subject_id", table_name="upstream_identities")
    op.drop_table("upstream_identities")
    op.drop_table("subjects")
