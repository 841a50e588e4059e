"""A tenant's users, kiosk links, audit log and usage limits (``/api/v1/tenants/{tenant}/…``):
the manage-users privilege's routes."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from wallboard.core.errors import Conflict, NotFound
from wallboard.core.ids import TenantId
from wallboard.db.models import AuditEntry, AuthSession, KioskLink, UsageLimit, User
from wallboard.identity.audit import record_audit
from wallboard.identity.passwords import hash_password
from wallboard.identity.policy import client_address
from wallboard.identity.roles import privileges_of
from wallboard.web.auth.schemas import (
    AuditRead,
    KioskCreate,
    KioskIssued,
    KioskRead,
    Limit,
    Limits,
    UserCreate,
    UserRead,
    UserUpdate,
)
from wallboard.web.deps import (
    CommitRoute,
    IdentityDep,
    PolicyDep,
    SessionDep,
    SubjectDep,
    TenantDep,
)
from wallboard.web.errors import ERROR_RESPONSES, FieldError
from wallboard.web.pagination import ListParams, fetch_page
from wallboard.web.policy import AccessPolicy, Subject, WriteAction
from wallboard.web.schemas import DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE, Page

router = APIRouter(
    prefix="/tenants/{tenant}",
    tags=["users"],
    route_class=CommitRoute,
    responses=ERROR_RESPONSES,
)

UsernamePath = Annotated[str, Path(description="The user's username.", max_length=100)]


class Admin:
    """The checked caller of these routes: a subject of the tenant with manage-users."""

    def __init__(
        self,
        request: Request,
        session: SessionDep,
        subject: SubjectDep,
        policy: PolicyDep,
        tenant: TenantDep,
    ) -> None:
        self.session = session
        self.subject: Subject = subject
        self.policy: AccessPolicy = policy
        self.tenant: TenantId = tenant
        self.client = client_address(request)

    def check(self, kind: str, uid: str, action: WriteAction = WriteAction.CHANGE) -> None:
        self.policy.check_write(self.subject, self.tenant, kind, uid, action=action)

    def audit(self, action: str, target: str, **detail: object) -> None:
        record_audit(
            self.session,
            tenant=self.tenant,
            actor=self.subject.user,
            action=action,
            target=target,
            client=self.client,
            **detail,
        )


AdminDep = Annotated[Admin, Depends(Admin)]


def user_read(user: User) -> UserRead:
    return UserRead(
        username=user.username,
        display_name=user.display_name,
        tenant=user.tenant_id,
        roles=list(user.roles),
        privileges=sorted(p.value for p in privileges_of(user.roles)),
        disabled=user.disabled,
        has_password=user.password_hash is not None,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


async def _user(admin: Admin, username: str) -> User:
    user = await admin.session.scalar(
        sa.select(User).where(User.tenant_id == admin.tenant, User.username == username)
    )
    if user is None:
        raise NotFound(f"no user {username!r} in tenant {admin.tenant!r}", username=username)
    return user


@router.get("/users", summary="The tenant's users (manage-users)")
async def list_users(
    admin: AdminDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[UserRead]:
    admin.check("user", "*")
    statement = (
        sa.select(User).where(User.tenant_id == admin.tenant).order_by(User.username, User.id)
    )
    rows, pagination = await fetch_page(admin.session, statement, ListParams(page, limit, ""))
    return Page[UserRead](items=[user_read(row) for row in rows], pagination=pagination)


@router.post("/users", status_code=status.HTTP_201_CREATED, summary="Create a user")
async def create_user(admin: AdminDep, body: UserCreate, response: Response) -> UserRead:
    admin.check("user", body.username, WriteAction.CREATE)
    taken = await admin.session.scalar(
        sa.select(User.id).where(sa.func.lower(User.username) == body.username.lower())
    )
    if taken is not None:
        raise Conflict(f"the username {body.username!r} is taken", username=body.username)
    user = User(
        tenant_id=admin.tenant,
        username=body.username,
        display_name=body.display_name or body.username,
        password_hash=hash_password(body.password) if body.password else None,
        roles=[role.value for role in body.roles],
        disabled=body.disabled,
    )
    admin.session.add(user)
    await admin.session.flush()
    admin.audit("user.create", user.username, roles=user.roles, disabled=user.disabled)
    response.headers["Location"] = f"/api/v1/tenants/{admin.tenant}/users/{user.username}"
    return user_read(user)


@router.get("/users/{username}", summary="Read a user")
async def get_user(admin: AdminDep, username: UsernamePath) -> UserRead:
    admin.check("user", username)
    return user_read(await _user(admin, username))


@router.patch("/users/{username}", summary="Change a user (only the fields given)")
async def update_user(admin: AdminDep, username: UsernamePath, body: UserUpdate) -> UserRead:
    admin.check("user", username)
    user = await _user(admin, username)
    changed: dict[str, object] = {}
    if body.display_name is not None:
        user.display_name = body.display_name
        changed["displayName"] = body.display_name
    if body.roles is not None:
        user.roles = [role.value for role in body.roles]
        changed["roles"] = user.roles
    if body.disabled is not None:
        user.disabled = body.disabled
        changed["disabled"] = body.disabled
    if body.password is not None:
        user.password_hash = hash_password(body.password)
        changed["password"] = "changed"
    if body.password is not None or body.disabled or body.roles is not None:
        # A new password, a disabled user or other roles: the sessions open now end.
        await admin.session.execute(sa.delete(AuthSession).where(AuthSession.user_id == user.id))
    await admin.session.flush()
    admin.audit("user.update", user.username, **changed)
    return user_read(user)


@router.delete("/users/{username}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a user")
async def delete_user(admin: AdminDep, username: UsernamePath) -> None:
    admin.check("user", username, WriteAction.DELETE)
    user = await _user(admin, username)
    await admin.session.delete(user)
    await admin.session.flush()
    admin.audit("user.delete", username)


def kiosk_read(link: KioskLink) -> KioskRead:
    return KioskRead(
        id=link.id,
        name=link.name,
        wallboard=link.dashboard_uid,
        created_by=link.created_by,
        created_at=link.created_at,
        revoked_at=link.revoked_at,
    )


@router.get("/kiosk-links", summary="The tenant's kiosk links (never their tokens)")
async def list_kiosk_links(admin: AdminDep) -> list[KioskRead]:
    admin.check("kiosk-link", "*")
    rows = await admin.session.scalars(
        sa.select(KioskLink).where(KioskLink.tenant_id == admin.tenant).order_by(KioskLink.id)
    )
    return [kiosk_read(row) for row in rows]


@router.post(
    "/kiosk-links",
    status_code=status.HTTP_201_CREATED,
    summary="A read-only link showing one wallboard (its token is shown this once)",
)
async def create_kiosk_link(
    admin: AdminDep, body: KioskCreate, identity: IdentityDep
) -> KioskIssued:
    admin.check("kiosk-link", body.wallboard, WriteAction.CREATE)
    link, token = await identity.create_kiosk_link(
        admin.session,
        admin.tenant,
        body.wallboard,
        body.name,
        actor=admin.subject.user,
        client=admin.client,
    )
    url = f"/#/wallboards/{link.dashboard_uid}?tenant={admin.tenant}&kiosk={token}"
    return KioskIssued(**kiosk_read(link).model_dump(), token=token, url=url)


@router.delete(
    "/kiosk-links/{link_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a kiosk link: screens showing it stop at their next request",
)
async def revoke_kiosk_link(
    admin: AdminDep, link_id: Annotated[int, Path(ge=1, le=2**31 - 1)], identity: IdentityDep
) -> None:
    admin.check("kiosk-link", str(link_id), WriteAction.DELETE)
    link = await admin.session.scalar(
        sa.select(KioskLink).where(KioskLink.tenant_id == admin.tenant, KioskLink.id == link_id)
    )
    if link is None:
        raise NotFound(f"no kiosk link {link_id} in tenant {admin.tenant!r}", id=link_id)
    if link.revoked_at is None:
        link.revoked_at = identity.now()
        admin.audit("kiosk.revoke", str(link_id), wallboard=link.dashboard_uid)


@router.get("/audit", summary="The tenant's audit log, newest first (manage-users)")
async def read_audit(
    admin: AdminDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    action: Annotated[str | None, Query(max_length=64, description="Only this action.")] = None,
) -> Page[AuditRead]:
    admin.check("audit", "*")
    statement = sa.select(AuditEntry).where(AuditEntry.tenant_id == admin.tenant)
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    statement = statement.order_by(AuditEntry.id.desc())
    rows, pagination = await fetch_page(admin.session, statement, ListParams(page, limit, ""))
    items = [
        AuditRead(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            target=row.target,
            client=row.client,
            detail=row.detail,
        )
        for row in rows
    ]
    return Page[AuditRead](items=items, pagination=pagination)


@router.get("/limits", summary="The tenant's usage limits")
async def get_limits(admin: AdminDep) -> Limits:
    admin.check("limits", "*")
    rows = await admin.session.scalars(
        sa.select(UsageLimit)
        .where(UsageLimit.tenant_id == admin.tenant)
        .order_by(UsageLimit.access_group.is_not(None), UsageLimit.access_group)
    )
    return Limits(
        limits=[
            Limit(
                access_group=row.access_group,
                dashboards_per_user=row.dashboards_per_user,
                widgets_per_dashboard=row.widgets_per_dashboard,
            )
            for row in rows
        ]
    )


@router.put("/limits", summary="Replace the tenant's usage limits")
async def put_limits(admin: AdminDep, body: Limits) -> Limits:
    admin.check("limits", "*")
    groups = [limit.access_group for limit in body.limits]
    for index, group in enumerate(groups):
        if group in groups[:index]:
            raise FieldError(
                ("body", "limits", index, "accessGroup"),
                "each access group (and the tenant) has at most one limit",
            )
    await admin.session.execute(sa.delete(UsageLimit).where(UsageLimit.tenant_id == admin.tenant))
    for limit in body.limits:
        admin.session.add(
            UsageLimit(
                tenant_id=admin.tenant,
                access_group=limit.access_group,
                dashboards_per_user=limit.dashboards_per_user,
                widgets_per_dashboard=limit.widgets_per_dashboard,
            )
        )
    await admin.session.flush()
    admin.audit("limits.update", "*", limits=body.model_dump(mode="json", by_alias=True)["limits"])
    return body
