"""Link applications: applications with the child's data sealed, their documents (sealed,
purged after the decision plus a retention period) and decisions.

Revision ID: 0009
Revises: 0008
Create Date: 2025-12-10

Written by hand; must match ``gateway.store.sql.tables_applications``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_applications",
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("parent_id", sa.String(64), nullable=False),
        sa.Column("school_id", sa.String(64), nullable=False),
        sa.Column("class_name", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("sealed_child", sa.LargeBinary(), nullable=False),
        sa.Column("snils_index", sa.String(64), nullable=False),
        sa.Column("certificate_index", sa.String(64), nullable=False),
        sa.Column("checks", sa.Text(), nullable=False),
        sa.Column("roster_entry_id", sa.String(64), nullable=True),
        sa.Column("child_id", sa.String(64), nullable=True),
        sa.Column("guardianship_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("decided_at", sa.Float(), nullable=True),
        sa.Column("purge_after", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["subjects.subject_id"], name="fk_link_applications_parent_id_subjects"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.school_id"], name="fk_link_applications_school_id_schools"
        ),
        sa.PrimaryKeyConstraint("application_id", name="pk_link_applications"),
    )
    op.create_index("ix_link_applications_parent_id", "link_applications", ["parent_id"])
    op.create_index("ix_link_applications_purge_after", "link_applications", ["purge_after"])
    op.create_index(
        "ix_link_applications_status_created_at", "link_applications", ["status", "created_at"]
    )
    op.create_table(
        "application_documents",
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("sealed_content", sa.LargeBinary(), nullable=True),
        sa.Column("deleted_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["link_applications.application_id"],
            name="fk_application_documents_application_id_link_applications",
        ),
        sa.PrimaryKeyConstraint("document_id", name="pk_application_documents"),
    )
    op.create_index(
        "ix_application_documents_application_id", "application_documents", ["application_id"]
    )
    op.create_table(
        "application_decisions",
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("sealed_note", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["link_applications.application_id"],
            name="fk_application_decisions_application_id_link_applications",
        ),
        sa.PrimaryKeyConstraint("decision_id", name="pk_application_decisions"),
    )
    op.create_index(
        "ix_application_decisions_application_id", "application_decisions", ["application_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_application_decisions_application_id", table_name="application_decisions")
    op.drop_table("application_decisions")
    op.drop_index("ix_application_documents_application_id", table_name="application_documents")
    op.drop_table("application_documents")
    op.drop_index("ix_link_applications_status_created_at", table_name="link_applications")
    op.drop_index("ix_link_applications_purge_after", table_name="link_applications")
    op.drop_index("ix_link_applications_parent_id", table_name="link_applications")
    op.drop_table("link_applications")
