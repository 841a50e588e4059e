"""Web tier metadata: uids, versions and change numbers; sharing, rotation, widget objects;
the record of deletions for sync and each user's launched dashboards.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _counters() -> list[sa.Column[int]]:
    return [
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("schema_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("change_number", sa.BigInteger(), server_default="0", nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("change_number", sa.BigInteger(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("widget_templates") as batch:
        batch.add_column(
            sa.Column("schema_version", sa.Integer(), server_default="1", nullable=False)
        )
        batch.add_column(sa.Column("seed_version", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("edited", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("change_number", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                server_default=sa.func.now(),
                nullable=False,
            )
        )
        batch.add_column(
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                server_default=sa.func.now(),
                nullable=False,
            )
        )
    # Rows made before this revision get their database id as uid: unique, and stable from now.
    with op.batch_alter_table("dashboards") as batch:
        batch.add_column(sa.Column("uid", sa.String(100), nullable=True))
        batch.add_column(
            sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False)
        )
        batch.add_column(
            sa.Column("shared", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("rotation", sa.JSON(), nullable=True))
        for column in _counters():
            batch.add_column(column)
    op.execute("UPDATE dashboards SET uid = CAST(id AS VARCHAR(100))")
    with op.batch_alter_table("dashboards") as batch:
        batch.alter_column("uid", existing_type=sa.String(100), nullable=False)
        batch.create_unique_constraint("uq_dashboards_tenant_id_uid", ["tenant_id", "uid"])
    with op.batch_alter_table("widgets") as batch:
        batch.add_column(sa.Column("uid", sa.String(100), nullable=True))
        batch.add_column(sa.Column("objects", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.execute("UPDATE widgets SET uid = CAST(id AS VARCHAR(100)), objects = '[]'")
    with op.batch_alter_table("widgets") as batch:
        batch.alter_column("uid", existing_type=sa.String(100), nullable=False)
        batch.alter_column("objects", existing_type=sa.JSON(), nullable=False)
        batch.create_unique_constraint("uq_widgets_dashboard_id_uid", ["dashboard_id", "uid"])
    op.create_table(
        "deleted_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("uid", sa.String(100), nullable=False),
        sa.Column("change_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deleted_items"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_deleted_items_tenant_id_tenants",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_deleted_items_tenant_id_change_number", "deleted_items", ["tenant_id", "change_number"]
    )
    op.create_table(
        "launched_dashboards",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("dashboard_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "launched_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user", "dashboard_id", name="pk_launched_dashboards"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_launched_dashboards_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dashboard_id"],
            ["dashboards.id"],
            name="fk_launched_dashboards_dashboard_id_dashboards",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_launched_dashboards_dashboard_id", "launched_dashboards", ["dashboard_id"])


def downgrade() -> None:
    op.drop_index("ix_launched_dashboards_dashboard_id", table_name="launched_dashboards")
    op.drop_table("launched_dashboards")
    op.drop_index("ix_deleted_items_tenant_id_change_number", table_name="deleted_items")
    op.drop_table("deleted_items")
    with op.batch_alter_table("widgets") as batch:
        batch.drop_constraint("uq_widgets_dashboard_id_uid", type_="unique")
        for name in ("version", "objects", "uid"):
            batch.drop_column(name)
    with op.batch_alter_table("dashboards") as batch:
        batch.drop_constraint("uq_dashboards_tenant_id_uid", type_="unique")
        for name in (
            "change_number",
            "schema_version",
            "version",
            "rotation",
            "shared",
            "description",
            "uid",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("widget_templates") as batch:
        for name in (
            "updated_at",
            "created_at",
            "change_number",
            "edited",
            "seed_version",
            "schema_version",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("change_number")
