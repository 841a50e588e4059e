"""Configuration objects (agents, groups, queues, routing points, virtual queues, skills, access
groups, folders) and the record of their deletions for the change feed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TYPES = (
    "agent",
    "agent_group",
    "queue",
    "queue_group",
    "routing_point",
    "virtual_queue",
    "skill",
    "access_group",
    "folder",
)


def upgrade() -> None:
    op.create_table(
        "config_objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("folder", sa.String(200), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("change_number", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_config_objects"),
        sa.CheckConstraint(
            "type IN (" + ", ".join(f"'{kind}'" for kind in _TYPES) + ")",
            name="ck_config_objects_type",
        ),
        sa.UniqueConstraint(
            "tenant_id", "type", "name", name="uq_config_objects_tenant_id_type_name"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_config_objects_tenant_id_tenants",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_config_objects_tenant_id_change_number",
        "config_objects",
        ["tenant_id", "change_number"],
    )
    op.create_table(
        "config_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("change_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_config_deletions"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_config_deletions_tenant_id_tenants",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_config_deletions_tenant_id_change_number",
        "config_deletions",
        ["tenant_id", "change_number"],
    )


def downgrade() -> None:
    op.drop_index("ix_config_deletions_tenant_id_change_number", table_name="config_deletions")
    op.drop_table("config_deletions")
    op.drop_index("ix_config_objects_tenant_id_change_number", table_name="config_objects")
    op.drop_table("config_objects")
