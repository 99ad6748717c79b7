"""Children: schools, roster entries, guardianships, guardian consents; the SNILS blind
index of subjects.

Revision ID: 0007
Revises: 0006
Create Date: 2025-12-01

Written by hand; must match ``gateway.store.sql.tables_children`` and ``SubjectRow``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schools",
        sa.Column("school_id", sa.String(64), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("short_name", sa.String(255), nullable=False),
        sa.Column("search_name", sa.Text(), nullable=False),
        sa.Column("inn", sa.String(12), nullable=False),
        sa.Column("ogrn", sa.String(15), nullable=False),
        sa.Column("region_code", sa.String(8), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("client_ids", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("school_id", name="pk_schools"),
    )
    op.create_index("ix_schools_inn", "schools", ["inn"])
    op.create_table(
        "roster_entries",
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("school_id", sa.String(64), nullable=False),
        sa.Column("pupil_id", sa.String(64), nullable=False),
        sa.Column("class_name", sa.String(16), nullable=False),
        sa.Column("sealed_person", sa.LargeBinary(), nullable=False),
        sa.Column("snils_index", sa.String(64), nullable=True),
        sa.Column("certificate_index", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.school_id"], name="fk_roster_entries_school_id_schools"
        ),
        sa.PrimaryKeyConstraint("entry_id", name="pk_roster_entries"),
        sa.UniqueConstraint(
            "school_id", "pupil_id", name="uq_roster_entries_school_id_pupil_id"
        ),
    )
    op.create_index("ix_roster_entries_snils_index", "roster_entries", ["snils_index"])
    op.create_index(
        "ix_roster_entries_certificate_index", "roster_entries", ["certificate_index"]
    )
    op.create_table(
        "guardianships",
        sa.Column("guardianship_id", sa.String(64), nullable=False),
        sa.Column("parent_id", sa.String(64), nullable=False),
        sa.Column("child_id", sa.String(64), nullable=False),
        sa.Column("evidence", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("school_id", sa.String(64), nullable=True),
        sa.Column("roster_entry_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("verified_at", sa.Float(), nullable=True),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("ends_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["subjects.subject_id"], name="fk_guardianships_parent_id_subjects"
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["subjects.subject_id"], name="fk_guardianships_child_id_subjects"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.school_id"], name="fk_guardianships_school_id_schools"
        ),
        sa.PrimaryKeyConstraint("guardianship_id", name="pk_guardianships"),
    )
    op.create_index("ix_guardianships_parent_id", "guardianships", ["parent_id"])
    op.create_index("ix_guardianships_child_id", "guardianships", ["child_id"])
    op.create_table(
        "guardian_consents",
        sa.Column("consent_id", sa.String(64), nullable=False),
        sa.Column("guardian_id", sa.String(64), nullable=False),
        sa.Column("child_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["guardian_id"],
            ["subjects.subject_id"],
            name="fk_guardian_consents_guardian_id_subjects",
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["subjects.subject_id"], name="fk_guardian_consents_child_id_subjects"
        ),
        sa.PrimaryKeyConstraint("consent_id", name="pk_guardian_consents"),
    )
    op.create_index("ix_guardian_consents_guardian_id", "guardian_consents", ["guardian_id"])
    op.create_index(
        "ix_guardian_consents_child_id_client_id", "guardian_consents", ["child_id", "client_id"]
    )
    op.add_column("subjects", sa.Column("snils_index", sa.String(64), nullable=True))
    op.create_index("ix_subjects_snils_index", "subjects", ["snils_index"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_subjects_snils_index", table_name="subjects")
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("snils_index")
    op.drop_index("ix_guardian_consents_child_id_client_id", table_name="guardian_consents")
    op.drop_index("ix_guardian_consents_guardian_id", table_name="guardian_consents")
    op.drop_table("guardian_consents")
    op.drop_index("ix_guardianships_child_id", table_name="guardianships")
    op.drop_index("ix_guardianships_parent_id", table_name="guardianships")
    op.drop_table("guardianships")
    op.drop_index("ix_roster_entries_certificate_index", table_name="roster_entries")
    op.drop_index("ix_roster_entries_snils_index", table_name="roster_entries")
    op.drop_table("roster_entries")
    op.drop_index("ix_schools_inn", table_name="schools")
    op.drop_table("schools")
