"""fast due: an index for "has this customer had this questionnaire lately"

Revision ID: 0009_fast_due
Revises: 0006_web_links
Create Date: 2026-12-02 01:10:00

Due selection asks, for every customer due for a purpose, whether they had a survey of that questionnaire
since a date. With only (customer_id, created_at) and (questionnaire_id, created_at) to choose from, SQLite
without statistics (nothing had run ANALYZE) took the purpose index and read every recent survey of the
purpose for each customer due: (customers due) x (recent surveys), minutes at 100,000 of each. With
(customer_id, questionnaire_id, created_at) both equalities and the range are in one index, the plan any
planner picks with or without statistics; it is one index probe per customer.
"""

from __future__ import annotations

from alembic import op

revision = "0009_fast_due"
down_revision = "0008_voice"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_survey_customer_purpose_created", "survey", ["customer_id", "questionnaire_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_survey_customer_purpose_created", table_name="survey")
