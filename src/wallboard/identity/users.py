"""Users outside HTTP: the CLI, the demo and the tests add and change them here."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.core.errors import Conflict, NotFound
from wallboard.core.ids import TenantId
from wallboard.db.models import AuthSession, Tenant, User
from wallboard.identity.audit import record_audit
from wallboard.identity.passwords import hash_password
from wallboard.identity.roles import check_roles


def new_password() -> str:
    """A random password (16 characters of the URL-safe alphabet, 96 bits)."""
    return secrets.token_urlsafe(12)


async def add_user(
    session: AsyncSession,
    tenant: TenantId,
    username: str,
    *,
    password: str | None,
    roles: Sequence[str],
    display_name: str | None = None,
    actor: str = "cli",
) -> User:
    """A new user (Conflict when the username is taken, NotFound without the tenant)."""
    if await session.get(Tenant, tenant) is None:
        raise NotFound(f"tenant {tenant!r} does not exist", tenant=tenant)
    taken = await session.scalar(
        sa.select(User.id).where(sa.func.lower(User.username) == username.lower())
    )
    if taken is not None:
        raise Conflict(f"the username {username!r} is taken", username=username)
    user = User(
        tenant_id=tenant,
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password) if password is not None else None,
        roles=[role.value for role in check_roles(roles)],
    )
    session.add(user)
    await session.flush()
    record_audit(
        session, tenant=tenant, actor=actor, action="user.create", target=username, roles=user.roles
    )
    return user


async def find_user(session: AsyncSession, username: str) -> User:
    user = await session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}", username=username)
    return user


async def set_password(
    session: AsyncSession, username: str, password: str, *, actor: str = "cli"
) -> User:
    """A new password; the user's open sessions end."""
    user = await find_user(session, username)
    user.password_hash = hash_password(password)
    await session.execute(sa.delete(AuthSession).where(AuthSession.user_id == user.id))
    record_audit(
        session,
        tenant=user.tenant_id,
        actor=actor,
        action="user.update",
        target=username,
        password="changed",
    )
    await session.flush()
    return user


async def delete_user(session: AsyncSession, username: str, *, actor: str = "cli") -> None:
    user = await find_user(session, username)
    await session.delete(user)
    record_audit(session, tenant=user.tenant_id, actor=actor, action="user.delete", target=username)
    await session.flush()
