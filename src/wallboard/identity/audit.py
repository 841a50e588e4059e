"""The audit log: who did what, when, in which tenant, from where."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.db.models import NAME_MAX, USERNAME_MAX, AuditEntry


def record_audit(
    session: AsyncSession,
    *,
    tenant: str | None,
    actor: str,
    action: str,
    target: str = "",
    client: str = "",
    **detail: Any,
) -> None:
    """Add an entry to the log in the caller's transaction (it lands with the change it
    records, or not at all). ``detail`` never holds secrets."""
    session.add(
        AuditEntry(
            tenant_id=tenant,
            actor=actor[:USERNAME_MAX],
            action=action,
            target=target[:NAME_MAX],
            client=client[:NAME_MAX],
            detail=detail,
        )
    )
