"""Writing configuration rows the way the config service does (a row and the tenant's change
number in one transaction), for the permissions tests: the config service is built elsewhere,
and the permissions read only the tables."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from wallboard.core.ids import TenantId
from wallboard.db.database import Database
from wallboard.db.models import ConfigDeletion, ConfigObject, Tenant
from wallboard.web.changes import next_change_number


async def add_tenant(database: Database, tenant: str) -> None:
    async with database.sessions() as session:
        session.add(Tenant(id=tenant, display_name=tenant, time_zone="UTC"))
        await session.commit()


async def put_objects(
    database: Database, tenant: str, *objects: tuple[str, str, str | None, dict[str, Any]]
) -> int:
    """Create or replace ``(type, name, folder, attributes)`` objects in one change; returns
    the change number."""
    async with database.sessions() as session:
        number = await next_change_number(session, TenantId(tenant))
        for kind, name, folder, attributes in objects:
            row = await session.scalar(
                sa.select(ConfigObject).where(
                    ConfigObject.tenant_id == tenant,
                    ConfigObject.type == kind,
                    ConfigObject.name == name,
                )
            )
            if row is None:
                session.add(
                    ConfigObject(
                        tenant_id=tenant,
                        type=kind,
                        name=name,
                        display_name=name,
                        folder=folder,
                        attributes=attributes,
                        change_number=number,
                    )
                )
            else:
                row.folder = folder
                row.attributes = attributes
                row.version += 1
                row.change_number = number
        await session.commit()
        return number


async def delete_object(database: Database, tenant: str, kind: str, name: str) -> int:
    async with database.sessions() as session:
        number = await next_change_number(session, TenantId(tenant))
        await session.execute(
            sa.delete(ConfigObject).where(
                ConfigObject.tenant_id == tenant,
                ConfigObject.type == kind,
                ConfigObject.name == name,
            )
        )
        session.add(ConfigDeletion(tenant_id=tenant, type=kind, name=name, change_number=number))
        await session.commit()
        return number


def access_group(
    name: str,
    members: list[str],
    *,
    folders: list[str] | None = None,
    objects: list[tuple[str, str]] | None = None,
    all_objects: bool = False,
) -> tuple[str, str, str | None, dict[str, Any]]:
    return (
        "access_group",
        name,
        None,
        {
            "members": members,
            "folders": folders or [],
            "objects": [{"type": t, "name": n} for t, n in objects or []],
            "all_objects": all_objects,
        },
    )


def folder(name: str, parent: str | None = None) -> tuple[str, str, str | None, dict[str, Any]]:
    return ("folder", name, parent, {"parent": parent})


def filed(
    kind: str, name: str, in_folder: str | None
) -> tuple[str, str, str | None, dict[str, Any]]:
    return (kind, name, in_folder, {})
